"""SeenNames: the names an import has met, as hashes (domain.cases)."""

from __future__ import annotations

from evalset.server.domain.cases import SeenNames


class SameHash(str):
    """A name whose hash is chosen: two different names with one hash, as a real collision would be."""

    code = 12345

    def __hash__(self) -> int:
        return self.code


class ZeroHash(SameHash):
    code = 0


def test_a_name_is_new_once_then_seen_through_every_growth() -> None:
    seen = SeenNames()
    names = [f"case-{i:06d}" for i in range(50_000)]  # the table grows several times
    assert all(seen.add(name) for name in names)
    assert len(seen) == 50_000
    assert not any(seen.add(name) for name in names)
    assert not seen.add("".join(["case-", "000007"]))  # equal, not the same object
    assert seen.add("case-050000") and len(seen) == 50_001


def test_two_names_with_one_hash_read_as_seen() -> None:
    seen = SeenNames()
    assert seen.add(SameHash("a"))
    assert not seen.add(SameHash("b"))  # a false alarm: the caller checks the names exactly


def test_a_hash_of_zero_is_held_too() -> None:
    seen = SeenNames()
    assert seen.add(ZeroHash("a"))
    assert not seen.add(ZeroHash("a"))
    assert seen.add("b") and len(seen) == 2


def test_add_all_stops_at_the_first_name_met_before_within_a_call_too() -> None:
    seen = SeenNames()
    assert seen.add_all([f"n{i}" for i in range(3000)])  # grows before it adds
    assert not seen.add_all(["new-1", "n5", "new-2"])
    assert not seen.add_all(["other", "other"])
    assert seen.add_all([]) and len(seen) == 3002  # what was added stays added: new-1, other
    assert not seen.add("new-1") and seen.add("new-2")
