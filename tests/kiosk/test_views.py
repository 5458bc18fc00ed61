"""The reasons as the screen shows them: the decision's own sentences, and what stands in without them."""

from __future__ import annotations

from edge.decision import REASON_TEXT, REASON_TEXT_VI, Decision, Outcome, Reason
from edge.kiosk.views import reason_view

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
