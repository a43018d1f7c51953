"""The clerk page as clerks see it, in real headless Chromium (Debian's, driven by Playwright).

Most tests run against a fleet manager with no robot online (deliveries stay "requested", so what
the page shows is deterministic); the receive view runs against the whole demo hall, where a robot
carries the files from a ground-floor window to a 3rd-floor department.

Screenshots go to each test's tmp dir and to /tmp/clerk_screens/ for people to look at.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from support import CHROMIUM, fleet_manager_for_pages, free_port, get_json, launched_chromium

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENS = Path("/tmp/clerk_screens")
UI_TIMEOUT_MS = 10_000
ROBOT_TIMEOUT_MS = 15_000  # page -> fleet -> MQTT -> robot -> back; the fleet gives up after 10 s
TRIP_TIMEOUT_MS = 90_000  # a robot driving and riding the lift in the demo hall at time scale 20
STATES = [
    "requested",
    "assigned",
    "to_pickup",
    "awaiting_load",
    "loaded",
    "in_transit",
    "awaiting_recipient",
    "delivered",
    "cancelled",
    "returned_to_sender",
    "failed",
]
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
expect = sync_api.expect


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory):
    """A fleet manager with the demo hall's site and fleet but no robot running, on free loopback ports."""
    with fleet_manager_for_pages(tmp_path_factory.mktemp("clerk_pages_data")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with launched_chromium(sync_api) as chromium:
        yield chromium


class Clerk:
    """One person at one browser: her own context (own localStorage), her page, its JS errors."""

    def __init__(self, browser, base_url: str, name: str, shots: Path, viewport=DESKTOP) -> None:
        self.name, self.base_url, self.shots = name, base_url, shots
        self.context = browser.new_context(viewport=viewport, locale="zh-CN")
        self.context.set_default_timeout(UI_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.open()

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.base_url}/clerk{query}")
        self.page.wait_for_selector("#my-place option[value]:not([value=''])", state="attached")

    def sit_at(self, place_id: str, person: str) -> None:
        self.page.select_option("#my-place", place_id)
        self.page.fill("#my-name", person)
        self.page.press("#my-name", "Tab")  # commits the name (change event), as leaving the field does

    def row(self, table: str, delivery_id: str):
        return self.page.locator(f"#{table} tr[data-id='{delivery_id}']")

    def shot(self, moment: str, full_page: bool = True) -> Path:
        path = self.shots / f"clerk_{moment}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        SCREENS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENS / path.name)
        return path

    def close(self) -> list[str]:
        self.context.close()
        return self.errors


@pytest.fixture
def people(browser, tmp_path):
    """Make clerks on demand; every page must end without JavaScript errors."""
    made: list[Clerk] = []

    def make(base_url: str, name: str, viewport=DESKTOP) -> Clerk:
        clerk = Clerk(browser, base_url, name, tmp_path, viewport)
        made.append(clerk)
        return clerk

    expect.set_options(timeout=UI_TIMEOUT_MS)
    yield make
    errors = {c.name: c.close() for c in made}
    expect.set_options(timeout=5_000)
    assert not any(errors.values()), f"JavaScript errors on the clerk pages: {errors}"


def _places(base_url: str, kind: str) -> list[dict]:
    found = get_json(f"{base_url}/api/places?kind={kind}")
    assert found, f"the demo site has no place of kind {kind!r}"
    return found  # type: ignore[return-value]


def _department_on(base_url: str, level: int, index: int = 0) -> dict:
    departments = [p for p in _places(base_url, "department") if p["level"] == level]
    assert len(departments) > index, f"the demo site has too few departments on level {level}"
    return departments[index]


def _untranslated(page) -> list[str]:
    """Dictionary keys that reached the screen instead of words (clerk.x, state.x, kind.x, ...)."""
    text = page.evaluate("document.body.innerText")
    return re.findall(r"\b(?:clerk|state|kind|custody|common|priority|floor)\.[a-z_.]+", text)


def _send(
    clerk: Clerk, to_place: dict, person: str, docs: list[tuple[str, str]], *, urgent: bool = False, note: str = ""
) -> tuple[str, str]:
    """Fill the dispatch form (recipient found by typing in the search box) and send; (delivery id, PIN)."""
    page = clerk.page
    page.fill("#rcpt-place-search", to_place["name_zh"])
    page.locator(f"#rcpt-place-results [data-place='{to_place['id']}']").click()
    expect(page.locator("#rcpt-place")).to_have_value(to_place["id"])
    page.fill("#rcpt-person", person)
    for i, (barcode, title) in enumerate(docs):
        if i:
            page.click("#add-doc")
        page.locator(".doc-barcode").nth(i).fill(barcode)
        page.locator(".doc-title").nth(i).fill(title)
    if urgent:
        page.select_option("#priority", "urgent")
    if note:
        page.fill("#note", note)
    page.click("#send-btn")
    pin = page.locator("[data-testid=sender-pin]")
    expect(pin).to_have_text(re.compile(r"^\d{6}$"))
    delivery_id = page.locator("#pin-delivery").get_attribute("data-id")
    assert delivery_id, "the PIN box names no delivery"
    return delivery_id, pin.inner_text()


# ------------------------------------------------------------------------------- pages, no robots
def test_first_visit_asks_for_the_place_once_and_remembers_it(people, fleet_url):
    window = _places(fleet_url, "service_window")[3]
    clerk = people(fleet_url, "first-visit")
    page = clerk.page
    expect(page.locator("#me-hint")).to_have_text("请先选择您所在的窗口或科室（本机会记住）。")
    expect(page.locator("#me-hint")).to_be_visible()
    clerk.shot("0-first-visit")
    clerk.sit_at(window["id"], "周洁")
    expect(page.locator("#me-hint")).to_be_hidden()

    clerk.open()  # the next morning: same place, same name, no question
    expect(page.locator("#my-place")).to_have_value(window["id"])
    expect(page.locator("#my-name")).to_have_value("周洁")
    expect(page.locator("#me-hint")).to_be_hidden()


def test_place_pickers_are_grouped_by_floor_with_chinese_names(people, fleet_url):
    clerk = people(fleet_url, "groups")
    page = clerk.page
    for select in ("#my-place", "#rcpt-place"):
        groups = page.locator(f"{select} optgroup").evaluate_all("gs => gs.map(g => g.label)")
        floors = [int(re.match(r"^(\d+)楼 · ", g).group(1)) for g in groups]  # every group names its floor
        assert floors == sorted(floors) and set(floors) == {1, 2, 3, 4}, groups
        assert "1楼 · 受理窗口" in groups and "3楼 · 审批科室" in groups, groups
    dept3 = _department_on(fleet_url, 3)
    group3 = page.locator("#rcpt-place optgroup[label='3楼 · 审批科室'] option").all_inner_texts()
    assert dept3["name_zh"] in group3, group3
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in group3), group3  # Chinese names


