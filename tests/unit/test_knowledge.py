"""Guidance knowledge base: the demo hall's questions reach the right service item."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallfleet.knowledge import KnowledgeBase, KnowledgeBaseError, LanguageError, expand_windows

KB_PATH = Path(__file__).resolve().parents[2] / "maps" / "demo_hall" / "service_items.yaml"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(KB_PATH)


@pytest.mark.parametrize(
    ("question", "item_id"),
    [
        ("办营业执照要带什么材料", "business-licence"),
        ("社保卡在哪个窗口办", "social-security-card"),
        ("厕所在哪里", "faq-toilets"),
        ("请问洗手间怎么走？", "faq-toilets"),
        ("我想提取住房公积金", "housing-fund-withdrawal"),
        ("残疾人证怎么办理", "disability-certificate"),
        ("宝宝出生了怎么上户口", "birth-and-hukou"),
        ("你们几点关门", "faq-opening-hours"),
        ("在哪里取号", "faq-queue-ticket"),
        ("我想开个饭店要办什么证", "food-business-licence"),
    ],
)
def test_chinese_questions_pick_the_right_item(kb: KnowledgeBase, question: str, item_id: str) -> None:
    answer = kb.answer(question)
    assert answer.item_id == item_id
    assert answer.language == "zh-CN"
    assert answer.confidence >= kb.min_confidence


def test_chinese_answer_names_window_and_materials(kb: KnowledgeBase) -> None:
    answer = kb.answer("办营业执照要带什么材料", "zh-CN")
    assert "A区" in answer.text and "A01-A10" in answer.text
    assert "身份证" in answer.text
    assert kb.items["business-licence"].window_ids()[0] == "win-A01"


def test_english_question_gets_english_answer(kb: KnowledgeBase) -> None:
    answer = kb.answer("Where do I apply for a residence permit?", "en")
    assert answer.item_id == "residence-permit"
    assert "zone B" in answer.text and "ID card" in answer.text
    assert kb.answer("where is the toilet", "auto").item_id == "faq-toilets"


def test_chinese_question_answered_in_english_when_asked(kb: KnowledgeBase) -> None:
    answer = kb.answer("社保卡在哪里办", "en")
    assert answer.item_id == "social-security-card"
    assert answer.language == "en"
    assert "Social security card" in answer.text


def test_auto_language_follows_the_question_script(kb: KnowledgeBase) -> None:
    assert kb.answer("厕所在哪里", "auto").language == "zh-CN"
    assert kb.answer("Where are the toilets?", "").language == "en"


@pytest.mark.parametrize("question", ["asdf qwer zxcv", "今天天气怎么样", "?!", ""])
def test_gibberish_gets_the_information_desk_fallback(kb: KnowledgeBase, question: str) -> None:
    answer = kb.answer(question, "zh-CN")
    assert answer.item_id is None
    assert "咨询台" in answer.text
    assert "information desk" in kb.answer(question, "en").text


def test_unknown_language_is_rejected(kb: KnowledgeBase) -> None:
    with pytest.raises(LanguageError, match="'fr'"):
        kb.answer("bonjour", "fr")


def test_window_range_expansion() -> None:
    assert expand_windows("C09-C10") == ["win-C09", "win-C10"]
    with pytest.raises(ValueError, match="A10-A01"):
        expand_windows("A10-A01")


MALFORMED = """
fallback: {zh: 请问咨询台, en: Ask the information desk}
items:
  - id: ok-item
    kind: faq
    names: {zh: 卫生间, en: Toilets}
    keywords: {zh: [厕所], en: [toilet]}
    answer: {zh: 在这里, en: Here}
  - id: broken-item
    kind: service
    names: {zh: 居住证, en: Residence permit}
    keywords: {zh: [居住证], en: [residence permit]}
    zone: B
    windows: B01-B06
    materials: not-a-list
    processing_time: {zh: 15天, en: 15 days}
    answer: {zh: "{name}", en: "{name}"}
"""


def test_malformed_entry_error_names_file_and_entry(tmp_path: Path) -> None:
    path = tmp_path / "bad_items.yaml"
    path.write_text(MALFORMED, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as info:
        KnowledgeBase.load(path)
    message = str(info.value)
    assert str(path) in message and "'broken-item'" in message and "materials" in message


def test_bad_template_placeholder_and_invalid_yaml_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(MALFORMED.replace("materials: not-a-list", "materials: [{zh: 身份证, en: ID card}]").replace(
        'answer: {zh: "{name}", en: "{name}"}', 'answer: {zh: "{nmae}", en: "{name}"}'
    ), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"entry 'broken-item'.*nmae"):
        KnowledgeBase.load(path)
    broken = tmp_path / "broken.yaml"
    broken.write_text("items: [ {id: x", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="broken.yaml: invalid YAML"):
        KnowledgeBase.load(broken)
