"""Guidance knowledge base on the demo hall's catalog: visitors' questions reach the right item and aspect."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallfleet.knowledge import KnowledgeBase, LanguageError, expand_windows

KB_PATH = Path(__file__).resolve().parents[2] / "maps" / "demo_hall" / "service_items.yaml"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(KB_PATH)


@pytest.mark.parametrize(
    ("question", "item_id"),
    [
        ("办营业执照要带什么材料", "business-licence"),
        ("我刚生了孩子要办什么手续", "newborn-registration"),
        ("我老婆生完孩子了，产假工资怎么领", "maternity-allowance"),
        ("公积金怎么取出来呀", "housing-fund-withdrawal"),
        ("社包卡丢了咋整", "social-security-card"),  # typo: 包 for 保
        ("身分证过期了", "id-card"),  # typo: 分 for 份
        ("我想开个小饭馆，要办什么证", "food-business-licence"),
        ("厕所在哪里", "hall:toilets"),
    ],
)
def test_colloquial_chinese_questions_reach_the_right_item(kb: KnowledgeBase, question: str, item_id: str) -> None:
    answer = kb.answer(question)
    assert answer.item_id == item_id and answer.language == "zh-CN" and not answer.needs_helper


@pytest.mark.parametrize(
    ("question", "item_id"),
    [
        ("um, where do I apply for a residence permit?", "residence-permit"),
        ("I lost my social security card", "social-security-card"),
        ("we just had a baby, how do we register him", "newborn-registration"),
        ("I need to renew my pasport", "exit-entry-documents"),  # typo
    ],
)
def test_english_questions_reach_the_right_item(kb: KnowledgeBase, question: str, item_id: str) -> None:
    answer = kb.answer(question)
    assert answer.item_id == item_id and answer.language == "en"


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("居住证要带什么材料", "materials"),
        ("办护照多少钱", "fee"),
        ("身份证补办要几天", "days"),
        ("社保卡在哪个窗口办", "window"),
        ("公积金提取能网上办吗", "online"),
        ("居住证怎么办", "general"),
        ("What documents do I need for a residence permit?", "materials"),
        ("How much does a passport cost?", "fee"),
        ("How long does an ID card take?", "days"),
        ("Which window for the housing fund?", "window"),
        ("Can I renew my residence permit online?", "online"),
    ],
)
def test_the_aspect_asked_is_detected_in_both_languages(kb: KnowledgeBase, question: str, asks: str) -> None:
    assert kb.answer(question).asks == asks


def test_each_aspect_is_answered_from_the_item_itself(kb: KnowledgeBase) -> None:
    item = kb.items["id-card"]
    assert "户口簿" in kb.answer("办身份证要带什么材料").text
    assert "20元" in kb.answer("换身份证要多少钱").text
    assert f"{item.processing_days}个工作日" in kb.answer("身份证补办要几天").text
    where = kb.answer("身份证在哪个窗口办").text
    assert "1楼D区" in where and item.window in where
    online = kb.answer("护照能网上办吗").text
    assert "现场" in online  # exit-entry documents are not fully online in the catalog
    assert "随申办" in kb.answer("居住证可以网上办吗").text
    english = kb.answer("What do I need to bring for an ID card?", "en").text
    assert "household register" in english and english[0].isupper()


def test_a_chinese_question_is_answered_in_english_when_asked(kb: KnowledgeBase) -> None:
    answer = kb.answer("社保卡在哪里办", "en")
    assert answer.item_id == "social-security-card" and answer.language == "en"
    assert "zone C" in answer.text


@pytest.mark.parametrize(
    "question",
    ["今天天气怎么样", "推荐一只股票吧", "你几岁了", "How old are you?", "tell me a joke", "asdf qwer zxcv", "?!", ""],
)
def test_out_of_scope_questions_abstain_and_call_a_helper(kb: KnowledgeBase, question: str) -> None:
    answer = kb.answer(question, "zh-CN")
    assert answer.item_id is None and answer.needs_helper
    assert "帮办" in answer.text and "咨询台" in answer.text
    english = kb.answer(question, "en")
    assert english.needs_helper and "staff helper" in english.text


def test_a_follow_up_without_a_service_uses_the_context_item(kb: KnowledgeBase) -> None:
    follow_up = kb.answer("那要带什么材料？", context_item="residence-permit")
    assert follow_up.item_id == "residence-permit" and follow_up.asks == "materials"
    assert "租赁合同" in follow_up.text
    alone = kb.answer("那要带什么材料？")
    assert alone.item_id is None and not alone.needs_helper and "哪项业务" in alone.text
    switched = kb.answer("那公积金提取呢，要带什么", context_item="residence-permit")
    assert switched.item_id == "housing-fund-withdrawal"


def test_unknown_language_is_rejected(kb: KnowledgeBase) -> None:
    with pytest.raises(LanguageError, match="'fr'"):
        kb.answer("bonjour", "fr")


def test_every_catalog_window_exists_in_the_building_and_windows_expand() -> None:
    from maps.site import load_site

    site = load_site(KB_PATH.parent)
    kb = KnowledgeBase.load(KB_PATH)
    assert len(kb.items) >= 40
    for item in kb.items.values():
        for window_id in item.window_ids():
            assert site.place(window_id).level == (item.floor or 1), item.id
    assert expand_windows("C09-C10") == ["win-C09", "win-C10"]
    with pytest.raises(ValueError, match="A10-A01"):
        expand_windows("A10-A01")
