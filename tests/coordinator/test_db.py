"""Models, migrations and services on SQLite and on PostgreSQL (``LHS_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import coordinator.models  # noqa: F401  (every table in Base.metadata)
from coordinator import create_app
from coordinator.accounts.services import (
    authenticate,
    create_user,
    hash_password,
    login,
    verify_password,
)
from coordinator.audit.models import AuditEvent
from coordinator.db import Base, init_db, make_engine, schema_is_current, session_scope
from coordinator.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from coordinator.registry.models import EnrolmentCode
from coordinator.registry.services import (
    add_node,
    add_organisation,
    add_region,
    enrol,
    enrolled_node_ids,
    memberships,
)
from coordinator.review.services import find_spec, submit
from coordinator.rounds.messages import poll, store_result
from coordinator.rounds.services import round_results, round_status
from protocol import generate_private_key, public_key_text, spec_hash
from tests.coordinator.coord_world import BY_SEX, World, published


@pytest.fixture
def database_url(both_database_url: str) -> str:
    """Run this module on both backends, each test on an empty database."""
    return both_database_url


@pytest.fixture
def sessions(world: World):
    """The session factory of the world's app."""
    return world.sessions


def test_migrations_build_exactly_the_models(app) -> None:
    engine = app.extensions["lhs_engine"]
    assert schema_is_current(engine)
    init_db(engine)  # a second run changes nothing
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_audit_log_is_append_only(sessions) -> None:
    with session_scope(sessions) as session:
        entry = session.scalars(sa.select(AuditEvent)).first()
        entry.actor = "someone else"
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
        session.rollback()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session_scope(sessions) as s:
        s.execute(sa.text("DELETE FROM audit_events"))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session_scope(sessions) as s:
        s.execute(sa.text("UPDATE audit_events SET actor = 'x'"))


def test_passwords_and_tokens(sessions) -> None:
    stored = hash_password("long enough")
    assert stored.startswith("scrypt$") and "long enough" not in stored
    assert verify_password("long enough", stored) and not verify_password("other", stored)
    assert not verify_password("x", "garbage")
    with pytest.raises(BadRequest, match="8 characters"):
        hash_password("short")
    with session_scope(sessions) as session:
        _user, token = create_user(session, "pat", "coordinator", "long enough")
    with session_scope(sessions) as session:
        assert authenticate(session, f"Bearer {token}").name == "pat"
        assert login(session, "pat", "long enough")[1] != token
        with pytest.raises(Unauthorized):
            authenticate(session, "Bearer " + token[:-1])
        with pytest.raises(Conflict):
            create_user(session, "pat", "admin")
        with pytest.raises(BadRequest, match="unknown role"):
            create_user(session, "sam", "boss")
        with pytest.raises(BadRequest, match="user name"):
            create_user(session, "has space", "admin")


def test_registry_and_memberships(sessions) -> None:
    with session_scope(sessions) as session:
        add_region(session, "network", "NPZ-B", "Netwerk B")
        add_organisation(session, "Hospice C", {"network": "NPZ-B"})
        add_node(session, "zh-a", "Ziekenhuis A", hours=1)
        add_node(session, "zh-b", "Ziekenhuis B", hours=1)
        add_node(session, "hc-c", "Hospice C", hours=1)
        with pytest.raises(BadRequest, match="ZK05"):
            add_region(session, "zorgkantoor", "5", "Vijf")
        with pytest.raises(Conflict):
            add_region(session, "network", "NPZ-B", "again")
        with pytest.raises(NotFound, match="add-region"):
            add_organisation(session, "Hospice D", {"province": "PV99"})
    with session_scope(sessions) as session:
        with pytest.raises(Conflict, match="belongs to"):
            add_node(session, "zh-a", "Hospice C", hours=1)
        with pytest.raises(BadRequest, match="lower-case"):
            add_node(session, "ZH_A", "Hospice C", hours=1)
        with pytest.raises(NotFound):
            add_node(session, "zh-z", "Nobody", hours=1)
        assert memberships(session) == {
            "hc-c": {
                "organisation": "Hospice C",
                "network": "NPZ-B",
                "zorgkantoor": None,
                "province": None,
            },
            "zh-a": {
                "organisation": "Ziekenhuis A",
                "network": "NPZ-A",
                "zorgkantoor": "ZK05",
                "province": "PV27",
            },
            "zh-b": {
                "organisation": "Ziekenhuis B",
                "network": "NPZ-A",
                "zorgkantoor": None,
                "province": None,
            },
        }


