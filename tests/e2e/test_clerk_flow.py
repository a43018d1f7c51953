"""A delivery carried end to end by two clerks in a real browser, against the whole running demo hall.

The fleet manager, embedded broker, elevator simulator and every robot (firmware simulator behind a
pty + its ROS 2 process) run as in `hallfleet demo`. Two browser contexts stand for two people: the
window clerk at win-A02 who sends and loads the files, and the department clerk on the 3rd floor who
reads the one-time PIN from her notifications and takes the files out. Only the pages are used.

Set HALLFLEET_E2E_SHOTS=/some/dir to keep screenshots of both pages at the interesting moments.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from support import CHROMIUM, free_port, get_json, launched_chromium

from hallfleet_apps.demo import DemoOptions, start_hall
from hallfleet_apps.supervisor import Supervisor

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
UI_TIMEOUT_MS = 10_000
PLAYWRIGHT_EXPECT_DEFAULT_MS = 5_000
ROBOT_TIMEOUT_MS = 15_000  # a PIN travels page -> fleet -> MQTT -> robot -> back; the fleet gives up after 10 s
TRIP_TIMEOUT_MS = 90_000  # a robot driving (and riding the lift) at time scale 20
WINDOW = {"place_id": "win-A02", "person": "张丽"}
RECIPIENT_PERSON = "李科长"
DOCUMENT = {"barcode": "SH-2026-004711", "title": "建设工程规划许可申请表"}

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
expect = sync_api.expect


@pytest.fixture(scope="module")
def hall_url(tmp_path_factory: pytest.TempPathFactory):
    """The whole demo hall on free loopback ports; everything is stopped afterwards, also on failure."""
    data_dir = tmp_path_factory.mktemp("clerk_flow")
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


@pytest.fixture(scope="module")
def browser():
    with launched_chromium(sync_api) as chromium:
        yield chromium


class Clerk:
    """One person at one browser: her own context (own localStorage), her page, its JS errors."""

    def __init__(self, browser, base_url: str, name: str) -> None:
        self.name = name
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        self.context.set_default_timeout(UI_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(f"{base_url}/clerk")
        self.page.wait_for_selector("#my-place option[value]:not([value=''])", state="attached")

    def sit_at(self, place_id: str, person: str) -> None:
        self.page.select_option("#my-place", place_id)
        self.page.fill("#my-name", person)
        self.page.press("#my-name", "Tab")  # commits the name (change event), as leaving the field does

    def row(self, table: str, delivery_id: str):
        return self.page.locator(f"#{table} tr[data-id='{delivery_id}']")

    def shot(self, moment: str) -> None:
        folder = os.environ.get("HALLFLEET_E2E_SHOTS")
        if folder:
            self.page.screenshot(path=str(Path(folder) / f"clerk_flow_{moment}_{self.name}.png"), full_page=True)


@pytest.fixture
def clerks(browser, hall_url):
    expect.set_options(timeout=UI_TIMEOUT_MS)  # the whole hall shares 2 cores: the same slack as the contexts
    window, department = Clerk(browser, hall_url, "window"), Clerk(browser, hall_url, "department")
    yield window, department
    errors = {c.name: c.errors for c in (window, department) if c.errors}
    window.context.close()
    department.context.close()
    expect.set_options(timeout=PLAYWRIGHT_EXPECT_DEFAULT_MS)
    assert not errors, f"JavaScript errors on the clerk pages: {errors}"


def _third_floor_department(base_url: str) -> dict:
    departments = [p for p in get_json(f"{base_url}/api/places?kind=department") if p["level"] == 3]  # type: ignore[union-attr]
    assert departments, "the demo site has no department on the 3rd floor"
    return departments[0]


def _open_at_robot(clerk: Clerk, table: str, delivery_id: str, via=None) -> None:
    """Click open-at-robot (in the row, or in ``via``); the panel must name the row's robot and compartment."""
    row = clerk.row(table, delivery_id)
    robot_id, compartment = (cell.inner_text().strip() for cell in row.locator("td.here").all())
    assert re.fullmatch(r"[\w-]+", robot_id) and compartment.isdigit(), (robot_id, compartment)
    (via or row).get_by_role("button", name="在机器人旁开格口").click()
    page = clerk.page
    expect(page.locator("#robot-id")).to_have_value(robot_id)
    expect(page.locator("#robot-comp")).to_have_value(compartment)
    expect(page.locator("#robot-person")).to_have_value(clerk.page.locator("#my-name").input_value())
    expect(page.locator("#robot-for")).to_contain_text(delivery_id)
    expect(page.locator("#robot-pin")).to_be_focused()


