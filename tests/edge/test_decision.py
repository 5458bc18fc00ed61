"""The gate decision: one table row per rule, rules in combination, tolerance edges, and properties."""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from random import Random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.decision import (
    REASON_TEXT,
    REASON_TEXT_VI,
    Decision,
    DecisionConfig,
    ExitLedger,
    Outcome,
    Reason,
    decide,
    unrecorded,
)
from edge.declaration import Channel, ContainerLine, Declaration, DeclarationStatus
from vision.identity import Identification, Read, ReadKind

NOW = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
NUMBER = "105000000001"
PLATE = "51C12345"
C1, C2, C3 = "MSKU3866036", "TGHU1234567", "CSQU3054383"  # valid ISO 6346 check digits
R = Reason


def declaration(**changes: Any) -> Declaration:
    fields: dict[str, Any] = {
        "number": NUMBER,
        "status": DeclarationStatus.CLEARED,
        "channel": Channel.GREEN,
        "plates": (PLATE,),
        "containers": (ContainerLine(number=C1), ContainerLine(number=C2)),
        "gross_kg": 28_000.0,
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=6),
    }
    return Declaration(**(fields | changes))


def plate_read(text: str = "51C-123.45", confidence: float = 0.95, valid: bool = True) -> Read:
    return Read(ReadKind.PLATE, text, confidence, valid)


def container_read(text: str, confidence: float = 0.93, valid: bool = True) -> Read:
    return Read(ReadKind.CONTAINER, text, confidence, valid)


@dataclass(frozen=True)
class Case:
    """Every input of one decision; `main` is the declaration the vehicle is meant to exit under."""

    plate: Read | None = field(default_factory=plate_read)
    containers: tuple[Read, ...] = (container_read(C1), container_read(C2))
    weight_kg: float | None = 28_500.0
    main: Declaration = field(default_factory=declaration)
    others: tuple[Declaration, ...] = ()
    exited: ExitLedger = field(default_factory=dict)
    unconfirmed: ExitLedger = field(default_factory=dict)
    watchlist: frozenset[str] = frozenset({"29A99999"})
    now: datetime = NOW
    config: DecisionConfig = field(default_factory=DecisionConfig)

    def with_main(self, **changes: Any) -> Case:
        return replace(self, main=self.main.model_copy(update=changes))

    def decide(self, declarations: Sequence[Declaration] | None = None) -> Decision:
        """The decision, with the declarations cached in this order ((main, *others) unless given)."""
        return decide(
            Identification(self.plate, self.containers),
            self.weight_kg,
            (self.main, *self.others) if declarations is None else declarations,
            self.exited,
            self.watchlist,
            self.now,
            self.config,
            unconfirmed=self.unconfirmed,
        )


BASE = Case()
HOLD, REJECT, PASS = Outcome.HOLD, Outcome.REJECT, Outcome.PASS


def test_baseline_vehicle_passes_with_no_reasons() -> None:
    assert BASE.decide() == Decision(PASS, (), NUMBER, ())


