"""Answer a visitor's question from the catalog, addressing what was asked, or abstain and call a helper.

Never makes an answer up: every sentence is built from the matched item's own fields. When the match
is weak the visitor is told so and a staff helper (帮办) is called (``Answer.needs_helper``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hallfleet.knowledge.aspects import detect_aspect
from hallfleet.knowledge.catalog import Catalog, CatalogError, Faq, HallInfo, ServiceItem, read_catalog
from hallfleet.knowledge.retrieval import Match, Retriever
from hallfleet.knowledge.text import EN, ZH, en_words, has_cjk

# Below this share of the question explained by the best entry, with no alias found, we abstain.
DEFAULT_MIN_CONFIDENCE = 0.45
# An alias this long (zh characters / en words) found verbatim is trusted even with chatter around it.
_TRUSTED_ALIAS_ZH = 3
_TRUSTED_ALIAS_EN = 2
# An entry with an alias hit whose score is this many times the runner-up's, explaining at least this
# share of the question, is trusted too.
_CLEAR_LEAD = 2.0
_CLEAR_LEAD_MIN_CONFIDENCE = 0.3
# A question this similar to one of the item's FAQ questions gets that FAQ's answer.
_FAQ_MIN_SIMILARITY = 0.5

HELPER = {
    ZH: "抱歉，这个问题我没有把握回答准确。我已经通知工作人员，帮办人员马上过来为您服务；您也可以到一楼咨询台咨询。",
    EN: "Sorry, I am not sure I can answer that correctly. I have called a staff helper who will come to assist you; "
    "you can also ask at the information desk on the ground floor.",
}
WHICH_SERVICE = {
    ZH: "请问您想办理哪项业务？比如营业执照、社保卡、居住证，告诉我名称我就能告诉您需要的材料和窗口。",
    EN: "Which service is it for? For example a business licence, a social security card or a residence permit; "
    "tell me and I will tell you the documents and the window.",
}
_DISCLAIMER = {ZH: "具体以窗口工作人员的答复为准。", EN: "The window staff have the final word."}


class KnowledgeBaseError(ValueError):
    """The knowledge-base file is unreadable or an entry is malformed."""


class LanguageError(ValueError):
    """A language code the knowledge base does not answer in."""


@dataclass(frozen=True)
class Answer:
    item_id: str | None  # the service item (or "hall:<id>" entry) answered; None when abstaining
    text: str
    language: str  # "zh-CN" | "en"
    confidence: float
    asks: str = "general"  # materials | fee | days | window | online | general
    needs_helper: bool = False  # True: abstained, a staff helper should come to the visitor


def normalize_language(language: str, question: str = "") -> str:
    """Map "", "auto", "zh", "zh_CN", "en-US"... to "zh-CN" or "en"; auto-detect from Chinese characters."""
    lang = (language or "").strip().lower().replace("_", "-")
    if lang in ("", "auto"):
        return ZH if has_cjk(question) else EN
    if lang in ("zh", "cmn", "zh-hans") or lang.startswith("zh-"):
        return ZH
    if lang == "en" or lang.startswith("en-"):
        return EN
    raise LanguageError(f"language {language!r}: expected 'zh-CN', 'en' or 'auto'")


def _days(days: int, zh: bool) -> str:
    if zh:
        return "材料齐全的一般当场办结" if days == 0 else f"一般需要{days}个工作日"
    if days == 0:
        return "usually done on the spot when the documents are complete"
    return f"usually takes {days} working day{'s' if days != 1 else ''}"


def _fee(item: ServiceItem, zh: bool) -> str:
    amount = f"{item.fee:g}"
    if zh:
        text = "不收费" if item.fee == 0 else f"收费{amount}元"
        return text + (f"（{item.fee_note_zh}）" if item.fee_note_zh else "")
    text = "free of charge" if item.fee == 0 else f"{amount} yuan"
    return text + (f" ({item.fee_note_en})" if item.fee_note_en else "")


def _where(item: ServiceItem, zh: bool) -> str:
    if zh:
        floor = f"{item.floor}楼" if item.floor is not None else ""
        return f"{floor}{item.zone}区 {item.window} 号窗口"
    floor = f" on floor {item.floor}" if item.floor is not None else ""
    return f"zone {item.zone}, windows {item.window}{floor}"


def render(item: ServiceItem, aspect: str, language: str) -> str:
    """The answer about one aspect of an item, built only from the item's own fields."""
    zh = language == ZH
    name = item.name_zh if zh else item.name_en
    if aspect == "materials":
        if zh:
            body = (
                f"办理{name}一般需要准备：" + "；".join(f"{i}. {m}" for i, m in enumerate(item.materials_zh, 1)) + "。"
            )
        else:
            body = (
                f"For {name}, please usually bring: "
                + "; ".join(f"{i}. {m}" for i, m in enumerate(item.materials_en, 1))
                + "."
            )
    elif aspect == "fee":
        body = f"{name}{_fee(item, zh)}。" if zh else f"{name}: {_fee(item, zh)}."
    elif aspect == "days":
        body = f"{name}{_days(item.processing_days, zh)}。" if zh else f"{name} {_days(item.processing_days, zh)}."
    elif aspect == "window":
        body = (
            f"{name}请到{_where(item, zh)}办理（{item.department_zh}）。"
            if zh
            else f"For {name}, please go to {_where(item, zh)} ({item.department_en})."
        )
    elif aspect == "online":
        if zh:
            body = (
                f"{name}可以全程网上办理：在“一网通办”网站或“随申办”App搜索“{name}”即可。"
                if item.online
                else f"{name}目前需要到现场办理，请到{_where(item, zh)}。"
            )
        else:
            body = (
                f"Yes, {name} can be done fully online: search for it on the Yiwangtongban website or the Suishenban app."
                if item.online
                else f"{name} has to be done in person at {_where(item, zh)}."
            )
    else:
        if zh:
            body = (
                f"{name}请到{_where(item, zh)}办理。需要准备：{'、'.join(item.materials_zh)}。"
                f"{_days(item.processing_days, zh)}，{_fee(item, zh)}。办理条件：{item.conditions_zh}"
            )
            body += "" if body.endswith("。") else "。"
        else:
            body = (
                f"For {name}, please go to {_where(item, zh)}. Bring: {'; '.join(item.materials_en)}. "
                f"It {_days(item.processing_days, zh)} and is {_fee(item, zh)}. Who can apply: {item.conditions_en}"
            )
            body += "" if body.endswith(".") else "."
    return f"{body}{_DISCLAIMER[language]}" if zh else f"{body[0].upper()}{body[1:]} {_DISCLAIMER[language]}"


