"""Polls, tasks and results: every builder's payload passes its check and its schema; every
way a field can be wrong is refused with its code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    AGE_BANDS,
    SEXES,
    Cube,
    MessageInvalid,
    check_poll,
    check_result,
    check_result_message,
    check_task,
    load_spec,
    measure_defs,
    parse_time,
    poll_payload,
    protect,
    protect_headline,
    result_payload,
    spec_hash,
    task_payload,
    write_time,
)
from queries import library_paths
from tests.protocol.messages.wire import valid

SPEC_PATH = next(p for p in library_paths() if p.stem == "hospital_admission_last_30d")
SPEC = load_spec(SPEC_PATH)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TASK_REF = {"task_id": "t-1", "round_id": 7}


def refused(code: str, check, *args, **kwargs) -> MessageInvalid:
    with pytest.raises(MessageInvalid) as caught:
        check(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def task(**changes: Any) -> dict[str, Any]:
    payload = task_payload(
        task_id="6d1f0c1e-8f3a-4a55-9d2b-0a4c1b2c3d4e",
        round_id=7,
        node_id="zh-a",
        spec_id=SPEC.id,
        spec_version=SPEC.version,
        spec_hash=spec_hash(SPEC),
        spec_text=SPEC_PATH.read_text(encoding="utf-8"),
        min_cell=10,
        nodes=["zh-a", "zh-b"],
        issued_at=NOW,
        deadline=NOW + timedelta(days=7),
    )
    return {**payload, **changes}


def test_times_are_utc_seconds_with_a_z() -> None:
    local = datetime(2026, 11, 23, 11, 0, 0, 123456, tzinfo=UTC)
    assert write_time(NOW) == "2026-11-23T10:00:00Z"
    assert write_time(local, millis=True) == "2026-11-23T11:00:00.123Z"
    assert parse_time("2026-11-23T11:00:00+01:00", "at") == NOW
    refused("bad_time", parse_time, "2026-11-23T10:00:00", "at")
    refused("bad_time", parse_time, "yesterday", "at")
    refused("bad_time", parse_time, 12, "at")


def test_a_poll_passes_its_check_and_its_schema() -> None:
    payload = poll_payload("zh-a", sent_at=NOW)
    valid(payload, "PollPayload")
    poll = check_poll(payload, node_id="zh-a")
    assert (poll.node_id, poll.sent_at, len(poll.nonce)) == ("zh-a", NOW, 32)
    assert poll_payload("zh-a")["nonce"] != payload["nonce"]


def test_a_wrong_poll_is_refused_with_its_code() -> None:
    poll = poll_payload("zh-a")
    refused("bad_message", check_poll, poll | {"type": "lhs.task/1"}, node_id="zh-a")
    refused("wrong_node", check_poll, poll, node_id="zh-b")
    refused("bad_time", check_poll, poll | {"sent_at": poll["sent_at"][:-1]}, node_id="zh-a")
    for nonce in ("ABCDEF0123456789", "0" * 15, "0" * 129, 12):
        refused("bad_nonce", check_poll, poll | {"nonce": nonce}, node_id="zh-a")
    for software in ("", "<script>", "lhs " + "1" * 61, 1, " lhs"):
        refused("bad_software", check_poll, poll | {"software": software}, node_id="zh-a")


def test_a_poll_may_name_the_software_the_node_runs() -> None:
    payload = poll_payload("zh-a", sent_at=NOW, software="lhs 0.1.0+local")
    valid(payload, "PollPayload")
    assert check_poll(payload, node_id="zh-a").software == "lhs 0.1.0+local"
    assert check_poll(poll_payload("zh-a"), node_id="zh-a").software is None


def test_a_task_passes_its_check_and_its_schema() -> None:
    valid(task(), "TaskPayload")
    checked = check_task(task(), node_id="zh-a")
    assert checked.spec == SPEC and checked.deadline == NOW + timedelta(days=7)
    assert checked.task_id == task()["task_id"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type": "lhs.poll/1"}, "malformed"),
        ({"round_id": "7"}, "malformed"),
        ({"round_id": True}, "malformed"),
        ({"round_id": 10**30}, "malformed"),  # more than a database holds
        ({"round_id": 0}, "malformed"),
        ({"min_cell": 10**30}, "malformed"),
        ({"spec_version": 10**30}, "malformed"),
        ({"spec": "description: " + "[" * 500 + "]" * 500}, "spec_invalid"),
        ({"nodes": "zh-a"}, "malformed"),
        ({"task_id": ""}, "malformed"),
        ({"task_id": "x" * 201}, "malformed"),
        ({"node_id": "zh-b"}, "wrong_node"),
        ({"spec": "id: [unclosed"}, "spec_invalid"),
        ({"spec_hash": "sha256:" + "0" * 64}, "spec_hash_mismatch"),
        ({"spec_version": 2}, "malformed"),
        ({"deadline": "next week"}, "malformed"),
    ],
)
def test_a_wrong_task_is_refused_with_its_code(change: dict, code: str) -> None:
    error = refused(code, check_task, task(**change), node_id="zh-a")
    if code != "malformed" or "task_id" not in change:
        assert error.message_id in (None, task()["task_id"], change.get("task_id"))


def _exact(counts: dict[tuple[int, str, str], tuple[int, int]]) -> Cube:
    rows = [
        {"year": year, "sex": sex, "age_band": band, "denominator": den, "numerator": num}
        for (year, sex, band), (den, num) in counts.items()
    ]
    spec = SPEC
    domains = {
        "year": sorted({y for y, _, _ in counts}),
        "sex": list(SEXES),
        "age_band": [label for label, _, _ in AGE_BANDS],
    }
    return Cube.from_finest(spec.dimensions, measure_defs(spec), rows, domains)


def _published(counts: dict[tuple[int, str, str], tuple[int, int]], k: int = 10) -> dict:
    spec = SPEC
    protected = protect(_exact(counts), k)
    return {
        "query": spec.id,
        "version": spec.version,
        "spec_hash": spec_hash(spec),
        "min_cell": k,
        "scope": "cube",
        "cells": protected.rows(),
    }


def _headline(counts: dict[tuple[int, str, str], tuple[int, int]], k: int = 10) -> dict:
    values, years = protect_headline(_exact(counts), k)
    return {
        **{key: v for key, v in _published(counts, k).items() if key != "cells"},
        "scope": "headline",
        "cells": [{"year": None, "sex": None, "age_band": None, **values}],
        "years": list(years) if years else None,
    }


_CELL = st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda t: (max(t), min(t)))


@settings(max_examples=25, deadline=None)
@given(
    st.dictionaries(
        st.tuples(
            st.integers(2021, 2023),
            st.sampled_from(SEXES),
            st.sampled_from([label for label, _, _ in AGE_BANDS]),
        ),
        _CELL,
        min_size=1,
        max_size=12,
    )
)
def test_every_cube_a_node_protects_passes_the_result_check_with_its_audit(counts) -> None:
    for result in (_published(counts), _headline(counts)):
        checked = check_result(SPEC, result, min_cell=10, audit=True)
        assert checked.scope == result["scope"]
        assert len(checked.cube.cells) == len(result["cells"])
        payload = result_payload(TASK_REF, "zh-a", result)
        valid(payload, "ResultPayload")
        message = check_result_message(payload, node_id="zh-a")
        assert (message.task_id, message.round_id, message.result) == ("t-1", 7, result)
    years = sorted({year for (year, _, _), (den, _) in counts.items() if den > 0})
    assert check_result(SPEC, _headline(counts)).years == ((years[0], years[-1]) if years else None)


RESULT = _published({(2022, "F", "75-84"): (40, 12), (2023, "M", "85+"): (33, 20)})
HEADLINE = _headline({(2022, "F", "75-84"): (40, 12), (2023, "M", "85+"): (33, 20)})


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda r: r.update(extra=1), "bad_result"),
        (lambda r: r.update(query="other"), "bad_result"),
        (lambda r: r.update(spec_hash="sha256:" + "1" * 64), "spec_hash_mismatch"),
        (lambda r: r.update(min_cell=9), "min_cell_too_low"),
        (lambda r: r.update(min_cell=True), "min_cell_too_low"),
        (lambda r: r.update(cells=[]), "bad_result"),
        (lambda r: r["cells"][0].update(year=1899), "bad_result"),
        (lambda r: r["cells"][0].update(age_band="90+"), "bad_result"),
        (lambda r: r["cells"][0].update(denominator=-1), "bad_result"),
        (lambda r: r["cells"].pop(), "bad_result"),
        (lambda r: r.update(scope="everything"), "bad_result"),
        (lambda r: r.update(min_cell=10**30), "bad_result"),
        (lambda r: r["cells"][-1].update(denominator=10**30), "bad_result"),
        (lambda r: r["cells"][-1].update(denominator=2**64 + 5), "bad_result"),
        (lambda r: r.update(years=[2022, 2023]), "bad_result"),
    ],
)
def test_a_wrong_result_is_refused_with_its_code(change, code: str) -> None:
    result = {**RESULT, "cells": [dict(c) for c in RESULT["cells"]]}
    change(result)
    refused(code, check_result, SPEC, result, min_cell=10)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda r: r["cells"][0].update(year=2022), "one cell, the overall value"),
        (lambda r: r["cells"].append(dict(r["cells"][0])), "one cell, the overall value"),
        (lambda r: r.pop("years"), "exactly the fields"),
        (lambda r: r.update(years=[2023, 2022]), "in order"),
        (lambda r: r.update(years=[1899, 2022]), "whole years"),
        (lambda r: r.update(years=[2022]), "first, last"),
        (lambda r: r.update(years="2022-2023"), "first, last"),
        (lambda r: r.update(scope="cube"), "exactly the fields"),
        # What a faulty or hostile node might publish: the re-audit refuses it.
        (lambda r: r["cells"][0].update(numerator=3), "numerator = 3 is published, below k"),
        (lambda r: r["cells"][0].update(numerator=70), "denominator - numerator = 3"),
        (lambda r: r["cells"][0].update(denominator=5, numerator=0), "denominator = 5"),
    ],
)
def test_a_wrong_headline_is_refused(change, match: str) -> None:
    result = {**HEADLINE, "cells": [dict(c) for c in HEADLINE["cells"]]}
    assert check_result(SPEC, result, audit=True).years == (2022, 2023)
    change(result)
    with pytest.raises(MessageInvalid, match=match):
        check_result(SPEC, result, min_cell=10, audit=True)


def test_the_audit_refuses_a_cube_that_gives_a_hidden_value_back() -> None:
    by_sex = SPEC.model_copy(update={"dimensions": ["sex"]})

    def result(male: int | None, min_cell: int = 10) -> dict:
        rows = [("F", 30, None), ("M", 30, male), ("U", 0, 0), (None, 60, 11)]
        return {
            "query": by_sex.id,
            "version": by_sex.version,
            "spec_hash": spec_hash(by_sex),
            "min_cell": min_cell,
            "scope": "cube",
            "cells": [{"sex": x, "denominator": d, "numerator": n} for x, d, n in rows],
        }

    # F and M hide numerators that sum to 11: each lies in [0, 11], wide enough for k=10.
    assert check_result(by_sex, result(None), audit=True)
    refused("result_discloses", check_result, by_sex, result(6), audit=True)  # F = 5
    refused("result_discloses", check_result, by_sex, result(None, 12), audit=True)
    assert check_result(by_sex, result(6))  # without the audit only the shape is checked


def test_a_result_message_names_its_signer_and_round() -> None:
    payload = result_payload(TASK_REF, "zh-a", RESULT)
    refused("wrong_node", check_result_message, payload, node_id="zh-b")
    refused("bad_message", check_result_message, {**payload, "type": "lhs.poll/1"}, node_id="zh-a")
    refused("wrong_round", check_result_message, {**payload, "round_id": 0}, node_id="zh-a")
    refused("unknown_task", check_result_message, {**payload, "task_id": 5}, node_id="zh-a")