SINGLE_FAULTS = [
    pytest.param(replace(BASE, plate=None), {R.NO_DECLARATION}, HOLD, id="no-plate-read"),
    pytest.param(replace(BASE, plate=plate_read("29A12345")), {R.NO_DECLARATION}, HOLD, id="unknown-plate"),
    pytest.param(BASE.with_main(status=DeclarationStatus.PENDING), {R.NOT_CLEARED}, REJECT, id="pending"),
    pytest.param(BASE.with_main(status=DeclarationStatus.REVOKED), {R.NOT_CLEARED}, REJECT, id="revoked"),
    pytest.param(BASE.with_main(status=DeclarationStatus.REJECTED), {R.NOT_CLEARED}, REJECT, id="rejected"),
    pytest.param(BASE.with_main(channel=Channel.RED), {R.RED_NOT_INSPECTED}, HOLD, id="red-not-inspected"),
    pytest.param(
        replace(BASE, containers=(container_read(C1),)), {R.CONTAINER_MISMATCH}, HOLD, id="container-missing"
    ),
    pytest.param(
        replace(BASE, containers=(*BASE.containers, container_read(C3))),
        {R.CONTAINER_MISMATCH},
        HOLD,
        id="container-extra",
    ),
    pytest.param(
        replace(BASE, containers=(container_read(C1), container_read(C3))),
        {R.CONTAINER_MISMATCH},
        HOLD,
        id="container-swapped",
    ),
    pytest.param(replace(BASE, containers=()), {R.CONTAINER_MISMATCH}, HOLD, id="no-container-read"),
    pytest.param(
        BASE.with_main(containers=()),
        {R.CONTAINER_MISMATCH},
        HOLD,
        id="containers-on-containerless-declaration",
    ),
    pytest.param(replace(BASE, weight_kg=31_240.0), {R.WEIGHT_OUT_OF_TOLERANCE}, HOLD, id="overweight"),
    pytest.param(replace(BASE, weight_kg=24_000.0), {R.WEIGHT_OUT_OF_TOLERANCE}, HOLD, id="underweight"),
    pytest.param(replace(BASE, weight_kg=None), {R.NO_STABLE_WEIGHT}, HOLD, id="no-stable-weight"),
    pytest.param(replace(BASE, exited={NUMBER: {C2}}), {R.ALREADY_EXITED}, REJECT, id="container-exited"),
    pytest.param(
        replace(BASE, containers=(), exited={NUMBER: {""}}).with_main(containers=()),
        {R.ALREADY_EXITED},
        REJECT,
        id="containerless-declaration-exited",
    ),
    pytest.param(
        replace(BASE, exited=lambda number: {C1} if number == NUMBER else set()),
        {R.ALREADY_EXITED},
        REJECT,
        id="exited-from-callable-ledger",
    ),
    pytest.param(
        replace(BASE, exited={NUMBER: {"msku 386603-6"}}),
        {R.ALREADY_EXITED},
        REJECT,
        id="exit-ledger-unnormalised",
    ),
    pytest.param(
        replace(BASE, unconfirmed={NUMBER: {C2}}), {R.EXIT_UNCONFIRMED}, HOLD, id="container-exit-unconfirmed"
    ),
    pytest.param(
        replace(BASE, containers=(), unconfirmed={NUMBER: {""}}).with_main(containers=()),
        {R.EXIT_UNCONFIRMED},
        HOLD,
        id="containerless-exit-unconfirmed",
    ),
    pytest.param(replace(BASE, now=NOW + timedelta(days=7)), {R.EXPIRED}, REJECT, id="after-valid-until"),
    pytest.param(replace(BASE, now=NOW - timedelta(days=2)), {R.EXPIRED}, REJECT, id="before-valid-from"),
    pytest.param(replace(BASE, watchlist=frozenset({PLATE})), {R.WATCHLISTED}, HOLD, id="watchlisted"),
    pytest.param(
        replace(BASE, watchlist=frozenset({"51C-123.45"})), {R.WATCHLISTED}, HOLD, id="watchlisted-as-typed"
    ),
    pytest.param(replace(BASE, plate=plate_read(confidence=0.79)), {R.LOW_CONFIDENCE}, HOLD, id="plate-low"),
    pytest.param(replace(BASE, plate=plate_read(valid=False)), {R.LOW_CONFIDENCE}, HOLD, id="plate-invalid"),
    pytest.param(
        replace(BASE, containers=(container_read(C1), container_read(C2, confidence=0.5))),
        {R.LOW_CONFIDENCE},
        HOLD,
        id="container-low",
    ),
]


HARMLESS = [
    pytest.param(BASE.with_main(channel=Channel.RED, inspection_done=True), id="red-inspected"),
    pytest.param(BASE.with_main(channel=Channel.YELLOW), id="yellow"),
    pytest.param(replace(BASE, exited={"105000000002": {C1, C2, ""}}), id="exits-under-other-declaration"),
    pytest.param(replace(BASE, exited={NUMBER: {""}}), id="containerless-entry-on-container-declaration"),
    pytest.param(
        replace(BASE, unconfirmed={"105000000002": {C1, ""}}), id="unconfirmed-under-other-declaration"
    ),
    pytest.param(replace(BASE, weight_kg=None).with_main(gross_kg=None), id="no-weight-and-none-declared"),
    pytest.param(
        replace(BASE, weight_kg=99_999.0).with_main(gross_kg=None), id="weight-unchecked-undeclared"
    ),
    pytest.param(
        replace(BASE, weight_kg=None, config=DecisionConfig(require_weight=False)), id="weight-not-required"
    ),
    pytest.param(
        replace(
            BASE, plate=plate_read(confidence=0.80), containers=(container_read(C2, 0.8), container_read(C1))
        ),
        id="confidence-at-minimum-and-reads-in-any-order",
    ),
    pytest.param(
        replace(BASE, containers=(container_read("msku 386603 6"), container_read(C2))), id="spaced"
    ),
    pytest.param(
        replace(BASE, containers=(container_read(C1), container_read(C2), container_read(C2))),
        id="read-twice",
    ),
    pytest.param(replace(BASE, now=NOW - timedelta(days=1)), id="at-valid-from"),
    pytest.param(replace(BASE, now=NOW + timedelta(days=6)), id="at-valid-until"),
]


@pytest.mark.parametrize("case", HARMLESS)
def test_variations_that_break_no_rule_still_pass(case: Case) -> None:
    assert case.decide() == Decision(PASS, (), NUMBER, ())


