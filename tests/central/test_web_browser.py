"""The central screen in a real browser (Debian's Chromium driven by Playwright) on a real central fed
through Mosquitto: a supervisor logs in, sees every gate with its lanes, its sequence gap and its offline
neighbour, watches a new passage arrive with no reload, searches by plate and opens the passage.
Screenshots land in $KIOSK_SCREENSHOTS_DIR (docs/screenshots with `make screenshots`) as central-*.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from central.receiver import Central
from tests.browser import launched, new_page, screenshot, shared_colour
from tests.central.screen_gates import PASSWORDS, Screen, g1_story, run_screen, wait_until
from tests.sync.broker import Mosquitto


@pytest.fixture
def screen(tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]) -> Iterator[Screen]:
    yield from run_screen(tmp_path, broker, start_central)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched() as chromium:
        yield chromium


async def logged_in(browser: Browser, screen: Screen, name: str) -> Page:
    page = await new_page(browser)
    await page.goto(screen.url + "/")
    await page.wait_for_selector("body[data-ready]", state="attached")
    await page.fill("#login-name", name)
    await page.fill("#login-password", PASSWORDS[name])
    await page.press("#login-password", "Enter")
    await expect(page.locator("#view-gates")).to_be_visible()
    await expect(page.locator("#link")).to_have_text("Trực tiếp")  # the live stream is connected
    return page


async def test_a_supervisor_sees_gates_lanes_gaps_live_passages_and_finds_one_by_plate(
    browser: Browser, screen: Screen
) -> None:
    g1, g2 = screen.gate("g1"), screen.gate("g2")
    g1_story(g1)
    g2.presence("offline")
    wait_until(lambda: screen.central.counts["stored"] >= 11 and screen.central.counts["status"] >= 2)

    page = await logged_in(browser, screen, "sam")
    assert await shared_colour(page, "pass") == "#1b7f3b"  # the shared base.css is loaded
    one = page.locator('[data-gate="g1"]')
    await expect(one.locator(".state")).to_have_text("TRỰC TUYẾN")
    await expect(page.locator('[data-gate="g2"] .state')).to_have_text("NGOẠI TUYẾN")
    await expect(one.locator('[data-role="gaps"]')).to_have_text("Thiếu sự kiện (số thứ tự): 5")
    await expect(one.locator('[data-lane="lane-1"]')).to_contain_text("lane-1" + "3" + "50 %" + "1" + "1")
    await expect(one.locator(".alarm").first).to_contain_text("outbox_backlog")
    await screenshot(page, "central-gates.png", full_page=True)

    # a new passage arrives: the live list shows it and the lane's count goes up, with no reload
    g1.passage("tx-live", "PASS", "51D-777.77", [], "10555555555", "passed")
    await expect(page.locator("#feed")).to_contain_text("g1 / lane-1")
    await expect(one.locator('[data-lane="lane-1"] td').nth(1)).to_have_text("4")

    await page.click("#lang")
    await expect(page.locator('[data-gate="g1"] [data-role="gaps"]')).to_have_text(
        "Missing events (sequence numbers): 5"
    )
    await page.click('[data-tab="search"]')
    await page.fill("#q-plate", "29h888")
    await page.click("#search-form button[type=submit]")
    await expect(page.locator("#results-body tr")).to_have_count(1)
    await expect(page.locator("#results-body")).to_contain_text("29H-888.01")
    await expect(page.locator("#results-body .outcome")).to_have_text("HOLD")
    await screenshot(page, "central-search.png")
    await page.click("#results-body a")
    await expect(page.locator("body")).to_have_attribute("data-passage", "tx-held")
    passage = page.locator("#passage")
    await expect(passage).to_contain_text("plate read below the threshold")
    await expect(passage).to_contain_text("olga: approve — seal checked")
    await expect(passage).to_contain_text("Passed")
    await expect(passage.locator('[data-role="evidence"]')).to_contain_text("sha256 " + "ab" * 32)
    await expect(passage.locator('[data-role="evidence"]')).to_contain_text(
        "Central holds the images' hashes"
    )
    await screenshot(page, "central-passage.png")
    await page.close()


async def test_a_wrong_password_is_said_in_the_screens_language_and_logout_ends_the_session(
    browser: Browser, screen: Screen
) -> None:
    page = await new_page(browser)
    await page.goto(screen.url + "/")
    await page.wait_for_selector("body[data-ready]", state="attached")
    await page.fill("#login-name", "vera")
    await page.fill("#login-password", "not-the-password")
    await page.press("#login-password", "Enter")
    await expect(page.locator("#login-error")).to_have_text("Sai tên đăng nhập hoặc mật khẩu")
    await page.close()
    page = await logged_in(browser, screen, "vera")
    await expect(page.locator("#who")).to_have_text("vera (viewer)")
    await page.click("#logout")
    await expect(page.locator("#login")).to_be_visible()
    status = await page.evaluate("async () => (await fetch('/api/v1/gates')).status")
    assert status == 401
    await page.close()
