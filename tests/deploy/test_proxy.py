"""Behind nginx: the client's address comes from the one trusted proxy, never from a client.

The lockout of guessed enrolment codes is keyed by the client's address; behind a proxy
every request comes from 127.0.0.1, so without ``TRUSTED_PROXIES`` one guesser would lock
every node out, and with too many proxies trusted a guesser could claim any address.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from coordinator import create_app
from coordinator.db import init_db
from coordinator.keys import create_key_file
from protocol import generate_private_key, public_key_text

KEY = public_key_text(generate_private_key())


def _locked_keys(tmp_path: Path, proxies: int, forwarded: str) -> set[str]:
    key = tmp_path / f"key-{proxies}" / "coordinator.key"
    create_key_file(key)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / f'db-{proxies}.sqlite3'}",
            "COORDINATOR_KEY_FILE": key,
            "TRUSTED_PROXIES": proxies,
        }
    )
    engine = app.extensions["lhs_engine"]
    init_db(engine)
    answer = app.test_client().post(
        "/api/v1/nodes/enrol",
        json={"node_id": "nobody", "public_key": KEY, "enrolment_code": "WRONG"},
        headers={"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert answer.status_code == 403, answer.json
    with engine.connect() as c:
        keys = set(c.scalars(sa.text("SELECT key FROM throttles")))
    engine.dispose()
    return {k for k in keys if k.startswith("enrol:addr:")}


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "198.51.100.4", "127.0.0.1"),  # no proxy: the header is anybody's claim
        (1, "198.51.100.4", "198.51.100.4"),  # nginx's word for the client
        (1, "203.0.113.7, 198.51.100.4", "198.51.100.4"),  # only the hop nginx added
    ],
)
def test_the_lockout_counts_the_address_the_trusted_proxy_saw(
    tmp_path: Path, proxies: int, forwarded: str, address: str
) -> None:
    assert _locked_keys(tmp_path, proxies, forwarded) == {f"enrol:addr:{address}"}
