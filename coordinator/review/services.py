"""Submitting, reading, approving and rejecting query specs.

A spec is validated on submit with ``protocol.parse_spec`` and stored with its content hash;
everything afterwards (approval, tasks, results) refers to that hash.  A spec goes from
``submitted`` to ``approved`` or ``rejected``; approving an approved spec again opens a new
round (the recurring cycle); a rejection is final (submit a new version instead).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, object_session

from protocol import (
    QuerySpec,
    SpecInvalid,
    explain,
    neighbours,
    parse_spec,
    spec_hash,
    utcnow,
    write_time,
)

from ..accounts.models import User
from ..accounts.services import CAN_DECIDE, CAN_READ_ALL, CAN_SUBMIT, require_role
from ..audit.services import record
from ..config import Settings
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..rounds.models import Round
from ..rounds.services import open_round
from .models import STATUSES, Decision, Spec

__all__ = [
    "approval_status",
    "approve",
    "find_spec",
    "list_specs",
    "previous_version",
    "reject",
    "spec_view",
    "submit",
    "version_diff",
]

_REF = re.compile(r"^(sha256:)?[0-9a-f]{6,64}$")


def submit(session: Session, user: User, text: object) -> tuple[Spec, bool]:
    """Validate and store a spec's YAML; return it and whether it is new (not a resubmission)."""
    require_role(user, CAN_SUBMIT, "submit specs")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("bad_request", "give the spec's YAML text as 'yaml'")
    try:
        spec = parse_spec(text, source="spec")
    except SpecInvalid as exc:
        raise BadRequest("spec_invalid", str(exc)) from None
    digest = spec_hash(spec)
    existing = session.scalar(sa.select(Spec).where(Spec.spec_hash == digest))
    if existing is not None:
        return existing, False
    # One id and version name one content, or tasks and factsheets would be ambiguous.
    clash = session.scalar(
        sa.select(Spec).where(
            Spec.query_id == spec.id, Spec.version == spec.version, Spec.status != "rejected"
        )
    )
    if clash is not None:
        raise Conflict(
            "version_exists",
            f"{spec.id} v{spec.version} was already submitted with other content"
            f" ({clash.spec_hash}); raise its version",
        )
    row = Spec(
        spec_hash=digest,
        query_id=spec.id,
        version=spec.version,
        title=spec.title,
        yaml=text,
        status="submitted",
        submitted_by=user,
        submitted_at=utcnow(),
    )
    session.add(row)
    record(
        session, user.actor, "spec.submit", f"spec:{digest}", query=spec.id, version=spec.version
    )
    return row, True


def find_spec(session: Session, ref: str) -> Spec:
    """Return the spec a hash (or a unique prefix of at least 6 hex digits) names."""
    ref = ref.strip().lower()
    if not _REF.match(ref):
        raise BadRequest("bad_spec_hash", f"{ref[:80]!r} is not a spec hash (sha256:…)")
    prefix = ref if ref.startswith("sha256:") else f"sha256:{ref}"
    found = list(session.scalars(sa.select(Spec).where(Spec.spec_hash.startswith(prefix)).limit(2)))
    if not found:
        raise NotFound("unknown_spec", f"no submitted spec has hash {ref}")
    if len(found) > 1:
        raise BadRequest("ambiguous_spec_hash", f"{ref} names more than one spec; give more of it")
    return found[0]


def visible_spec(session: Session, ref: str, viewer: User) -> Spec:
    """Return the spec a hash names if the viewer may read it; another researcher's is as
    unknown as one never submitted."""
    spec = find_spec(session, ref)
    if viewer.role not in CAN_READ_ALL and spec.submitted_by_id != viewer.id:
        raise NotFound("unknown_spec", f"no submitted spec has hash {ref.strip().lower()}")
    return spec


def list_specs(session: Session, viewer: User, status: str | None = None) -> list[Spec]:
    """Return the specs a viewer may read, newest first, optionally only those with a status."""
    query = sa.select(Spec).order_by(Spec.id.desc())
    if viewer.role not in CAN_READ_ALL:
        query = query.where(Spec.submitted_by_id == viewer.id)
    if status is not None:
        if status not in STATUSES:
            raise BadRequest("bad_status", f"unknown status {status!r} (expected {STATUSES})")
        query = query.where(Spec.status == status)
    return list(session.scalars(query))


def _reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("reason_required", "a decision needs a reason")
    return reason.strip()[:4000]


def approve(
    session: Session,
    user: User,
    ref: str,
    reason: object,
    *,
    settings: Settings,
    key: Ed25519PrivateKey,
    min_cell: object = None,
    deadline_days: object = None,
    nodes: object = None,
) -> Round | None:
    """Approve a spec with a reason; the last approval needed (``settings.approvals``, each
    by another coordinator) opens a round of signed tasks and returns it, others return None."""
    require_role(user, CAN_DECIDE, "approve specs")
    text = _reason(reason)
    spec = find_spec(session, ref)
    if spec.status == "rejected":
        raise Conflict("spec_rejected", f"{spec.spec_hash} was rejected; submit a new version")
    if spec.submitted_by_id == user.id:
        # Four eyes: whoever wrote a query does not also decide that it may run.
        raise Forbidden(
            "four_eyes", "a spec is approved by someone other than the person who submitted it"
        )
    waiting = pending_approvals(spec)
    if any(d.decided_by_id == user.id for d in waiting):
        raise Conflict(
            "already_approved", f"you approved {spec.spec_hash} already; another coordinator must"
        )
    if len(waiting) + 1 < settings.approvals:
        session.add(
            Decision(spec=spec, decision="approved", reason=text, decided_by=user,
                     decided_at=utcnow())
        )  # fmt: skip
        record(session, user.actor, "spec.approve", f"spec:{spec.spec_hash}", reason=text)
        return None
    parsed = parse_spec(spec.yaml, source=spec.spec_hash)
    round_ = open_round(
        session,
        spec,
        parsed,
        user,
        key=key,
        settings=settings,
        min_cell=min_cell,
        deadline_days=deadline_days,
        nodes=nodes,
    )
    spec.status = "approved"
    session.add(
        Decision(
            spec=spec,
            decision="approved",
            reason=text,
            decided_by=user,
            decided_at=utcnow(),
            round_id=round_.id,
        )
    )
    record(
        session,
        user.actor,
        "spec.approve",
        f"spec:{spec.spec_hash}",
        reason=text,
        round_id=round_.id,
    )
    return round_


