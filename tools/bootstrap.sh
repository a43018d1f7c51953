#!/usr/bin/env bash
# Make this checkout ready to run: Debian packages (when root and missing), .venv with the project
# installed editable, and the ROS 2 interface package built into the venv. Every step is skipped
# when already done, so a second run installs nothing.
#   tools/bootstrap.sh demo   what `make demo` needs
#   tools/bootstrap.sh test   that plus what the tests need (Chromium, CJK fonts, sox)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}
VENV=.venv
PYTHON=${PYTHON:-python3}

debs=(libespeak-ng1 espeak-ng-data cmake g++ make)
[ "$mode" = test ] && debs+=(chromium fonts-wqy-microhei sox mosquitto)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "HallFleet needs Python 3.11 or newer")'
  echo "bootstrap: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

stamp() { cat "$@" | sha256sum | cut -c1-16; }

deps_stamp=$(stamp pyproject.toml)
if [ "$(cat "$VENV/.deps-stamp" 2>/dev/null)" != "$deps_stamp" ]; then
  echo "bootstrap: installing the project into $VENV (editable, with the robot, fleet and dev extras)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e ".[robot,fleet,dev]"
  echo "$deps_stamp" > "$VENV/.deps-stamp"
  rm -f "$VENV/.interfaces-stamp"  # new ROS wheels: rebuild our interfaces against them
fi

# Every ROS 2 interface package under ros_ws/src (hall_interfaces, vendored tf2_msgs), built in name
# order, each in its own build/<package>; one stamp over all their files.
iface_root=ros_ws/src
iface_stamp=$(stamp $(find "$iface_root" -type f | sort))
if [ "$(cat "$VENV/.interfaces-stamp" 2>/dev/null)" != "$iface_stamp" ]; then
  prefix=$(cd "$VENV" && pwd)
  "$VENV/bin/python" tools/fix_ros_cmake_paths.py
  mkdir -p build
  for iface_dir in $(find "$iface_root" -mindepth 2 -maxdepth 2 -name package.xml -printf '%h\n' | sort); do
    pkg=$(basename "$iface_dir")
    echo "bootstrap: building $iface_dir into $VENV"
    build=build/$pkg
    rm -rf "$build"
    {
      cmake -S "$iface_dir" -B "$build" -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_PREFIX_PATH="$prefix" \
        -DPython3_EXECUTABLE="$prefix/bin/python" -DBUILD_TESTING=OFF &&
      cmake --build "$build" -j2 &&
      cmake --install "$build"
    } > "build/$pkg.log" 2>&1 || { tail -30 "build/$pkg.log"; echo "bootstrap: interface build of $pkg failed (full log: build/$pkg.log)" >&2; exit 1; }
    modules=$(cd "$iface_dir" && for kind in msg srv action; do [ -d "$kind" ] && printf ', %s.%s' "$pkg" "$kind"; done; true)
    "$VENV/bin/python" -c "import hallfleet.ros_env$modules" || { echo "bootstrap: $pkg does not import" >&2; exit 1; }
  done
  echo "$iface_stamp" > "$VENV/.interfaces-stamp"
fi