class KnowledgeBase:
    """A hall's service catalog with a question matcher; ``answer`` is all a robot or kiosk needs."""

    def __init__(self, catalog: Catalog, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> None:
        self.catalog = catalog
        self.source = catalog.source
        self.items: dict[str, ServiceItem] = {item.id: item for item in catalog.items}
        self.hall_info: dict[str, HallInfo] = {info.id: info for info in catalog.hall_info}
        self.min_confidence = min_confidence
        self._retriever = Retriever(list(catalog.items), list(catalog.hall_info))

    @classmethod
    def load(cls, path: str | Path, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> KnowledgeBase:
        try:
            return cls(read_catalog(path), min_confidence=min_confidence)
        except CatalogError as exc:
            raise KnowledgeBaseError(str(exc)) from None

    def match(self, question: str) -> tuple[Match | None, bool]:
        """The best entry for the question and whether it is trustworthy enough to answer from."""
        chinese = has_cjk(question)
        found = self._retriever.search(question, chinese)
        if found is None:
            return None, False
        trusted_alias = found.alias_len >= (_TRUSTED_ALIAS_ZH if chinese else _TRUSTED_ALIAS_EN)
        if not found.alias_len and len(self._retriever.content(question, chinese)) <= 1:
            return found, False  # one stray word ("old") is no evidence of a service
        # a shorter alias counts when its entry clearly leads the ranking and explains part of the question
        clear_alias = (
            found.alias_len >= (2 if chinese else 1)
            and found.score >= _CLEAR_LEAD * found.runner_up_score
            and found.confidence >= _CLEAR_LEAD_MIN_CONFIDENCE
        )
        return found, trusted_alias or clear_alias or found.confidence >= self.min_confidence

    def answer(self, question: str, language: str = "auto", context_item: str | None = None) -> Answer:
        """Answer in `language` ("zh-CN", "en", or ""/"auto" to follow the question).

        `context_item` is the item the conversation is about: a follow-up that names no service
        ("那要带什么材料？") is answered about it.
        """
        lang = normalize_language(language, question)
        chinese = has_cjk(question)
        aspect = detect_aspect(question, chinese)
        found, trusted = self.match(question)
        has_content = bool(self._retriever.content(question, chinese))
        if context_item in self.items and (not has_content or (not trusted and aspect != "general")):
            return Answer(context_item, render(self.items[context_item], aspect, lang), lang, 1.0, aspect)
        if found is None and not has_content and aspect != "general":
            return Answer(None, WHICH_SERVICE[lang], lang, 0.0, aspect)
        if found is None or not trusted:
            confidence = round(found.confidence, 3) if found else 0.0
            return Answer(None, HELPER[lang], lang, confidence, aspect, needs_helper=True)
        confidence = round(max(found.confidence, min(1.0, found.alias_len / 4)), 3)
        if found.entry_id.startswith("hall:"):
            info = self.hall_info[found.entry_id.removeprefix("hall:")]
            return Answer(found.entry_id, info.answer_zh if lang == ZH else info.answer_en, lang, confidence, aspect)
        item = self.items[found.entry_id]
        faq = _matching_faq(item, question, chinese)
        if faq is not None:
            text = f"{faq.a_zh}{_DISCLAIMER[ZH]}" if lang == ZH else f"{faq.a_en} {_DISCLAIMER[EN]}"
            return Answer(item.id, text, lang, confidence, aspect)
        return Answer(item.id, render(item, aspect, lang), lang, confidence, aspect)


def _grams(text: str, chinese: bool) -> set[str]:
    if chinese:
        chars = "".join(ch for ch in text if has_cjk(ch))
        return {chars[i : i + 2] for i in range(len(chars) - 1)}
    return set(en_words(text))


def _matching_faq(item: ServiceItem, question: str, chinese: bool) -> Faq | None:
    """The item's FAQ entry the question is a near copy of (Jaccard >= 0.5), so its own answer is used."""
    asked = _grams(question, chinese)
    best, best_sim = None, 0.0
    for faq in item.faq:
        grams = _grams(faq.q_zh if chinese else faq.q_en, chinese)
        sim = len(asked & grams) / len(asked | grams) if asked | grams else 0.0
        if sim > best_sim:
            best, best_sim = faq, sim
    return best if best_sim >= _FAQ_MIN_SIMILARITY else None
