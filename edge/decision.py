"""The gate decision: match an identified, weighed vehicle to a cached cleared declaration.

Pure: no I/O and no clock read. PASS only when every rule holds.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias

from pydantic import BaseModel, Field

from edge import reasons as say
from edge.declaration import Channel, Declaration, DeclarationStatus
from edge.reasons import REASON_TEXT as REASON_TEXT
from edge.reasons import REASON_TEXT_VI as REASON_TEXT_VI
from edge.reasons import Detail
from edge.reasons import Reason as Reason
from vision import iso6346
from vision.identity import Expected, Identification, Read, ReadKind, ReadPath
from vision.iso6346 import normalise as normalise_container
from vision.plates import Grammar, normalise_plate
from vision.verify import has_plate_form


class Outcome(StrEnum):
    PASS = "PASS"  # noqa: S105 (an outcome, not a password): barrier opens automatically
    HOLD = "HOLD"  # an officer must look: approve or reject at the kiosk
    REJECT = "REJECT"  # the vehicle may not exit: it must turn back


CONTAINERLESS_EXIT = ""  # the ledger entry that records an exit under a declaration without containers

# Declaration number -> container numbers already exited under it (CONTAINERLESS_EXIT for none).
ExitLedger: TypeAlias = Mapping[str, AbstractSet[str]] | Callable[[str], AbstractSet[str]]

# Floating-point slack so that a weight exactly at the bound passes whatever the arithmetic rounds to.
_EPSILON_KG = 1e-6


class DecisionConfig(BaseModel, extra="forbid", frozen=True):
    """Thresholds and policy for the gate decision."""

    weight_tolerance_pct: float = Field(
        5.0,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="Allowed deviation from the declared gross weight, in percent of it; "
        "the larger of this and weight_tolerance_kg applies.",
    )
    weight_tolerance_kg: float = Field(
        500.0,
        ge=0,
        allow_inf_nan=False,
        description="Allowed deviation from the declared gross weight, in kg; "
        "the larger of this and weight_tolerance_pct applies.",
    )
    min_plate_confidence: float = Field(
        0.80, ge=0, le=1, description="A plate read below this confidence holds the vehicle."
    )
    min_container_confidence: float = Field(
        0.80, ge=0, le=1, description="A container read below this confidence holds the vehicle."
    )
    reject_reasons: tuple[Reason, ...] = Field(
        (Reason.NOT_CLEARED, Reason.ALREADY_EXITED, Reason.EXPIRED),
        description="Reasons that turn the vehicle back (REJECT); any other reason holds it for an officer.",
    )
    require_weight: bool = Field(
        True,
        description="Hold a vehicle with no stable weight when its declaration declares a gross weight.",
    )


@dataclass(frozen=True, slots=True)
class ReadUsed:
    """A read the decision judged: its text, how it was arrived at (read freely, or verified against the
    texts the gate expected) and, when the reads were checked against those texts, the scores (natural-log
    likelihoods relative to the free read; see vision/verify.py)."""

    kind: ReadKind
    text: str
    path: ReadPath
    score: float | None = None
    runner_up: str | None = None
    runner_up_score: float | None = None

    @classmethod
    def of(cls, read: Read) -> ReadUsed:
        checked = read.verification
        if checked is None:
            return cls(read.kind, read.text, read.path)
        return cls(read.kind, read.text, read.path, checked.score, checked.runner_up, checked.runner_up_score)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "text": self.text,
            "path": self.path.value,
            "score": self.score,
            "runner_up": self.runner_up,
            "runner_up_score": self.runner_up_score,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one vehicle, why, and what to tell the officer (details[i] explains reasons[i],
    in English for the record; details_vi[i] the same in Vietnamese for the kiosk, empty when unknown)."""

    outcome: Outcome
    reasons: tuple[Reason, ...]
    declaration_number: str | None
    details: tuple[str, ...]
    details_vi: tuple[str, ...] = ()
    # The reads judged (the plate, then the containers), each with the path that produced its text: what
    # the decision was made from, not part of what it is (two decisions compare by outcome and reasons).
    reads: tuple[ReadUsed, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.reasons != tuple(sorted(set(self.reasons))):
            raise ValueError(f"reasons must be sorted and unique: {self.reasons}")
        if (self.outcome is Outcome.PASS) != (not self.reasons):
            raise ValueError(f"{self.outcome} with reasons {self.reasons}: reasons are empty iff PASS")
        if len(self.details) != len(self.reasons):
            raise ValueError("one detail per reason")
        if self.details_vi and len(self.details_vi) != len(self.reasons):
            raise ValueError("one Vietnamese detail per reason, or none")


@dataclass(frozen=True, slots=True)
class _Evaluation:
    """One candidate declaration checked against the vehicle."""

    declaration: Declaration
    findings: dict[Reason, Detail]
    containers_matched: int
    containers_discrepant: int

    def rank(self) -> tuple[int, int, tuple[bool, ...], str]:
        """Lower is a better match: containers first, then cleared, valid and the other rules.

        Most containers matched, then fewest discrepancies, puts an exact match first.
        """
        return (
            -self.containers_matched,
            self.containers_discrepant,
            tuple(reason in self.findings for reason in _RANKED_REASONS),
            self.declaration.number,
        )


_RANKED_REASONS = (
    Reason.NOT_CLEARED,
    Reason.EXPIRED,
    Reason.ALREADY_EXITED,
    Reason.EXIT_UNCONFIRMED,
    Reason.RED_NOT_INSPECTED,
    Reason.WEIGHT_OUT_OF_TOLERANCE,
    Reason.NO_STABLE_WEIGHT,
)


def decide(
    identification: Identification,
    weight_kg: float | None,
    declarations: Sequence[Declaration],
    exited: ExitLedger,
    watchlist: Container[str],
    now: datetime,
    config: DecisionConfig,
    *,
    unconfirmed: ExitLedger | None = None,
) -> Decision:
    """Decide whether the identified, weighed vehicle may exit under one of the cached declarations.

    Candidates are the current versions of the declarations listing the read plate; when several
    do, the best match (containers, then cleared, valid and the other rules, then number) is judged.
    `now` must be comparable with the declarations' validity times (both aware or both naive).
    `unconfirmed` holds the exits the lane could not confirm (the barrier was open while it could not
    watch): the declaration counts as used, so such a vehicle is held for an officer, never passed.
    """
    findings = _read_findings(identification, watchlist, config)
    reads = reads_used(identification)
    plate = normalise_plate(identification.plate.text) if identification.plate is not None else ""
    candidates = [d for d in _current_versions(declarations) if plate and plate in _plates(d)]
    if not candidates:
        findings[Reason.NO_DECLARATION] = say.no_declaration(plate) if plate else say.no_plate()
        return _decision(findings, None, config, reads)
    best = min(
        (_evaluate(d, identification, weight_kg, exited, unconfirmed or {}, now, config) for d in candidates),
        key=_Evaluation.rank,
    )
    findings.update(best.findings)
    return _decision(findings, best.declaration.number, config, reads)


def reads_used(identification: Identification) -> tuple[ReadUsed, ...]:
    """The plate and the container reads, each with its path and scores, as the decision records them."""
    plate = (identification.plate,) if identification.plate is not None else ()
    return tuple(ReadUsed.of(read) for read in (*plate, *identification.containers))


def expected(declarations: Sequence[Declaration], now: datetime, grammar: Grammar) -> Expected:
    """The plates and container numbers the gate expects: those of its cached cleared declarations (their
    newest versions) valid at `now`, the only ones the decision could pass. A plate is expected only
    when it has the form of the lane's `grammar` as written (`verifier.has_plate_form`): a Lao plate
    stored as its digits (`1234`) is no plate of the lane's, and a truck read near it is not matched to
    it. Container numbers whose check digit fails are left out: no read of them could be valid. A late
    truck is not matched by verification, and its free read still finds its declaration (expired)."""
    cleared = [
        d
        for d in _current_versions(declarations)
        if d.status is DeclarationStatus.CLEARED and d.valid_from <= now <= d.valid_until
    ]
    containers = {normalise_container(c.number) for d in cleared for c in d.containers}
    return Expected(
        plates=frozenset(p for d in cleared for p in _plates(d) if has_plate_form(p, grammar)),
        containers=frozenset(c for c in containers if iso6346.is_valid(c)),
    )


def unrecorded(judged: Decision | None, error: str) -> Decision:
    """The decision for a vehicle whose decision the store could not record: never PASS, an officer decides.

    `judged` is what the rules said, when they could still be run (None otherwise): its reasons and its
    declaration stay, so the officer sees them and an approval records the exit under that declaration.
    A REJECT stays a REJECT.
    """
    findings = {Reason.NOT_RECORDED: say.not_recorded(error)}
    if judged is not None:
        for i, reason in enumerate(judged.reasons):
            vi = judged.details_vi[i] if judged.details_vi else judged.details[i]
            findings[reason] = Detail(judged.details[i], vi)
    reasons = tuple(sorted(findings))
    said = [findings[reason] for reason in reasons]
    rejected = judged is not None and judged.outcome is Outcome.REJECT
    return Decision(
        Outcome.REJECT if rejected else Outcome.HOLD,
        reasons,
        judged.declaration_number if judged is not None else None,
        tuple(d.en for d in said),
        tuple(d.vi for d in said),
        judged.reads if judged is not None else (),
    )


def _decision(
    findings: dict[Reason, Detail], number: str | None, config: DecisionConfig, reads: tuple[ReadUsed, ...]
) -> Decision:
    reasons = tuple(sorted(findings))
    if any(reason in config.reject_reasons for reason in reasons):
        outcome = Outcome.REJECT
    elif reasons:
        outcome = Outcome.HOLD
    else:
        outcome = Outcome.PASS
    said = [findings[reason] for reason in reasons]
    return Decision(outcome, reasons, number, tuple(d.en for d in said), tuple(d.vi for d in said), reads)


def _read_findings(
    identification: Identification, watchlist: Container[str], config: DecisionConfig
) -> dict[Reason, Detail]:
    """The rules that depend on the reads alone, not on which declaration they are checked against."""
    findings: dict[Reason, Detail] = {}
    doubts: list[Detail] = []
    plate = identification.plate
    if plate is not None:
        doubts.extend(_doubts("plate", plate, config.min_plate_confidence))
        # Every text the plate was read as, not only the one chosen: a verified read keeps the free read
        # among its alternatives, and a watchlisted truck is not let through as the plate it was matched to.
        for text in (plate.text, *(alt for alt, _ in plate.alternatives)):
            normalised = normalise_plate(text)
            # The raw text too: a watchlist entered by hand may keep the plate's punctuation.
            if (normalised and normalised in watchlist) or text in watchlist:
                findings[Reason.WATCHLISTED] = say.watchlisted(normalised or text)
                break
    for read in identification.containers:
        doubts.extend(_doubts("container", read, config.min_container_confidence))
    if doubts:
        findings[Reason.LOW_CONFIDENCE] = say.uncertain(doubts)
    return findings


def _doubts(what: str, read: Read, minimum: float) -> list[Detail]:
    doubts = []
    # `not >=` rather than `<` so that a NaN confidence counts as low.
    low = not read.confidence >= minimum
    # A verified plate is valid only in a form of the lane's grammars: the expected list makes no text a
    # plate, whatever a read carries as `valid`.
    unformed = what == "plate" and read.path is ReadPath.VERIFIED and not read.grammar
    if unformed or (not read.valid and what == "plate" and read.grammar == ""):
        # None of the lane's plate grammars: most often a plate in a script no reader knows (Lao).
        doubts.append(say.plate_not_readable(read.text))
    elif not read.valid:
        cause = _why_not_valid(what, read, low)
        if cause is not None:
            doubts.append(cause)
    if low:
        doubts.append(say.unsure(what, read.text, read.confidence, minimum))
    return doubts


def _why_not_valid(what: str, read: Read, low: bool) -> Detail | None:
    """The true cause of a read judged not valid; None where its low confidence, said beside it, is the
    cause. The fusion marks a read not valid for its text (no plate form, a wrong check digit) and also
    for its support (below the readers' minimum confidence, fewer agreeing frames than required): only
    the first is a wrong number."""
    if what == "container":
        if not iso6346.is_valid(read.text):
            return say.container_fault(read.text)
        return None if low else say.too_few_frames("container", normalise_container(read.text))
    if read.grammar:  # of a form the lane expects: not confirmed, not a wrong plate
        return None if low else say.plate_unconfirmed(read.text, read.grammar)
    return say.not_valid("plate", read.text)


def _evaluate(
    declaration: Declaration,
    identification: Identification,
    weight_kg: float | None,
    exited: ExitLedger,
    unconfirmed: ExitLedger,
    now: datetime,
    config: DecisionConfig,
) -> _Evaluation:
    """Check the vehicle against one candidate declaration: the rules that depend on the declaration."""
    number = declaration.number
    findings: dict[Reason, Detail] = {}

    if declaration.status is not DeclarationStatus.CLEARED:
        findings[Reason.NOT_CLEARED] = say.not_cleared(number, declaration.status.value)

    if declaration.channel is Channel.RED and not declaration.inspection_done:
        findings[Reason.RED_NOT_INSPECTED] = say.red_not_inspected(number)

    # Only valid reads (the check digit holds, confirmed by enough frames) identify a container; the
    # others are reported by their cause: a wrong check digit, too few frames, a low confidence.
    read = {normalise_container(r.text) for r in identification.containers if r.valid}
    invalid = sorted({r.text for r in identification.containers if not r.valid})
    declared = {normalise_container(line.number) for line in declaration.containers}
    missing, extra = sorted(declared - read), sorted(read - declared)
    if missing or extra or invalid:
        wrong, few, weak = _not_valid_by_cause(identification.containers, config.min_container_confidence)
        seen = set(few) | set(weak)  # read, not confirmed: not "declared but not read"
        findings[Reason.CONTAINER_MISMATCH] = say.containers_differ(
            number, [c for c in missing if c not in seen], extra, wrong, few, weak
        )

    if declaration.gross_kg is not None:
        declared_kg = declaration.gross_kg
        if weight_kg is None:
            if config.require_weight:
                findings[Reason.NO_STABLE_WEIGHT] = say.no_stable_weight(number, declared_kg)
        else:
            allowed = max(config.weight_tolerance_pct * declared_kg / 100, config.weight_tolerance_kg)
            # `not <=` rather than `>` so that a NaN weight is out of tolerance.
            if not abs(weight_kg - declared_kg) <= allowed + _EPSILON_KG:
                findings[Reason.WEIGHT_OUT_OF_TOLERANCE] = say.weight_out_of_tolerance(
                    weight_kg, declared_kg, allowed
                )

    gone = _ledger_entries(exited, number)
    maybe_gone = _ledger_entries(unconfirmed, number)
    if declared:
        again = sorted(c for c in read if c in gone)
        if again:
            findings[Reason.ALREADY_EXITED] = say.already_exited(number, again)
        unsure = sorted(c for c in read if c in maybe_gone)
        if unsure:
            findings[Reason.EXIT_UNCONFIRMED] = say.exit_unconfirmed(number, unsure)
    else:
        if CONTAINERLESS_EXIT in gone:
            findings[Reason.ALREADY_EXITED] = say.already_exited_without_containers(number)
        if CONTAINERLESS_EXIT in maybe_gone:
            findings[Reason.EXIT_UNCONFIRMED] = say.exit_unconfirmed(number, ())

    if not declaration.valid_from <= now <= declaration.valid_until:
        findings[Reason.EXPIRED] = say.expired(number, declaration.valid_from, declaration.valid_until, now)

    return _Evaluation(
        declaration=declaration,
        findings=findings,
        containers_matched=len(read & declared),
        containers_discrepant=len(missing) + len(extra) + len(invalid),
    )


def _not_valid_by_cause(reads: Sequence[Read], minimum: float) -> tuple[list[str], list[str], list[str]]:
    """The container reads not valid, by cause: a check digit that fails (as read), and of the numbers
    whose check digit holds, those read with enough confidence (too few frames) and those without."""
    wrong, few, weak = set(), set(), set()
    for r in reads:
        if r.valid:
            continue
        if not iso6346.is_valid(r.text):
            wrong.add(r.text)
        elif r.confidence >= minimum:
            few.add(normalise_container(r.text))
        else:
            weak.add(normalise_container(r.text))
    return sorted(wrong), sorted(few), sorted(weak)


def _ledger_entries(ledger: ExitLedger, number: str) -> set[str]:
    entries = ledger.get(number, frozenset()) if isinstance(ledger, Mapping) else ledger(number)
    return {normalise_container(entry) for entry in entries}


def _current_versions(declarations: Sequence[Declaration]) -> list[Declaration]:
    """Keep only the newest version of each declaration number: an older one is superseded."""
    newest: dict[str, Declaration] = {}
    for declaration in declarations:
        held = newest.get(declaration.number)
        if held is None or _version_key(declaration) > _version_key(held):
            newest[declaration.number] = declaration
    return list(newest.values())


def _version_key(declaration: Declaration) -> tuple[int, str]:
    # The serialised form breaks a tie between two different copies of one version, whatever their order.
    return declaration.version, declaration.model_dump_json()


def _plates(declaration: Declaration) -> set[str]:
    # Declaration normalises its plates, but model_copy(update=...) skips that validator.
    return {normalise_plate(plate) for plate in declaration.plates}