def test_typing_finds_a_place_among_a_hundred(people, fleet_url):
    clerk = people(fleet_url, "search")
    page = clerk.page
    results = page.locator("#rcpt-place-results")

    page.fill("#rcpt-place-search", "A02")  # a window number
    options = results.locator("[role=option]")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("A区 综合受理窗口 A02")
    expect(results.locator("li.group")).to_have_text(["1楼 · 受理窗口"])
    page.press("#rcpt-place-search", "Enter")
    expect(page.locator("#rcpt-place")).to_have_value("win-A02")
    expect(results).to_be_hidden()

    page.fill("#rcpt-place-search", "3楼")  # a floor: its departments only, under its heading
    expect(results.locator("li.group")).to_have_text(["3楼 · 审批科室"])
    dept3 = [p for p in _places(fleet_url, "department") if p["level"] == 3]
    expect(results.locator("[role=option]")).to_have_count(len(dept3))
    clerk.shot("1-place-search-floor", full_page=False)

    dept = _department_on(fleet_url, 4, 1)
    page.fill("#rcpt-place-search", dept["name_zh"][:4])  # part of a Chinese name, then a tap
    results.locator(f"[data-place='{dept['id']}']").click()
    expect(page.locator("#rcpt-place")).to_have_value(dept["id"])

    page.fill("#rcpt-place-search", "火星办公室")
    expect(results).to_contain_text("没有匹配的窗口或科室")
    page.press("#rcpt-place-search", "Escape")
    expect(results).to_be_hidden()
    expect(page.locator("#rcpt-place")).to_have_value(dept["id"])  # nothing chosen by accident


