"""Organisations, regions, nodes and their enrolment.

A node is added by an admin, who gets a one-time enrolment code for it (shown once, stored
only as its SHA-256, valid for a few hours).  The node registers its public key with that code;
from then on everything it sends must be signed by that key.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import NODE_ID, ProtocolError, key_id, public_key_from_text, utcnow, write_time

from ..audit.services import record
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..throttle.services import check, forget
from .models import REGION_KINDS, EnrolmentCode, Membership, Node, Organisation, Region

__all__ = [
    "add_node",
    "add_organisation",
    "add_region",
    "enrol",
    "enrolled_node",
    "enrolled_node_ids",
    "memberships",
    "node_view",
]

log = logging.getLogger(__name__)

_REGION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_ZORGKANTOOR = re.compile(r"^ZK\d{2}$")


def add_region(session: Session, kind: str, code: str, name: str, *, actor: str = "cli") -> Region:
    """Add a region: a palliative-care network, a zorgkantoor region (ZKnn) or a province."""
    if kind not in REGION_KINDS:
        raise BadRequest("bad_region", f"unknown region kind {kind!r} (expected {REGION_KINDS})")
    if not _REGION_CODE.match(code):
        raise BadRequest("bad_region", f"region code {code!r} must be letters, digits, _ or -")
    if kind == "zorgkantoor" and not _ZORGKANTOOR.match(code):
        raise BadRequest("bad_region", f"zorgkantoor code {code!r} must look like ZK05")
    if not name.strip():
        raise BadRequest("bad_region", "a region needs a name")
    if _region(session, kind, code) is not None:
        raise Conflict("region_exists", f"{kind} {code} already exists")
    region = Region(kind=kind, code=code, name=name.strip())
    session.add(region)
    record(session, actor, "region.create", f"region:{kind}:{code}", name=region.name)
    return region


def _region(session: Session, kind: str, code: str) -> Region | None:
    return session.scalar(sa.select(Region).where(Region.kind == kind, Region.code == code))


def add_organisation(
    session: Session, name: str, regions: dict[str, str] | None = None, *, actor: str = "cli"
) -> Organisation:
    """Add an organisation and its regions, given as ``{kind: code}`` of existing regions."""
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest("bad_organisation", "an organisation needs a name of 1 to 200 characters")
    if session.scalar(sa.select(Organisation.id).where(Organisation.name == name)):
        raise Conflict("organisation_exists", f"organisation {name!r} already exists")
    org = Organisation(name=name, created_at=utcnow())
    session.add(org)
    for kind, code in (regions or {}).items():
        region = _region(session, kind, code)
        if region is None:
            raise NotFound(
                "unknown_region", f"no {kind} {code!r} (add it with 'lhs coordinator add-region')"
            )
        session.add(Membership(organisation=org, region=region, kind=kind))
    record(session, actor, "organisation.create", f"organisation:{name}", regions=regions or {})
    return org


def _code_hash(code: str) -> str:
    # Codes are typed by people: ignore case, spaces and dashes.
    return hashlib.sha256(re.sub(r"[\s-]", "", code).upper().encode()).hexdigest()


def add_node(
    session: Session, node_id: str, organisation: str, *, hours: int, actor: str = "cli"
) -> tuple[Node, str, datetime]:
    """Add a node to an organisation (or re-issue for an existing one); return its one-time code.

    Issuing a new code for an existing node is how a node that lost its key is re-enrolled;
    any earlier unused code for it stops working.
    """
    if not NODE_ID.match(node_id):
        raise BadRequest(
            "bad_node_id", f"node id {node_id!r} must be lower-case letters, digits and '-'"
        )
    org = session.scalar(sa.select(Organisation).where(Organisation.name == organisation))
    if org is None:
        raise NotFound("unknown_organisation", f"no organisation named {organisation!r}")
    now = utcnow()
    node = session.get(Node, node_id)
    if node is None:
        node = Node(id=node_id, organisation=org, created_at=now)
        session.add(node)
    elif node.organisation_id != org.id:
        raise Conflict(
            "node_exists",
            f"node {node_id!r} belongs to {node.organisation.name!r}, not {org.name!r}",
        )
    session.execute(
        sa.update(EnrolmentCode)
        .where(EnrolmentCode.node_id == node_id, EnrolmentCode.used_at.is_(None))
        .values(expires_at=now)
    )
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
    code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
    expires = now + timedelta(hours=hours)
    session.add(
        EnrolmentCode(
            node_id=node_id, code_hash=_code_hash(code), created_at=now, expires_at=expires
        )
    )
    record(session, actor, "node.code", f"node:{node_id}", organisation=org.name, expires=expires)
    return node, code, expires


def enrol(
    session: Session, node_id: object, public_key: object, code: object, address: str = "unknown"
) -> Node:
    """Register a node's public key with its one-time enrolment code.

    Every failed code answers alike (an unknown node, a wrong, used or expired code): the
    answer tells a guesser nothing; the precise reason goes to the log.  Failures count
    against the node and the address (``throttle``).
    """
    if not all(isinstance(v, str) for v in (node_id, public_key, code)):
        raise BadRequest("bad_request", "give 'node_id', 'public_key' and 'enrolment_code'")
    assert isinstance(node_id, str) and isinstance(public_key, str) and isinstance(code, str)
    keys = (f"enrol:node:{node_id[:64]}", f"enrol:addr:{address}")
    check(session, keys)
    try:
        fingerprint = key_id(public_key_from_text(public_key))
    except ProtocolError as exc:
        raise BadRequest("bad_public_key", str(exc)) from None
    node = session.get(Node, node_id)
    entry = session.scalar(
        sa.select(EnrolmentCode).where(
            EnrolmentCode.code_hash == _code_hash(code), EnrolmentCode.node_id == node_id
        )
    )
    now = utcnow()
    why = (
        "no such node"
        if node is None
        else "not a code for this node"
        if entry is None
        else f"used on {write_time(entry.used_at)}"
        if entry.used_at is not None
        else f"expired on {write_time(entry.expires_at)}"
        if entry.expires_at <= now
        else None
    )
    if why is not None:
        log.warning("enrolment of %r refused: %s", node_id[:64], why)
        raise Forbidden(
            "enrolment_refused",
            "that enrolment code is not valid for this node id (unknown, wrong, used or"
            " expired): ask the coordinator for a new one",
            failures=keys,
        )
    assert node is not None and entry is not None
    entry.used_at = now
    node.public_key, node.key_id, node.enrolled_at = public_key, fingerprint, now
    forget(session, keys[:1])
    record(session, f"node:{node_id}", "node.enrol", f"node:{node_id}", key_id=fingerprint)
    return node


def enrolled_node(session: Session, node_id: object) -> Node:
    """Return an enrolled node, or raise Forbidden naming why it cannot act."""
    node = session.get(Node, node_id) if isinstance(node_id, str) else None
    if node is None:
        raise Forbidden("unknown_node", f"no node {str(node_id)[:64]!r} is registered here")
    if node.public_key is None:
        raise Forbidden("node_not_enrolled", f"node {node_id!r} has not enrolled a key yet")
    return node


def enrolled_node_ids(session: Session) -> list[str]:
    """Return the ids of every node with a registered key, sorted."""
    return list(
        session.scalars(sa.select(Node.id).where(Node.public_key.is_not(None)).order_by(Node.id))
    )


def memberships(session: Session) -> dict[str, dict[str, str | None]]:
    """Return each node's organisation and region codes, for merging results up the hierarchy.

    ``{node_id: {"organisation": name, "network": code, "zorgkantoor": code,
    "province": code}}``; a kind the organisation has no region of is ``None``.
    """
    out: dict[str, dict[str, str | None]] = {}
    for node in session.scalars(sa.select(Node).order_by(Node.id)):
        entry: dict[str, str | None] = {"organisation": node.organisation.name}
        entry.update(dict.fromkeys(REGION_KINDS))
        for member in node.organisation.memberships:
            entry[member.kind] = member.region.code
        out[node.id] = entry
    return out


def node_view(node: Node) -> dict[str, Any]:
    """Return a node as the API shows it."""
    return {
        "node_id": node.id,
        "organisation": node.organisation.name,
        "regions": {m.kind: m.region.code for m in node.organisation.memberships},
        "key_id": node.key_id,
        "enrolled_at": node.enrolled_at and write_time(node.enrolled_at),
        "last_seen_at": node.last_seen_at and write_time(node.last_seen_at),
        "software": node.software,
    }
