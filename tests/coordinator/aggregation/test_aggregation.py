"""Secure aggregation at the coordinator: exact group totals, refusals, dropout and restart."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner

from coordinator.aggregation import services as aggregation_services
from coordinator.aggregation.models import AggAttempt
from coordinator.aggregation.services import (
    group_totals,
    open_aggregation,
    restart_group,
)
from coordinator.audit.services import event_view, list_events
from coordinator.db import session_scope
from coordinator.errors import Conflict
from coordinator.merge.services import merge
from coordinator.merge.validate import validate_result
from coordinator.registry.services import memberships
from coordinator.rounds.services import round_results, round_status
from lhs.cli import cli
from protocol import AGG_DECLINE, MODULUS, sign, unflatten_vector, unmask_sum
from tests.coordinator.aggregation.agg_world import (
    BY_YEAR_SEX,
    Member,
    members,
    run_round,
    true_total,
)
from tests.coordinator.coord_world import World
from tests.linked_world import attacker, determined


@pytest.fixture
def database_url(both_database_url: str) -> str:
    """Run this module on SQLite and on PostgreSQL."""
    return both_database_url


@pytest.fixture(autouse=True)
def every_cell(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offer every cell, not only those factsheets show: this world is small (year x sex)."""
    if "only_shown" not in request.node.name:
        monkeypatch.setattr(aggregation_services, "shown", lambda key: True)


@pytest.fixture
def group(world: World) -> dict[str, Member]:
    """Four enrolled members: nation and NPZ-A hold all four, ZK05 and PV27 a, c and d."""
    return members(world)


def _merged(world: World, round_id: int) -> tuple:
    """Merge a round with every completed group total, as publishing does: totals, results, cube."""
    with session_scope(world.sessions) as session:
        totals = group_totals(session, round_id)
        spec, results = round_results(session, round_id)
        merged = merge(
            spec,
            results,
            memberships(session),
            exact_totals={g: c for g, (_, c) in totals.items()},
            exact_members={g: m for g, (m, _) in totals.items()},
        )
    return totals, results, merged


def _attempts(world: World, round_id: int) -> list[tuple]:
    with session_scope(world.sessions) as session:
        rows = session.query(AggAttempt).filter_by(round_id=round_id).all()
        return sorted((r.level, r.area, r.attempt, r.state, r.totals is None) for r in rows)


def test_group_totals_equal_the_true_totals(world: World, group: dict[str, Member]) -> None:
    round_id = run_round(world, group)
    # Keys first: every member answers its four groups, then the shares.
    assert [m.answer_all() for m in group.values()] == [4, 2, 4, 4]
    assert [m.answer_all() for m in group.values()] == [4, 2, 4, 4]
    assert all(state == "done" for *_, state, _ in _attempts(world, round_id))
    cubes = {n: m.cube for n, m in group.items()}
    with session_scope(world.sessions) as session:
        exact = {g: cells for g, (_, cells) in group_totals(session, round_id).items()}
        spec, results = round_results(session, round_id)
        merged = merge(spec, results, memberships(session), exact_totals=exact)
    assert set(exact) == {
        ("national", "NL"),
        ("network", "NPZ-A"),
        ("zorgkantoor", "ZK05"),
        ("province", "PV27"),
    }
    # Only the cells chosen from the published cubes are summed, each exactly.
    truth = true_total(list(cubes.values()))
    assert exact[("national", "NL")] and all(
        truth[key] == values for key, values in exact[("national", "NL")].items()
    )
    zk05 = true_total([cubes[n] for n in ("zh-a", "zh-c", "zh-d")])
    assert all(zk05[key] == values for key, values in exact[("zorgkantoor", "ZK05")].items())
    national = merged.group("national", "NL")
    for key, values in truth.items():
        for name, value in values.items():
            merged_value = national.cells[key][name]
            assert merged_value.low <= value <= merged_value.high
            assert merged_value.value in (None, value)
    assert any(v.source == "exact_total" for c in national.cells.values() for v in c.values())
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
        # ZK05 without d has a and c only: too few, the group fails and is not aggregated.
        assert restart_group(session, round_id, ("zorgkantoor", "ZK05")) is None
        with pytest.raises(Conflict):
            restart_group(session, round_id, ("zorgkantoor", "ZK05"))
    assert d.send(late_key).json["code"] == "attempt_closed"
    for m in group.values():
        m.answer_all()  # attempt 2 keys (national) and attempt 1 shares elsewhere
    for m in group.values():
        m.answer_all()
    states = {(lvl, area, n): s for lvl, area, n, s, _ in _attempts(world, round_id)}
    assert states[("national", "NL", 1)] == "restarted"
    assert states[("national", "NL", 2)] == "done"
    assert states[("zorgkantoor", "ZK05", 1)] == "failed"
    with session_scope(world.sessions) as session:
        totals = group_totals(session, round_id)
    members_, cells = totals[("national", "NL")]
    assert members_ == ("zh-a", "zh-b", "zh-c")
    truth = true_total([m.cube for m in group.values()])
    assert cells and all(truth[key] == values for key, values in cells.items())
    # NPZ-A (still a, b, c and d) keeps its cells: where d suppressed a value, the nation
    # without d must not sum the same cell, or the difference would be d's value.
    with session_scope(world.sessions) as session:
        rows = session.query(AggAttempt).filter_by(round_id=round_id, area="NPZ-A").all()
        npz_cells = {tuple(c) for c in json.loads(rows[0].layout)["cells"]}
        _spec, results = round_results(session, round_id)
    hidden_d = {
        tuple(c[dim] for dim in ("year", "sex"))
        for c in results["zh-d"]["cells"]
        if c["denominator"] is None or c["numerator"] is None
    }
    assert hidden_d and not set(cells) & npz_cells & hidden_d
    assert ("zorgkantoor", "ZK05") not in totals
    # The nation's total without d plus d's published values: exact where d published the
    # cell, otherwise an interval (narrower than the merge's) around the truth.
    _totals, results, merged = _merged(world, round_id)
    with session_scope(world.sessions) as session:
        plain = merge(*round_results(session, round_id), memberships(session))
    plain = plain.group("national", "NL")
    nation = merged.group("national", "NL")
    with_d = true_total([*(m.cube for m in group.values()), d.cube])
    published_d = {tuple(c[k] for k in ("year", "sex")): c for c in results["zh-d"]["cells"]}
    for key in cells:
        for name, value in nation.cells[key].items():
            assert value.low <= with_d[key][name] <= value.high
            if published_d[key][name] is None:
                assert not value.exact and value.suppressed_at == 1
            else:
                assert value.value == with_d[key][name] and value.source == "exact_total"
            assert (
                value.high - value.low <= plain.cells[key][name].high - plain.cells[key][name].low
            )
    assert any(
        value.source == "exact_total" and not plain.cells[key][name].exact
        for key in cells
        for name, value in nation.cells[key].items()
    )


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
    for m in group.values():
        m.answer_all()  # keys of the new attempts
    for m in group.values():
        m.answer_all()  # their shares
    totals, _results, merged = _merged(world, round_id)
    with session_scope(world.sessions) as session:
        declined = [
            event_view(e)
            for e in list_events(session, subject=f"round:{round_id}", limit=1000)
            if e.action == "aggregation.decline"
        ]
    assert totals[("national", "NL")][0] == ("zh-a", "zh-b", "zh-c")
    assert ("zorgkantoor", "ZK05") not in totals
    assert len(declined) == 4 and declined[0]["detail"]["reason"].startswith("policy")
    # d's published values complete the totals: exact where d published, truth everywhere.
    truth = true_total([*(m.cube for m in group.values()), d.cube])
    nation = merged.group("national", "NL")
    assert any(v.source == "exact_total" for c in nation.cells.values() for v in c.values())
    for key, values in nation.cells.items():
        for name, value in values.items():
            assert value.low <= truth[key][name] <= value.high


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


