"""Run ROS 2 launch files in the YAML launch format on a pip-only install.

``ros2 launch`` (the launch and launch_ros packages) is not published on PyPI, so this reads the
same YAML format — ``arg`` (name, default), ``node`` (pkg, exec, name, namespace, param, remap, args)
and ``executable`` (cmd) entries with ``$(var name)`` substitutions — and supervises the processes:
forwards Ctrl-C/SIGTERM, and stops every process when any of them exits.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hallfleet_apps.supervisor import Supervisor, interrupted_by_signals

# (package, executable) -> Python module with a ROS 2 style main(); our nodes are not ament packages.
EXECUTABLES: dict[tuple[str, str], str] = {
    ("hallfleet", "base_driver"): "robots.nodes.base_driver",
    ("hallfleet", "navigation"): "robots.nodes.navigation",
    ("hallfleet", "compartments"): "robots.nodes.compartments",
    ("hallfleet", "vehicle_adapter"): "robots.nodes.vehicle_adapter",
    ("hallfleet", "speech"): "robots.nodes.speech",
    ("hallfleet", "dialogue"): "robots.nodes.dialogue",
}
_VAR = re.compile(r"\$\(var ([A-Za-z_][A-Za-z0-9_]*)\)")


class LaunchFileError(ValueError):
    """The launch file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Process:
    name: str
    argv: list[str]  # arguments after the Python interpreter


@dataclass
class LaunchDescription:
    source: Path
    processes: list[Process] = field(default_factory=list)


def _substitute(value: Any, variables: dict[str, str], where: str) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise LaunchFileError(f"{where}: $(var {name}) is not declared with an arg entry")
            return variables[name]

        return _VAR.sub(replace, value)
    if isinstance(value, list):
        return [_substitute(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables, where) for k, v in value.items()}
    return value


def _param_value(value: Any) -> str:
    """A ``-p name:=value`` value in YAML syntax, as ROS 2 parses it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _node_process(entry: dict[str, Any], where: str, base_dir: Path) -> Process:
    pkg, exe = entry.get("pkg"), entry.get("exec")
    module = EXECUTABLES.get((pkg, exe))
    if module is None:
        known = ", ".join(f"{p}/{e}" for p, e in EXECUTABLES)
        raise LaunchFileError(f"{where}: unknown executable {pkg}/{exe} (known: {known})")
    name = str(entry.get("name", exe))
    namespace = str(entry.get("namespace", "")).strip("/")
    argv = ["-m", module, *shlex.split(str(entry.get("args", "")))]
    argv += ["--ros-args", "-r", f"__node:={name}"]
    if namespace:
        argv += ["-r", f"__ns:=/{namespace}"]
    for index, param in enumerate(entry.get("param", []) or []):
        if isinstance(param, dict) and "from" in param:
            params_file = (base_dir / str(param["from"])).resolve()
            if not params_file.is_file():
                raise LaunchFileError(f"{where}.param[{index}].from: no parameter file {params_file}")
            argv += ["--params-file", str(params_file)]
            continue
        if not isinstance(param, dict) or "name" not in param or "value" not in param:
            raise LaunchFileError(f"{where}.param[{index}]: expected {{name: ..., value: ...}} or {{from: file}}")
        argv += ["-p", f"{param['name']}:={_param_value(param['value'])}"]
    for index, remap in enumerate(entry.get("remap", []) or []):
        if not isinstance(remap, dict) or "from" not in remap or "to" not in remap:
            raise LaunchFileError(f"{where}.remap[{index}]: expected {{from: ..., to: ...}}")
        argv += ["-r", f"{remap['from']}:={remap['to']}"]
    label = f"{namespace}.{name}" if namespace else name
    return Process(label, argv)


def _executable_process(entry: dict[str, Any], where: str) -> Process:
    cmd = shlex.split(str(entry.get("cmd", "")))
    if len(cmd) < 3 or cmd[0] != "python" or cmd[1] != "-m":
        raise LaunchFileError(f"{where}.cmd: expected 'python -m <module> ...' (processes run in this venv)")
    return Process(str(entry.get("name", cmd[2].rsplit(".", 1)[-1])), cmd[1:])


def load_launch(path: str | Path, overrides: dict[str, str] | None = None) -> LaunchDescription:
    """Parse a launch file; ``overrides`` are ``name:=value`` arguments from the command line."""
    source = Path(path)
    try:
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LaunchFileError(f"{source}: cannot read: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("launch"), list):
        raise LaunchFileError(f"{source}: launch: expected a list of entries")
    variables = dict(overrides or {})
    declared: set[str] = set()
    description = LaunchDescription(source)
    for index, item in enumerate(doc["launch"]):
        where = f"{source}: launch[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise LaunchFileError(f"{where}: expected one of arg, node, executable")
        ((kind, entry),) = item.items()
        if not isinstance(entry, dict):
            raise LaunchFileError(f"{where}.{kind}: expected a mapping")
        if kind == "arg":
            name = entry.get("name")
            if not name:
                raise LaunchFileError(f"{where}.arg: name is missing")
            declared.add(name)
            if name not in variables:
                if "default" not in entry:
                    raise LaunchFileError(f"{where}.arg: {name} has no default; pass {name}:=<value>")
                variables[name] = str(_substitute(entry["default"], variables, where))
        elif kind == "node":
            description.processes.append(
                _node_process(_substitute(entry, variables, where), f"{where}.node", source.parent)
            )
        elif kind == "executable":
            description.processes.append(
                _executable_process(_substitute(entry, variables, where), f"{where}.executable")
            )
        else:
            raise LaunchFileError(f"{where}: unknown entry {kind!r} (arg, node, executable)")
    unknown = set(overrides or {}) - declared
    if unknown:
        raise LaunchFileError(f"{source}: unknown launch arguments {sorted(unknown)}")
    return description


def run_launch(description: LaunchDescription, log_dir: Path) -> int:
    """Start every process, wait for Ctrl-C/SIGTERM or any process to exit, then stop them all."""
    supervisor = Supervisor(log_dir)
    try:
        with interrupted_by_signals():
            for process in description.processes:
                supervisor.start(process.name, process.argv)
            print(
                f"launched {len(description.processes)} processes from {description.source} (logs in {log_dir})",
                flush=True,
            )
            while not supervisor.dead():
                time.sleep(0.5)
            child = supervisor.dead()[0]
            print(
                f"{child.name} exited with {child.process.returncode}: stopping all (log: {child.log_path})",
                file=sys.stderr,
                flush=True,
            )
            return 1
    except KeyboardInterrupt:
        return 0
    finally:
        supervisor.stop_all()


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``name:=value`` launch arguments."""
    out = {}
    for item in items:
        name, sep, value = item.partition(":=")
        if not sep or not name:
            raise LaunchFileError(f"launch argument {item!r}: expected name:=value")
        out[name] = value
    return out