def test_invalid_check_digit_is_a_container_mismatch_and_an_uncertain_read() -> None:
    case = replace(BASE, containers=(container_read(C1), container_read("TGHU1234568", valid=False)))
    decision = case.decide()
    assert decision.reasons == (R.CONTAINER_MISMATCH, R.LOW_CONFIDENCE)
    assert decision.outcome is HOLD
    mismatch = decision.details[decision.reasons.index(R.CONTAINER_MISMATCH)]
    assert "declared but not read: TGHU1234567" in mismatch
    assert "invalid check digit: TGHU1234568" in mismatch


def test_a_read_not_confirmed_identifies_no_container_and_is_not_called_unread() -> None:
    case = replace(
        BASE, containers=(container_read(C1), container_read(C2, valid=False)), exited={NUMBER: {C2}}
    )
    decision = case.decide()
    assert decision.reasons == (R.CONTAINER_MISMATCH, R.LOW_CONFIDENCE)
    assert "read in fewer frames than required to confirm: TGHU1234567" in decision.details[0]
    assert "declared but not read" not in decision.details[0]


def test_unknown_low_confidence_plate_reports_no_declaration_and_low_confidence() -> None:
    decision = replace(BASE, plate=plate_read("29A12345", confidence=0.4)).decide()
    assert decision == Decision(
        HOLD, (R.LOW_CONFIDENCE, R.NO_DECLARATION), None, decision.details, decision.details_vi
    )
    assert "29A12345" in decision.details[1]
    assert decision.details_vi[1] == "Không có tờ khai nào trong dữ liệu tại cổng ghi biển số 29A12345"


COMBINATIONS = [
    pytest.param(
        replace(BASE, weight_kg=31_240.0, watchlist=frozenset({PLATE})),
        {R.WEIGHT_OUT_OF_TOLERANCE, R.WATCHLISTED},
        HOLD,
        id="two-holds",
    ),
    pytest.param(
        replace(BASE, containers=(container_read(C1),), watchlist=frozenset({PLATE})).with_main(
            status=DeclarationStatus.REVOKED
        ),
        {R.NOT_CLEARED, R.CONTAINER_MISMATCH, R.WATCHLISTED},
        REJECT,
        id="reject-beats-two-holds",
    ),
    pytest.param(
        replace(BASE, now=NOW + timedelta(days=30), plate=plate_read(confidence=0.5)),
        {R.EXPIRED, R.LOW_CONFIDENCE},
        REJECT,
        id="expired-and-uncertain",
    ),
    pytest.param(
        replace(BASE, weight_kg=None, exited={NUMBER: {C1}}).with_main(channel=Channel.RED),
        {R.RED_NOT_INSPECTED, R.NO_STABLE_WEIGHT, R.ALREADY_EXITED},
        REJECT,
        id="red-no-weight-exited",
    ),
    pytest.param(
        replace(BASE, exited={NUMBER: {C1}}, unconfirmed={NUMBER: {C2}}),
        {R.ALREADY_EXITED, R.EXIT_UNCONFIRMED},
        REJECT,
        id="one-container-exited-the-other-unconfirmed",
    ),
    pytest.param(
        replace(BASE, plate=None, containers=(container_read(C1, confidence=0.2),), watchlist=frozenset()),
        {R.NO_DECLARATION, R.LOW_CONFIDENCE},
        HOLD,
        id="no-plate-and-uncertain-container",
    ),
    pytest.param(
        replace(BASE, watchlist=frozenset({PLATE}), config=DecisionConfig(reject_reasons=(R.WATCHLISTED,))),
        {R.WATCHLISTED},
        REJECT,
        id="configured-reject-reason",
    ),
    pytest.param(
        replace(BASE, config=DecisionConfig(reject_reasons=())).with_main(status=DeclarationStatus.PENDING),
        {R.NOT_CLEARED},
        HOLD,
        id="no-reject-reasons-configured",
    ),
]


@pytest.mark.parametrize(("case", "reasons", "outcome"), [*SINGLE_FAULTS, *COMBINATIONS])
def test_each_fault_alone_or_combined_is_reported_exactly_and_reject_beats_hold(
    case: Case, reasons: set[Reason], outcome: Outcome
) -> None:
    decision = case.decide()
    assert set(decision.reasons) == reasons
    assert decision.outcome is outcome
    assert len(decision.details) == len(decision.reasons)


# The facts a sentence gives: numbers, plates, container and declaration numbers, times, weights.
_FACTS = re.compile(r"[0-9A-Z][0-9A-Z.,:'±-]*[0-9]")
_AS_ENGLISH = str.maketrans({",": ".", ".": ","})  # Vietnamese writes 35.000,5 for 35,000.5

