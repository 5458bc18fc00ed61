"""The closest cleared declarations to a held vehicle's reads: near ones only, valid now, at most LIMIT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.declaration import DeclarationStatus
from edge.kiosk.closest import LIMIT, closest_declarations, differing, edit_distance
from tests.kiosk.conftest import declaration

NOW = datetime.now(UTC)


def test_edit_distance_counts_edits_and_gives_up_past_its_bound() -> None:
    assert edit_distance("51C12345", "51C12345", 3) == 0
    assert edit_distance("51C12345", "51G12345", 3) == 1
    assert edit_distance("51C12345", "51C1234", 3) == 1
    assert edit_distance("51C12345", "29A99887", 3) is None
    assert edit_distance("51C12345", "5", 3) is None  # lengths alone rule it out


def test_differing_marks_the_declared_characters_the_read_does_not_have() -> None:
    assert differing("51C12345", "51G12345") == (2,)
    assert differing("51C12345", "51C1245") == (5,)  # the read lost the 3
    assert differing("51C12345", "51C123456") == ()  # the read has one too many: nothing declared differs
    assert differing("TCLU0000118", "TCLU0000118") == ()


def test_the_nearest_valid_cleared_declarations_come_first_bounded_and_far_ones_never() -> None:
    decls = [declaration(n) for n in range(1, 10)]  # plates 51C10001 .. 51C10009
    far = declaration(50, plates=("29A99887",))
    expired = declaration(
        11, plates=("51G10001",), valid_from=NOW - timedelta(days=3), valid_until=NOW - timedelta(days=1)
    )
    pending = declaration(12, plates=("51G10001",), status=DeclarationStatus.PENDING)
    found = closest_declarations([*decls, far, expired, pending], "51G10001", [], NOW)
    assert len(found) == LIMIT
    assert found[0].plate.text == "51C10001"
    assert (found[0].plate.distance, found[0].plate.differs) == (1, (2,))
    assert [f.distance for f in found] == sorted(f.distance for f in found)
    assert "29A99887" not in {f.plate.text for f in found}
    assert all(f.plate.text != "51G10001" for f in found)  # expired and pending declarations are not offered


def test_containers_are_paired_with_their_closest_read_and_an_exact_match_is_no_correction() -> None:
    decl = declaration(7)
    box = decl.containers[0].number
    misread = box[:4] + ("9" if box[4] != "9" else "8") + box[5:]
    (found,) = closest_declarations([decl], decl.plates[0], [misread], NOW)
    assert found.plate.distance == 0
    (paired,) = found.containers
    assert (paired.text, paired.read, paired.distance, paired.differs) == (box, misread, 1, (4,))
    assert closest_declarations([decl], decl.plates[0], [box], NOW) == []


def test_only_the_newest_version_of_a_declaration_counts() -> None:
    old = declaration(3, plates=("51G10003",))
    revoked = declaration(3, plates=("51G10003",), status=DeclarationStatus.REVOKED, version=2)
    assert closest_declarations([old, revoked], "51G10008", [], NOW) == []
