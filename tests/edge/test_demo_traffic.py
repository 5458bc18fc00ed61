"""The demo's traffic generator: a declaration serves one truck, and customs keeps clearing more."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.declaration import Channel, DeclarationStatus
from edge.demo.traffic import Scenario, TrafficGenerator

_FAULTS_ON_A_CLEARED_DECLARATION = (Scenario.WRONG_CONTAINER, Scenario.OVERWEIGHT, Scenario.LOW_CONFIDENCE)


def test_a_declaration_spent_by_a_fault_is_never_offered_again_as_cleared() -> None:
    # A low-confidence truck passes once its reads are corrected: the same declaration offered later as
    # "cleared" was REJECTed as already exited.
    for seed in range(20):
        traffic = TrafficGenerator(seed=seed, declarations=40, mismatch_share=0.5)
        spent: set[str] = set()
        for _ in range(60):
            vehicle = traffic.next_vehicle()
            if vehicle.scenario is Scenario.CLEARED:
                assert vehicle.plate not in spent, f"seed {seed}: {vehicle.plate} offered twice"
            if vehicle.scenario in (Scenario.CLEARED, *_FAULTS_ON_A_CLEARED_DECLARATION):
                spent.add(vehicle.plate)


def test_a_long_demo_keeps_its_mix_and_hands_every_new_declaration_to_the_gate() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    traffic = TrafficGenerator(seed=3, declarations=20, mismatch_share=0.3, now=now)
    known = {plate for d in traffic.declarations for plate in d.plates}
    passable = {
        d.plates[0]
        for d in traffic.declarations
        if d.status is DeclarationStatus.CLEARED and d.channel is not Channel.RED
    }
    late_cleared = 0
    for n in range(600):
        vehicle = traffic.next_vehicle()
        for decl in traffic.take_issued():
            known.update(decl.plates)
            if decl.status is DeclarationStatus.CLEARED and decl.channel is not Channel.RED:
                passable.add(decl.plates[0])
        if vehicle.scenario is not Scenario.UNKNOWN_PLATE:
            assert vehicle.plate in known  # the gate was given its declaration before the truck came
        if vehicle.scenario is Scenario.CLEARED:
            assert vehicle.plate in passable
            late_cleared += n >= 500
    # 20 declarations would have run out after about 25 trucks: the last hundred still mostly pass
    assert late_cleared >= 55
    assert len(traffic.declarations) <= 400  # a demo that runs for days does not grow without bound
