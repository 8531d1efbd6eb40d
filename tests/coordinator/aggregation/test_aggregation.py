"""Secure aggregation at the coordinator: exact group tables, refusals, dropout and restart.

Every test ends where publishing does: the group tables protected jointly and merged.  What
is published then is checked against the truth, and by the independent attacker.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from coordinator.aggregation.messages import store_message
from coordinator.aggregation.models import AggAttempt
from coordinator.aggregation.services import (
    group_totals,
    open_aggregation,
    restart_group,
)
from coordinator.audit.services import event_view, list_events
from coordinator.db import session_scope
from coordinator.errors import Conflict
from coordinator.factsheets.publish import protected_tables
from coordinator.merge.services import merge
from coordinator.registry.services import memberships
from coordinator.rounds.services import round_results, round_status
from lhs.cli import cli
from protocol import AGG_DECLINE, MODULUS, sign
from tests.attacker import Published, narrowed
from tests.coordinator.aggregation.agg_world import (
    BY_YEAR_SEX,
    Member,
    members,
    run_round,
    true_total,
)
from tests.coordinator.coord_world import World

GROUPS = {("national", "NL"), ("network", "NPZ-A"), ("zorgkantoor", "ZK05"), ("province", "PV27")}


@pytest.fixture
def database_url(both_database_url: str) -> str:
    """Run this module on SQLite and on PostgreSQL."""
    return both_database_url


@pytest.fixture
def group(world: World) -> dict[str, Member]:
    """Four enrolled members: nation and NPZ-A hold all four, ZK05 and PV27 a, c and d."""
    return members(world)


def _published(world: World, round_id: int) -> tuple:
    """Protect and merge a round as publishing does.

    Returns the exact tables, the results, the merged round, and the protected tables with
    the members each sums (what anyone can derive from the pages).
    """
    with session_scope(world.sessions) as session:
        exact = group_totals(session, round_id)
        spec, results = round_results(session, round_id)
        k = round_status(session, round_id)["min_cell"]
        tables, summed = protected_tables(session, round_id, spec, results, k)
        merged = merge(
            spec, results, memberships(session), group_tables=tables, summed=summed, min_cell=k
        )
    return exact, results, merged, (tables, summed)


def _attempts(world: World, round_id: int) -> list[tuple]:
    with session_scope(world.sessions) as session:
        rows = session.query(AggAttempt).filter_by(round_id=round_id).all()
        return sorted((r.level, r.area, r.attempt, r.state, r.totals is None) for r in rows)


def _answer_everything(group: dict[str, Member]) -> None:
    for _ in range(2):  # keys, then shares
        for m in group.values():
            m.answer_all()


def _check_against_truth(merged, cubes: dict) -> dict[str, int]:
    """Every exact value equals the truth, every range holds it; return the statuses seen."""
    seen = {"exact": 0, "range": 0, "withheld": 0}
    for group in merged.groups.values():
        truth = true_total([cubes[n] for n in group.nodes]) if group.published else {}
        for key, values in group.cells.items():
            for name, value in values.items():
                if value.source == "withheld":
                    seen["withheld"] += 1
                    continue
                true = truth.get(key, {}).get(name, 0)  # a year none of its members counted
                assert value.low <= true <= value.high, (group.area, key, name)
                seen["exact" if value.exact else "range"] += 1
    return seen


def _attack(merged, results: dict, protected: tuple, cubes: dict) -> list[tuple]:
    """Run the independent attacker over everything published: group values and headlines.

    A group value that a dropped-out member's range completes gives its summed part away
    (the range's low end minus what that member published), so the attacker holds the
    protected tables themselves.
    """
    tables, summed = protected
    keys = list(next(iter(tables.values())))
    headlines = {
        node_id: {m: result["cells"][0][m] for m in ("denominator", "numerator")}
        for node_id, result in results.items()
        if result["scope"] == "headline"
    }
    nodes = sorted({n for m in summed.values() for n in m})
    zero = {"denominator": 0, "numerator": 0}
    truth = {n: {key: true_total([cubes[n]]).get(key, zero) for key in keys} for n in nodes}
    years = sorted(key[0] for key in keys if key[0] is not None)
    floors = [(years[0], None), (years[-1], None)]
    seen = Published(merged.dimensions, keys, merged.measures, summed, tables, headlines, floors)
    return narrowed(seen, truth, 10)


def test_group_tables_equal_the_true_tables_and_publish_no_range(
    world: World, group: dict[str, Member]
) -> None:
    round_id = run_round(world, group)
    # Keys first: every member answers its four groups, then the shares.
    assert [m.answer_all() for m in group.values()] == [4, 2, 4, 4]
    assert [m.answer_all() for m in group.values()] == [4, 2, 4, 4]
    assert all(state == "done" for *_, state, _ in _attempts(world, round_id))
    cubes = {n: m.cube for n, m in group.items()}
    exact, results, merged, protected = _published(world, round_id)
    assert set(exact) == GROUPS
    # Every group sums the same cells, the ones pages show, over every member's years.
    truth = true_total(list(cubes.values()))
    national = exact[("national", "NL")][1]
    assert set(national) == {
        (None, None), (2022, None), (2023, None), (2024, None),
        (None, "F"), (None, "M"), (None, "U"),
    }  # fmt: skip
    assert all(truth[key] == values for key, values in national.items())
    zk05 = true_total([cubes[n] for n in ("zh-a", "zh-c", "zh-d")])
    zero = {"denominator": 0, "numerator": 0}  # 2024: no member of ZK05 counted a unit
    assert all(zk05.get(k, zero) == v for k, v in exact[("zorgkantoor", "ZK05")][1].items())
    # Published: exact where the joint protection lets a value out, withheld elsewhere; every
    # member was summed, so no range anywhere.
    seen = _check_against_truth(merged, cubes)
    assert seen["range"] == 0 and seen["exact"] > seen["withheld"] > 0
    assert _attack(merged, results, protected, cubes) == []
    # The same attacker against the tables published unprotected finds small counts.
    unprotected = ({g: cells for g, (_, cells) in exact.items()}, protected[1])
    assert _attack(merged, results, unprotected, cubes)
    # Nothing more to do: no requests once every attempt is done.
    assert all(m.requests() == [] for m in group.values())


def test_bad_keys_and_shares_are_refused(world: World, group: dict[str, Member]) -> None:
    round_id = run_round(world, group)
    a, b = group["zh-a"], group["zh-b"]
    (request, *_) = a.requests()
    key = a.message(request)
    unsigned = {**key, "signature": key["signature"][:-4] + "AAA="}
    assert a.send(unsigned).json["code"] == "bad_signature"
    forged = {**key, "signer": "zh-b"}  # b cannot pass off a's message as its own
    assert a.send(forged).json["code"] == "bad_signature"
    assert a.send(key).status_code == 201
    assert a.send(key).json["duplicate"] is True  # a repeat after a lost answer
    zk = next(r for r in b.requests() if r["group"] == ["network", "NPZ-A"])
    foreign = b.message({**zk, "group": ["zorgkantoor", "ZK05"]})  # b is not in ZK05
    assert b.send(foreign).status_code == 403
    assert b.send(foreign).json["code"] == "not_a_member"
    for m in group.values():
        m.answer_all()
    share_request = next(r for r in a.requests() if r["group"] == ["national", "NL"])
    share = a.message(share_request)
    wrong = a.message({**share_request, "members": ["zh-a", "zh-b", "zh-c"]})
    assert a.send(wrong).json["code"] == "wrong_members"
    assert a.send(share).status_code == 201
    changed = {**share["payload"], "masked": [1, *share["payload"]["masked"][1:]]}
    other = sign(changed, a.node.key, a.id)
    assert a.send(other).json["code"] == "aggregation_conflict"  # a second, different share
    assert _attempts(world, round_id)[0][3] == "shares"


def test_dropout_restarts_and_the_first_attempt_yields_nothing(
    world: World, group: dict[str, Member]
) -> None:
    round_id = run_round(world, group)
    d = group.pop("zh-d")  # answers the round, then goes silent
    for m in group.values():
        m.answer_all()
    late_key = d.message(next(r for r in d.requests() if r["group"] == ["national", "NL"]))
    with session_scope(world.sessions) as session:
        again = open_aggregation(session, round_id)  # once per round: no second attempt 1
        assert len(again) == 4
        second = restart_group(session, round_id, ("national", "NL"))
        assert second is not None and second.attempt == 2
        # The next attempt sums the same cells as the first.
        assert second.layout == next(a.layout for a in again if a.area == "NL")
        # ZK05 without d has a and c only: too few, the group fails and is not aggregated.
        assert restart_group(session, round_id, ("zorgkantoor", "ZK05")) is None
        with pytest.raises(Conflict):
            restart_group(session, round_id, ("zorgkantoor", "ZK05"))
    assert d.send(late_key).json["code"] == "attempt_closed"
    _answer_everything(group)  # attempt 2 (national), attempt 1 elsewhere
    states = {(lvl, area, n): s for lvl, area, n, s, _ in _attempts(world, round_id)}
    assert states[("national", "NL", 1)] == "restarted"
    assert states[("national", "NL", 2)] == "done"
    assert states[("zorgkantoor", "ZK05", 1)] == "failed"
    exact, results, merged, protected = _published(world, round_id)
    members_, cells = exact[("national", "NL")]
    assert members_ == ("zh-a", "zh-b", "zh-c")
    truth = true_total([m.cube for m in group.values()])
    zero = {"denominator": 0, "numerator": 0}
    assert cells and all(truth.get(key, zero) == values for key, values in cells.items())
    assert ("zorgkantoor", "ZK05") not in exact
    # The nation's table without d plus d's headline: d's overall value is exact, so is the
    # nation's; its breakdowns lie anywhere up to d's overall value, so they become ranges.
    cubes = {**{n: m.cube for n, m in group.items()}, "zh-d": d.cube}
    seen = _check_against_truth(merged, cubes)
    assert seen["range"] > 0
    nation = merged.group("national", "NL")
    top = nation.cells[(None, None)]["denominator"]
    assert (
        top.source == "group_table"
        and top.value == true_total(list(cubes.values()))[(None, None)]["denominator"]
    )
    female = nation.cells[(None, "F")]["denominator"]
    assert (
        not female.exact and female.high - female.low == d.cube.cells[(None, None)]["denominator"]
    )
    # Nothing it hid is derivable from all that was published.
    assert _attack(merged, results, protected, cubes) == []


def _decline(member: Member, request: dict, reason: object = "policy: secure_aggregation is false"):
    payload = {
        "type": AGG_DECLINE,
        **{f: request[f] for f in ("round_id", "group", "attempt")},
        "node_id": member.id,
        "reason": reason,
    }
    return sign(payload, member.node.key, member.id)


def test_a_node_that_declines_is_left_out_of_every_group_at_once(
    world: World, group: dict[str, Member]
) -> None:
    round_id = run_round(world, group)
    d = group.pop("zh-d")
    requests = d.requests()
    assert len(requests) == 4
    assert d.send(_decline(d, requests[0], reason="x" * 201)).status_code == 400
    assert d.send(_decline(d, requests[0])).status_code == 201
    # One decline closes every attempt that counts on d, before anyone waits an hour for it.
    states = {(lvl, area, n): s for lvl, area, n, s, _ in _attempts(world, round_id)}
    assert states[("national", "NL", 1)] == "restarted"
    assert states[("national", "NL", 2)] == "keys"
    assert states[("zorgkantoor", "ZK05", 1)] == "failed"  # a and c are too few
    assert d.requests() == []
    # The rest of the poll's declines are taken although their attempts are closed already.
    assert [d.send(_decline(d, r)).status_code for r in requests[1:]] == [201, 201, 201]
    assert d.send(_decline(d, requests[0])).json["duplicate"] is True
    _answer_everything(group)  # keys of the new attempts, then their shares
    totals, results, merged, protected = _published(world, round_id)
    with session_scope(world.sessions) as session:
        declined = [
            event_view(e)
            for e in list_events(session, subject=f"round:{round_id}", limit=1000)
            if e.action == "aggregation.decline"
        ]
    assert totals[("national", "NL")][0] == ("zh-a", "zh-b", "zh-c")
    assert ("zorgkantoor", "ZK05") not in totals
    assert len(declined) == 4 and declined[0]["detail"]["reason"].startswith("policy")
    # d's headline completes the tables: the truth holds everywhere, nothing d hid is derivable.
    cubes = {**{n: m.cube for n, m in group.items()}, "zh-d": d.cube}
    assert _check_against_truth(merged, cubes)["exact"] > 0
    assert _attack(merged, results, protected, cubes) == []


def test_a_node_that_publishes_its_cube_is_never_counted_on(
    world: World, group: dict[str, Member]
) -> None:
    # Its policy declines secure aggregation: it sends its protected cube, no headline.
    spec = world.submit(BY_YEAR_SEX)
    round_id = world.approve(spec["spec_hash"]).json["round_id"]
    for node_id, m in group.items():
        m.answer_round("cube" if node_id == "zh-d" else "headline")
    d = group.pop("zh-d")
    with session_scope(world.sessions) as session:
        rows = open_aggregation(session, round_id)
    assert all("zh-d" not in json.loads(r.members) for r in rows)
    assert {(r.level, r.area) for r in rows} == {("national", "NL"), ("network", "NPZ-A")}
    assert d.requests() == []
    _answer_everything(group)
    _exact, results, merged, protected = _published(world, round_id)
    # d's published cube adds to the nation's table: exact where d published, a range where
    # it suppressed a value, the truth everywhere.
    cubes = {**{n: m.cube for n, m in group.items()}, "zh-d": d.cube}
    seen = _check_against_truth(merged, cubes)
    assert seen["exact"] > 0
    hidden = {(c["year"], c["sex"]) for c in results["zh-d"]["cells"] if c["denominator"] is None}
    nation = merged.group("national", "NL")
    for key in hidden & set(protected[0][("national", "NL")]):
        value = nation.cells[key]["denominator"]
        assert value.source == "withheld" or not value.exact
    assert _attack(merged, results, protected, cubes) == []


def test_a_stale_attempt_restarts_on_the_next_poll(world: World, group: dict[str, Member]) -> None:
    round_id = run_round(world, group)
    group.pop("zh-d")  # silent from here on
    for m in group.values():
        m.answer_all()
    world.execute("UPDATE agg_attempts SET opened_at = :t", t=datetime(2020, 1, 1))
    fresh = {(tuple(r["group"]), r["attempt"], r["phase"]) for r in group["zh-a"].requests()}
    assert fresh == {
        ((level, "NL" if level == "national" else "NPZ-A"), 2, "key")
        for level in ("national", "network")
    }
    states = sorted(s for *_, s, _ in _attempts(world, round_id))
    assert states == ["failed", "failed", "keys", "keys", "restarted", "restarted"]


def test_lhs_round_aggregate_restarts_stalled_groups(
    world: World, group: dict[str, Member], config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LHS_DATABASE_URL", config["DATABASE_URL"])
    monkeypatch.setenv("LHS_COORDINATOR_KEY_FILE", str(config["COORDINATOR_KEY_FILE"]))
    spec = world.submit(BY_YEAR_SEX)
    round_id = world.approve(spec["spec_hash"]).json["round_id"]
    for m in list(group.values())[:3]:  # zh-d never answers the round
        m.answer_round()
    shown = CliRunner().invoke(cli, ["round", "aggregate", str(round_id)], prog_name="lhs")
    assert shown.exit_code == 0, shown.output
    assert f"round {round_id} national NL attempt 1: keys; keys 0/3, shares 0/3" in shown.output
    assert "network NPZ-A attempt 1" in shown.output and "ZK05" not in shown.output
    group["zh-a"].answer_all()
    args = ["round", "aggregate", str(round_id), "--restart"]
    restarted = CliRunner().invoke(cli, args, prog_name="lhs")
    assert restarted.exit_code == 0, restarted.output
    # Only zh-a sent its key: too few to go on, so both groups fail.
    assert restarted.output.count(": failed;") == 2


def test_the_shares_of_an_attempt_that_lost_a_member_are_noise(
    world: World, group: dict[str, Member]
) -> None:
    round_id = run_round(world, group)
    # ZK05 and PV27 (a, c, d): d sends its key, then never its share; a restart follows.
    for m in group.values():
        m.answer_all()
    for m in (group["zh-a"], group["zh-b"], group["zh-c"]):
        m.answer_all()
    with session_scope(world.sessions) as session:
        for area in (("zorgkantoor", "ZK05"), ("province", "PV27")):
            assert restart_group(session, round_id, area) is None  # a and c alone: too few
        partial = [
            [json.loads(m.envelope)["payload"]["masked"] for m in row.messages if m.kind == "share"]
            for row in session.query(AggAttempt).filter_by(round_id=round_id, state="failed")
        ]
    # They hold a's and c's masked shares: their sum is noise, not a total (the pair masks
    # with d do not cancel), far from any count a node could hold.
    assert len(partial) == 2 and all(len(shares) == 2 for shares in partial)
    for shares in partial:
        noise = [sum(column) % MODULUS for column in zip(*shares, strict=True)]
        assert all(1_000_000 < value < MODULUS - 1_000_000 for value in noise)


def test_only_shown_cells_are_summed(world: World, group: dict[str, Member]) -> None:
    # Factsheets show the overall total and one-way breakdowns: nothing finer is summed.
    round_id = run_round(world, group)
    with session_scope(world.sessions) as session:
        rows = open_aggregation(session, round_id)
        layouts = [json.loads(row.layout) for row in rows]
    assert layouts
    for layout in layouts:
        assert layout["cells"]
        assert all(sum(v is not None for v in cell) <= 1 for cell in layout["cells"])


def test_the_last_two_keys_at_once_still_complete_the_attempt(
    world: World, group: dict[str, Member]
) -> None:
    """The last two members send at once: the later one must see the other's message
    even though its request read the attempt before the other committed."""
    round_id = run_round(world, group)
    first, *middle, last = group.values()
    requests = {m.id: m.requests() for m in group.values()}
    national = next(r for r in requests[first.id] if r["group"] == ["national", "NL"])
    for m in middle:
        request = next(r for r in requests[m.id] if r["group"] == ["national", "NL"])
        assert m.send(m.message(request)).status_code == 201
    with session_scope(world.sessions) as session:
        row = session.scalar(
            sa.select(AggAttempt).where(
                AggAttempt.round_id == round_id, AggAttempt.level == "national"
            )
        )
        assert len(row.messages) == len(middle)  # read before the other one commits
        request = next(r for r in requests[last.id] if r["group"] == ["national", "NL"])
        assert last.send(last.message(request)).status_code == 201
        store_message(session, first.message(national))
    states = {(level, s) for level, _, _, s, _ in _attempts(world, round_id)}
    assert ("national", "shares") in states