FACT_CASES = [
    *COMBINATIONS,
    pytest.param(replace(BASE, plate=plate_read("51C1234X", valid=False)), None, None, id="plate-not-valid"),
    pytest.param(
        replace(
            BASE, containers=(container_read(C1), container_read(C3), container_read("TGHU12", valid=False))
        ),
        None,
        None,
        id="containers-missing-extra-invalid",
    ),
    pytest.param(
        replace(BASE, containers=(), exited={NUMBER: {""}}).with_main(containers=()),
        None,
        None,
        id="exited-without-containers",
    ),
    pytest.param(replace(BASE, weight_kg=35_000.5), None, None, id="weight-with-decimals"),
    pytest.param(BASE.with_main(status=DeclarationStatus.PENDING), None, None, id="pending"),
]


@pytest.mark.parametrize(("case", "reasons", "outcome"), FACT_CASES)
def test_every_detail_says_the_same_facts_in_vietnamese(
    case: Case, reasons: set[Reason] | None, outcome: Outcome | None
) -> None:
    decision = case.decide()
    assert decision.reasons
    assert len(decision.details_vi) == len(decision.reasons)
    for en, vi in zip(decision.details, decision.details_vi, strict=True):
        assert vi != en
        # The same facts in the same order, once the numbers' marks are written the English way.
        assert [_as_english(f) for f in _FACTS.findall(vi)] == _FACTS.findall(en), (en, vi)


def _as_english(fact: str) -> str:
    return fact.translate(_AS_ENGLISH) if re.fullmatch(r"[0-9.,]+", fact) else fact


def test_vietnamese_details_name_status_and_parts_in_vietnamese() -> None:
    misread = container_read("TGHU1234568", valid=False)
    revoked = replace(BASE, containers=(container_read(C1), misread)).with_main(
        status=DeclarationStatus.REVOKED
    )
    decision = revoked.decide()
    said = dict(zip(decision.reasons, decision.details_vi, strict=True))
    assert said[R.NOT_CLEARED] == f"Tờ khai {NUMBER} đã bị hủy thông quan"
    assert "khai báo nhưng không đọc được: TGHU1234567" in said[R.CONTAINER_MISMATCH]
    assert "sai chữ số kiểm tra: TGHU1234568" in said[R.CONTAINER_MISMATCH]
    over = replace(BASE, weight_kg=35_000.5).decide()
    assert over.details_vi == ("Số cân 35.000,5 kg nằm ngoài 28.000 kg ± 1.400 kg",)
    assert over.details == ("Measured 35,000.5 kg is outside 28,000 kg ± 1,400 kg",)


@pytest.mark.parametrize(
    ("declared", "measured", "pct", "kg", "passes"),
    [
        pytest.param(28_000, 29_400, 5, 500, True, id="pct-bound-above"),
        pytest.param(28_000, 29_401, 5, 500, False, id="pct-bound-above-plus-1"),
        pytest.param(28_000, 26_600, 5, 500, True, id="pct-bound-below"),
        pytest.param(28_000, 26_599, 5, 500, False, id="pct-bound-below-minus-1"),
        pytest.param(6_000, 6_500, 5, 500, True, id="kg-larger-than-pct"),
        pytest.param(6_000, 6_501, 5, 500, False, id="kg-bound-plus-1"),
        pytest.param(6_000, 5_500, 5, 500, True, id="kg-bound-below"),
        pytest.param(6_000, 5_499, 5, 500, False, id="kg-bound-below-minus-1"),
        pytest.param(10_000, 10_500, 5, 500, True, id="pct-equals-kg"),
        pytest.param(30_000, 30_990, 3.3, 0, True, id="fractional-pct-at-bound"),
        pytest.param(30_000, 30_991, 3.3, 0, False, id="fractional-pct-plus-1"),
        pytest.param(20_000, 20_000, 0, 0, True, id="zero-tolerance-exact"),
        pytest.param(20_000, 20_001, 0, 0, False, id="zero-tolerance-plus-1"),
        pytest.param(20_000, float("nan"), 5, 500, False, id="nan-weight"),
    ],
)
def test_weight_passes_within_the_larger_of_pct_and_kg_inclusive(
    declared: float, measured: float, pct: float, kg: float, passes: bool
) -> None:
    config = DecisionConfig(weight_tolerance_pct=pct, weight_tolerance_kg=kg)
    decision = replace(BASE, weight_kg=measured, config=config).with_main(gross_kg=declared).decide()
    assert decision.reasons == (() if passes else (R.WEIGHT_OUT_OF_TOLERANCE,))


def test_weight_detail_names_measured_declared_and_tolerance() -> None:
    assert replace(BASE, weight_kg=31_240.0).decide().details == (
        "Measured 31,240 kg is outside 28,000 kg ± 1,400 kg",
    )


@pytest.mark.parametrize(
    ("read", "stored"),
    [
        ("51C-123.45", "51C12345"),
        ("51c 123 45", "51C12345"),
        ("51C12345", "51C-123.45"),
        ("51C.12345", "51c12345"),
    ],
)
def test_plate_punctuation_and_case_do_not_matter_for_matching(read: str, stored: str) -> None:
    decision = replace(BASE, plate=plate_read(read)).with_main(plates=("29A00001", stored)).decide()
    assert decision == Decision(PASS, (), NUMBER, ())


