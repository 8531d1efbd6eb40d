"""Benchmark: simulated nodes polling a coordinator on PostgreSQL under gunicorn.

Run by hand (not a test), from the repository root, with PostgreSQL reachable:

    python -m benchmarks.load                                   # 1000 nodes, 60 s
    python -m benchmarks.load --nodes 50 --seconds 10
    python -m benchmarks.load --workers 2 --threads 4 --clients 8
    python -m benchmarks.load --nodes 1000 --profile 20         # cProfile, no gunicorn

The hardening issue asks for 10 minutes; the default is a bounded 60 s (``--seconds 600``
for the full run).  Setup calls the services in-process, in a fresh database
``lhs_load_<pid>`` beside ``--database-url``'s and a temporary instance folder (both removed
afterwards): migrations, two users, one organisation and node per simulated node, each
enrolled with its own Ed25519 key, and one library spec submitted and approved: one round
open with a task for every node.  gunicorn serves ``--app`` on a free port of 127.0.0.1;
``--clients`` closed-loop clients (threads over ``--procs`` processes, keep-alive
``http.client``, the node's 60 s timeout) poll as fast as answers come, each time a random
node, signed as the node agent signs (``poll_payload``: fresh nonce, current time).  Polls
started in the first ``--warmup`` seconds are not counted.  Ok is a 200 listing a task; any
other status or exception is an error.  CPU (cores busy over the measured window, from /proc)
of gunicorn (master and workers), all PostgreSQL processes, the load generator, the machine.

``--profile N`` skips gunicorn: it times N polls of already-served nodes through the Flask
test client in this process, plain and under cProfile, and prints the SQL statements per poll
and where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import multiprocessing as mp
import os
import pstats
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from protocol import canonical_json, generate_private_key, poll_payload, public_key_text, sign

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "queries" / "palliative" / "opioid_last_90d.yaml"
HZ = os.sysconf("SC_CLK_TCK")
HEADERS = {"Content-Type": "application/json", "User-Agent": "lhs-node"}


def database(url: str, name: str, *, create: bool) -> str:
    """(Re)create or drop database ``name`` on ``url``'s server; return its URL."""
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def setup(nodes: int):
    """Build the coordinator (env already set); return the app and each node's (id, key)."""
    from coordinator import create_app
    from coordinator.accounts.services import create_user
    from coordinator.db import init_db, session_scope
    from coordinator.keys import create_key_file, load_coordinator_key
    from coordinator.registry.services import add_node, add_organisation, enrol
    from coordinator.review.services import approve, submit

    app = create_app()
    settings = app.extensions["lhs_settings"]
    init_db(app.extensions["lhs_engine"])
    create_key_file(settings.coordinator_key_file)
    key = load_coordinator_key(settings.coordinator_key_file)
    keys = []
    with session_scope(app.extensions["lhs_sessions"]) as session:
        rita, _ = create_user(session, "rita", "researcher")
        carl, _ = create_user(session, "carl", "coordinator")
        for i in range(nodes):
            node_id, org, node_key = f"node-{i:04}", f"Organisation {i:04}", generate_private_key()
            add_organisation(session, org)
            _node, code, _expires = add_node(session, node_id, org, hours=1)
            enrol(session, node_id, public_key_text(node_key), code, address="127.0.0.1")
            keys.append((node_id, node_key))
        spec, _new = submit(session, rita, SPEC.read_text())
        round_ = approve(session, carl, spec.spec_hash, "load", settings=settings, key=key)
        assert round_ is not None and len(round_.tasks) == nodes
    return app, keys


def poll_body(node_id: str, key) -> bytes:
    """Return a poll as the node agent sends it: signed, fresh nonce, current time."""
    return canonical_json(sign(poll_payload(node_id), key, node_id))


def client_process(port, keys, threads, start, counted, stop, out) -> None:
    """Poll from ``threads`` threads until ``stop``; put ([(seconds, status)], samples) on out."""
    records, samples = [], {}  # list.append and dict.setdefault are atomic under the GIL

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        rng = random.Random()
        time.sleep(max(0.0, start - time.time()))
        while (began := time.time()) < stop:
            node_id, key = rng.choice(keys)
            body = poll_body(node_id, key)
            t0 = time.perf_counter()
            try:
                conn.request("POST", f"/api/v1/nodes/{node_id}/poll", body, HEADERS)
                answer = conn.getresponse()
                data = answer.read()
                ok = answer.status == 200 and b'"tasks":[{' in data
                status = "ok" if ok else str(answer.status)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, data = type(exc).__name__, str(exc).encode()
            if began >= counted:
                records.append((time.perf_counter() - t0, status))
                if status != "ok":
                    samples.setdefault(status, data[:300].decode(errors="replace"))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((records, samples))


