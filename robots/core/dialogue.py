"""A guidance robot's side of a conversation: greetings, answers, "say that again", language.

Pure logic over a knowledge source (the hall's service-item knowledge base). It remembers the last
answer per conversation so an elderly visitor can ask for it again, remembers the service being
talked about so a follow-up ("那要带什么材料？") is answered about it, and answers in the language the
visitor uses unless told otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

ZH, EN = "zh-CN", "en"
_CJK = re.compile(r"[\u3400-\u9fff]")
_REPEAT = re.compile(r"再说一遍|再说一次|没听清|重复一下|请重复|\brepeat\b|\bpardon\b|say (that|it) again", re.I)
_GREETING = re.compile(r"^\s*(你好|您好|hello|hi|good (morning|afternoon))[\s!！。.,，]*$", re.I)
_THANKS = re.compile(r"^\s*(谢谢|多谢|thanks?( you)?)[\s!！。.,，]*$", re.I)

GREETING = {
    ZH: "您好！我是导览机器人，请问您要办理什么业务？",
    EN: "Hello! I am the guide robot. Which service are you here for?",
}
THANKS = {ZH: "不客气，祝您办事顺利！", EN: "You are welcome. Good luck with your application!"}
NOTHING_YET = {
    ZH: "我还没有回答过您的问题，请问您想了解什么？",
    EN: "I have not answered anything yet. What would you like to know?",
}


class KnowledgeAnswer(Protocol):
    item_id: str | None
    text: str
    language: str
    needs_helper: bool


class KnowledgeSource(Protocol):
    def answer(self, question: str, language: str = ZH, context_item: str | None = None) -> KnowledgeAnswer: ...


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    item_id: str | None  # knowledge-base entry, None for small talk or no match
    kind: str  # "answer", "greeting", "thanks", "repeat", "empty"
    needs_helper: bool = False  # the knowledge base abstained: a staff helper should come


def detect_language(text: str, requested: str = "") -> str:
    """The requested language when given, else Chinese if the text has Chinese characters."""
    if requested in (ZH, "zh", "zh_CN"):
        return ZH
    if requested in (EN, "en-US", "en_US"):
        return EN
    return ZH if _CJK.search(text) else EN


class Dialogue:
    """One visitor's conversation with one robot."""

    def __init__(self, knowledge: KnowledgeSource) -> None:
        self.knowledge = knowledge
        self.last: Reply | None = None
        self.topic: str | None = None  # the service item the conversation is about, for follow-ups

    def respond(self, text: str, language: str = "") -> Reply:
        language = detect_language(text, language)
        if not text.strip():
            return Reply(GREETING[language], language, None, "empty")
        if _REPEAT.search(text):
            if self.last is None:
                return Reply(NOTHING_YET[language], language, None, "repeat")
            return Reply(self.last.text, self.last.language, self.last.item_id, "repeat")
        if _GREETING.match(text):
            return Reply(GREETING[language], language, None, "greeting")
        if _THANKS.match(text):
            return Reply(THANKS[language], language, None, "thanks")
        answer = self.knowledge.answer(text, language, context_item=self.topic)
        if answer.item_id is not None and not answer.item_id.startswith("hall:"):
            self.topic = answer.item_id
        self.last = Reply(answer.text, answer.language, answer.item_id, "answer", answer.needs_helper)
        return self.last
