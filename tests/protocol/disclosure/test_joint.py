"""The joint audit's atoms and LP, checked against the independent attacker on random releases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import DisclosureError, atoms_of, narrowed_atoms
from tests.release_attacker import Count, narrowed

K = 4


def test_nested_cohorts_give_away_the_persons_between_them() -> None:
    # 364 people aged 67+, 360 aged 68+; one of the four aged 67 had the therapy.
    cells = [np.arange(364), np.r_[0, 10:100], np.arange(4, 364), np.arange(10, 100)]
    atoms = atoms_of(cells, 400)
    assert sorted(atoms.units.tolist()) == [1, 3, 90, 270]
    found = narrowed_atoms(atoms, [len(c) for c in cells], 10, fresh=[2, 3])
    assert sorted(atoms.units[n.atom] for n in found) == [1, 3]
    assert all(n.interval[0] == n.interval[1] and n.linked == (2, 3) for n in found)
    # Either pair alone narrows nothing: each atom there is a whole published count.
    assert narrowed_atoms(atoms_of(cells[:2], 400), [364, 91], 10, fresh=[0, 1]) == []


def test_visits_of_few_persons_are_a_small_atom() -> None:
    # Eleven visits of five people, apart from the rest by one published count.
    visits = np.arange(40)
    persons = np.r_[np.arange(5).repeat(2), 0, np.arange(100, 129)]
    cells = [visits, visits[11:]]
    atoms = atoms_of(cells, 40, persons)
    small = atoms.small_atoms(10)
    assert atoms.units[small].tolist() == [11] and atoms.persons[small].tolist() == [5]
    assert len(narrowed_atoms(atoms, [40, 29], 10, fresh=[1])) == 1


def test_only_atoms_linked_to_fresh_counts_are_audited() -> None:
    cells = [np.arange(20), np.arange(2, 20), np.arange(100, 150)]
    atoms = atoms_of(cells, 150)
    assert narrowed_atoms(atoms, [20, 18, 50], 10, fresh=[2]) == []
    assert len(narrowed_atoms(atoms, [20, 18, 50], 10, fresh=[1])) == 1


def test_bad_arguments_are_refused() -> None:
    atoms = atoms_of([np.arange(3)], 3)
    with pytest.raises(DisclosureError, match="at least 1"):
        narrowed_atoms(atoms, [3], 0, fresh=[0])
    with pytest.raises(DisclosureError, match="2 values for 1 cells"):
        narrowed_atoms(atoms, [3, 4], 10, fresh=[0])


@st.composite
def releases(draw: st.DrawFn) -> tuple[list[np.ndarray], np.ndarray, list[bool]]:
    units = draw(st.integers(4, 30))
    persons = np.array(draw(st.lists(st.integers(0, units), min_size=units, max_size=units)))
    cells = draw(
        st.lists(
            st.sets(st.integers(0, units - 1)).map(lambda s: np.array(sorted(s), dtype=np.int64)),
            min_size=1,
            max_size=6,
        )
    )
    shown = draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    return cells, persons, shown


@settings(max_examples=120, deadline=None)
@given(releases())
def test_the_joint_audit_finds_what_the_independent_attacker_finds(release) -> None:
    cells, persons, shown = release
    published = [c for c, s in zip(cells, shown, strict=True) if s]
    counts = [
        Count(frozenset(c.tolist()), len(c) if s else None)
        for c, s in zip(cells, shown, strict=True)
    ]
    expected = narrowed(counts, K, person_of=dict(enumerate(persons.tolist())))
    if not published:
        return
    atoms = atoms_of(published, len(persons), persons)
    found = narrowed_atoms(atoms, [len(c) for c in published], K, fresh=range(len(published)))
    ours = sorted((int(atoms.units[n.atom]), *np.round(n.interval, 6)) for n in found)
    theirs = sorted((n.true, *np.round((n.low, n.high), 6)) for n in expected)
    assert ours == theirs
