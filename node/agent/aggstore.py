"""The agent's secure-aggregation state: exact cubes, X25519 keys and every request answered.

The exact finest cells of each round's result stay here and never leave in clear: only
masked shares of them do.  A key is kept per round, group and attempt so that a share
uses the very key the node announced; each request the coordinator signed is recorded
with the exact bytes sent for it, so a request listed again is answered with the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from protocol import Key

from .audit import now_text

__all__ = ["AggStore", "ExactCube"]

_meta = sa.MetaData()
exact_cubes = sa.Table(
    "exact_cubes",
    _meta,
    sa.Column("round_id", sa.Integer, primary_key=True),
    sa.Column("task_id", sa.String(200), nullable=False),
    sa.Column("spec_hash", sa.String(80), nullable=False),
    sa.Column("cube", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)
agg_keys = sa.Table(
    "agg_keys",
    _meta,
    sa.Column("round_id", sa.Integer, primary_key=True),
    sa.Column("level", sa.String(20), primary_key=True),
    sa.Column("area", sa.String(32), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("private_key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)
agg_requests = sa.Table(
    "agg_requests",
    _meta,
    sa.Column("digest", sa.String(80), primary_key=True),
    sa.Column("round_id", sa.Integer),
    sa.Column("group", sa.String(60)),
    sa.Column("attempt", sa.Integer),
    sa.Column("phase", sa.String(10)),
    # refused (never answered), pending (answer not confirmed), sent, or failed (refused there)
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("body", sa.LargeBinary),
    sa.Column("sha256", sa.String(80)),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

ExactCube = dict[str, Any]
"""``{"dimensions", "measures", "spec_hash", "cells": {key: {measure: int}}}`` of one round."""


class AggStore:
    """The aggregation tables, in the agent's SQLite database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        _meta.create_all(engine)

    def save_exact(
        self,
        round_id: int,
        task_id: str,
        spec_hash: str,
        dimensions: list[str],
        measures: list[str],
        cells: dict[Key, dict[str, int]],
    ) -> None:
        """Keep a round's exact finest cells (a rerun of the round replaces them)."""
        cube = {
            "dimensions": dimensions,
            "measures": measures,
            "cells": [[list(key), values] for key, values in cells.items()],
        }
        text = json.dumps(cube, default=int)  # counts from a driver may be numpy integers
        with self.engine.begin() as c:
            c.execute(sa.delete(exact_cubes).where(exact_cubes.c.round_id == round_id))
            c.execute(
                sa.insert(exact_cubes).values(
                    round_id=round_id,
                    task_id=task_id,
                    spec_hash=spec_hash,
                    cube=text,
                    created_at=now_text(),
                )
            )

    def exact(self, round_id: int) -> ExactCube | None:
        """Return a round's exact cube, or None when this node holds none for it."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(exact_cubes).where(exact_cubes.c.round_id == round_id))
            found = row.first()
        if found is None:
            return None
        cube = json.loads(found.cube)
        cells = {tuple(key): values for key, values in cube["cells"]}
        return {**cube, "spec_hash": found.spec_hash, "cells": cells}

    def key(self, round_id: int, group: tuple[str, str], attempt: int) -> bytes | None:
        """Return the private key of one attempt, if the node made one."""
        where = (
            (agg_keys.c.round_id == round_id)
            & (agg_keys.c.level == group[0])
            & (agg_keys.c.area == group[1])
            & (agg_keys.c.attempt == attempt)
        )
        with self.engine.connect() as c:
            return c.execute(sa.select(agg_keys.c.private_key).where(where)).scalar()

    def save_key(self, round_id: int, group: tuple[str, str], attempt: int, raw: bytes) -> None:
        """Keep the private key of one attempt."""
        values = {"round_id": round_id, "level": group[0], "area": group[1], "attempt": attempt}
        with self.engine.begin() as c:
            c.execute(sa.insert(agg_keys).values(**values, private_key=raw, created_at=now_text()))

    def request(self, digest: str) -> dict[str, Any] | None:
        """Return the record of a request envelope by its digest."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(agg_requests).where(agg_requests.c.digest == digest)).first()
        return dict(row._mapping) if row else None

    def add_request(self, digest: str, state: str, **values: Any) -> None:
        """Record a request: refused with a reason, or pending with the body to send."""
        stamp = now_text()
        with self.engine.begin() as c:
            c.execute(
                sa.insert(agg_requests).values(
                    digest=digest, state=state, received_at=stamp, updated_at=stamp, **values
                )
            )

    def set_request(self, digest: str, state: str, reason: str | None = None) -> None:
        """Move a request to a state after an upload attempt."""
        values = {"state": state, "reason": reason, "updated_at": now_text()}
        with self.engine.begin() as c:
            c.execute(
                sa.update(agg_requests).where(agg_requests.c.digest == digest).values(**values)
            )

    def requests(self) -> list[dict[str, Any]]:
        """Return every request recorded, oldest first."""
        with self.engine.connect() as c:
            query = sa.select(agg_requests).order_by(agg_requests.c.received_at)
            return [dict(r._mapping) for r in c.execute(query)]