def test_declaration_keeps_its_plates_normalised() -> None:
    assert declaration(plates=("51c-123.45", "29A 000.01")).plates == ("51C12345", "29A00001")


def test_plate_of_only_punctuation_counts_as_no_plate() -> None:
    decision = replace(BASE, plate=plate_read("-.-", valid=False)).decide()
    assert decision.reasons == (R.LOW_CONFIDENCE, R.NO_DECLARATION)
    assert decision.declaration_number is None


def other(number: str, **changes: Any) -> Declaration:
    return declaration(number=number, **changes)


@pytest.mark.parametrize(
    ("others", "main_changes", "chosen", "reasons"),
    [
        pytest.param(
            (other("2", containers=(ContainerLine(number=C3),)),), {}, NUMBER, (), id="containers-decide"
        ),
        pytest.param(
            (other("0", status=DeclarationStatus.PENDING),), {}, NUMBER, (), id="cleared-over-pending"
        ),
        pytest.param(
            (other("0", valid_until=NOW - timedelta(hours=1)),), {}, NUMBER, (), id="valid-over-expired"
        ),
        pytest.param(
            (other("0", channel=Channel.RED),), {}, NUMBER, (), id="inspected-over-red-not-inspected"
        ),
        pytest.param(
            (other("0", containers=(ContainerLine(number=C1), ContainerLine(number=C2))),),
            {"containers": (ContainerLine(number=C1),)},
            "0",
            (),
            id="full-match-over-partial-match",
        ),
        pytest.param(
            (other("0", status=DeclarationStatus.PENDING, containers=(ContainerLine(number=C3),)),),
            {"containers": (ContainerLine(number=C1), ContainerLine(number=C2))},
            NUMBER,
            (),
            id="pending-with-other-containers-ignored",
        ),
        pytest.param((other("0"),), {}, "0", (), id="tie-broken-by-lowest-number"),
        pytest.param(
            (other("0", plates=("29A00001",)),),
            {"status": DeclarationStatus.REVOKED},
            NUMBER,
            (R.NOT_CLEARED,),
            id="declaration-for-another-plate-never-used",
        ),
    ],
)
def test_best_matching_candidate_is_chosen(
    others: tuple[Declaration, ...], main_changes: dict[str, Any], chosen: str, reasons: tuple[Reason, ...]
) -> None:
    case = replace(BASE, others=others).with_main(**main_changes)
    decision = case.decide()
    assert (decision.declaration_number, decision.reasons) == (chosen, reasons)
    assert case.decide((*others, case.main)) == decision


def test_truck_carrying_containers_of_a_pending_declaration_is_judged_on_that_declaration() -> None:
    pending = other("2", status=DeclarationStatus.PENDING, containers=(ContainerLine(number=C3),))
    decision = replace(BASE, containers=(container_read(C3),), others=(pending,)).decide()
    assert (decision.declaration_number, decision.reasons, decision.outcome) == (
        "2",
        (R.NOT_CLEARED,),
        REJECT,
    )


def test_second_trip_uses_the_declaration_not_yet_exited() -> None:
    trip = {"containers": (), "gross_kg": None}
    case = replace(BASE, containers=(), exited={NUMBER: {""}}, others=(other("2", **trip),)).with_main(**trip)
    assert case.decide() == Decision(PASS, (), "2", ())


def test_superseded_version_is_never_used() -> None:
    newer = declaration(status=DeclarationStatus.REVOKED, version=2)
    for order in ((BASE.main, newer), (newer, BASE.main)):
        decision = replace(BASE, watchlist=frozenset()).decide(order)
        assert (decision.reasons, decision.outcome) == ((R.NOT_CLEARED,), REJECT)


def test_every_reason_has_english_and_vietnamese_text() -> None:
    assert set(REASON_TEXT) == set(REASON_TEXT_VI) == set(Reason)
    assert all(text.strip() for text in (*REASON_TEXT.values(), *REASON_TEXT_VI.values()))


def test_config_rejects_unknown_keys_and_describes_every_field() -> None:
    with pytest.raises(ValidationError):
        DecisionConfig.model_validate({"weight_tolerance": 5})
    properties = DecisionConfig.model_json_schema()["properties"]
    assert all(spec.get("description") for spec in properties.values())
    assert DecisionConfig.model_validate({"reject_reasons": ["not_cleared"]}).reject_reasons == (
        R.NOT_CLEARED,
    )


