"""The kiosk in Chromium: a correction the lane refuses shows why in the dialog, and nothing changes."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from edge.lane import LaneState
from tests.kiosk.conftest import KioskGate, as_user, camera_read, declaration, eventually
from tests.kiosk.test_browser import browser, logged_in

pytestmark = pytest.mark.asyncio(loop_scope="module")

__all__ = ["browser"]  # the Chromium fixture, shared with the kiosk's other browser tests


async def test_an_officers_correction_to_a_plate_of_no_form_shows_the_refusal_reason(
    gate: KioskGate, browser: Browser
) -> None:
    decl = declaration(41)
    gate.seed(decl)
    page = await logged_in(browser, gate, "olga")
    await gate.arrive(camera_read(decl, plate="51G10041"), 28_000)
    await expect(page.locator("#actions")).to_be_visible(timeout=10_000)
    tx_id = gate.daemon.view.tx_id
    assert tx_id is not None

    await page.click("#correct")
    await page.fill("#new-plate", "XX")
    await page.click("#presets button >> nth=0")
    await page.click("#dialog-confirm")
    error = page.locator("#dialog-error")  # in the screen's language (Vietnamese), the English as its title
    await expect(error).to_contain_text(
        "chỉ giám sát viên được nhập kết quả đọc mà làn từ chối: biển số 'XX'"
    )
    await expect(error).not_to_contain_text("only a supervisor")
    await expect(error).to_have_attribute(
        "title", re.compile(r"^only a supervisor may enter a read the lane refuses: plate 'XX'")
    )
    await expect(page.locator("#dialog")).to_be_visible()  # the officer can type the plate again
    await expect(page.locator("#plate")).to_have_text("51G10041")
    assert gate.daemon.view.state is LaneState.HOLD
    assert gate.daemon.store.audit.records(subject=tx_id) == []
    await page.close()

    async with as_user(gate, "olga") as (http, csrf):
        rejected = await http.post(
            "/api/v1/lane/reject", json={"tx_id": tx_id, "reason": "test over"}, headers=csrf
        )
        assert rejected.status_code == 202
    await eventually(lambda: gate.daemon.view.current is not None and gate.daemon.view.current.rejected)
    await gate.back_out()
