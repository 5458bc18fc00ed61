"""The passage page's evidence button in Chromium: a viewer asks a real gate (uplink, store, evidence
folder, through Mosquitto) for a passage's images and sees them with their states; once the gate has gone
offline the page says so, in Vietnamese, and to try again later. Screenshot: central-evidence.png."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from central.receiver import Central
from edge.store import Store
from edge.uplink import Uplink
from tests.browser import launched, new_page, screenshot
from tests.central.evidence_gate import GateImages, gate_config, gate_running, run_evidence_screen, until
from tests.central.screen_gates import PASSWORDS, FakeGate, read
from tests.sync.broker import Mosquitto
from tests.sync.observer import Observer


@pytest.fixture
def screen(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> Iterator[tuple[str, Central]]:
    yield from run_evidence_screen(tmp_path, broker, start_central)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched() as chromium:
        yield chromium


async def test_a_viewer_fetches_a_passages_images_from_the_gate_and_is_told_when_it_is_offline(
    tmp_path: Path, broker: Mosquitto, screen: tuple[str, Central], browser: Browser
) -> None:
    url, central = screen
    db, folder = tmp_path / "gate.db", tmp_path / "gate-evidence"
    with Store(db) as store:
        images = GateImages(folder, store)
    fake = FakeGate(Observer(broker), "g1", datetime.now(UTC))
    assert fake.observer.wait_ready()
    fake.event("transaction.started", tx_id="tx-1")
    plate = read("51C12345", sha=images.small)
    fake.event(
        "transaction.decision",
        tx_id="tx-1",
        identification={"plate": plate, "containers": []},
        outcome="PASS",
        reasons=[],
        details=[],
        reads=[],
    )
    await until(lambda: central.counts["stored"] >= 2, what="the passage at central")

    page = await new_page(browser)
    await page.goto(url + "/")
    await page.wait_for_selector("body[data-ready]", state="attached")
    await page.fill("#login-name", "vera")
    await page.fill("#login-password", PASSWORDS["vera"])
    await page.press("#login-password", "Enter")
    await expect(page.locator("#view-gates")).to_be_visible()
    await page.goto(url + "/#/passage/g1/tx-1")
    button = page.locator('[data-role="evidence-fetch"]')
    await expect(button).to_have_text("Lấy ảnh từ cổng")
    shown = page.locator('[data-role="evidence-images"]')

    async with gate_running(Uplink(gate_config(broker), "g1", db, evidence_dir=folder)):
        await until(lambda: central.counts["status"] >= 1, what="the gate online at central")
        await button.click()
        await expect(shown).to_have_attribute("data-state", "done", timeout=20_000)
        held = shown.locator('figure[data-state="held"] img')
        await expect(held).to_have_count(1)
        width = await held.evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width == 64  # the gate's own JPEG, loaded from central
        await expect(shown.locator('figure[data-state="downscaled"] img')).to_have_count(1)
        await expect(shown.locator('figure[data-state="too_large"] img')).to_have_count(0)
        gone = shown.locator('figure[data-state="not_held"]')
        await expect(gone).to_contain_text("Cổng không còn giữ ảnh này")
        await expect(gone.locator("img")).to_have_count(0)
        await screenshot(page, "central-evidence.png", full_page=True)

    await until(lambda: central.counts["status"] >= 2, what="the gate offline at central")
    await button.click()
    await expect(shown).to_have_attribute("data-state", "failed", timeout=20_000)
    await expect(shown).to_contain_text("Cổng đang ngoại tuyến")
    await expect(shown).to_contain_text("thử lại sau")