@pytest.mark.parametrize(
    ("outcome", "reasons", "details"),
    [
        pytest.param(PASS, (R.EXPIRED,), ("x",), id="pass-with-reason"),
        pytest.param(HOLD, (), (), id="hold-without-reason"),
        pytest.param(HOLD, (R.WATCHLISTED, R.EXPIRED), ("x", "y"), id="unsorted"),
        pytest.param(HOLD, (R.EXPIRED, R.EXPIRED), ("x", "y"), id="duplicate"),
        pytest.param(HOLD, (R.EXPIRED,), (), id="detail-missing"),
    ],
)
def test_inconsistent_decision_cannot_be_built(
    outcome: Outcome, reasons: tuple[Reason, ...], details: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="reason"):
        Decision(outcome, reasons, NUMBER, details)


@pytest.mark.parametrize(
    ("judged", "expected"),
    [
        pytest.param(Decision(PASS, (), NUMBER, ()), (HOLD, (R.NOT_RECORDED,), NUMBER), id="pass-held"),
        pytest.param(
            Decision(REJECT, (R.EXPIRED,), NUMBER, ("late",), ("trễ",)),
            (REJECT, (R.EXPIRED, R.NOT_RECORDED), NUMBER),
            id="reject-stays-reject",
        ),
        pytest.param(None, (HOLD, (R.NOT_RECORDED,), None), id="rules-failed-too"),
    ],
)
def test_a_decision_the_store_did_not_record_never_passes_and_keeps_its_reasons(
    judged: Decision | None, expected: tuple[Outcome, tuple[Reason, ...], str | None]
) -> None:
    held = unrecorded(judged, "database or disk is full")
    assert (held.outcome, held.reasons, held.declaration_number) == expected
    said = held.details[held.reasons.index(R.NOT_RECORDED)]
    assert said.startswith("The decision could not be recorded (database or disk is full)")
    assert len(held.details_vi) == len(held.reasons)


def test_vietnamese_details_are_one_per_reason_or_none() -> None:
    assert Decision(HOLD, (R.EXPIRED,), NUMBER, ("x",)).details_vi == ()
    with pytest.raises(ValueError, match="one Vietnamese detail per reason"):
        Decision(HOLD, (R.EXPIRED,), NUMBER, ("x",), ("a", "b"))


# --- properties ----------------------------------------------------------------------------------------

plates = st.from_regex(r"[0-9]{2}[A-Z][0-9]{5}", fullmatch=True)
container_numbers = st.from_regex(r"[A-Z]{3}U[0-9]{7}", fullmatch=True)


def decorate(draw: st.DrawFn, plate: str) -> str:
    """Write a plate as a camera or a clerk might: "51C-123.45", "51c12345"."""
    if draw(st.booleans()):
        plate = f"{plate[:3]}-{plate[3:6]}.{plate[6:]}"
    return plate.lower() if draw(st.booleans()) else plate


@st.composite
def passing_cases(draw: st.DrawFn) -> Case:
    """A vehicle that satisfies every rule, among decoys that must not change the outcome."""
    config = DecisionConfig(
        weight_tolerance_pct=draw(st.integers(0, 10)),
        weight_tolerance_kg=draw(st.integers(0, 1000)),
        min_plate_confidence=draw(st.sampled_from([0.5, 0.8, 0.95])),
        min_container_confidence=draw(st.sampled_from([0.5, 0.8, 0.95])),
        require_weight=draw(st.booleans()),
    )
    plate = draw(plates)
    decoy_plates = draw(st.lists(plates.filter(lambda p: p != plate), max_size=3, unique=True))
    numbers = draw(
        st.lists(st.from_regex(r"1[0-9]{11}", fullmatch=True), min_size=3, max_size=3, unique=True)
    )
    containers = draw(st.lists(container_numbers, max_size=3, unique=True))
    gross = draw(st.none() | st.integers(3_000, 60_000))
    if gross is None:
        weight = draw(st.none() | st.integers(0, 80_000))
    else:
        allowed = int(
            max(Fraction(config.weight_tolerance_pct) * gross / 100, Fraction(config.weight_tolerance_kg))
        )
        absent = st.none() if not config.require_weight else st.nothing()
        weight = draw(absent | st.integers(-allowed, allowed).map(lambda d: gross + d))
    channel, inspected = draw(
        st.sampled_from([(Channel.GREEN, False), (Channel.YELLOW, False), (Channel.RED, True)])
        | st.tuples(st.sampled_from([Channel.GREEN, Channel.YELLOW]), st.booleans())
    )
    version = draw(st.integers(1, 3))
    main = Declaration(
        number=numbers[0],
        status=DeclarationStatus.CLEARED,
        channel=channel,
        inspection_done=inspected,
        plates=tuple(draw(st.permutations([decorate(draw, plate), *decoy_plates[:1]]))),
        containers=tuple(ContainerLine(number=c) for c in containers),
        gross_kg=gross,
        valid_from=NOW - timedelta(minutes=draw(st.integers(0, 100_000))),
        valid_until=NOW + timedelta(minutes=draw(st.integers(0, 100_000))),
        version=version,
    )
    others = []
    if version > 1:  # an older, superseded version that must be ignored whatever it says
        status = draw(st.sampled_from(DeclarationStatus))
        others.append(main.model_copy(update={"version": version - 1, "status": status}))
    for number, decoy in zip(numbers[1:], decoy_plates[1:], strict=False):
        others.append(
            main.model_copy(
                update={"number": number, "plates": (decoy,), "status": DeclarationStatus.REVOKED}
            )
        )
    ledger: dict[str, set[str]] = {n: {*containers, ""} for n in numbers[1:]}
    ledger[main.number] = {"OTHER-CONTAINER"} | ({""} if containers else set())
    return Case(
        plate=plate_read(decorate(draw, plate), draw(st.floats(config.min_plate_confidence, 1))),
        containers=tuple(
            container_read(c, draw(st.floats(config.min_container_confidence, 1)))
            for c in draw(st.permutations(containers))
        ),
        weight_kg=None if weight is None else float(weight),
        main=main,
        others=tuple(others),
        exited=ledger,
        unconfirmed=ledger,  # the same decoys: other declarations' exits, another container's
        watchlist=frozenset(decoy_plates),
        config=config,
    )


