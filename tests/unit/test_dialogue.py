"""The guidance robot's conversation logic on the real knowledge base of the demo hall."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallfleet.knowledge import KnowledgeBase
from robots.core.dialogue import GREETING, NOTHING_YET, THANKS, Dialogue, detect_language

KB_FILE = Path(__file__).resolve().parents[2] / "maps" / "demo_hall" / "service_items.yaml"


@pytest.fixture
def dialogue() -> Dialogue:
    return Dialogue(KnowledgeBase.load(KB_FILE))


def test_a_question_gets_the_knowledge_base_answer_in_chinese(dialogue: Dialogue) -> None:
    reply = dialogue.respond("办营业执照要带什么材料？")
    assert reply.kind == "answer" and reply.item_id == "business-licence" and reply.language == "zh-CN"
    assert "营业执照" in reply.text


def test_say_it_again_repeats_the_last_answer_word_for_word(dialogue: Dialogue) -> None:
    first = dialogue.respond("社保卡在哪个窗口办")
    again = dialogue.respond("没听清，请再说一遍")
    assert again.kind == "repeat" and again.text == first.text and again.item_id == first.item_id


def test_repeat_before_any_answer_asks_what_the_visitor_wants(dialogue: Dialogue) -> None:
    assert dialogue.respond("pardon?").text == NOTHING_YET["en"]


def test_greetings_and_thanks_are_answered_politely_without_the_knowledge_base(dialogue: Dialogue) -> None:
    assert dialogue.respond("您好").text == GREETING["zh-CN"]
    assert dialogue.respond("Hello!").text == GREETING["en"]
    assert dialogue.respond("谢谢！").text == THANKS["zh-CN"]
    assert dialogue.last is None  # small talk does not replace the answer to repeat


def test_english_visitors_get_english(dialogue: Dialogue) -> None:
    reply = dialogue.respond("Where can I get a residence permit?")
    assert reply.language == "en" and reply.kind == "answer"


def test_a_follow_up_is_answered_about_the_service_being_discussed(dialogue: Dialogue) -> None:
    first = dialogue.respond("我想办居住证")
    assert first.item_id == "residence-permit"
    materials = dialogue.respond("那要带什么材料？")
    assert materials.item_id == "residence-permit" and "租赁合同" in materials.text
    fee = dialogue.respond("要收费吗")
    assert fee.item_id == "residence-permit" and "不收费" in fee.text
    dialogue.respond("厕所在哪里")  # a question about the building does not change the topic
    assert dialogue.respond("多久能办好").item_id == "residence-permit"
    assert dialogue.respond("那公积金提取要带什么").item_id == "housing-fund-withdrawal"


def test_an_unanswerable_question_asks_for_a_helper(dialogue: Dialogue) -> None:
    reply = dialogue.respond("推荐一只股票吧")
    assert reply.item_id is None and reply.needs_helper and "帮办" in reply.text
    assert not dialogue.respond("办营业执照要带什么材料？").needs_helper


@pytest.mark.parametrize(
    ("text", "requested", "expected"),
    [
        ("你好", "", "zh-CN"),
        ("hello", "", "en"),
        ("hello", "zh-CN", "zh-CN"),
        ("你好", "en", "en"),
    ],
)
def test_language_is_the_requested_one_or_follows_the_visitor(text: str, requested: str, expected: str) -> None:
    assert detect_language(text, requested) == expected
