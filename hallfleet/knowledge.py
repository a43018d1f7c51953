"""Guidance knowledge base: match a visitor's question to a service item and answer it.

Pure logic (reads a YAML file, no I/O beyond that). Matching needs no Chinese word segmenter:
keyword substring hits (longest wins) plus IDF-weighted character-bigram overlap. That is robust
to the many ways visitors phrase a question ("办营业执照要带什么材料", "营业执照在哪办").
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ZH = "zh-CN"
EN = "en"

# Below this confidence the visitor gets the polite fallback (ask the information desk).
DEFAULT_MIN_CONFIDENCE = 0.3
# A keyword hit of this many characters (zh) / words*4 (en) counts as a full-confidence hit.
_FULL_HIT_CHARS = 3.0
# Sum of IDF weights of shared bigrams that counts as full-confidence overlap.
_FULL_OVERLAP_WEIGHT = 4.0

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD_RE = re.compile(r"[a-z0-9]+")
_EN_STOPWORDS = frozenset(
    "a an the i me my we you your is are am do does can could where what which how when who to "
    "for of in on at and or please get go need want with it this that there here be have has".split()
)


class KnowledgeBaseError(ValueError):
    """The knowledge-base file is unreadable or an entry is malformed."""


class LanguageError(ValueError):
    """A language code the knowledge base does not answer in."""


@dataclass(frozen=True)
class Answer:
    item_id: str | None
    text: str
    language: str
    confidence: float


@dataclass(frozen=True)
class Material:
    zh: str
    en: str


@dataclass(frozen=True)
class ServiceItem:
    """One service (or FAQ entry) a guidance robot can explain."""

    id: str
    kind: str  # "service" | "faq"
    names: Mapping[str, str]
    keywords_zh: tuple[str, ...]
    keywords_en: tuple[str, ...]
    answer_templates: Mapping[str, str]
    zone: str | None = None
    windows: str | None = None  # e.g. "A01-A10"
    materials: tuple[Material, ...] = ()
    processing_time: Mapping[str, str] = field(default_factory=dict)

    def window_ids(self) -> list[str]:
        """Window names as in the building file: "A01-A10" -> ["win-A01", ..., "win-A10"]."""
        return expand_windows(self.windows) if self.windows else []

    def render(self, language: str) -> str:
        lang_key = "zh" if language == ZH else "en"
        sep = "、" if lang_key == "zh" else "; "
        fields = {
            "name": self.names[lang_key],
            "zone": self.zone or "",
            "windows": self.windows or "",
            "materials": sep.join(getattr(m, lang_key) for m in self.materials),
            "processing_time": self.processing_time.get(lang_key, ""),
        }
        return self.answer_templates[lang_key].format_map(fields)


_WINDOW_RANGE_RE = re.compile(r"^([A-Z]+)(\d+)-(?:\1)?(\d+)$")


def expand_windows(spec: str) -> list[str]:
    """Expand a window range "A01-A10" (or a single "A03") into building-file window ids."""
    spec = spec.strip()
    single = re.fullmatch(r"([A-Z]+)(\d+)", spec)
    if single:
        return [f"win-{spec}"]
    m = _WINDOW_RANGE_RE.match(spec)
    if not m:
        raise ValueError(f"window range {spec!r}: expected like 'A01-A10'")
    prefix, start, end = m.group(1), m.group(2), m.group(3)
    width = len(start)
    if int(end) < int(start):
        raise ValueError(f"window range {spec!r}: end before start")
    return [f"win-{prefix}{n:0{width}d}" for n in range(int(start), int(end) + 1)]


def normalize_language(language: str, question: str = "") -> str:
    """Map "", "auto", "zh", "zh_CN", "en-US"... to "zh-CN" or "en"; auto-detect from CJK."""
    lang = (language or "").strip().lower().replace("_", "-")
    if lang in ("", "auto"):
        return ZH if has_cjk(question) else EN
    if lang in ("zh", "zh-cn", "cmn", "zh-hans") or lang.startswith("zh-"):
        return ZH
    if lang == "en" or lang.startswith("en-"):
        return EN
    raise LanguageError(f"language {language!r}: expected 'zh-CN', 'en' or 'auto'")


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def _normalize(text: str) -> str:
    """Lower-case and drop whitespace and punctuation (ASCII and full-width)."""
    drop = set(string.whitespace + string.punctuation + "，。？！、；：“”‘’（）《》【】…·～")
    return "".join(ch for ch in text.lower() if ch not in drop)


def _bigrams(text: str) -> set[str]:
    t = _normalize(text)
    if len(t) == 1:
        return {t}
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _en_words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if w not in _EN_STOPWORDS}


def _phrase_in(phrase: str, text_lower: str) -> bool:
    return re.search(r"\b" + re.escape(phrase.lower()) + r"\b", text_lower) is not None


@dataclass
class _Index:
    bigrams: dict[str, set[str]]
    words: dict[str, set[str]]
    idf: dict[str, float]


class KnowledgeBase:
    """Service items and FAQ entries, with a question matcher."""

    def __init__(
        self,
        items: Iterable[ServiceItem],
        fallback: Mapping[str, str],
        *,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        source: str = "<memory>",
    ) -> None:
        self.items: dict[str, ServiceItem] = {}
        for item in items:
            if item.id in self.items:
                raise KnowledgeBaseError(f"{source}: entry {item.id!r}: duplicate id")
            self.items[item.id] = item
        self.fallback = dict(fallback)
        self.min_confidence = min_confidence
        self.source = source
        self._index = self._build_index()

    # ---- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> KnowledgeBase:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise KnowledgeBaseError(f"{path}: cannot read: {exc}") from exc
        except yaml.YAMLError as exc:
            raise KnowledgeBaseError(f"{path}: invalid YAML: {exc}") from exc
        return cls.from_dict(data, source=str(path), min_confidence=min_confidence)

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str = "<memory>", min_confidence: float = DEFAULT_MIN_CONFIDENCE
    ) -> KnowledgeBase:
        if not isinstance(data, dict):
            raise KnowledgeBaseError(f"{source}: top level must be a mapping with 'items'")
        fallback = _lang_pair(data.get("fallback"), f"{source}: 'fallback'")
        raw_items = data.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise KnowledgeBaseError(f"{source}: 'items' must be a non-empty list")
        items = [_parse_item(raw, i, source) for i, raw in enumerate(raw_items)]
        return cls(items, fallback, min_confidence=min_confidence, source=source)

    # ---- matching ------------------------------------------------------------------------

    def _build_index(self) -> _Index:
        bigrams: dict[str, set[str]] = {}
        words: dict[str, set[str]] = {}
        for item in self.items.values():
            bg: set[str] = set()
            for text in (item.names["zh"], *item.keywords_zh):
                bg |= _bigrams(text)
            bigrams[item.id] = bg
            ws: set[str] = set()
            for text in (item.names["en"], *item.keywords_en):
                ws |= _en_words(text)
            words[item.id] = ws
        n = max(len(self.items), 1)
        df: dict[str, int] = {}
        for feats in (*bigrams.values(), *words.values()):
            for f in feats:
                df[f] = df.get(f, 0) + 1
        idf = {f: math.log(1.0 + n / c) for f, c in df.items()}
        return _Index(bigrams, words, idf)

    def _score(self, item: ServiceItem, question: str, chinese: bool) -> float:
        idx = self._index
        if chinese:
            q_norm = _normalize(question)
            hits = [len(_normalize(k)) for k in item.keywords_zh if _normalize(k) and _normalize(k) in q_norm]
            shared = _bigrams(question) & idx.bigrams[item.id]
        else:
            q_lower = question.lower()
            hits = [4 * len(k.split()) for k in item.keywords_en if _phrase_in(k, q_lower)]
            shared = _en_words(question) & idx.words[item.id]
        hit_score = min(1.0, max(hits, default=0) / _FULL_HIT_CHARS)
        overlap = min(1.0, sum(idx.idf[f] for f in shared) / _FULL_OVERLAP_WEIGHT)
        # Longer keyword hits break ties between items sharing a short keyword (残疾人 vs 残疾人证).
        tie_break = 0.01 * max(hits, default=0)
        return 0.7 * hit_score + 0.3 * overlap + tie_break

    def match(self, question: str) -> tuple[ServiceItem | None, float]:
        """Best item for the question and its confidence in [0, 1] (None if nothing fits)."""
        chinese = has_cjk(question)
        best: ServiceItem | None = None
        best_score = 0.0
        for item in self.items.values():
            score = self._score(item, question, chinese)
            if score > best_score:
                best, best_score = item, score
        confidence = min(1.0, best_score)
        if best is None or confidence < self.min_confidence:
            return None, confidence
        return best, confidence

    def answer(self, question: str, language: str = ZH) -> Answer:
        """Answer in `language` ("zh-CN", "en", or ""/"auto" to follow the question's script)."""
        lang = normalize_language(language, question)
        item, confidence = self.match(question)
        if item is None:
            return Answer(None, self.fallback["zh" if lang == ZH else "en"], lang, round(confidence, 3))
        return Answer(item.id, item.render(lang), lang, round(confidence, 3))


# ---- parsing helpers -----------------------------------------------------------------------


def _lang_pair(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{where}: expected a mapping with 'zh' and 'en'")
    out: dict[str, str] = {}
    for key in ("zh", "en"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise KnowledgeBaseError(f"{where}: field {key!r}: expected a non-empty string")
        out[key] = value
    return out


def _str_list(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(k, str) and k.strip() for k in raw):
        raise KnowledgeBaseError(f"{where}: expected a list of non-empty strings")
    return tuple(raw)


def _parse_item(raw: Any, index: int, source: str) -> ServiceItem:
    label = f"{source}: entry #{index}"
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{label}: expected a mapping")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id.strip():
        raise KnowledgeBaseError(f"{label}: field 'id': expected a non-empty string")
    where = f"{source}: entry {item_id!r}"
    kind = raw.get("kind", "service")
    if kind not in ("service", "faq"):
        raise KnowledgeBaseError(f"{where}: field 'kind': expected 'service' or 'faq', got {kind!r}")
    names = _lang_pair(raw.get("names"), f"{where}: field 'names'")
    keywords = raw.get("keywords")
    if not isinstance(keywords, dict):
        raise KnowledgeBaseError(f"{where}: field 'keywords': expected a mapping with 'zh' and 'en'")
    kw_zh = _str_list(keywords.get("zh"), f"{where}: field 'keywords.zh'")
    kw_en = _str_list(keywords.get("en"), f"{where}: field 'keywords.en'")
    templates = _lang_pair(raw.get("answer"), f"{where}: field 'answer'")
    zone = windows = None
    materials: tuple[Material, ...] = ()
    processing_time: dict[str, str] = {}
    if kind == "service":
        zone = raw.get("zone")
        if not isinstance(zone, str) or not zone.strip():
            raise KnowledgeBaseError(f"{where}: field 'zone': expected a non-empty string")
        windows = raw.get("windows")
        if not isinstance(windows, str):
            raise KnowledgeBaseError(f"{where}: field 'windows': expected a range like 'A01-A10'")
        try:
            expand_windows(windows)
        except ValueError as exc:
            raise KnowledgeBaseError(f"{where}: field 'windows': {exc}") from exc
        raw_materials = raw.get("materials")
        if not isinstance(raw_materials, list) or not raw_materials:
            raise KnowledgeBaseError(f"{where}: field 'materials': expected a non-empty list")
        materials = tuple(
            Material(**_lang_pair(m, f"{where}: field 'materials[{i}]'")) for i, m in enumerate(raw_materials)
        )
        processing_time = _lang_pair(raw.get("processing_time"), f"{where}: field 'processing_time'")
    item = ServiceItem(
        id=item_id,
        kind=kind,
        names=names,
        keywords_zh=kw_zh,
        keywords_en=kw_en,
        answer_templates=templates,
        zone=zone,
        windows=windows,
        materials=materials,
        processing_time=processing_time,
    )
    for lang in (ZH, EN):
        try:
            item.render(lang)
        except (KeyError, ValueError, IndexError) as exc:
            raise KnowledgeBaseError(f"{where}: field 'answer': bad template placeholder {exc}") from exc
    return item