def test_enrolment_codes_once_and_until_expiry(sessions, caplog) -> None:
    key = public_key_text(generate_private_key())
    with session_scope(sessions) as session:
        _node, code, _expires = add_node(session, "zh-a", "Ziekenhuis A", hours=2)
        _node, late_code, _ = add_node(session, "zh-b", "Ziekenhuis A", hours=2)
    with session_scope(sessions) as session:
        assert enrol(session, "zh-a", key, code).enrolled_at is not None
    # The answer is the same for every failure; the log says which it was.
    with session_scope(sessions) as session, pytest.raises(Forbidden, match="not valid"):
        enrol(session, "zh-a", key, code)
    assert "used on" in caplog.text
    with session_scope(sessions) as session:
        entry = session.scalars(sa.select(EnrolmentCode).where(EnrolmentCode.node_id == "zh-b"))
        entry.one().expires_at -= timedelta(hours=3)
    with session_scope(sessions) as session, pytest.raises(Forbidden, match="not valid"):
        enrol(session, "zh-b", key, late_code)
    assert "expired on" in caplog.text
    with session_scope(sessions) as session:
        assert enrolled_node_ids(session) == ["zh-a"]


def test_round_results_for_the_merge(world: World) -> None:
    a, b = world.node("zh-a"), world.node("zh-b")
    digest = world.submit()["spec_hash"]
    round_id = world.approve(digest).json["round_id"]
    (task,) = a.tasks()
    with session_scope(world.sessions) as session:
        spec, results = round_results(session, round_id)
        assert spec_hash(spec) == digest and results == {}
        _stored, duplicate = store_result(session, a.result_envelope(task))
        assert not duplicate
    with session_scope(world.sessions) as session:
        spec, results = round_results(session, round_id)
        assert results == {"zh-a": published(BY_SEX)}
        assert round_status(session, round_id)["pending"] == ["zh-b"]
        with pytest.raises(NotFound):
            round_results(session, round_id + 1)
    with session_scope(world.sessions) as session:
        envelope = b.poll_envelope()
        assert len(poll(session, "zh-b", envelope, skew=300)) == 1
    with session_scope(world.sessions) as session, pytest.raises(BadRequest, match="replay"):
        poll(session, "zh-b", envelope, skew=300)


def test_find_spec_by_prefix(world: World) -> None:
    with session_scope(world.sessions) as session:
        rita = authenticate(session, f"Bearer {world.tokens['rita']}")
        spec, created = submit(session, rita, BY_SEX)
        assert created and find_spec(session, spec.spec_hash[7:15]) is spec
        assert submit(session, rita, BY_SEX) == (spec, False)


def test_restart_loses_nothing(world: World, config: dict) -> None:
    a = world.node("zh-a")
    world.node("zh-b")
    digest = world.submit()["spec_hash"]
    round_id = world.approve(digest).json["round_id"]
    (task,) = a.tasks()
    envelope = a.result_envelope(task)
    assert a.upload(envelope).status_code == 201
    before = world.client.get(f"/api/v1/rounds/{round_id}", headers=world.auth("rita")).json
    world.app.extensions["lhs_engine"].dispose()

    restarted = create_app(config)  # a new process on the same database and key
    world.app, world.client = restarted, restarted.test_client()
    after = world.client.get(f"/api/v1/rounds/{round_id}", headers=world.auth("rita")).json
    assert after == before
    assert a.upload(envelope).json == {
        "duplicate": True,
        "task_id": task["task_id"],
        "round_id": round_id,
    }
    (task_b,) = world.nodes["zh-b"].tasks()  # the offline node still gets its task
    assert task_b["round_id"] == round_id
    with session_scope(restarted.extensions["lhs_sessions"]) as session:
        assert list(round_results(session, round_id)[1]) == ["zh-a"]
    restarted.extensions["lhs_engine"].dispose()


def test_a_sqlite_database_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'instance' / 'coordinator.sqlite3'}")
        with engine.connect() as connection:
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        engine.dispose()
    finally:
        os.umask(old)
    database = tmp_path / "instance" / "coordinator.sqlite3"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