def test_two_clerks_carry_a_delivery_from_window_to_third_floor(clerks, hall_url):
    window, department = clerks
    dept = _third_floor_department(hall_url)
    department.sit_at(dept["id"], RECIPIENT_PERSON)
    window.sit_at(WINDOW["place_id"], WINDOW["person"])
    wp = window.page
    expect(wp.locator("#sender-person")).to_have_value(WINDOW["person"])  # her name carried into the form

    # --- the window clerk sends one document to the department
    wp.select_option("#rcpt-place", dept["id"])
    wp.fill("#rcpt-person", RECIPIENT_PERSON)
    wp.fill(".doc-barcode", DOCUMENT["barcode"])
    wp.fill(".doc-title", DOCUMENT["title"])
    wp.click("#send-btn")
    expect(wp.locator("[data-testid=sender-pin]")).to_have_text(re.compile(r"^\d{6}$"))
    sender_pin = wp.locator("[data-testid=sender-pin]").inner_text()
    delivery_id = wp.locator("#pin-delivery").get_attribute("data-id")
    assert delivery_id, "the PIN box names no delivery"
    expect(window.row("outgoing", delivery_id)).to_be_visible()
    window.shot("1-sent")

    # --- the robot arrives at her window: the row says so and offers to open at the robot
    out_row = window.row("outgoing", delivery_id)
    expect(out_row.locator(".badge[data-state]")).to_have_text("等待装件", timeout=TRIP_TIMEOUT_MS)
    window.shot("2-awaiting-load")
    _open_at_robot(window, "outgoing", delivery_id)
    wp.keyboard.type(sender_pin)
    wp.click("#unlock-btn")
    expect(wp.locator("#robot-msg.ok")).to_contain_text("格口已打开", timeout=ROBOT_TIMEOUT_MS)
    expect(wp.locator("#close-btn")).to_be_focused()  # next step for her hands: close after loading
    window.shot("3-opened")
    wp.click("#close-btn")
    expect(wp.locator("#robot-msg.ok")).to_contain_text("格口已锁好", timeout=ROBOT_TIMEOUT_MS)
    expect(out_row.locator(".badge[data-state]")).not_to_have_text("等待装件", timeout=UI_TIMEOUT_MS)
    expect(wp.locator("#pin-box")).to_be_hidden()  # the used loading PIN leaves the screen
    expect(wp.locator("#robot-for")).to_be_hidden()

    # --- the department gets the one-time PIN in its notifications, then the robot arrives
    dp = department.page
    pin_note = dp.locator("#notes li", has_text=delivery_id).filter(has_text="一次性密码：")
    expect(pin_note).to_have_count(1, timeout=30_000)
    match = re.search(r"一次性密码：(\d{6})", pin_note.inner_text())
    assert match, pin_note.inner_text()
    one_time_pin = match.group(1)
    assert one_time_pin != sender_pin
    in_row = department.row("incoming", delivery_id)
    expect(in_row.locator(".badge[data-state]")).to_have_text("等待签收", timeout=TRIP_TIMEOUT_MS)
    in_row.get_by_role("button", name=delivery_id).click()  # the detail says where the files are
    robot_id = in_row.locator("td.here").first.inner_text().strip()
    expect(dp.locator("#detail [data-testid=handover]")).to_contain_text(f"文件在机器人 {robot_id} 的")
    department.shot("4-awaiting-recipient")

    # --- from the PIN's notification to the robot; a wrong PIN first: the page says how many tries are left
    newest_note = dp.locator(f"#notes li[data-delivery='{delivery_id}']").first  # "arrived: open with your PIN"
    _open_at_robot(department, "incoming", delivery_id, via=newest_note)
    wrong_pin = f"{(int(one_time_pin) + 1) % 1_000_000:06d}"
    dp.keyboard.type(wrong_pin)
    dp.click("#unlock-btn")
    expect(dp.locator("#robot-msg.error")).to_contain_text(
        re.compile(r"密码错误.*还可再试 4 次"), timeout=ROBOT_TIMEOUT_MS
    )
    department.shot("5-wrong-pin")
    dp.fill("#robot-pin", one_time_pin)
    dp.click("#unlock-btn")
    expect(dp.locator("#robot-msg.ok")).to_contain_text("格口已打开", timeout=ROBOT_TIMEOUT_MS)
    dp.click("#close-btn")
    expect(dp.locator("#robot-msg.ok")).to_contain_text("格口已锁好", timeout=ROBOT_TIMEOUT_MS)

    # --- delivered, on both pages; the custody log tells the journey
    expect(in_row.locator(".badge[data-state]")).to_have_text("已送达", timeout=30_000)
    expect(in_row.get_by_role("button", name="在机器人旁开格口")).to_have_count(0)
    in_row.locator("td").nth(1).click()
    kinds = dp.locator("#detail td[data-kind]")
    expect(dp.locator("#detail td[data-kind=delivered]")).to_have_count(1)
    journey = kinds.evaluate_all("cells => cells.map(c => c.dataset.kind)")
    assert (
        journey.index("loaded") < journey.index("departed") < journey.index("arrived") < journey.index("delivered")
    ), journey
    expect(dp.locator("#detail td[data-kind=loaded]")).to_have_text("装件")
    expect(dp.locator("#detail td[data-kind=delivered]")).to_have_text("签收")
    department.shot("6-delivered")
    dp.get_by_role("button", name="English").click()
    expect(in_row.locator(".badge[data-state]")).to_have_text("delivered")
    expect(dp.locator("#detail td[data-kind=loaded]")).to_have_text("loaded")
    expect(dp.locator("#robot-msg.ok")).to_contain_text(re.compile(r"Compartment \d+ of robot \S+ is locked"))
    department.shot("6b-english")
    expect(out_row.locator(".badge[data-state]")).to_have_text("已送达", timeout=30_000)
    window.shot("7-delivered")