def normalised(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def inject(case: Case, fault: Reason, data: st.DataObject) -> Case:
    """The passing case with exactly one rule broken."""
    config, main = case.config, case.main
    gross = main.gross_kg or 20_000.0
    match fault:
        case R.NO_DECLARATION:
            return replace(case, plate=data.draw(st.sampled_from([None, plate_read("00Z-000.00")])))
        case R.NOT_CLEARED:
            uncleared = [s for s in DeclarationStatus if s is not DeclarationStatus.CLEARED]
            return case.with_main(status=data.draw(st.sampled_from(uncleared)))
        case R.RED_NOT_INSPECTED:
            return case.with_main(channel=Channel.RED, inspection_done=False)
        case R.CONTAINER_MISMATCH:
            drop = data.draw(st.booleans())
            if case.containers and drop:
                return replace(case, containers=case.containers[1:])
            return replace(case, containers=(*case.containers, container_read("ZZZU9999999", confidence=1.0)))
        case R.WEIGHT_OUT_OF_TOLERANCE:
            allowed = max(config.weight_tolerance_pct * gross / 100, config.weight_tolerance_kg)
            sign = data.draw(st.sampled_from([1, -1]))
            return replace(case, weight_kg=gross + sign * (allowed + 1)).with_main(gross_kg=gross)
        case R.NO_STABLE_WEIGHT:
            required = config.model_copy(update={"require_weight": True})
            return replace(case, weight_kg=None, config=required).with_main(gross_kg=gross)
        case R.ALREADY_EXITED:
            entry = case.containers[0].text if case.containers else ""
            return replace(case, exited={main.number: {entry}})
        case R.EXIT_UNCONFIRMED:
            entry = case.containers[-1].text if case.containers else ""
            return replace(case, unconfirmed={main.number: {entry}})
        case R.EXPIRED:
            late = main.valid_until + timedelta(seconds=1)
            early = main.valid_from - timedelta(seconds=1)
            return replace(case, now=data.draw(st.sampled_from([late, early])))
        case R.WATCHLISTED:
            assert case.plate is not None
            return replace(case, watchlist=case.watchlist | {normalised(case.plate.text)})
        case R.LOW_CONFIDENCE:
            assert case.plate is not None
            doubtful = [
                replace(case.plate, confidence=config.min_plate_confidence - 0.01),
                replace(case.plate, valid=False),
            ]
            return replace(case, plate=data.draw(st.sampled_from(doubtful)))
    raise AssertionError(fault)


@given(passing_cases())
def test_generated_vehicle_meeting_every_rule_passes(case: Case) -> None:
    assert case.decide() == Decision(PASS, (), case.main.number, ())


# not_recorded is the daemon's (the store refused the record), not a rule decide() applies.
@given(passing_cases(), st.sampled_from([r for r in Reason if r is not R.NOT_RECORDED]), st.data())
def test_any_single_fault_injected_into_a_passing_case_never_passes(
    case: Case, fault: Reason, data: st.DataObject
) -> None:
    decision = inject(case, fault, data).decide()
    assert decision.outcome is not PASS
    assert decision.reasons == (fault,)
    assert decision.outcome is (REJECT if fault in case.config.reject_reasons else HOLD)


POOL = ("MSKU3866036", "TGHU1234567", "CSQU3054383")
DAY = timedelta(days=1)


def often(common: Any, *rare: Any) -> st.SearchStrategy[Any]:
    """Mostly `common`, now and then one of `rare`, so that passing cases are not rare."""
    return st.sampled_from([common, common, common, common, common, common, *rare])


@st.composite
def one_declaration(draw: st.DrawFn, number: str, version: int) -> Declaration:
    return Declaration(
        number=number,
        version=version,
        status=draw(often(DeclarationStatus.CLEARED, *DeclarationStatus)),
        channel=draw(st.sampled_from(Channel)),
        inspection_done=draw(st.booleans()),
        plates=tuple(
            draw(st.lists(st.sampled_from(["51C12345", "29A99999"]), min_size=1, max_size=2, unique=True))
        ),
        containers=tuple(
            ContainerLine(number=c) for c in draw(st.lists(st.sampled_from(POOL), max_size=3, unique=True))
        ),
        gross_kg=draw(st.none() | st.sampled_from([10_000.0, 28_000.0])),
        valid_from=draw(often(NOW - DAY, NOW, NOW + DAY)),
        valid_until=draw(often(NOW + DAY, NOW, NOW - DAY)),
    )


@st.composite
def any_cases(draw: st.DrawFn) -> Case:
    """Any mix of faults over a small pool of plates, numbers and containers, so that they collide.

    Reads and weight are often copied from one of the declarations, so that about one case in ten passes.
    """
    keys = draw(
        st.lists(st.tuples(st.sampled_from("123"), st.integers(1, 3)), min_size=1, max_size=4, unique=True)
    )
    declarations = [draw(one_declaration(number, version)) for number, version in keys]
    model = draw(st.sampled_from(declarations))
    confidence = often(0.95, 0.8, 0.5)
    plate = draw(
        often(model.plates[0], "29A99999", "51c-123.45", None).flatmap(
            lambda text: (
                st.none()
                if text is None
                else st.builds(plate_read, st.just(text), confidence, often(True, False))
            )
        )
    )
    copied = [c.number for c in model.containers]
    texts = draw(st.just(copied) | st.lists(st.sampled_from(POOL), max_size=3))
    reads = tuple(draw(st.builds(container_read, st.just(t), confidence, often(True, False))) for t in texts)
    gross = model.gross_kg or 28_000.0
    weight = draw(often(gross, None, gross + 1_400, gross + 1_401, gross - 500, gross - 501))
    ledger = draw(
        often({}) | st.dictionaries(st.sampled_from("123"), st.sets(st.sampled_from([*POOL, ""]), max_size=2))
    )
    return Case(
        plate=plate,
        containers=reads,
        weight_kg=weight,
        main=declarations[0],
        others=tuple(declarations[1:]),
        exited=ledger,
        watchlist=draw(often(frozenset(), frozenset({"51C12345"}))),
        config=DecisionConfig(require_weight=draw(st.booleans())),
    )


def rules_hold(case: Case, declaration: Declaration, exited: AbstractSet[str]) -> bool:
    """Every rule's precondition for passing under this declaration, written out plainly."""
    config = case.config
    reads = {normalised(r.text) for r in case.containers}
    if declaration.gross_kg is None:
        weight_ok = True
    elif case.weight_kg is None:
        weight_ok = not config.require_weight
    else:
        declared = Fraction(declaration.gross_kg)
        tolerance = max(
            Fraction(config.weight_tolerance_pct) * declared / 100, Fraction(config.weight_tolerance_kg)
        )
        weight_ok = abs(Fraction(case.weight_kg) - declared) <= tolerance
    not_exited = not (reads & exited) if declaration.containers else "" not in exited
    return (
        declaration.status is DeclarationStatus.CLEARED
        and (declaration.channel is not Channel.RED or declaration.inspection_done)
        and reads == {normalised(c.number) for c in declaration.containers}
        and weight_ok
        and not_exited
        and declaration.valid_from <= case.now <= declaration.valid_until
    )


@settings(max_examples=500)
@given(any_cases())
def test_pass_exactly_when_a_current_declaration_for_the_plate_meets_every_rule(case: Case) -> None:
    decision = case.decide()
    plate, config = case.plate, case.config
    assert isinstance(case.exited, dict)
    reads_sure = all(r.valid and r.confidence >= config.min_container_confidence for r in case.containers)
    plate_sure = plate is not None and plate.valid and plate.confidence >= config.min_plate_confidence
    current: dict[str, Declaration] = {}
    for d in sorted((case.main, *case.others), key=lambda d: d.version):
        current[d.number] = d
    passing = [
        d
        for d in current.values()
        if plate is not None
        and normalised(plate.text) in {normalised(p) for p in d.plates}
        and rules_hold(case, d, case.exited.get(d.number, set()))
    ]
    watched = plate is not None and normalised(plate.text) in case.watchlist
    should_pass = plate_sure and reads_sure and not watched and bool(passing)
    assert (decision.outcome is PASS) == should_pass
    assert (decision.outcome is PASS) == (decision.reasons == ())
    if should_pass:
        assert decision.declaration_number in {d.number for d in passing}


@given(any_cases(), st.randoms(use_true_random=False))
def test_decision_does_not_depend_on_the_order_of_declarations(case: Case, random: Random) -> None:
    declarations = [case.main, *case.others]
    random.shuffle(declarations)
    assert case.decide(declarations) == case.decide()
