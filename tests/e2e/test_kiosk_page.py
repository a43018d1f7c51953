"""A guidance robot's kiosk page in real headless Chromium against a real fleet manager.

No robot is online (the fleet manager of test_pages.py runs without robots), so answers show on the
screen only and the robot refuses to lead; what a visitor reads and taps is what is checked.
Screenshots go to the test's tmp dir and to /tmp/kiosk_screens/ for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_pages import browser, fleet_url, sync_api  # noqa: F401  (fixtures: a fleet manager and Chromium)

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 10_000
SCREENS = Path("/tmp/kiosk_screens")
LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}
expect = sync_api.expect


@pytest.fixture
def open_kiosk(browser, fleet_url):
    """open_kiosk(viewport, query) -> a page; every context closed, no JavaScript error allowed."""
    contexts, errors = [], []

    def _open(viewport: dict = LANDSCAPE, query: str = "?robot=gr1"):
        context = browser.new_context(viewport=viewport, has_touch=True)
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{fleet_url}/kiosk{query}")
        expect(page.locator("#chips button")).to_have_count(4)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def snap(page, tmp_path: Path, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"


def smallest_touch_target_px(page) -> float:
    return page.evaluate("""Math.min(...[...document.querySelectorAll('button')]
        .filter(b => b.offsetParent !== null).map(b => b.getBoundingClientRect().height))""")


def test_chinese_by_default_with_big_touch_targets(open_kiosk, tmp_path) -> None:
    page = open_kiosk()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    expect(page.locator("h1")).to_have_text("导办服务")
    expect(page.locator("label[for=question]")).to_have_text("您想办理什么业务？")
    expect(page.locator("#ask-btn")).to_have_text("提问")
    expect(page.locator("#chips-title")).to_have_text("常见问题")
    expect(page.locator("#helper-btn")).to_have_text("找工作人员帮办")
    expect(page.locator("#robot-badge")).to_have_text("导览机器人 gr1")
    expect(page.locator("[data-lang-toggle]")).to_have_text("English")
    assert smallest_touch_target_px(page) >= 56
    no_sideways_scroll(page)
    snap(page, tmp_path, "kiosk_zh_start_1280x800")


@pytest.mark.parametrize("viewport,name", [(LANDSCAPE, "1280x800"), (PORTRAIT, "800x1280")])
def test_tapping_a_chip_shows_the_answer_and_the_materials_checklist(open_kiosk, tmp_path, viewport, name) -> None:
    page = open_kiosk(viewport)
    page.locator("#chips button").first.tap()
    expect(page.locator("#answer-text")).to_contain_text("营业执照")
    checklist = page.locator("#materials li")
    expect(checklist).to_have_count(4)
    expect(checklist.nth(1)).to_contain_text("公司章程")
    expect(page.locator("#materials-title")).to_have_text("办理材料清单")
    expect(page.locator("[data-fact=where] dd")).to_have_text("1楼 A区 A01-A04 号窗口")
    expect(page.locator("[data-fact=fee] dd")).to_have_text("不收费")
    expect(page.locator("[data-fact=days] dd")).to_have_text("1 个工作日")
    expect(page.locator("[data-fact=online] dd")).to_contain_text("全程网办")
    expect(page.locator("#status")).to_have_text("导览机器人暂时不在，答案仅显示在屏幕上")

    checklist.nth(1).locator("label").tap()  # the visitor ticks what they have with them
    expect(checklist.nth(1).locator("input")).to_be_checked()
    assert smallest_touch_target_px(page) >= 56
    no_sideways_scroll(page)
    snap(page, tmp_path, f"kiosk_zh_answer_{name}")

    # the robot is offline: it says so plainly instead of pretending to lead
    expect(page.locator("#lead-btn")).to_have_text("带我去窗口")
    page.locator("#lead-btn").tap()
    expect(page.locator("#lead-msg")).to_contain_text("离线")
    expect(page.locator("#lead-msg")).to_have_attribute("data-state", "refused")
    snap(page, tmp_path, f"kiosk_zh_lead_refused_{name}")


def test_a_follow_up_keeps_the_service_and_an_unsure_answer_calls_a_helper(open_kiosk, tmp_path) -> None:
    page = open_kiosk()
    page.fill("#question", "营业执照怎么办")
    page.click("#ask-btn")
    expect(page.locator("#materials li")).to_have_count(4)
    page.fill("#question", "那要带什么材料？")
    page.press("#question", "Enter")
    expect(page.locator("#answer-text")).to_contain_text("1. 设立登记申请书")
    expect(page.locator("#materials li").nth(1)).to_contain_text("公司章程")

    page.fill("#question", "我想申请火星签证")
    page.click("#ask-btn")
    expect(page.locator("#answer-text")).to_contain_text("没有把握")
    expect(page.locator("#details")).to_be_hidden()
    expect(page.locator("#helper-msg")).to_have_text("已为您通知工作人员，帮办人员马上就到，请稍候。")
    snap(page, tmp_path, "kiosk_zh_abstain_1280x800")


def test_the_helper_button_confirms_that_staff_are_coming(open_kiosk, fleet_url, tmp_path) -> None:
    page = open_kiosk(PORTRAIT)
    page.fill("#question", "我看不懂表格怎么填")
    page.locator("#helper-btn").tap()
    expect(page.locator("#helper-msg")).to_have_text(re.compile("工作人员.*马上就到"))
    expect(page.locator("#helper-msg")).to_have_class(re.compile(r"\bok\b"))
    snap(page, tmp_path, "kiosk_zh_helper_800x1280")

    tech = page.context.new_page()  # the information desk sees the request on the technician page
    tech.goto(f"{fleet_url}/technician")
    expect(tech.locator("#helpers li").first).to_contain_text("帮办请求")
    expect(tech.locator("#helpers li").first).to_contain_text("gr1")
    expect(tech.locator("#helpers li").first).to_contain_text("我看不懂表格怎么填")


def test_english_switch_translates_the_page_and_the_checklist(open_kiosk, tmp_path) -> None:
    page = open_kiosk()
    page.locator("[data-lang-toggle]").tap()
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.locator("label[for=question]")).to_have_text("How can we help you?")
    expect(page.locator("#helper-btn")).to_have_text("Ask a staff helper")
    expect(page.locator("#robot-badge")).to_have_text("Guide robot gr1")
    expect(page.locator("#chips button").first).to_have_text("How do I get a business licence?")

    page.locator("#chips button").first.tap()
    expect(page.locator("#answer-text")).to_contain_text("business licence")
    expect(page.locator("#materials-title")).to_have_text("Documents to bring")
    expect(page.locator("#materials li").nth(1)).to_contain_text("articles of association")
    expect(page.locator("[data-fact=where] dd")).to_have_text("Windows A01-A04, zone A, floor 1")
    expect(page.locator("[data-fact=fee] dd")).to_have_text("Free of charge")
    expect(page.locator("#lead-btn")).to_have_text("Take me to the window")
    page.locator("#lead-btn").tap()
    expect(page.locator("#lead-msg")).to_contain_text("offline")
    no_sideways_scroll(page)
    snap(page, tmp_path, "kiosk_en_answer_1280x800")
    visible_cjk = page.evaluate(r"""[...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null
        && e.children.length === 0 && /[\u3400-\u9fff]/.test(e.textContent)).map(e => e.textContent)""")
    assert visible_cjk == ["中文"], f"untranslated text on the English page: {visible_cjk}"


def test_without_a_robot_in_the_url_nobody_offers_to_lead(open_kiosk) -> None:
    page = open_kiosk(query="")
    expect(page.locator("#robot-badge")).to_be_hidden()
    page.locator("#chips button").first.tap()
    expect(page.locator("#materials li")).to_have_count(4)
    expect(page.locator("#lead-btn")).to_be_hidden()
