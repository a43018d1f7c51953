"""The clerk, kiosk and technician pages in a real browser against a real fleet manager.

The fleet manager runs in a subprocess (its own event loop and embedded MQTT broker on free ports,
data in tmp); no robot is online, so the pages must show that state plainly. Chromium is Debian's
(/usr/bin/chromium), driven by Playwright without its own browser download.
"""

from __future__ import annotations

import re

import pytest
from support import CHROMIUM, fleet_manager_for_pages, get_json, launched_chromium

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 10_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory):
    """A fleet manager with the demo hall's site and fleet, on free loopback ports."""
    with fleet_manager_for_pages(tmp_path_factory.mktemp("pages_data")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with launched_chromium(sync_api) as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    """A fresh browser context per test: no language or place remembered from another test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _places(fleet_url: str, kind: str) -> list[dict]:
    places = get_json(f"{fleet_url}/api/places?kind={kind}")
    assert places, f"the demo site has no place of kind {kind!r}"
    return places  # type: ignore[return-value]


def _open_clerk(page, fleet_url: str, query: str = "") -> None:
    page.goto(f"{fleet_url}/clerk{query}")
    page.wait_for_selector("#my-place option[value]:not([value=''])", state="attached")


def test_clerk_page_in_chinese_shows_chinese_labels_and_places(page, fleet_url):
    window = _places(fleet_url, "service_window")[0]
    department = _places(fleet_url, "department")[0]
    _open_clerk(page, fleet_url)

    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    sync_api.expect(page.locator("label[for=my-place]")).to_contain_text("我的窗口/科室")
    sync_api.expect(page.locator("#send-title")).to_have_text("发送文件")
    sync_api.expect(page.locator("#send-btn")).to_have_text("发送")
    options = page.locator("#my-place option").all_inner_texts()
    assert any(window["name_zh"] in text for text in options), options
    assert any(department["name_zh"] in text for text in options), options
    groups = page.locator("#my-place optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert f"{window['level']}楼 · 受理窗口" in groups and f"{department['level']}楼 · 审批科室" in groups, groups


def test_sending_files_shows_pin_and_the_delivery_in_outgoing(page, fleet_url):
    window = _places(fleet_url, "service_window")[0]
    department = _places(fleet_url, "department")[0]
    _open_clerk(page, fleet_url)

    page.select_option("#my-place", window["id"])
    page.fill("#my-name", "王敏")
    page.fill("#sender-person", "王敏")
    page.select_option("#rcpt-place", department["id"])
    page.fill("#rcpt-person", "李强")
    page.fill(".doc-barcode", "SH-2026-000123")
    page.fill(".doc-title", "营业执照申请表")
    page.click("#send-btn")

    pin = page.locator("[data-testid=sender-pin]")
    sync_api.expect(pin).to_have_text(re.compile(r"^\d{6}$"))
    delivery_id = page.locator("#pin-delivery").get_attribute("data-id")
    assert delivery_id
    row = page.locator(f"#outgoing tr[data-id='{delivery_id}']")
    sync_api.expect(row.locator(".badge[data-state]")).to_have_text("已请求")
    sync_api.expect(row).to_contain_text(department["name_zh"])

    row.click()  # the detail shows the history and the custody log's "created" entry
    sync_api.expect(page.locator("#detail")).to_contain_text("交接记录")
    sync_api.expect(page.locator("#detail")).to_contain_text("SH-2026-000123")

    page.click("[data-lang-toggle]")
    sync_api.expect(row.locator(".badge[data-state]")).to_have_text("requested")


def test_switching_to_english_changes_labels_and_is_remembered(page, fleet_url):
    department = _places(fleet_url, "department")[0]
    _open_clerk(page, fleet_url)
    sync_api.expect(page.locator("[data-lang-toggle]")).to_have_text("English")

    page.click("[data-lang-toggle]")
    sync_api.expect(page.locator("label[for=my-place]")).to_contain_text("My window / department")
    sync_api.expect(page.locator("#send-btn")).to_have_text("Send")
    assert page.evaluate("document.documentElement.lang") == "en"
    options = page.locator("#rcpt-place option").all_inner_texts()
    assert any(department["name_en"] in text for text in options), options

    _open_clerk(page, fleet_url)  # reload: the choice stays
    sync_api.expect(page.locator("#send-title")).to_have_text("Send files")
    _open_clerk(page, fleet_url, "?lang=zh")  # and ?lang= overrides it
    sync_api.expect(page.locator("#send-title")).to_have_text("发送文件")


def test_kiosk_renders_question_box_and_says_when_no_robot_can_answer(page, fleet_url):
    page.goto(f"{fleet_url}/kiosk")
    sync_api.expect(page.locator("label[for=question]")).to_have_text("您想办理什么业务？")
    sync_api.expect(page.get_by_label("您想办理什么业务？")).to_be_visible()
    chips = page.locator("#chips button")
    sync_api.expect(chips).to_have_count(4)
    sync_api.expect(chips.first).to_have_text("营业执照怎么办")

    chips.nth(2).click()  # no guidance robot is online: the visitor still reads the answer
    answer = page.locator("#answer-text")
    sync_api.expect(answer).to_contain_text("卫生间")
    sync_api.expect(page.locator("#status")).to_have_text("导览机器人暂时不在，答案仅显示在屏幕上")

    page.goto(f"{fleet_url}/kiosk?lang=en")
    sync_api.expect(page.locator("label[for=question]")).to_have_text("How can we help you?")


def test_technician_page_lists_the_four_robots_offline(page, fleet_url):
    page.goto(f"{fleet_url}/technician")
    rows = page.locator("tr[data-robot]")
    sync_api.expect(rows).to_have_count(4)
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.robot)")) == ["dr1", "dr2", "dr3", "gr1"]
    for robot_id in ("dr1", "dr2", "dr3", "gr1"):
        row = page.locator(f"tr[data-robot='{robot_id}']")
        sync_api.expect(row).to_have_class(re.compile(r"\boffline\b"))
        sync_api.expect(row.locator("td.activity")).to_have_text("离线")
    sync_api.expect(page.locator("#count-online")).to_have_text("在线 0 / 共 4")
    sync_api.expect(page.locator("#visits")).to_have_text("暂无等候超时的号码")  # no guidance robot visit yet

    page.click("[data-lang-toggle]")
    sync_api.expect(page.locator("tr[data-robot='gr1'] td.activity")).to_have_text("offline")
    sync_api.expect(page.locator("#count-online")).to_have_text("Online 0 / 4")
    sync_api.expect(page.locator("#visits")).to_have_text("No ticket has waited too long yet")
