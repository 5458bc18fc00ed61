"""The kiosk in a real browser (Debian's Chromium driven by Playwright) against the running gate.

An officer watches a held truck appear with no reload, corrects the misread plate, approves with a reason
and the simulated controller's barrier opens; a viewer cannot act, and a request without the CSRF token
is refused. Screenshots of the held and the live view land in docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route, expect

from edge.kiosk.closest import LIMIT
from edge.lane import LaneState
from edge.uplink import Uplink
from sync.config import SyncConfig
from tests.browser import launched, new_context, new_page, screenshot, shared_colour
from tests.kiosk.conftest import PASSWORDS, KioskGate, camera_read, declaration, gate_config
from tests.kiosk.evidence_frames import with_evidence
from vision.cameras import Camera
from vision.config import CameraConfig, CameraRole
from vision.render import render_plate

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Records, in the page, the first moment the held-truck actions become visible (no reload involved).
WATCH_HELD = """() => {
  window.heldShownAt = null;
  const actions = document.getElementById('actions');
  new MutationObserver(() => {
    if (!actions.hidden && window.heldShownAt === null) window.heldShownAt = Date.now();
  }).observe(actions, {attributes: true, attributeFilter: ['hidden']});
}"""

POST_WITH = """async ([path, body, withToken]) => {
  const session = await (await fetch('/api/v1/session')).json();
  const headers = {'Content-Type': 'application/json'};
  if (withToken) headers['X-CSRF-Token'] = session.csrf_token;
  const response = await fetch(path, {method: 'POST', headers, body: JSON.stringify(body)});
  return [response.status, (await response.json()).detail];
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as chromium:
        yield chromium


async def send_password(page: Page, password: str) -> None:
    """Type `password` into the login form and send it, under whatever name the form holds."""
    await page.fill("#login-password", password)
    await page.press("#login-password", "Enter")


async def open_kiosk(page: Page, gate: KioskGate) -> None:
    """Load the kiosk and wait until its start-up (language, session check) is done."""
    await page.goto(gate.base_url + "/")
    await page.wait_for_selector("body[data-ready]", state="attached")


async def log_in(page: Page, gate: KioskGate, name: str) -> None:
    await open_kiosk(page, gate)
    await page.fill("#login-name", name)
    await send_password(page, PASSWORDS[name])


async def logged_in(browser: Browser, gate: KioskGate, name: str) -> Page:
    page = await new_page(browser)
    await log_in(page, gate, name)
    await expect(page.locator("#live")).to_be_visible()
    await expect(page.locator("#link")).to_have_text("Trực tuyến")  # the live stream is connected
    return page


async def test_officer_sees_a_held_truck_live_corrects_its_plate_approves_and_the_barrier_opens(
    gate: KioskGate, browser: Browser
) -> None:
    decl = declaration(11)
    gate.seed(decl)
    page = await logged_in(browser, gate, "olga")
    await expect(page.locator("#lane-state")).to_have_text("Chờ xe")
    assert await shared_colour(page, "pass") == "#1b7f3b"  # the shared base.css is loaded
    await page.click("#lang")  # Vietnamese is the default; English is one touch away, and back
    await expect(page.locator("#lane-state")).to_have_text("Waiting for a vehicle")
    await page.evaluate(WATCH_HELD)

    # The plate is misread, and the truck is 25 % over its declared weight.
    await gate.arrive(with_evidence(camera_read(decl, plate="51G10011")), 35_000)
    await expect(page.locator("#actions")).to_be_visible(timeout=10_000)
    tx_id = gate.daemon.view.tx_id
    assert tx_id is not None
    latency_ms = await page.evaluate("window.heldShownAt") - gate.first("decided", tx_id) * 1000
    print(f"\ndecision -> held truck shown in the browser: {latency_ms:.0f} ms")
    assert latency_ms < 200
    await expect(page.locator("#decision-banner")).to_contain_text("HOLD")
    await expect(page.locator("#plate")).to_have_text("51G10011")
    await expect(page.locator("#reasons")).to_contain_text("No cleared declaration found for this vehicle")
    await expect(page.locator("#light")).to_have_class("lamp red")
    await screenshot(page, "kiosk-held.png")

    await page.click("#correct")
    await page.fill("#new-plate", "51C10011")
    await page.click("#presets button >> nth=0")
    await page.click("#dialog-confirm")
    await expect(page.locator("#plate")).to_have_text("51C10011")
    await expect(page.locator("#camera-plate")).to_contain_text("51G10011")
    await expect(page.locator("#reasons")).to_contain_text("Weight is outside the declared tolerance")
    await expect(page.locator("#declaration")).to_have_text(decl.number)
    assert gate.daemon.view.state is LaneState.HOLD

    await page.click("#approve")
    await page.fill("#reason-text", "weighed again on the second bridge")
    await page.press("#reason-text", "Enter")
    await gate.controller.wait_for_position(up=True, timeout=5)
    assert (await gate.controller.read_coils())["barrier_open"]
    await expect(page.locator("#barrier")).to_have_class("barrier-state up")
    await expect(page.locator("#light")).to_have_class("lamp green")
    await page.click("#lang")
    await expect(page.locator("#lane-state")).to_have_text("Xe đang qua")
    await screenshot(page, "kiosk-live.png")

    await gate.drive_through()
    await expect(page.locator("#no-vehicle")).to_be_visible()

    await page.click("[data-tab=history]")  # the transaction is on record with its timeline and actions
    await page.fill("#search-form input[name=plate]", "51C10011")
    await page.press("#search-form input[name=plate]", "Enter")
    await expect(page.locator("#results tbody tr")).to_have_count(1)
    await page.click("#results tbody tr")
    await expect(page.locator("#tx-detail")).to_contain_text("Đang xét → Tạm giữ")
    # The decision's own sentence, in the screen's language.
    await expect(page.locator("#tx-detail")).to_contain_text("Số cân 35.000 kg nằm ngoài")
    await expect(page.locator("#tx-detail")).to_contain_text(
        "olga · Cho qua: weighed again on the second bridge"
    )
    await expect(page.locator("#tx-detail .exits")).to_have_text(
        f"{decl.number} · {decl.containers[0].number}"
    )
    actions = [
        (r.actor, r.action, r.reason) for r in reversed(gate.daemon.store.audit.records(subject=tx_id))
    ]
    assert actions == [
        ("olga", "correct_read", "Camera misread the plate"),
        ("olga", "approve", "weighed again on the second bridge"),
    ]
    await page.close()


async def test_viewer_cannot_approve_and_a_request_without_the_csrf_token_is_refused(
    gate: KioskGate, browser: Browser
) -> None:
    decl = declaration(12)
    gate.seed(decl)
    viewer = await logged_in(browser, gate, "vic")
    await gate.arrive(camera_read(decl, plate="51G10012"), 28_000)
    await expect(viewer.locator("#view-only")).to_be_visible(timeout=10_000)
    await expect(viewer.locator("#actions")).to_be_hidden()
    tx_id = gate.daemon.view.tx_id
    body = {"tx_id": tx_id, "reason": "looks fine to me"}
    status, detail = await viewer.evaluate(POST_WITH, ["/api/v1/lane/approve", body, True])
    assert (status, detail) == (403, "role viewer may not do this")

    context = await new_context(browser)
    officer = await context.new_page()
    await log_in(officer, gate, "olga")
    await expect(officer.locator("#actions")).to_be_visible()
    status, detail = await officer.evaluate(POST_WITH, ["/api/v1/lane/approve", body, False])
    assert (status, detail) == (403, "CSRF token missing or wrong")
    await asyncio.sleep(0.1)  # nothing was queued for the lane: it must still hold the truck
    assert gate.daemon.view.state is LaneState.HOLD
    assert not (await gate.controller.read_coils())["barrier_open"]
    assert gate.daemon.store.audit.records(subject=str(tx_id)) == []

    status, _ = await officer.evaluate(
        POST_WITH, ["/api/v1/lane/reject", {"tx_id": tx_id, "reason": "no papers"}, True]
    )
    assert status == 202
    await expect(viewer.locator("#officer-note")).to_contain_text("olga")
    await gate.back_out()
    await context.close()
    await viewer.close()


async def test_a_throttled_login_says_how_long_to_wait_in_the_screens_language(
    gate: KioskGate, browser: Browser
) -> None:
    page = await new_page(browser)
    await open_kiosk(page, gate)
    error = page.locator("#login-error")
    await page.fill("#login-name", "guesser")  # no such account: answered exactly like a wrong password
    for _ in range(3):  # conftest: three free failures, then a 60 s wait
        await send_password(page, "bad-guess")
        await expect(error).to_have_text("Sai tên đăng nhập hoặc mật khẩu")
        await page.evaluate("document.getElementById('login-error').textContent = ''")
    await send_password(page, "bad-guess")
    await expect(error).to_have_text(
        re.compile(r"^Quá nhiều lần đăng nhập: vui lòng thử lại sau (59|60) giây$")
    )
    await page.click("#lang")
    await send_password(page, "bad-guess")
    await expect(error).to_have_text(re.compile(r"^Too many login attempts: try again in (5\d|60) s$"))
    await page.close()


async def test_history_marks_an_exit_the_lane_could_not_see_as_unconfirmed_in_both_languages(
    gate: KioskGate, browser: Browser
) -> None:
    decl = declaration(13)
    now = datetime.now(UTC)
    gate.daemon.store.transactions.start("tx-unseen", "lane-1", now)  # as after a controller link drop
    gate.daemon.store.transactions.complete("tx-unseen", now, exits=[(decl.number, "")], confirmed=False)
    page = await logged_in(browser, gate, "vic")
    await page.click("[data-tab=history]")
    exits = page.locator("#tx-detail .exits li.unconfirmed")
    await page.evaluate("openTransaction('tx-unseen')")
    await expect(exits).to_contain_text(f"{decl.number} CHƯA XÁC NHẬN")
    await expect(exits).to_contain_text("tờ khai coi như đã dùng cho đến khi cán bộ xác nhận")
    await page.click("#lang")
    await page.evaluate("openTransaction('tx-unseen')")
    await expect(exits).to_contain_text(f"{decl.number} UNCONFIRMED")
    await expect(exits).to_contain_text("the declaration counts as used until an officer confirms")
    await page.close()


async def test_a_login_typed_before_the_page_load_session_check_answers_is_kept(
    gate: KioskGate, browser: Browser
) -> None:
    """A slow first session check neither clears what the officer typed nor hides the app they logged into."""
    page = await new_page(browser)
    release = asyncio.Event()
    held: list[Route] = []

    async def hold_first_check(route: Route) -> None:
        if held:  # later checks (the live stream's) go through
            await route.continue_()
            return
        held.append(route)
        await release.wait()  # then answers as it would have when sent: no session yet
        await route.fulfill(status=401, json={"detail": "not logged in"})

    await page.route("**/api/v1/session", hold_first_check)
    await page.goto(gate.base_url + "/")
    await page.fill("#login-name", "olga")
    await page.fill("#login-password", PASSWORDS["olga"])
    await page.press("#login-password", "Enter")
    await expect(page.locator("#live")).to_be_visible()  # logged in while the first check still waits
    release.set()
    await page.wait_for_selector("body[data-ready]", state="attached")
    await expect(page.locator("#live")).to_be_visible()  # the late 401 did not throw the officer out
    await expect(page.locator("#login")).to_be_hidden()
    await page.close()


# Two fingers on the viewer's stage, spread apart: the pinch a touch screen sends as pointer events.
PINCH = """() => {
  const stage = document.getElementById('viewer-stage');
  const r = stage.getBoundingClientRect();
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const send = (type, id, x) => stage.dispatchEvent(new PointerEvent(type, {
    pointerId: id, pointerType: 'touch', clientX: x, clientY: cy, bubbles: true}));
  send('pointerdown', 11, cx - 40); send('pointerdown', 12, cx + 40);
  for (let d = 40; d <= 120; d += 20) { send('pointermove', 11, cx - d); send('pointermove', 12, cx + d); }
  send('pointerup', 11, cx - 120); send('pointerup', 12, cx + 120);
}"""

# Width / height of each drawn evidence crop, by the read it shows.
CROPS = """() => [...document.querySelectorAll('#evidence-strip .crop-block')].map(b => {
  const c = b.querySelector('canvas.crop[data-drawn]');
  return [b.querySelector('.now').textContent, c ? c.width / c.height : null];
})"""


async def test_a_held_truck_shows_its_evidence_crops_and_the_closest_declarations_a_tap_corrects_it(
    gate: KioskGate, browser: Browser
) -> None:
    decl = declaration(21)
    gate.seed(decl, declaration(22), declaration(23))
    ident = with_evidence(camera_read(decl, plate="51G10021"))
    assert ident.plate is not None
    assert ident.plate.evidence_box is not None
    page = await logged_in(browser, gate, "olga")
    await gate.arrive(ident, 28_000)
    await expect(page.locator("#actions")).to_be_visible(timeout=10_000)

    # The plate and the container, each cut from its own evidence frame, large, beside its read.
    await expect(page.locator("#evidence-strip canvas.crop[data-drawn]")).to_have_count(2)
    crops = dict(await page.evaluate(CROPS))
    _, _, w, h = ident.plate.evidence_box
    region = (w + 2 * round(w * 0.06)) / (h + 2 * round(h * 0.2))
    assert abs(crops["51G10021"] - region) < 0.05  # the plate's region, not the 16:9 frame
    assert crops[decl.containers[0].number] > 2.0
    box = await page.locator("#evidence-strip canvas.crop >> nth=0").bounding_box()
    assert box is not None
    assert box["height"] >= 100  # large: read by eye against the text
    assert box["y"] > 800 * 2 / 3  # in the lower third of the screen
    assert box["y"] + box["height"] <= 800

    # The closest cleared declarations, nearest first, the differing character marked.
    first = page.locator("#closest .close-decl >> nth=0")
    await expect(first.locator(".close-plate")).to_have_text("51C10021")
    await expect(first.locator(".close-plate mark")).to_have_text("C")
    await expect(page.locator("#closest .close-decl")).to_have_count(LIMIT)  # seeded: more than that
    await screenshot(page, "kiosk-held-evidence.png")

    # A camera frame full screen: zoomed by the wheel and by a pinch, then closed.
    await page.click("#evidence-strip .thumb >> nth=0")
    viewer = page.locator("#viewer")
    await expect(viewer).to_be_visible()
    image = page.locator("#viewer-img")
    await expect(image).to_have_attribute("data-scale", "1.000")
    await page.mouse.move(820, 530)  # over the plate
    await page.mouse.wheel(0, -300)
    await expect(image).not_to_have_attribute("data-scale", "1.000")
    wheeled = float(await image.get_attribute("data-scale") or 0)
    assert wheeled > 1.5
    zoomed = await image.bounding_box()
    assert zoomed is not None
    # Zoomed about the pointer: the point under it stays where it was.
    assert abs(zoomed["x"] - (820 - 820 * wheeled)) < 2
    assert abs(zoomed["y"] - (530 - 530 * wheeled)) < 2
    await screenshot(page, "kiosk-evidence-zoomed.png")
    await page.evaluate(PINCH)
    assert float(await image.get_attribute("data-scale") or 0) > wheeled * 2
    await page.click("#viewer-close")
    await expect(viewer).to_be_hidden()

    # One tap on the nearest declaration fills the correction; the officer only confirms.
    await first.click()
    await expect(page.locator("#dialog")).to_be_visible()
    await expect(page.locator("#new-plate")).to_have_value("51C10021")
    await expect(page.locator("#new-containers")).to_have_value(decl.containers[0].number)
    await expect(page.locator("#presets button[aria-pressed=true]")).to_have_text(
        "Sửa theo tờ khai đã thông quan gần giống nhất"
    )
    await page.click("#dialog-confirm")
    # The truck now matches its declaration and passes; the plate's evidence stays, the camera's read
    # struck through beside the corrected text.
    plate = page.locator("#evidence-strip .crop-plate")
    await expect(plate.locator("s.was")).to_have_text("51G10021")
    await expect(plate.locator(".now")).to_have_text("51C10021")
    await expect(plate.locator("canvas.crop[data-drawn]")).to_have_count(1)
    await expect(page.locator("#closest")).to_be_hidden()
    await gate.controller.wait_for_position(up=True, timeout=5)
    tx_id = gate.daemon.view.tx_id
    (record,) = gate.daemon.store.audit.records(subject=str(tx_id))
    assert (record.actor, record.action, record.reason) == (
        "olga",
        "correct_read",
        "Sửa theo tờ khai đã thông quan gần giống nhất",
    )
    await screenshot(page, "kiosk-corrected.png")
    await gate.drive_through()
    await expect(page.locator("#evidence-strip")).to_be_hidden()
    await page.close()


async def test_a_rejected_truck_s_lane_says_rejected_turning_back_not_held(
    gate: KioskGate, browser: Browser
) -> None:
    decl = declaration(24)
    gate.seed(decl)
    page = await logged_in(browser, gate, "olga")
    await gate.arrive(camera_read(decl, plate="51G10024"), 28_000)
    await expect(page.locator("#actions")).to_be_visible(timeout=10_000)
    await expect(page.locator("#lane-state")).to_have_text("Tạm giữ")
    await page.click("#reject")
    await page.click("#presets button >> nth=0")
    await page.click("#dialog-confirm")
    await expect(page.locator("#lane-state")).to_have_text("Từ chối — xe quay đầu")
    await expect(page.locator("#decision-banner")).to_contain_text("TỪ CHỐI")
    assert gate.daemon.view.state is LaneState.HOLD  # the lane still waits, for the truck to back out
    await page.click("#lang")
    await expect(page.locator("#lane-state")).to_have_text("Rejected — turning back")
    await page.click("#lang")
    await gate.back_out()
    await expect(page.locator("#lane-state")).to_have_text("Chờ xe")
    await page.close()


async def test_a_pass_timeout_shows_with_its_time_until_the_path_clears_and_devices_speak_vietnamese(
    browser: Browser, tmp_path: Path
) -> None:
    config = gate_config(tmp_path / "gate.db")
    config = config.model_copy(update={"lane": config.lane.model_copy(update={"pass_timeout_s": 1.0})})
    lane = KioskGate(tmp_path / "gate.db", config=config)
    uplink = Uplink.for_daemon(lane.daemon, SyncConfig(enabled=False))
    lane.sync_status = uplink.status
    uplinking = asyncio.create_task(uplink.run())
    frames = tmp_path / "frames"
    frames.mkdir()
    assert cv2.imwrite(str(frames / "0.jpg"), render_plate("51C10031"))
    cameras = [
        Camera(CameraConfig(id="cam-plate", role=CameraRole.PLATE_FRONT, source=str(frames), fps_limit=5)),
        Camera(CameraConfig(id="cam-top", role=CameraRole.CONTAINER_TOP, source="/dev/video-gone")),
    ]
    lane.demo.identifier.stats = lambda: {c.config.id: c.stats() for c in cameras}  # type: ignore[union-attr]
    for camera in cameras:
        camera.start()
    await lane.start()
    try:
        decl = declaration(31)
        lane.seed(decl)
        page = await logged_in(browser, lane, "olga")
        await lane.arrive(camera_read(decl), 28_000)
        await lane.controller.wait_for_position(up=True, timeout=10)
        lane.controller.set_photocell(True)  # the truck stops under the open arm
        alarm = page.locator("#lane-alarms li[data-code=pass_timeout]")
        await expect(alarm).to_contain_text("Xe chưa qua hết sau khi mở barie: barie giữ mở", timeout=10_000)
        await expect(alarm).to_contain_text(re.compile(r"từ \d\d:\d\d:\d\d \((vừa xong|\d+ giây trước)\)"))
        await expect(page.locator("#lane-state")).to_have_text("Xe đang qua")
        await expect(page.locator(".state-card")).to_have_class(re.compile("alarmed"))
        await screenshot(page, "kiosk-alarm.png")

        await page.click("[data-tab=health]")
        health = page.locator("#health")
        await expect(page.locator("#h-alarms")).to_contain_text("Xe chưa qua hết sau khi mở barie")
        await expect(page.locator("#h-sync")).to_contain_text("Đã tắt (không cấu hình đồng bộ)")
        plate_cam = page.locator("#h-cameras li[data-camera=cam-plate]")
        await expect(plate_cam).to_contain_text("Đã kết nối")
        await expect(plate_cam).to_contain_text(re.compile(r"khung hình/giây · khung hình gần nhất vừa xong"))
        top_cam = page.locator("#h-cameras li[data-camera=cam-top]")
        await expect(top_cam).to_contain_text("LỖI")
        await expect(top_cam).to_contain_text("Không tìm thấy cổng hoặc thiết bị")
        await expect(top_cam.locator("[title*='/dev/video-gone']")).to_have_count(1)  # the raw text, kept
        assert "/dev/video-gone" not in await health.inner_text()
        assert await page.evaluate("ageText(419)") == "7 phút trước"
        await screenshot(page, "kiosk-devices.png")
        await page.click("#lang")
        await expect(top_cam).to_contain_text("no such video file or device: /dev/video-gone")
        await expect(page.locator("#h-sync")).to_contain_text("Disabled (sync not configured)")
        assert await page.evaluate("ageText(419)") == "7 min ago"
        await page.click("#lang")

        await page.click("[data-tab=live]")
        lane.controller.set_photocell(False)
        await lane.drive_through()
        await expect(page.locator("#lane-alarms")).to_be_hidden()
        await expect(page.locator(".state-card")).not_to_have_class(re.compile("alarmed"))

        lane.scale.stop()  # the weighbridge's serial peer goes away: its fault in words, not an OS error
        await page.click("[data-tab=health]")
        await expect(page.locator("#h-scale .bad")).to_be_visible(timeout=10_000)
        text = await health.inner_text()
        assert "Errno" not in text
        assert "scale" not in text.lower()
        await page.close()
    finally:
        for camera in cameras:
            camera.stop(1.0)
        await uplink.stop()
        await uplinking
        await lane.stop()
