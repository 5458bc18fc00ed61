"""The reasons as the screen shows them: the decision's own sentences, and what stands in without them."""

from __future__ import annotations

import time
from pathlib import Path

from edge.decision import REASON_TEXT, REASON_TEXT_VI, Decision, Outcome, Reason
from edge.kiosk.health_views import camera_views
from edge.kiosk.views import read_view, reason_view
from vision.cameras import Camera, CameraState
from vision.config import CameraConfig, CameraRole
from vision.identity import Read, ReadKind

R = Reason


def test_reason_view_gives_the_decision_s_sentences_in_both_languages() -> None:
    decision = Decision(
        Outcome.HOLD,
        (R.LOW_CONFIDENCE, R.WATCHLISTED),
        None,
        ("Uncertain reads: plate '51C12345'", "Plate 51C12345 is on the watchlist"),
        ("Kết quả đọc không chắc chắn: biển số '51C12345'", "Biển số 51C12345 nằm trong danh sách theo dõi"),
    )
    view = reason_view(R.WATCHLISTED, decision)
    assert (view.detail, view.detail_vi) == (decision.details[1], decision.details_vi[1])
    assert (view.text_en, view.text_vi) == (REASON_TEXT[R.WATCHLISTED], REASON_TEXT_VI[R.WATCHLISTED])


def test_without_a_vietnamese_sentence_the_english_facts_stand_in() -> None:
    decision = Decision(Outcome.HOLD, (R.WATCHLISTED,), None, ("Plate 51C12345 is on the watchlist",))
    view = reason_view(R.WATCHLISTED, decision)
    assert view.detail_vi == view.detail == "Plate 51C12345 is on the watchlist"


def test_without_the_decision_the_fixed_texts_stand_in() -> None:
    # An older transaction after a restart: the decision is no longer in memory.
    view = reason_view(R.EXPIRED, None)
    assert (view.detail, view.detail_vi) == (REASON_TEXT[R.EXPIRED], REASON_TEXT_VI[R.EXPIRED])
    # A decision that gave other reasons (the vehicle was decided again after a correction).
    other = Decision(Outcome.HOLD, (R.WATCHLISTED,), None, ("x",), ("y",))
    assert reason_view(R.EXPIRED, other).detail_vi == REASON_TEXT_VI[R.EXPIRED]


def test_a_read_s_region_box_is_given_only_with_its_evidence_image() -> None:
    sha = "ab" * 32
    kept = Read(ReadKind.PLATE, "51C12345", 0.9, True, evidence_sha256=sha, evidence_box=(10, 20, 300, 60))
    view = read_view(kept)
    assert view is not None
    assert (view.evidence_url, view.evidence_box) == (f"/api/v1/evidence/{sha}", [10, 20, 300, 60])
    # A hash that is no SHA-256 gives no URL, and then no box pointing into nothing.
    odd = read_view(
        Read(ReadKind.PLATE, "51C12345", 0.9, True, evidence_sha256="../x", evidence_box=(1, 2, 3, 4))
    )
    assert odd is not None
    assert (odd.evidence_url, odd.evidence_box) == (None, None)


def test_cameras_show_their_state_rate_and_fault_sorted_into_a_kind(tmp_path: Path) -> None:
    gone = Camera(CameraConfig(id="cam-top", role=CameraRole.CONTAINER_TOP, source=str(tmp_path / "none")))
    gone.start()
    try:
        deadline = time.monotonic() + 5.0
        while gone.stats().state is not CameraState.FAULT and time.monotonic() < deadline:
            time.sleep(0.02)
        (view,) = camera_views({"cam-top": gone.stats()})
    finally:
        gone.stop(1.0)
    assert (view.id, view.state, view.fault_kind) == ("cam-top", "FAULT", "port_missing")
    assert view.fault is not None
    assert str(tmp_path / "none") in view.fault  # the raw words stay for a technician