def pending_approvals(spec: Spec) -> list[Decision]:
    """Return the approvals given since the spec's last round opened (none opened one yet)."""
    waiting: list[Decision] = []
    for decision in spec.decisions:
        if decision.decision != "approved" or decision.round_id is not None:
            waiting = []
        else:
            waiting.append(decision)
    return waiting


def reject(session: Session, user: User, ref: str, reason: object) -> Decision:
    """Reject a submitted spec with a reason."""
    require_role(user, CAN_DECIDE, "reject specs")
    text = _reason(reason)
    spec = find_spec(session, ref)
    if spec.status != "submitted":
        raise Conflict("already_decided", f"{spec.spec_hash} is already {spec.status}")
    spec.status = "rejected"
    decision = Decision(
        spec=spec, decision="rejected", reason=text, decided_by=user, decided_at=utcnow()
    )
    session.add(decision)
    record(session, user.actor, "spec.reject", f"spec:{spec.spec_hash}", reason=text)
    return decision


def approved_neighbours(spec: Spec, parsed: QuerySpec) -> list[dict[str, Any]]:
    """Return the approved specs one restriction away from ``spec``, with that restriction."""
    session = object_session(spec)
    everyone = sa.select(Spec).where(Spec.status == "approved").order_by(Spec.id.desc())
    approved = [s for s in session.scalars(everyone) if s.spec_hash != spec.spec_hash]
    by_hash = {s.spec_hash: s for s in approved}
    others = [(s.spec_hash, parse_spec(s.yaml, source=s.spec_hash)) for s in approved]
    return [
        {
            "spec_hash": near.ref,
            "id": by_hash[near.ref].query_id,
            "version": by_hash[near.ref].version,
            "difference": near.difference,
        }
        for near in neighbours(parsed, others)
    ]


def spec_view(spec: Spec, *, full: bool = False) -> dict[str, Any]:
    """Return a spec as the API shows it; ``full`` adds its YAML, explanation and decisions."""
    view: dict[str, Any] = {
        "spec_hash": spec.spec_hash,
        "id": spec.query_id,
        "version": spec.version,
        "title": spec.title,
        "status": spec.status,
        "submitted_by": spec.submitted_by.name,
        "submitted_at": write_time(spec.submitted_at),
    }
    if full:
        parsed: QuerySpec = parse_spec(spec.yaml, source=spec.spec_hash)
        view["yaml"] = spec.yaml
        view["explanation"] = explain(parsed)
        view["neighbours"] = approved_neighbours(spec, parsed)
        view["decisions"] = [
            {
                "decision": d.decision,
                "reason": d.reason,
                "by": d.decided_by.name,
                "at": write_time(d.decided_at),
                "round_id": d.round_id,
            }
            for d in spec.decisions
        ]
    return view


def previous_version(session: Session, spec: Spec, viewer: User) -> Spec | None:
    """Return the previous submission under this query id that the viewer may read, or None."""
    # The highest lower version; else an earlier submission of the same version.
    query = (
        sa.select(Spec)
        .where(
            Spec.query_id == spec.query_id,
            Spec.id != spec.id,
            sa.or_(
                Spec.version < spec.version,
                sa.and_(Spec.version == spec.version, Spec.id < spec.id),
            ),
        )
        .order_by(Spec.version.desc(), Spec.id.desc())
        .limit(1)
    )
    if viewer.role not in CAN_READ_ALL:
        # Another researcher's text under the same id stays theirs.
        query = query.where(Spec.submitted_by_id == viewer.id)
    return session.scalar(query)


def version_diff(session: Session, spec: Spec, viewer: User) -> tuple[Spec | None, list[str]]:
    """Return the previous version of a spec and the unified diff of its text to this one."""
    before = previous_version(session, spec, viewer)
    if before is None:
        return None, []
    lines = difflib.unified_diff(
        before.yaml.splitlines(),
        spec.yaml.splitlines(),
        fromfile=f"{before.query_id} v{before.version}",
        tofile=f"{spec.query_id} v{spec.version}",
        lineterm="",
    )
    return before, list(lines)


def approval_status(spec: Spec, user: User, needed: int) -> dict[str, Any]:
    """Return a spec's approvals since its last round, those needed, and what ``user`` may do."""
    # ``blocked`` names why the user may not approve now: role, rejected, four_eyes or
    # already_approved; None when they may.
    waiting = pending_approvals(spec)
    blocked = None
    if user.role not in CAN_DECIDE:
        blocked = "role"
    elif spec.status == "rejected":
        blocked = "rejected"
    elif spec.submitted_by_id == user.id:
        blocked = "four_eyes"
    elif any(d.decided_by_id == user.id for d in waiting):
        blocked = "already_approved"
    return {
        "given": [d.decided_by.name for d in waiting],
        "needed": needed,
        "blocked": blocked,
        "may_reject": blocked is None and spec.status == "submitted",
    }
