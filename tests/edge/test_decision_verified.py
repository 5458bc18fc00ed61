"""Verified reads in the decision and its record: the path and the scores, the expected list, the wiring."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.config import GateConfig, StoreConfig
from edge.daemon import LaneDaemon
from edge.decision import DecisionConfig, Outcome, ReadUsed, decide, expected, unrecorded
from edge.declaration import Channel, ContainerLine, Declaration, DeclarationStatus
from edge.lane_events import RequestDecision
from edge.recorder import Recorder
from edge.store import Store
from vision.config import VisionConfig
from vision.fuse import Observation
from vision.identifier import fuse_reads
from vision.identity import Expected, Identification, Read, ReadKind, ReadPath, Verification
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import VIETNAM
from vision.render import degrade, random_degradation, render_lao_plate, render_scene
from vision.verifier import Verifier, apply, regions

NOW = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
PLATE = "51C12345"
C1, C2 = "MSKU3866036", "TGHU1234567"  # valid ISO 6346 check digits


def declaration(number: str = "105000000001", **changes: Any) -> Declaration:
    fields: dict[str, Any] = {
        "number": number,
        "status": DeclarationStatus.CLEARED,
        "channel": Channel.GREEN,
        "plates": (PLATE,),
        "containers": (ContainerLine(number=C1),),
        "gross_kg": None,
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=6),
    }
    return Declaration(**(fields | changes))


CHECKED = Verification(
    best=PLATE, score=-2.4, runner_up="51C12346", runner_up_score=-19.8, expected=40, accepted=True
)
VERIFIED_PLATE = Read(
    ReadKind.PLATE,
    PLATE,
    0.99,
    True,
    alternatives=(("51C1Z345", 0.41),),
    source="front",
    path=ReadPath.VERIFIED,
    verification=CHECKED,
    grammar="vietnam",
)
FREE_CONTAINER = Read(ReadKind.CONTAINER, C1, 0.95, True)
IDENT = Identification(VERIFIED_PLATE, (FREE_CONTAINER,))


def test_a_verified_plate_passes_and_the_decision_says_which_path_matched_with_the_scores() -> None:
    decision = decide(IDENT, None, [declaration()], {}, set(), NOW, DecisionConfig())
    assert decision.outcome is Outcome.PASS
    assert decision.reads == (
        ReadUsed(ReadKind.PLATE, PLATE, ReadPath.VERIFIED, -2.4, "51C12346", -19.8),
        ReadUsed(ReadKind.CONTAINER, C1, ReadPath.FREE),
    )
    held = unrecorded(decision, "disk full")
    assert held.outcome is Outcome.HOLD
    assert held.reads == decision.reads  # an officer still sees how the vehicle was identified


def test_an_unknown_plate_records_its_path_too() -> None:
    unknown = Identification(Read(ReadKind.PLATE, "99Z99999", 0.97, True))
    decision = decide(unknown, None, [declaration()], {}, set(), NOW, DecisionConfig())
    assert decision.outcome is Outcome.HOLD
    assert decision.reads == (ReadUsed(ReadKind.PLATE, "99Z99999", ReadPath.FREE),)


def test_expected_texts_are_the_newest_cleared_declarations_valid_now_and_valid_container_numbers() -> None:
    found = expected(
        [
            declaration("1", plates=("51C-123.45",), containers=(ContainerLine(number=C1),)),
            declaration("2", plates=("30A11111",), status=DeclarationStatus.PENDING),
            declaration("3", version=1, plates=("29B22222",)),
            declaration("3", version=2, plates=("29B33333",), containers=(ContainerLine(number=C2),)),
            declaration("4", plates=("88C44444",), valid_until=NOW - timedelta(days=30)),  # expired
            declaration("6", plates=("77C66666",), valid_from=NOW + timedelta(days=1)),  # not yet valid
            declaration("5", plates=("15D55555",), containers=(ContainerLine(number="MSKU3866037"),)),
        ],
        NOW,
        VIETNAM,
    )
    assert found == Expected(
        plates=frozenset({PLATE, "29B33333", "15D55555"}),
        containers=frozenset({C1, C2}),  # MSKU3866037: its check digit fails
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "lane.db") as opened:
        yield opened


def test_the_decision_event_to_central_carries_the_path_and_scores_of_each_read(store: Store) -> None:
    store.declarations.upsert(declaration(), NOW)
    recorder = Recorder(store, "gate-1", "lane-1", wall=lambda: NOW)
    recorder.started("tx1")
    decision = recorder.decide(RequestDecision("tx1", IDENT, None), DecisionConfig())
    assert decision.outcome is Outcome.PASS
    events = [e for e in store.outbox.pending() if e.kind == "transaction.decision"]
    assert len(events) == 1
    payload = events[0].payload
    plate = payload["identification"]["plate"]
    assert plate["path"] == "verified"
    assert plate["verification"] == {
        "best": PLATE,
        "score": -2.4,
        "runner_up": "51C12346",
        "runner_up_score": -19.8,
        "expected": 40,
        "accepted": True,
    }
    assert payload["identification"]["containers"][0]["path"] == "free"
    assert payload["identification"]["containers"][0]["verification"] is None
    assert [(r["kind"], r["text"], r["path"], r["score"]) for r in payload["reads"]] == [
        ("plate", PLATE, "verified", -2.4),
        ("container", C1, "free", None),
    ]
    json.dumps(payload, allow_nan=False)  # central's reader refuses NaN and infinities
    record = store.transactions.get("tx1")
    assert record is not None
    assert (record.plate, record.declaration_number) == (PLATE, "105000000001")


def test_a_verified_read_crosses_to_the_lane_process_intact() -> None:
    assert pickle.loads(pickle.dumps(IDENT)) == IDENT  # noqa: S301 (our own bytes)


class _Expecting:
    """An identification source that takes the expected texts, as CameraIdentifier does."""

    def __init__(self) -> None:
        self.source: Callable[[], Expected] | None = None

    async def identify(self, tx_id: str, window_s: float) -> Identification:
        return Identification(plate=None)

    def expect(self, source: Callable[[], Expected]) -> None:
        self.source = source


def test_the_daemon_hands_the_identifier_the_cleared_declarations_of_its_store(tmp_path: Path) -> None:
    config = GateConfig(gate_id="g", store=StoreConfig(path=tmp_path / "lane.db"))
    source = _Expecting()
    daemon = LaneDaemon(config, source)
    now = datetime.now(UTC)  # the daemon asks the wall clock which declarations are valid
    valid = {"valid_from": now - timedelta(days=1), "valid_until": now + timedelta(days=1)}
    try:
        assert source.source is not None
        assert source.source() == Expected()
        daemon.store.declarations.upsert(declaration(**valid), now)
        daemon.store.declarations.upsert(
            declaration("2", plates=("30A11111",), status=DeclarationStatus.REVOKED, **valid), now
        )
        daemon.store.declarations.upsert(declaration("3", plates=("1234",), **valid), now)  # a Lao plate
        daemon.store.declarations.upsert(
            declaration("4", plates=("29B22222",), valid_until=now - timedelta(hours=1)), now
        )
        assert source.source() == Expected(plates=frozenset({PLATE}), containers=frozenset({C1}))
    finally:
        daemon.store.close()


LANE = ("vietnam", "china", "cambodia")


@pytest.fixture(scope="module")
def lane() -> Recognizer:
    return build_recognizer(VisionConfig(threads=2, grammar=LANE))


@pytest.mark.parametrize("truck", ["ກທ 1234", "ນວ 1234"])
def test_an_uncleared_lao_truck_is_never_passed_as_a_cleared_lao_plate_of_the_same_digits(
    lane: Recognizer, truck: str
) -> None:
    # A cleared declaration for the Lao truck ກຂ 1234 is cached as the gate stores it: its digits.
    cleared = declaration(plates=("1234",), containers=(), valid_from=NOW - timedelta(days=1))
    assert expected([cleared], NOW, lane.judge.grammar) == Expected()  # no plate of the lane's grammars
    verifier = Verifier.for_recognizer(lane)
    rng = np.random.default_rng(5)
    observations, verdicts = [], []
    for i in range(3):
        shot = degrade(render_lao_plate(truck, height=44), random_degradation(rng, 0.5), rng)
        scene = render_scene([(shot, (700 + 9 * i, 560))], seed=i)
        found = lane.read_frame(scene, ReadKind.PLATE)
        observations += [Observation(c, scene, "plate-front") for c in found[:3]]
        # Scored against the digits all the same (a list from before the grammar was asked): the reader
        # reads them well, and the lane's grammar still judges the match.
        verdicts += verifier.check(scene, regions(found), ReadKind.PLATE, ["1234"])
    free = fuse_reads(observations, lane.judge.grammar)
    ident = apply(free, verdicts, [], verifier.margins, verifier.grammar)
    assert ident.plate is not None
    assert not ident.plate.valid
    decision = decide(ident, None, [cleared], {}, set(), NOW, DecisionConfig())
    assert decision.outcome is Outcome.HOLD
