"""Secure-aggregation messages: requests, keys, shares and declines, built and checked."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import (
    AGG_REQUEST,
    MessageInvalid,
    agg_decline_payload,
    agg_key_payload,
    agg_public_text,
    agg_request_payload,
    agg_share_payload,
    check_agg_message,
    check_agg_request,
    generate_agg_key,
    layout_hash,
)
from tests.protocol.messages.wire import valid

MEMBERS = ["zh-a", "zh-b", "zh-c"]
LAYOUT = {"dimensions": ["sex"], "measures": ["denominator"], "cells": [[None], ["F"]]}


def request(**changes: Any) -> dict[str, Any]:
    payload = agg_request_payload(
        phase="key",
        round_id=4,
        node_id="zh-b",
        group=("network", "npz-a"),
        attempt=1,
        members=MEMBERS,
        layout=LAYOUT,
    )
    return {**payload, **changes}


def refused(code: str, check, payload: Any, node_id: str = "zh-b") -> None:
    with pytest.raises(MessageInvalid) as caught:
        check(payload, node_id=node_id)
    assert caught.value.code == code, caught.value


def test_a_request_and_every_answer_pass_their_checks_and_schemas() -> None:
    valid(request(), "AggRequestPayload")
    assert request()["layout_hash"] == layout_hash(LAYOUT)
    checked = check_agg_request(request(), node_id="zh-b")
    assert (checked.round_id, checked.group, checked.attempt) == (4, ("network", "npz-a"), 1)
    public = agg_public_text(generate_agg_key())
    answers = {
        "key": agg_key_payload(checked, "zh-b", public),
        "share": agg_share_payload(checked, "zh-b", [0, 2**64 - 1]),
        "decline": agg_decline_payload(checked, "zh-b", "policy: secure_aggregation is false"),
    }
    for kind, payload in answers.items():
        valid(payload, "AggMessagePayload")
        message = check_agg_message(payload, node_id="zh-b")
        assert (message.kind, message.round_id, message.group) == (kind, 4, ("network", "npz-a"))
    share_schema = {"keys": {m: public for m in MEMBERS}, "phase": "share"}
    valid(request(**share_schema), "AggRequestPayload")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type": "lhs.aggkey/1"}, "malformed"),
        ({"phase": "sum"}, "malformed"),
        ({"group": ["network"]}, "malformed"),
        ({"members": "zh-a"}, "malformed"),
        ({"round_id": 10**30}, "malformed"),
        ({"attempt": 0}, "malformed"),
        ({"node_id": "zh-c"}, "wrong_node"),
        ({"members": ["zh-a", "zh-c", "zh-d"]}, "not_a_member"),
        ({"members": ["zh-b", "zh-a", "zh-c"]}, "bad_membership"),
        ({"members": ["zh-a", "zh-b"]}, "bad_membership"),
    ],
)
def test_a_wrong_request_is_refused_with_its_code(change: dict, code: str) -> None:
    refused(code, check_agg_request, request(**change))


def _answer(kind: str, **changes: Any) -> dict[str, Any]:
    checked = check_agg_request(request(), node_id="zh-b")
    build = {
        "key": lambda: agg_key_payload(checked, "zh-b", agg_public_text(generate_agg_key())),
        "share": lambda: agg_share_payload(checked, "zh-b", [1, 2]),
        "decline": lambda: agg_decline_payload(checked, "zh-b", "policy"),
    }[kind]()
    return {**build, **changes}


@pytest.mark.parametrize(
    ("kind", "change", "code"),
    [
        ("key", {"type": AGG_REQUEST}, "bad_message"),
        ("key", {"node_id": "zh-a"}, "wrong_node"),
        ("key", {"group": "network/npz-a"}, "bad_message"),
        ("key", {"round_id": "4"}, "bad_message"),
        ("key", {"attempt": 2**63}, "bad_message"),
        ("key", {"public_key": "AAAA"}, "bad_public_key"),
        ("key", {"public_key": None}, "bad_public_key"),
        ("share", {"masked": [1, 2**64]}, "bad_share"),
        ("share", {"masked": [1, -1]}, "bad_share"),
        ("share", {"masked": [1, True]}, "bad_share"),
        ("share", {"masked": "12"}, "bad_share"),
        ("decline", {"reason": "x" * 201}, "bad_message"),
        ("decline", {"reason": None}, "bad_message"),
    ],
)
def test_a_wrong_answer_is_refused_with_its_code(kind: str, change: dict, code: str) -> None:
    refused(code, check_agg_message, _answer(kind, **change))
