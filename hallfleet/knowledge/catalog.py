"""The service catalog: what a hall offers, loaded and validated from YAML or CSV.

A catalog is data a hall's staff edit, so validation collects every problem with its line number
instead of stopping at the first one: whoever fixes the file sees the whole list at once.
Pure logic apart from reading and writing the file itself.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CATALOG_FILE_NAME = "service_items.yaml"
REQUIRED_KEYS = (
    "id",
    "name_zh",
    "name_en",
    "department_zh",
    "department_en",
    "window",
    "materials_zh",
    "materials_en",
    "conditions_zh",
    "conditions_en",
    "processing_days",
    "fee",
    "online",
    "faq",
)
OPTIONAL_KEYS = ("keywords_zh", "keywords_en", "floor", "fee_note_zh", "fee_note_en")
FAQ_KEYS = ("q_zh", "a_zh", "q_en", "a_en")
HALL_INFO_KEYS = ("id", "keywords_zh", "keywords_en", "answer_zh", "answer_en")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_WINDOW_RANGE_RE = re.compile(r"^([A-Z]+)(\d+)-(?:\1)?(\d+)$")


class CatalogError(ValueError):
    """A catalog file that cannot be used; ``problems`` lists every reason, one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + f"\n{source}: ".join(problems))


@dataclass(frozen=True)
class Faq:
    q_zh: str
    a_zh: str
    q_en: str
    a_en: str


@dataclass(frozen=True)
class ServiceItem:
    """One service (事项) a visitor can apply for in the hall."""

    id: str
    name_zh: str
    name_en: str
    department_zh: str
    department_en: str
    window: str  # e.g. "A01-A06"; zone = its letters
    materials_zh: tuple[str, ...]
    materials_en: tuple[str, ...]
    conditions_zh: str
    conditions_en: str
    processing_days: int  # working days; 0 = done on the spot
    fee: float  # CNY; 0 = free
    online: bool  # can be done fully online (一网通办)
    faq: tuple[Faq, ...] = ()
    keywords_zh: tuple[str, ...] = ()
    keywords_en: tuple[str, ...] = ()
    floor: int | None = None
    fee_note_zh: str = ""
    fee_note_en: str = ""

    @property
    def zone(self) -> str:
        return re.match(r"[A-Z]+", self.window).group(0)  # validated on load

    def window_ids(self) -> list[str]:
        """Window place ids as in the building file: "A01-A03" -> ["win-A01", "win-A02", "win-A03"]."""
        return expand_windows(self.window)

    def to_dict(self) -> dict[str, Any]:
        """The item as the documented YAML keys (optional keys only when set)."""
        out: dict[str, Any] = {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "department_zh": self.department_zh,
            "department_en": self.department_en,
            "window": self.window,
            "materials_zh": list(self.materials_zh),
            "materials_en": list(self.materials_en),
            "conditions_zh": self.conditions_zh,
            "conditions_en": self.conditions_en,
            "processing_days": self.processing_days,
            "fee": _plain_number(self.fee),
            "online": self.online,
            "faq": [{"q_zh": f.q_zh, "a_zh": f.a_zh, "q_en": f.q_en, "a_en": f.a_en} for f in self.faq],
        }
        if self.keywords_zh:
            out["keywords_zh"] = list(self.keywords_zh)
        if self.keywords_en:
            out["keywords_en"] = list(self.keywords_en)
        if self.floor is not None:
            out["floor"] = self.floor
        if self.fee_note_zh:
            out["fee_note_zh"] = self.fee_note_zh
        if self.fee_note_en:
            out["fee_note_en"] = self.fee_note_en
        return out


@dataclass(frozen=True)
class HallInfo:
    """A question about the hall itself (toilets, opening hours), not a service."""

    id: str
    keywords_zh: tuple[str, ...]
    keywords_en: tuple[str, ...]
    answer_zh: str
    answer_en: str


@dataclass(frozen=True)
class Catalog:
    items: tuple[ServiceItem, ...]
    hall_info: tuple[HallInfo, ...] = ()
    source: str = "<memory>"
    extra: dict[str, Any] = field(default_factory=dict)  # top-level keys kept when re-written