def test_sending_shows_the_pin_big_and_both_places_see_the_delivery(people, fleet_url):
    window = _places(fleet_url, "service_window")[5]
    dept = _department_on(fleet_url, 2)
    sender = people(fleet_url, "sender")
    sender.sit_at(window["id"], "王敏")
    expect(sender.page.locator("#sender-person")).to_have_value("王敏")
    page = sender.page
    page.click("#add-doc")  # a row too many: removed again
    expect(page.locator(".doc-row")).to_have_count(2)
    page.locator(".doc-row").nth(1).get_by_role("button", name="删除").click()
    expect(page.locator(".doc-row")).to_have_count(1)
    delivery_id, pin = _send(
        sender,
        dept,
        "李强",
        [("SH-2026-000321", "营业执照申请表"), ("SH-2026-000322", "法人身份证复印件")],
        urgent=True,
        note="今天下班前审批",
    )

    pin_box = page.locator("[data-testid=sender-pin]")
    expect(pin_box).to_be_in_viewport()
    assert float(pin_box.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 40, "the PIN must be big"
    expect(page.locator("#pin-box")).to_contain_text("装件密码")
    expect(page.locator("#pin-delivery")).to_have_text(f"运单号：{delivery_id}")

    row = sender.row("outgoing", delivery_id)
    expect(row.locator(".badge[data-state]")).to_have_text("已请求")
    expect(row).to_contain_text(f"{dept['name_zh']} · 李强")
    expect(row).to_contain_text("加急")
    expect(row.locator("[data-testid=eta]")).to_have_text("")  # no robot moves: no arrival time is made up
    sender.shot("2-sent-pin")

    # expanding the row shows the history (times and messages) and the custody log right under it
    row.get_by_role("button", name=delivery_id).click()
    expanded = page.locator(f"#outgoing tr.expand[data-expand='{delivery_id}'] #detail")
    expect(expanded).to_be_visible()
    expect(row.get_by_role("button", name=delivery_id)).to_have_attribute("aria-expanded", "true")
    expect(expanded).to_contain_text("状态记录")
    expect(expanded).to_contain_text("今天下班前审批")
    history = expanded.locator("h3:has-text('状态记录') + .table-wrap tbody tr")
    expect(history).to_have_count(1)
    expect(history.first.locator("td").first).to_have_text(re.compile(r"\d{2}:\d{2}:\d{2}"))
    expect(history.first.locator(".badge")).to_have_text("已请求")
    expect(expanded.locator("td[data-kind=created]")).to_have_text("创建")
    expect(expanded).to_contain_text("SH-2026-000322 法人身份证复印件")
    sender.shot("3-row-expanded")
    row.get_by_role("button", name=delivery_id).click()
    expect(page.locator(f"tr.expand[data-expand='{delivery_id}']")).to_have_count(0)

    # the department's clerk sees it in her incoming list, from the window, in Chinese
    receiver = people(fleet_url, "receiver")
    receiver.sit_at(dept["id"], "李强")
    in_row = receiver.row("incoming", delivery_id)
    expect(in_row).to_contain_text(f"{window['name_zh']} · 王敏")
    expect(in_row.locator(".badge[data-state]")).to_have_text("已请求")
    expect(receiver.page.locator(f"#outgoing tr[data-id='{delivery_id}']")).to_have_count(0)
    receiver.shot("4-incoming")

    # and in English after the switch, remembered on reload
    receiver.page.click("[data-lang-toggle]")
    expect(in_row.locator(".badge[data-state]")).to_have_text("requested")
    expect(receiver.page.locator("#in-title")).to_have_text("Incoming")
    receiver.open()
    expect(receiver.page.locator("#in-title")).to_have_text("Incoming")
    expect(in_row).to_contain_text(f"{window['name_en']} · 王敏")
    assert _untranslated(receiver.page) == []
    receiver.shot("5-incoming-en")


def test_every_state_has_a_chinese_and_an_english_label(people, fleet_url):
    page = people(fleet_url, "labels").page
    zh = page.evaluate("states => states.map(s => HF.stateLabel(s))", STATES)
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in zh), dict(zip(STATES, zh))
    assert len(set(zh)) == len(STATES), zh
    page.click("[data-lang-toggle]")
    en = page.evaluate("states => states.map(s => HF.stateLabel(s))", STATES)
    assert all(re.fullmatch(r"[a-z ]+", label) for label in en), dict(zip(STATES, en))
    assert len(set(en)) == len(STATES), en


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["1280x800", "tablet-768"])
def test_page_fits_the_screen_with_legible_chinese(people, fleet_url, viewport):
    window = _places(fleet_url, "service_window")[7 if viewport is DESKTOP else 8]  # one outgoing row each
    clerk = people(fleet_url, f"layout-{viewport['width']}", viewport)
    clerk.sit_at(window["id"], "陈晓")
    _send(clerk, _department_on(fleet_url, 3, 1), "赵科长", [("SH-2026-000777", "不动产登记申请书")])
    page = clerk.page
    expect(page.locator("#outgoing tr[data-id]")).to_have_count(1)
    for lang in ("zh", "en"):
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{lang}: the page scrolls sideways by {overflow}px at {viewport}"
        smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('body *')]
            .filter(el => el.offsetParent !== null && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
            .map(el => parseFloat(getComputedStyle(el).fontSize)))""")
        assert smallest >= 13, f"{lang}: text as small as {smallest}px at {viewport}"
        small_targets = page.evaluate("""() => [...document.querySelectorAll('button:not(.link), input, select')]
            .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 40)
            .map(el => el.id || el.className || el.textContent)""")
        assert small_targets == [], f"{lang}: controls too small to tap at {viewport}: {small_targets}"
        assert _untranslated(page) == [], lang
        clerk.shot(f"6-layout-{viewport['width']}-{lang}")
        page.click("[data-lang-toggle]")
    # the Chinese font is there: a CJK glyph is not drawn as the same width as the missing-glyph box
    assert page.evaluate("document.fonts.check('16px \"WenQuanYi Micro Hei\"', '文件')"), "WenQuanYi Micro Hei missing"


# ------------------------------------------------------------------------- receive view, demo hall
@pytest.fixture(scope="module")
def hall_url(tmp_path_factory: pytest.TempPathFactory):
    """The whole demo hall (robots, elevators, fleet manager) on free loopback ports; stopped afterwards."""
    from hallfleet_apps.demo import DemoOptions, start_hall
    from hallfleet_apps.supervisor import Supervisor

    data_dir = tmp_path_factory.mktemp("clerk_pages_hall")
    options = DemoOptions(
        data_dir=data_dir,
        site_dir=REPO_ROOT / "maps" / "demo_hall",
        fleet_file=REPO_ROOT / "robots" / "fleets" / "demo_hall.yaml",
        mqtt_url=None,
        http_port=free_port(),
        broker_port=free_port(),
        time_scale=20.0,
    )
    supervisor = Supervisor(data_dir / "logs")
    try:
        yield start_hall(options, supervisor)
    finally:
        supervisor.stop_all()


ETA_WATCH = """() => {
  window.__etas = [];
  new MutationObserver(() => document.querySelectorAll('[data-eta-id]').forEach(el => {
    const text = el.textContent.trim();
    if (text && !window.__etas.includes(text)) window.__etas.push(text);
  })).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_receive_view_shows_the_one_time_pin_and_opens_the_compartment(people, hall_url):
    dept = _department_on(hall_url, 3)
    window = people(hall_url, "hall-window")
    department = people(hall_url, "hall-department")
    department.sit_at(dept["id"], "李科长")
    window.sit_at("win-A05", "张丽")
    for clerk in (window, department):
        clerk.page.evaluate(ETA_WATCH)  # remembers every arrival estimate the clerk was shown
    wp, dp = window.page, department.page
    expect(dp.locator("#receive")).to_be_hidden()  # nothing for her yet

    delivery_id, sender_pin = _send(window, dept, "李科长", [("SH-2026-009001", "规划许可申请表")])
    out_row = window.row("outgoing", delivery_id)
    expect(out_row.locator(".badge[data-state]")).to_have_text("等待装件", timeout=TRIP_TIMEOUT_MS)
    out_row.get_by_role("button", name="在机器人旁开格口").click()
    wp.keyboard.type(sender_pin)
    wp.click("#unlock-btn")
    expect(wp.locator("#robot-msg.ok")).to_contain_text("格口已打开", timeout=ROBOT_TIMEOUT_MS)
    wp.click("#close-btn")
    expect(wp.locator("#robot-msg.ok")).to_contain_text("格口已锁好", timeout=ROBOT_TIMEOUT_MS)

    # on its way: the department sees it coming, with its PIN, before the robot is there
    coming = dp.locator(f"[data-testid=coming-item][data-id='{delivery_id}']")
    item = dp.locator(f"[data-testid=receive-item][data-id='{delivery_id}']")
    expect(coming.or_(item)).to_be_visible(timeout=TRIP_TIMEOUT_MS)

    # arrived: the receive view shows the one-time PIN of the notification, the robot and the compartment
    expect(item).to_be_visible(timeout=TRIP_TIMEOUT_MS)
    notes = get_json(f"{hall_url}/api/notifications?place_id={dept['id']}")
    pins = [
        m.group(1)
        for n in notes
        if n["delivery_id"] == delivery_id  # type: ignore[union-attr]
        for m in [re.search(r"一次性密码：(\d{6})", n["text_zh"])]
        if m
    ]
    assert len(pins) == 1, notes
    delivery = get_json(f"{hall_url}/api/deliveries/{delivery_id}")
    expect(item.locator("[data-testid=recipient-pin]")).to_have_text(pins[0])
    assert pins[0] != sender_pin
    expect(item.locator("[data-testid=receive-robot]")).to_have_text(delivery["robot_id"])  # type: ignore[index]
    expect(item.locator("[data-testid=receive-comp]")).to_have_text(f"{delivery['compartment_id']} 号")  # type: ignore[index]
    expect(item).to_contain_text("文件已到达")
    expect(item).to_contain_text("张丽")
    in_row = department.row("incoming", delivery_id)
    expect(in_row.locator(".badge[data-state]")).to_have_text("等待签收")
    assert dp.locator("#incoming tbody tr[data-id]").first.get_attribute("data-id") == delivery_id  # arrived on top
    department.shot("7-receive-arrived")

    item.locator("[data-testid=receive-open]").click()
    expect(item.locator(".msg.ok")).to_contain_text("格口已打开", timeout=ROBOT_TIMEOUT_MS)
    expect(item.locator("[data-testid=receive-close]")).to_be_focused()
    department.shot("8-receive-opened")
    item.locator("[data-testid=receive-close]").click()
    expect(dp.locator("#receive-msg")).to_have_text(
        f"运单 {delivery_id} 已签收，格口已锁好。", timeout=ROBOT_TIMEOUT_MS
    )
    expect(in_row.locator(".badge[data-state]")).to_have_text("已送达", timeout=30_000)
    expect(item).to_have_count(0)
    expect(out_row.locator(".badge[data-state]")).to_have_text("已送达", timeout=30_000)
    department.shot("9-receive-done")

    # both clerks were told when the robot would come while it drove
    window_etas = wp.evaluate("window.__etas")
    department_etas = dp.evaluate("window.__etas")
    assert any(re.search(r"机器人(约 .+后到达取件|即将到达)", e) for e in window_etas), window_etas
    assert any(re.search(r"预计 .+后送达|即将送达", e) for e in window_etas + department_etas), (
        window_etas,
        department_etas,
    )
    dp.click("[data-lang-toggle]")
    expect(dp.locator("#receive-msg")).to_have_text(f"Delivery {delivery_id} received; the compartment is locked.")
    assert _untranslated(dp) == []
    department.shot("10-receive-done-en")