def _received(world: World, round_id: int) -> tuple[dict, dict, dict, list]:
    """Return what the coordinator holds of a round, from its database alone.

    The node results as signed (published cubes), and of each attempt its members and
    every masked share received: all a curious coordinator could compute from.
    """
    with session_scope(world.sessions) as session:
        spec, results = round_results(session, round_id)
        k = round_status(session, round_id)["min_cell"]
        cubes = {
            n: validate_result(spec, r, node_id=n, min_cell=k).cube for n, r in results.items()
        }
        groups, totals, partial = {}, {}, []
        for row in session.query(AggAttempt).filter_by(round_id=round_id).all():
            shares = [
                json.loads(m.envelope)["payload"]["masked"]
                for m in row.messages
                if m.kind == "share"
            ]
            members_ = json.loads(row.members)
            layout = json.loads(row.layout)
            if len(shares) == len(members_):
                groups[(row.level, row.area)] = members_
                totals[(row.level, row.area)] = unflatten_vector(layout, unmask_sum(shares))
            elif shares:
                partial.append(shares)
    return cubes, groups, totals, partial


def test_every_byte_the_coordinator_received_fixes_no_suppressed_value(
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
    for m in group.values():
        m.answer_all()
    cubes, groups, totals, partial = _received(world, round_id)
    assert set(groups) == {("national", "NL"), ("network", "NPZ-A")}
    # The attempts that lost d hold a's and c's masked shares: their sum is noise, not a total
    # (the pair masks with d do not cancel), far from any count a node could hold.
    assert len(partial) == 2
    for shares in partial:
        noise = [sum(column) % MODULUS for column in zip(*shares, strict=True)]
        assert all(1_000_000 < value < MODULUS - 1_000_000 for value in noise)
    # Every summed total is the truth at a cell chosen beforehand...
    truth = true_total([m.cube for m in group.values()])
    assert all(truth[key] == v for cells in totals.values() for key, v in cells.items())
    # ...and neither the equalities nor the LP over all of it fixes any suppressed count.
    assert determined(cubes, groups, {g: list(cells) for g, cells in totals.items()}) == []
    intervals = attacker(cubes, groups, totals)
    assert intervals and min(high - low for low, high in intervals.values()) >= 1
    # Had every cell been summed, the same round would have given members' values away.
    every = {g: truth for g in groups}
    fixed = determined(cubes, groups, {g: list(truth) for g in groups})
    assert fixed
    low, high = attacker(cubes, groups, every)[fixed[0]]
    assert high - low == pytest.approx(0)


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