def expand_windows(spec: str) -> list[str]:
    """Expand a window range "A01-A10" (or a single "A03") into building-file window ids."""
    spec = spec.strip()
    if re.fullmatch(r"[A-Z]+\d+", spec):
        return [f"win-{spec}"]
    m = _WINDOW_RANGE_RE.match(spec)
    if not m:
        raise ValueError(f"window range {spec!r}: expected like 'A01-A10'")
    prefix, start, end = m.group(1), m.group(2), m.group(3)
    if int(end) < int(start):
        raise ValueError(f"window range {spec!r}: end before start")
    return [f"win-{prefix}{n:0{len(start)}d}" for n in range(int(start), int(end) + 1)]


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# ---- validation of one row --------------------------------------------------------------------


def _text(raw: dict[str, Any], key: str, problems: list[str], *, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"field '{key}': expected a non-empty text, got {value!r}")
        return ""
    return value.strip()


def _text_list(raw: dict[str, Any], key: str, problems: list[str], *, required: bool = True) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None and not required:
        return ()
    if (
        not isinstance(value, list)
        or (required and not value)
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        problems.append(f"field '{key}': expected a non-empty list of texts, got {value!r}")
        return ()
    return tuple(v.strip() for v in value)


def parse_item(raw: Any) -> tuple[ServiceItem | None, list[str]]:
    """Validate one catalog row; (item, []) or (None, problems)."""
    if not isinstance(raw, dict):
        return None, [f"expected a mapping of the item's fields, got {type(raw).__name__}"]
    problems: list[str] = []
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        problems.append("missing field(s): " + ", ".join(missing))
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        problems.append("unknown field(s): " + ", ".join(map(str, unknown)))
    item_id = raw.get("id")
    if "id" in raw and (not isinstance(item_id, str) or not _ID_RE.match(item_id)):
        problems.append(f"field 'id': expected lower-case letters, digits and '-', got {item_id!r}")
    texts = {
        k: _text(raw, k, problems)
        for k in ("name_zh", "name_en", "department_zh", "department_en", "conditions_zh", "conditions_en")
        if k in raw
    }
    lists = {k: _text_list(raw, k, problems) for k in ("materials_zh", "materials_en") if k in raw}
    if (
        len(lists.get("materials_zh", ())) != len(lists.get("materials_en", ()))
        and "materials_zh" in raw
        and "materials_en" in raw
    ):
        problems.append(
            f"fields 'materials_zh'/'materials_en': {len(lists['materials_zh'])} vs "
            f"{len(lists['materials_en'])} entries; each material needs both languages"
        )
    window = raw.get("window")
    if "window" in raw:
        try:
            if not isinstance(window, str):
                raise ValueError(f"expected a window range like 'A01-A10', got {window!r}")
            expand_windows(window)
        except ValueError as exc:
            problems.append(f"field 'window': {exc}")
    days = raw.get("processing_days")
    if "processing_days" in raw and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
        problems.append(
            f"field 'processing_days': expected a whole number of working days >= 0 (0 = on the spot), got {days!r}"
        )
    fee = raw.get("fee")
    if "fee" in raw and (isinstance(fee, bool) or not isinstance(fee, (int, float)) or fee < 0):
        problems.append(f"field 'fee': expected an amount in yuan >= 0 (0 = free), got {fee!r}")
    online = raw.get("online")
    if "online" in raw and not isinstance(online, bool):
        problems.append(f"field 'online': expected true or false, got {online!r}")
    floor = raw.get("floor")
    if floor is not None and (isinstance(floor, bool) or not isinstance(floor, int)):
        problems.append(f"field 'floor': expected a floor number, got {floor!r}")
    faqs: list[Faq] = []
    raw_faq = raw.get("faq")
    if "faq" in raw:
        if raw_faq is None:
            raw_faq = []
        if not isinstance(raw_faq, list):
            problems.append(f"field 'faq': expected a list of {{q_zh, a_zh, q_en, a_en}}, got {raw_faq!r}")
        else:
            for i, entry in enumerate(raw_faq):
                sub: list[str] = []
                if not isinstance(entry, dict):
                    problems.append(f"field 'faq[{i}]': expected a mapping with {', '.join(FAQ_KEYS)}")
                    continue
                values = {k: _text(entry, k, sub) for k in FAQ_KEYS}
                problems.extend(f"field 'faq[{i}]': {p[len('field ') :] if p.startswith('field ') else p}" for p in sub)
                if not sub:
                    faqs.append(Faq(**values))
    keywords = {k: _text_list(raw, k, problems, required=False) for k in ("keywords_zh", "keywords_en")}
    notes = {k: _text(raw, k, problems, required=False) for k in ("fee_note_zh", "fee_note_en")}
    if problems:
        return None, problems
    return ServiceItem(
        id=item_id,
        window=window.strip(),
        processing_days=days,
        fee=float(fee),
        online=online,
        faq=tuple(faqs),
        floor=floor,
        **texts,
        **lists,
        **keywords,
        **notes,
    ), []


def _parse_hall_info(raw: Any) -> tuple[HallInfo | None, list[str]]:
    if not isinstance(raw, dict):
        return None, ["expected a mapping"]
    problems: list[str] = []
    info_id = _text(raw, "id", problems)
    kw_zh = _text_list(raw, "keywords_zh", problems)
    kw_en = _text_list(raw, "keywords_en", problems)
    answers = {k: _text(raw, k, problems) for k in ("answer_zh", "answer_en")}
    if problems:
        return None, problems
    return HallInfo(info_id, kw_zh, kw_en, **answers), []


# ---- files ---------------------------------------------------------------------------------


def _yaml_item_lines(text: str) -> tuple[list[int], list[int]]:
    """Line numbers (1-based) of each entry of the item list and of the hall_info list."""
    root = yaml.compose(text)

    def lines_of(node: Any) -> list[int]:
        return [n.start_mark.line + 1 for n in node.value] if isinstance(node, yaml.SequenceNode) else []

    if isinstance(root, yaml.SequenceNode):
        return lines_of(root), []
    items: list[int] = []
    info: list[int] = []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "items":
                items = lines_of(value)
            elif key.value == "hall_info":
                info = lines_of(value)
    return items, info


def _validate_rows(rows: list[tuple[int, Any]], problems: list[str]) -> list[ServiceItem]:
    items: list[ServiceItem] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        label = f"line {line}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            label += f": item {raw['id']!r}"
        item, row_problems = parse_item(raw)
        problems.extend(f"{label}: {p}" for p in row_problems)
        if item is None:
            continue
        if item.id in seen:
            problems.append(f"{label}: duplicate id (first on line {seen[item.id]})")
            continue
        seen[item.id] = line
        items.append(item)
    return items


def parse_yaml_catalog(text: str, source: str = "<memory>") -> Catalog:
    """A YAML catalog: a list of items, or a mapping with ``items`` (and optional ``hall_info``)."""
    try:
        data = yaml.safe_load(text)
        item_lines, info_lines = _yaml_item_lines(text)
    except yaml.YAMLError as exc:
        raise CatalogError(source, [f"invalid YAML: {' '.join(str(exc).split())}"]) from None
    extra: dict[str, Any] = {}
    raw_info: Any = []
    if isinstance(data, dict):
        raw_items, raw_info = data.get("items"), data.get("hall_info") or []
        extra = {k: v for k, v in data.items() if k not in ("items", "hall_info")}
    else:
        raw_items = data
    if not isinstance(raw_items, list) or not raw_items:
        raise CatalogError(source, ["expected a non-empty list of service items (or a mapping with 'items')"])
    problems: list[str] = []
    items = _validate_rows(list(zip(item_lines, raw_items)), problems)
    hall_info: list[HallInfo] = []
    if not isinstance(raw_info, list):
        problems.append("'hall_info': expected a list")
        raw_info = []
    for line, raw in zip(info_lines, raw_info):
        info, info_problems = _parse_hall_info(raw)
        problems.extend(f"line {line}: hall_info: {p}" for p in info_problems)
        if info is not None:
            hall_info.append(info)
    if problems:
        raise CatalogError(source, problems)
    return Catalog(tuple(items), tuple(hall_info), source, extra)


_CSV_LIST_KEYS = ("materials_zh", "materials_en", "keywords_zh", "keywords_en")
_CSV_FAQ_COLUMNS = tuple(f"faq_{k}" for k in FAQ_KEYS)
_TRUE, _FALSE = {"true", "yes", "y", "1", "是"}, {"false", "no", "n", "0", "否"}


def _csv_cell(key: str, cell: str) -> Any:
    """A CSV cell as the YAML value it stands for; unparseable cells pass through for validation to report."""
    cell = cell.strip()
    if key in _CSV_LIST_KEYS:
        return [part.strip() for part in cell.split(";") if part.strip()]
    if key in ("processing_days", "floor"):
        return int(cell) if re.fullmatch(r"\d+", cell) else (None if key == "floor" and not cell else cell)
    if key == "fee":
        try:
            return float(cell) if "." in cell else int(cell)
        except ValueError:
            return cell
    if key == "online":
        low = cell.lower()
        return True if low in _TRUE else False if low in _FALSE else cell
    return cell if cell or key not in OPTIONAL_KEYS else None


def parse_csv_catalog(text: str, source: str = "<memory>") -> Catalog:
    """A CSV catalog: one item per row, list cells ';'-separated, FAQ columns optional.

    FAQ columns faq_q_zh, faq_a_zh, faq_q_en, faq_a_en hold parallel ';'-separated lists.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    known = set(REQUIRED_KEYS) - {"faq"} | set(OPTIONAL_KEYS) | set(_CSV_FAQ_COLUMNS)
    missing = [k for k in REQUIRED_KEYS if k != "faq" and k not in header]
    unknown = [k for k in header if k not in known]
    if missing or unknown:
        raise CatalogError(
            source,
            [
                "line 1: header: "
                + "; ".join(
                    ([f"missing column(s): {', '.join(missing)}"] if missing else [])
                    + ([f"unknown column(s): {', '.join(unknown)}"] if unknown else [])
                )
            ],
        )
    rows: list[tuple[int, Any]] = []
    problems: list[str] = []
    line = reader.line_num
    for record in reader:
        start, line = line + 1, reader.line_num
        if not any((v or "").strip() for v in record.values()):
            continue
        if None in record:
            problems.append(f"line {start}: more cells than columns")
            continue
        raw: dict[str, Any] = {}
        for key, cell in record.items():
            if key in _CSV_FAQ_COLUMNS:
                continue
            value = _csv_cell(key, cell or "")
            if value is not None:
                raw[key] = value
        faq_cells = {k: [p.strip() for p in (record.get(f"faq_{k}") or "").split(";") if p.strip()] for k in FAQ_KEYS}
        counts = {len(v) for v in faq_cells.values()}
        if len(counts) > 1:
            problems.append(
                f"line {start}: faq columns: need the same number of ';'-separated entries in "
                f"{', '.join(_CSV_FAQ_COLUMNS)}, got {[len(v) for v in faq_cells.values()]}"
            )
            continue
        raw["faq"] = [dict(zip(FAQ_KEYS, parts)) for parts in zip(*faq_cells.values())]
        rows.append((start, raw))
    items = _validate_rows(rows, problems)
    if not items and not problems:
        problems.append("no service items")
    if problems:
        raise CatalogError(source, problems)
    return Catalog(tuple(items), (), source)


def read_catalog(path: str | Path) -> Catalog:
    """Read a YAML (.yaml/.yml) or CSV (.csv) catalog file, validating every row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(str(path), [f"cannot read: {exc}"]) from None
    if path.suffix.lower() == ".csv":
        return parse_csv_catalog(text, str(path))
    return parse_yaml_catalog(text, str(path))


def dump_catalog(catalog: Catalog) -> str:
    """The catalog as YAML that :func:`parse_yaml_catalog` reads back unchanged."""
    data: dict[str, Any] = dict(catalog.extra)
    if catalog.hall_info:
        data["hall_info"] = [
            {
                "id": h.id,
                "keywords_zh": list(h.keywords_zh),
                "keywords_en": list(h.keywords_en),
                "answer_zh": h.answer_zh,
                "answer_en": h.answer_en,
            }
            for h in catalog.hall_info
        ]
    data["items"] = [item.to_dict() for item in catalog.items]
    header = "# Service catalog written by `hallfleet kb import`; see docs/knowledge_base.md.\n"
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def effective_catalog_path(data_dir: str | Path, site_dir: str | Path) -> Path:
    """The catalog a hall runs with: the imported one in data_dir if any, else the site's shipped default."""
    imported = Path(data_dir) / CATALOG_FILE_NAME
    return imported if imported.is_file() else Path(site_dir) / CATALOG_FILE_NAME