def cpu_snapshot(gunicorn: int, clients: list[int]) -> dict[str, float]:
    """Return CPU seconds so far of gunicorn, PostgreSQL, the load generator, the machine."""
    table = {}  # pid -> (parent pid, command name, CPU seconds)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:  # gone meanwhile
                continue
            fields = tail.split()
            ticks = int(fields[11]) + int(fields[12])  # user + system
            table[int(entry.name)] = (int(fields[1]), head.split("(", 1)[1], ticks / HZ)

    def used(pids) -> float:
        return sum(table[pid][2] for pid in pids if pid in table)

    workers = [gunicorn, *(pid for pid, row in table.items() if row[0] == gunicorn)]
    machine = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return {
        "gunicorn": used(workers),
        "postgres": used(pid for pid, row in table.items() if row[1].startswith("postgres")),
        "load generator": used([os.getpid(), *clients]),
        "machine": (sum(machine) - machine[3] - machine[4]) / HZ,  # all but idle and iowait
    }


def start_gunicorn(args) -> tuple[subprocess.Popen, int]:
    """Start gunicorn on a free port; return it and the port once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--keep-alive=30"]
    command += [f"--workers={args.workers}", f"--worker-class={args.worker_class}"]
    command += [f"--threads={args.threads}", "--log-level=warning", args.app]
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ)
    for _ in range(300):
        time.sleep(0.2)
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/coordinator-key")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            pass
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def percentile(ordered: list[float], q: float) -> float:
    """Return the nearest-rank q-quantile of sorted values, in milliseconds."""
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def drive(args, keys) -> None:
    """Run gunicorn, poll it from the clients, print the figures."""
    server, port = start_gunicorn(args)
    try:
        ctx, start = mp.get_context("fork"), time.time() + 1
        counted, stop = start + args.warmup, start + args.warmup + args.seconds
        out, (per, extra) = ctx.Queue(), divmod(args.clients, args.procs)
        jobs = [
            (port, keys, per + (i < extra), start, counted, stop, out) for i in range(args.procs)
        ]
        procs = [ctx.Process(target=client_process, args=job) for job in jobs]
        for proc in procs:
            proc.start()
        time.sleep(max(0.0, counted - time.time()))
        before = cpu_snapshot(server.pid, [p.pid for p in procs])
        time.sleep(max(0.0, stop - time.time()))
        after = cpu_snapshot(server.pid, [p.pid for p in procs])
        records, samples = [], {}
        for _ in procs:  # read before join: a child with a full pipe does not exit
            more, sample = out.get(timeout=120)  # the clients' timeout is 60 s
            records, samples = records + more, {**samples, **sample}
        for proc in procs:
            proc.join()
    finally:
        server.terminate()
        server.wait(30)
    latencies = sorted(seconds for seconds, _ in records)
    statuses = Counter(status for _, status in records)
    ok = statuses.pop("ok", 0)
    print(
        f"\n{args.nodes} nodes, one round open ({args.nodes} tasks); gunicorn {args.workers}"
        f" {args.worker_class} workers x {args.threads} threads; {args.clients} clients in"
        f" {args.procs} processes; {args.seconds:g} s measured after {args.warmup:g} s warm-up"
    )
    print("  polls  polls/s  p50 ms  p90 ms  p99 ms  max ms  errors")
    print(
        f"{len(latencies):>7} {len(latencies) / args.seconds:>8.1f}"
        + "".join(f" {percentile(latencies, q):>7.1f}" for q in (0.5, 0.9, 0.99, 1.0))
        + f" {sum(statuses.values()):>7}"
    )
    print(f"ok (200 with a task): {ok}; errors by kind: {dict(statuses) or 'none'}")
    for kind, text in samples.items():
        print(f"  e.g. {kind}: {text}")
    busy = ", ".join(f"{k} {(after[k] - before[k]) / args.seconds:.2f}" for k in after)
    print(f"CPU, cores busy (of {os.cpu_count()}): {busy}")


PARTS = (
    ("request (Flask wsgi_app)", "flask/app.py", "wsgi_app"),
    ("  poll view", "rounds/views.py", "poll"),
    ("    messages.poll (checks, nonce, node, tasks)", "rounds/messages.py", "poll"),
    ("      signature: protocol verify", "crypto/_envelope.py", "verify"),
    ("        of which Ed25519 verify (OpenSSL)", "~", "<method 'verify'"),
    ("      task envelopes: json.loads", "rounds/messages.py", "<listcomp>"),
    ("    aggregation poll_requests", "aggregation/services.py", "poll_requests"),
    ("      _open_due", "aggregation/services.py", "_open_due"),
    ("        round_status", "rounds/services.py", "round_status"),
    ("    session.commit", "orm/session.py", "commit"),
    ("  json_body (parse the poll)", "api/http.py", "json_body"),
    ("  answer to JSON (Flask dumps)", "json/provider.py", "dumps"),
    ("SQL: psycopg execute (with waiting on the server)", "psycopg/cursor.py", "execute"),
    ("SQL: psycopg commit", "psycopg/connection.py", "commit"),
    ("SQL: pool pre-ping", "engine/default.py", "_do_ping_w_event"),
)
"""Parts of a poll: label, file (~ for a built-in), function (a built-in's name prefix)."""
PACKAGES = ("sqlalchemy", "psycopg", "flask", "werkzeug", "coordinator", "protocol", "json")


def profile(app, keys, polls: int) -> None:
    """Time polls through the Flask test client, then profile them; print where time goes."""
    client, statements = app.test_client(), Counter()
    sa.event.listen(
        app.extensions["lhs_engine"],
        "before_cursor_execute",
        lambda *a: statements.update([" ".join(a[2].split())[:90]]),
    )
    warm = keys[:50]  # a node's first poll delivers its task and audits that: time later ones
    for node_id, key in warm:
        client.post(f"/api/v1/nodes/{node_id}/poll", data=poll_body(node_id, key), headers=HEADERS)
    profiler = cProfile.Profile()
    for run in ("plain", "cProfile"):
        statements.clear()
        bodies = [(n, poll_body(n, key)) for n, key in random.choices(warm, k=polls)]
        t0 = time.perf_counter()
        if run == "cProfile":
            profiler.enable()
        for node_id, body in bodies:
            answer = client.post(f"/api/v1/nodes/{node_id}/poll", data=body, headers=HEADERS)
            assert answer.status_code == 200, answer.text
        profiler.disable()
        ms = 1000 * (time.perf_counter() - t0) / polls
        print(f"{polls} polls in one process (test client, {run}): {ms:.2f} ms per poll")
    sql = statements.total() / polls
    print(f"answer: {len(answer.data)} bytes; SQL statements per poll: {sql:.1f}")
    for text, count in statements.most_common(12):
        print(f"  {count / polls:8.2f}  {text}")
    stats = pstats.Stats(profiler).stats  # (file, line, function) -> (cc, nc, tt, ct, callers)
    total = sum(v[3] for (_, _, fn), v in stats.items() if fn == "wsgi_app")
    print(f"\n{'where time goes (cumulative, under cProfile)':<52} {'ms/poll':>8} {'share':>6}")
    for label, where, name in PARTS:
        ct = sum(
            v[3]
            for (f, _, fn), v in stats.items()
            if f.endswith(where) and (fn == name or (where == "~" and fn.startswith(name)))
        )
        print(f"{label:<52} {1000 * ct / polls:>8.2f} {ct / total:>6.0%}")
    own = Counter()  # self time by package; built-ins (~) include waiting on PostgreSQL's socket
    for (f, _, _fn), v in stats.items():
        rest = "~ built-ins" if f == "~" else "other"
        own[next((p for p in PACKAGES if f"/{p}/" in f), rest)] += v[2]
    shares = ", ".join(f"{p} {1000 * t / polls:.2f}" for p, t in own.most_common())
    print(f"self time by package, ms/poll: {shares}")


def main() -> None:
    """Parse arguments, set up, run, tear down."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not counted first")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--worker-class", default="gthread", help="gthread keeps connections")
    parser.add_argument("--clients", type=int, default=32, help="concurrent polling clients")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--app", default="coordinator:create_app()", help="WSGI app to serve")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N in-process polls")
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    instance, name = Path(tempfile.mkdtemp(prefix="lhs-load-")), f"lhs_load_{os.getpid()}"
    url = database(args.database_url, name, create=True)
    os.environ.update(LHS_INSTANCE_PATH=str(instance), LHS_DATABASE_URL=url, LHS_SECRET_KEY="x")
    app = None
    try:
        t0 = time.perf_counter()
        app, keys = setup(args.nodes)
        print(f"setup: {args.nodes} nodes enrolled, round open in {time.perf_counter() - t0:.1f} s")
        if args.profile:
            profile(app, keys, args.profile)
        else:
            app.extensions["lhs_engine"].dispose()  # no connection of ours across the fork
            drive(args, keys)
    finally:
        if app is not None:
            app.extensions["lhs_engine"].dispose()
        database(args.database_url, name, create=False)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
