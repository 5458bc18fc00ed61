"""The History page in a real browser (Debian's Chromium) against the running gate: each transaction says
how it ended and who decided, a correction shows the camera's read beside the officer's, the evidence frames
open full size, and causes and weights are in the page's language. A screenshot lands in docs/screenshots/
when KIOSK_SCREENSHOTS_DIR says so (see tests/browser.py)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser import screenshot
from tests.kiosk.conftest import KioskGate
from tests.kiosk.history_trucks import corrected_and_approved, passed_automatically, rejected, turned_back
from tests.kiosk.test_browser import browser, logged_in

pytestmark = pytest.mark.asyncio(loop_scope="module")
__all__ = ["browser"]  # the Chromium fixture, shared with the live view's tests


async def test_history_says_how_each_truck_ended_and_who_decided_in_both_languages(
    gate: KioskGate, browser: Browser
) -> None:
    trucks = {
        "corrected": await corrected_and_approved(gate, 51),
        "rejected": await rejected(gate, 52),
        "turned_back": await turned_back(gate, 53),
        "passed": await passed_automatically(gate, 54),
    }
    page = await logged_in(browser, gate, "vic")
    await page.click("[data-tab=history]")
    rows = page.locator("#results tbody tr")
    await expect(rows).to_have_count(4)
    status = {
        name: page.locator(f"#results tr[data-tx='{tx}'] td.ending-cell") for name, tx in trucks.items()
    }
    await expect(status["corrected"]).to_have_text("Cán bộ cho quaolga")
    await expect(status["rejected"]).to_have_text("Từ chối — xe đã lùi raolga")
    await expect(status["turned_back"]).to_have_text("Quay đầu, không qua cổngTự động")
    await expect(status["passed"]).to_have_text("Đã qua cổngTự động")
    corrected_row = page.locator(f"#results tr[data-tx='{trucks['corrected']}']")
    await expect(corrected_row.locator("s.camera-read")).to_have_text("51G10051")  # the camera's, struck

    await page.evaluate(f"openTransaction('{trucks['turned_back']}')")
    detail = page.locator("#tx-detail")
    await expect(detail.locator(".weight")).to_have_text("32.480 kg")
    await expect(detail.locator(".timeline")).to_contain_text("số cân ổn định 32.480 kg")
    await expect(detail.locator(".timeline")).to_contain_text("vòng từ vào trống: xe đã rời đi")
    await expect(detail.locator(".timeline")).not_to_contain_text("stable weight")
    await page.click("#lang")  # the open transaction follows the switch
    await expect(detail.locator(".weight")).to_have_text("32,480 kg")
    await expect(detail.locator(".timeline")).to_contain_text("stable weight 32,480 kg")
    await expect(status["turned_back"]).to_have_text("Turned backAutomatic")
    await expect(status["corrected"]).to_have_text("Passed by officerolga")
    await page.click("#lang")
    await expect(detail.locator(".timeline")).to_contain_text("số cân ổn định 32.480 kg")
    await page.close()


async def test_a_corrected_passage_shows_the_cameras_read_and_its_frames_open_full_size(
    gate: KioskGate, browser: Browser
) -> None:
    tx_id = await corrected_and_approved(gate, 55)
    page = await logged_in(browser, gate, "olga")
    await page.click("[data-tab=history]")
    await page.click(f"#results tr[data-tx='{tx_id}']")
    detail = page.locator("#tx-detail")
    await expect(detail.locator("h2")).to_have_text("51C10055 Cán bộ cho qua")
    await expect(detail.locator(".decided")).to_contain_text("Người quyết định: olga")
    correction = detail.locator(".corrections li")
    await expect(correction).to_have_count(1)
    await expect(correction.locator("s.camera-read")).to_have_text("51G10055")
    await expect(correction).to_contain_text("→ 51C10055")
    await expect(correction).to_contain_text("olga: Camera misread the plate")
    thumbs = detail.locator(".history-evidence .thumb img")
    await expect(thumbs).to_have_count(2)
    for i in range(2):  # each thumbnail's image really loaded through the authenticated endpoint
        await expect(thumbs.nth(i)).to_have_js_property("complete", True)
        assert await thumbs.nth(i).evaluate("img => img.naturalWidth") == 1280
    await detail.locator(".history-evidence .thumb").first.click()
    frame = page.locator("#history-frame")
    await expect(frame).to_be_visible()
    await expect(frame.locator("img")).to_have_attribute("alt", re.compile("51G10055"))
    assert await frame.locator("img").evaluate("img => img.getBoundingClientRect().width") > 400
    await frame.locator("button").click()
    await expect(frame).to_be_hidden()
    await detail.evaluate("box => { box.scrollTop = 0; }")  # the picture shows who decided, then the frames
    await screenshot(page, "kiosk-history.png")
    await page.close()
