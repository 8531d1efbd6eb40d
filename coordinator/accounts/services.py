"""Users, roles, scrypt password hashes and API tokens.

Passwords are hashed with scrypt (memory-hard, so guessing is slow even on GPUs); API tokens
are 256 random bits and only their SHA-256 is stored: a stolen database yields no token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import utcnow

from ..audit.services import record
from ..errors import BadRequest, Conflict, Forbidden, Unauthorized
from ..throttle.services import check, forget
from .models import ROLES, ApiToken, User

__all__ = [
    "CAN_ADMINISTER",
    "CAN_DECIDE",
    "CAN_READ",
    "CAN_READ_ALL",
    "CAN_SUBMIT",
    "authenticate",
    "check_login",
    "create_user",
    "hash_password",
    "issue_token",
    "login",
    "require_role",
    "verify_password",
]

CAN_READ = frozenset(ROLES)
CAN_SUBMIT = frozenset(ROLES)
CAN_DECIDE = frozenset({"coordinator", "admin"})
CAN_READ_ALL = frozenset({"coordinator", "admin"})
"""Roles that read every spec and round; a researcher reads their own and what is published."""
CAN_ADMINISTER = frozenset({"admin"})

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
# scrypt cost: 2**15 x 8 x 128 bytes = 32 MiB of memory per guess.
_N, _R, _P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    """Return ``scrypt$n$r$p$salt$hash`` for a password."""
    if len(password) < 8:
        raise BadRequest("weak_password", "a password needs at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Return whether a password matches a stored scrypt hash (in constant time)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User) -> str:
    """Create an API token for a user; return its text (shown once, never stored)."""
    token = "lhs_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=_token_hash(token), created_at=utcnow()))
    return token


def create_user(
    session: Session, name: str, role: str, password: str | None = None, *, actor: str = "cli"
) -> tuple[User, str]:
    """Create a user with a role (and optional password); return it and a new API token."""
    if not _NAME.match(name):
        raise BadRequest(
            "bad_name", f"user name {name!r} must be letters, digits and . _ @ - (at most 100)"
        )
    if role not in ROLES:
        raise BadRequest("bad_role", f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    if session.scalar(sa.select(User.id).where(User.name == name)) is not None:
        raise Conflict("user_exists", f"a user named {name!r} already exists")
    user = User(
        name=name,
        role=role,
        password_hash=hash_password(password) if password is not None else None,
        created_at=utcnow(),
    )
    session.add(user)
    token = issue_token(session, user)
    record(session, actor, "user.create", user.actor, role=role)
    return user, token


def authenticate(session: Session, header: str | None) -> User:
    """Return the user of an ``Authorization: Bearer <token>`` header, or raise Unauthorized."""
    if not header:
        raise Unauthorized("no_token", "this needs an API token: send 'Authorization: Bearer …'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("bad_token", "the Authorization header must be 'Bearer <api token>'")
    entry = session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(token.strip()))
    )
    if entry is None:
        raise Unauthorized("bad_token", "the API token is not known (it may have been replaced)")
    entry.last_used_at = utcnow()
    return entry.user


def require_role(user: User, allowed: frozenset[str], doing: str) -> None:
    """Raise Forbidden unless the user's role is among ``allowed``."""
    if user.role not in allowed:
        raise Forbidden(
            "forbidden",
            f"a {user.role} may not {doing} (needs: {', '.join(sorted(allowed))})",
        )


def check_login(session: Session, name: object, password: object, address: str = "unknown") -> User:
    """Return the user a name and password prove; lock out guessing (``throttle``)."""
    if not isinstance(name, str) or not isinstance(password, str):
        raise BadRequest("bad_request", "give 'name' and 'password' as strings")
    keys = (f"login:user:{name[:100]}", f"login:addr:{address}")
    check(session, keys)
    user = session.scalar(sa.select(User).where(User.name == name))
    # Hash for an unknown user and for one without a password too: the answer time does not
    # tell which names exist or which have a password.
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    ok = verify_password(password, stored)
    if user is None or not user.password_hash or not ok:
        raise Unauthorized("bad_credentials", "unknown user name or wrong password", failures=keys)
    forget(session, keys[:1])
    return user


def login(
    session: Session, name: object, password: object, address: str = "unknown"
) -> tuple[User, str]:
    """Check a user's password and issue a new API token; lock out guessing (``throttle``)."""
    user = check_login(session, name, password, address)
    token = issue_token(session, user)
    record(session, user.actor, "token.issue", user.actor)
    return user, token


_DUMMY_HASH = (
    "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)
