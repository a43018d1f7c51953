"""Loading a hall's own catalog: `hallfleet kb import` accepts good YAML/CSV and rejects bad rows by line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from hallfleet.knowledge import KnowledgeBase, effective_catalog_path
from hallfleet_apps.cli import app

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "maps" / "demo_hall"
runner = CliRunner()

GOOD_YAML = """\
- id: library-card
  name_zh: 图书证办理
  name_en: library card
  keywords_zh: [借书证, 图书证]
  keywords_en: [library card]
  department_zh: 区图书馆
  department_en: District Library
  window: B09
  materials_zh: [身份证]
  materials_en: [ID card]
  conditions_zh: 本区居民。
  conditions_en: District residents.
  processing_days: 0
  fee: 0
  online: false
  faq: []
"""

CSV_HEADER = (
    "id,name_zh,name_en,department_zh,department_en,window,materials_zh,materials_en,conditions_zh,"
    "conditions_en,processing_days,fee,online,keywords_zh,faq_q_zh,faq_a_zh,faq_q_en,faq_a_en\n"
)
GOOD_ROW = (
    "library-card,图书证办理,library card,区图书馆,District Library,B09,身份证;照片,ID card;photo,本区居民,"
    "District residents,0,0,false,借书证;图书证,丢了怎么办,到窗口补办,What if I lose it,Replace it at the window\n"
)


def test_good_yaml_is_imported_and_then_preferred_over_the_shipped_catalog(tmp_path: Path) -> None:
    source = tmp_path / "hall.yaml"
    source.write_text(GOOD_YAML, encoding="utf-8")
    assert effective_catalog_path(tmp_path / "data", SITE) == SITE / "service_items.yaml"
    result = runner.invoke(app, ["kb", "import", str(source), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    written = tmp_path / "data" / "service_items.yaml"
    assert effective_catalog_path(tmp_path / "data", SITE) == written
    kb = KnowledgeBase.load(written)
    assert list(kb.items) == ["library-card"]
    assert kb.answer("我想办个借书证").item_id == "library-card"
    assert kb.answer("厕所在哪").item_id == "hall:toilets"  # the building's own answers are kept


def test_good_csv_with_lists_and_faq_columns_is_imported(tmp_path: Path) -> None:
    source = tmp_path / "hall.csv"
    source.write_text(CSV_HEADER + GOOD_ROW, encoding="utf-8")
    result = runner.invoke(app, ["kb", "import", str(source), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    item = KnowledgeBase.load(tmp_path / "service_items.yaml").items["library-card"]
    assert item.materials_zh == ("身份证", "照片") and item.materials_en == ("ID card", "photo")
    assert item.online is False and item.faq[0].a_en == "Replace it at the window"


def test_bad_csv_rows_are_rejected_with_line_numbers_and_nothing_is_written(tmp_path: Path) -> None:
    bad_fee = GOOD_ROW.replace("library-card", "card-2").replace(",0,0,false,", ",0,free,false,")
    bad_window = GOOD_ROW.replace("library-card", "card-3").replace(",B09,", ",B9-B1,")
    source = tmp_path / "hall.csv"
    source.write_text(CSV_HEADER + GOOD_ROW + bad_fee + bad_window, encoding="utf-8")
    result = runner.invoke(app, ["kb", "import", str(source), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "line 3: item 'card-2': field 'fee'" in result.output
    assert "line 4: item 'card-3': field 'window'" in result.output
    assert not (tmp_path / "service_items.yaml").exists()


def test_bad_yaml_rows_name_their_line_and_every_problem(tmp_path: Path) -> None:
    rows = yaml.safe_load(GOOD_YAML)
    second = dict(rows[0], id="card-2", online="yes", materials_en=["ID card", "photo"])
    del second["conditions_en"]
    source = tmp_path / "hall.yaml"
    source.write_text(yaml.safe_dump(rows + [second], allow_unicode=True, sort_keys=False), encoding="utf-8")
    line = source.read_text(encoding="utf-8").splitlines().index("- id: card-2") + 1
    result = runner.invoke(app, ["kb", "import", str(source), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"line {line}: item 'card-2': missing field(s): conditions_en" in result.output
    assert f"line {line}: item 'card-2': field 'online'" in result.output
    assert "1 vs 2 entries" in result.output
    assert not (tmp_path / "service_items.yaml").exists()


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    source = tmp_path / "hall.yaml"
    source.write_text(GOOD_YAML + GOOD_YAML, encoding="utf-8")
    result = runner.invoke(app, ["kb", "import", str(source), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "line 17: item 'library-card': duplicate id (first on line 1)" in result.output


def test_the_shipped_catalog_survives_a_round_trip_through_import(tmp_path: Path) -> None:
    result = runner.invoke(app, ["kb", "import", str(SITE / "service_items.yaml"), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    again = KnowledgeBase.load(tmp_path / "service_items.yaml")
    original = KnowledgeBase.load(SITE / "service_items.yaml")
    assert again.items == original.items and again.hall_info == original.hall_info


def test_kb_ask_json_through_the_real_command_line(tmp_path: Path) -> None:
    def ask(question: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "hallfleet_apps.cli", "kb", "ask", question, "--json", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""  # jieba's start-up chatter is silenced
        return json.loads(done.stdout.strip().splitlines()[-1])

    answer = ask("我刚生了孩子要办什么手续")
    assert set(answer) == {"item", "asks", "answer"}
    assert (
        answer["item"] == "newborn-registration" and answer["asks"] == "general" and "出生医学证明" in answer["answer"]
    )
    assert ask("How much does a passport cost?")["asks"] == "fee"
    outside = ask("明天会下雨吗")
    assert outside["item"] is None and "帮办" in outside["answer"]
