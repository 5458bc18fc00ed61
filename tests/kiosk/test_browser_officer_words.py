"""The kiosk in Chromium (issue #12's loose ends): the History page filters by outcome under an Outcome
heading, a refusal reads in the screen's language, the Recorded toast follows a language switch and
floats over the screen instead of pushing it, and the Devices page words the uplink's alarms."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from edge.lane import LaneState
from sync.config import SyncConfig
from sync.health import Figures, OutboxWatch
from sync.supervisor import Supervisor
from tests.kiosk.conftest import KioskGate, camera_read, declaration
from tests.kiosk.evidence_frames import with_evidence
from tests.kiosk.history_trucks import passed_automatically, rejected, turned_back
from tests.kiosk.test_browser import browser, logged_in

pytestmark = pytest.mark.asyncio(loop_scope="module")
__all__ = ["browser"]  # the Chromium fixture, shared with the kiosk's other browser tests


async def test_history_filters_by_outcome_under_an_outcome_heading_in_both_languages(
    gate: KioskGate, browser: Browser
) -> None:
    trucks = {
        "passed": await passed_automatically(gate, 71),
        "rejected": await rejected(gate, 72),
        "left": await turned_back(gate, 73),
    }
    page = await logged_in(browser, gate, "vic")
    await page.click("[data-tab=history]")
    await expect(page.locator("#results thead th").nth(4)).to_have_text("Kết quả")
    rows = page.locator("#results tbody tr")
    await expect(rows).to_have_count(3)
    choice = page.locator("#result-filter")
    await expect(choice.locator("option[value=left]")).to_have_text("Quay đầu, không qua cổng")
    beside = await page.locator("#search-form input[name=until]").bounding_box()
    filter_box = await choice.bounding_box()
    assert beside is not None
    assert filter_box is not None
    assert (filter_box["y"], filter_box["height"]) == (
        beside["y"],
        beside["height"],
    )  # a control like the others
    for result, tx_id in trucks.items():
        await choice.select_option(result)
        await page.click("#search-form button[type=submit]")
        await expect(rows).to_have_count(1)
        await expect(rows).to_have_attribute("data-tx", tx_id)
    await choice.select_option("unconfirmed")
    await page.click("#search-form button[type=submit]")
    await expect(page.locator("#no-results")).to_be_visible()
    await page.click("#lang")
    await expect(page.locator("#results thead th").nth(4)).to_have_text("Outcome")
    await expect(choice.locator("option[value=left]")).to_have_text("Turned back")
    await expect(choice.locator("option[value='']")).to_have_text("Any")
    await choice.select_option("")
    await page.click("#search-form button[type=submit]")
    await expect(rows).to_have_count(3)
    await page.click("#lang")
    await page.close()


async def test_a_refusal_reads_in_vietnamese_and_the_recorded_toast_follows_the_language(
    gate: KioskGate, browser: Browser
) -> None:
    decl = declaration(74)
    gate.seed(decl)
    page = await logged_in(browser, gate, "olga")
    await gate.arrive(with_evidence(camera_read(decl)), 35_000)  # 25 % over: held for its weight
    await expect(page.locator("#actions")).to_be_visible(timeout=10_000)
    strip = page.locator("#evidence-strip")
    await expect(strip).to_be_visible()

    # A toast floats over the screen: the evidence strip stays where it was.
    before = await strip.bounding_box()
    await page.evaluate("toast(() => 'test', false)")
    await expect(page.locator("#toast")).to_be_visible()
    assert await strip.bounding_box() == before
    box = await page.locator("#toast").bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= 800  # inside the 1280 x 800 screen
    await page.evaluate("document.getElementById('toast').hidden = true; S.toast = null")

    # The server refuses (a stale CSRF token): the dialog says why in Vietnamese, the English as tooltip.
    await page.evaluate("S.session.csrf_token = 'stale'")
    await page.click("#approve")
    await page.click("#presets button >> nth=0")
    await page.click("#dialog-confirm")
    error = page.locator("#dialog-error")
    await expect(error).to_have_text("Không thực hiện được: Mã bảo vệ phiên thiếu hoặc sai: tải lại trang")
    await expect(error).to_have_attribute("title", "CSRF token missing or wrong")
    assert gate.daemon.view.state is LaneState.HOLD

    await page.evaluate("fetch('/api/v1/session').then(r => r.json()).then(s => { S.session = s; })")
    await page.wait_for_function("S.session.csrf_token !== 'stale'")

    # A 422 names the field in the screen's language, the validator's own words beside it.
    await page.click("#dialog-cancel")
    await page.click("#correct")
    await page.fill("#new-plate", "51C<10074>")
    await page.click("#presets button >> nth=0")
    await page.click("#dialog-confirm")
    await expect(error).to_contain_text("Không thực hiện được: Dữ liệu không hợp lệ: plate (")
    await page.click("#dialog-cancel")
    await expect(page.locator("#plate")).to_have_text("51C10074")  # nothing changed

    await page.click("#approve")
    await page.click("#presets button >> nth=0")
    await page.click("#dialog-confirm")
    toast = page.locator("#toast")
    await expect(toast).to_have_text("Cho qua: Đã ghi nhận")
    # Switched while it shows (before its 4 s are up), it says the same in English.
    said = await page.evaluate(
        "async () => { await loadLanguage('en'); return [$('toast').hidden, $('toast').textContent]; }"
    )
    assert said == [False, "Approve: Recorded"]
    await gate.wait_state(LaneState.PASSING)
    await gate.drive_through()
    await page.evaluate("loadLanguage('vi')")
    await page.close()


async def test_the_devices_page_words_the_uplinks_alarms_with_their_codes_as_tooltips(
    browser: Browser, tmp_path: Path
) -> None:
    watch = OutboxWatch(SyncConfig(outbox_warning_events=10))
    now = datetime.now(UTC)
    assert watch.update(Figures(now, 11, now, 1, now, 0))  # over the warning size: outbox_backlog
    supervisor = Supervisor(lambda: datetime.now(UTC))
    crashes: list[int] = []

    async def inbound() -> None:
        if not crashes:
            crashes.append(1)
            raise RuntimeError("a message the handler could not take")

    await asyncio.wait_for(supervisor.run("inbound", inbound), 10)  # crashes once, restarted, returns
    codes = sorted(watch.alarms | supervisor.alarms() | {"a_code_of_a_newer_uplink"})
    assert codes == ["a_code_of_a_newer_uplink", "inbound_restarted", "outbox_backlog"]
    lane = KioskGate(tmp_path / "gate.db")
    lane.sync_status = lambda: {"enabled": True, "connected": True, "clearance_age_s": 3.0, "alarms": codes}
    await lane.start()
    try:
        page = await logged_in(browser, lane, "olga")
        await page.click("[data-tab=health]")
        alarms = page.locator("#h-sync .sync-alarms li")
        await expect(alarms).to_have_count(3)
        backlog = page.locator("#h-sync li[data-code=outbox_backlog]")
        await expect(backlog).to_have_text("Quá nhiều sự kiện chờ gửi về trung tâm")
        await expect(backlog).to_have_attribute("title", "outbox_backlog")
        inbound_alarm = page.locator("#h-sync li[data-code=inbound_restarted]")
        await expect(inbound_alarm).to_have_text("Việc nhận tin từ trung tâm bị lỗi và đã khởi động lại")
        newer = page.locator("#h-sync li[data-code=a_code_of_a_newer_uplink]")
        await expect(newer).to_have_text("Cảnh báo đồng bộ: a_code_of_a_newer_uplink")
        await page.click("#lang")
        await expect(backlog).to_have_text("Too many events waiting to be sent to central")
        await expect(inbound_alarm).to_have_text("Receiving from central failed and was restarted")
        await page.click("#lang")
        await page.close()
    finally:
        await lane.stop()
