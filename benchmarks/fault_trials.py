"""Fault trials: kill -9 the coordinator, a node or the publisher at random points of a round.

Run by hand (not a test), from the repository root:

    python -m benchmarks.fault_trials WORKDIR [--trials 50] [--seed 1] [--persons 3000]

WORKDIR/world is prepared once: a coordinator instance (SQLite, key) with four providers of
two networks registered and enrolled, two library specs approved (their rounds open, no node
has polled yet).  Every trial copies it and runs the round with the coordinator as its own
process (``lhs coordinator serve``) and the nodes as ``lhs node serve --once`` processes, all
polling together until every task is answered and every group's aggregation is done; then
``lhs coordinator publish``.  An undisturbed run first gives the reference.  In each trial a
chaos thread sends SIGKILL once, at a seeded random moment, to one victim: the coordinator or
a node (mid-run, mid-upload, mid-aggregation: timed from that node's audit log by the
reference's durations) or the publish process (mid-publish).  The victim is restarted and the
round driven on; a poll in which every node ran and nothing moved is a stall, cleared with
``lhs round aggregate ROUND --restart``.  Checks: every task has exactly one stored result,
equal to the reference's; every factsheet JSON equals the reference's byte for byte; every
node's audit log verifies (``lhs node log --verify``).  Exit 1 on any failure; ``--only N``
reruns trial N of the same --seed and --trials (trial folders are kept in WORKDIR).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import yaml

from coordinator.client import ApiClient
from demo.loop import _register, _serving, _set_up_coordinator
from demo.nodes import make_node
from demo.world import PROVIDERS
from node.agent import enrol
from node.config import load_config
from queries import library_paths

NODES = PROVIDERS[:4]  # three Groningen organisations and one of Drenthe: four groups to sum
SPECS = ("opioid_last_90d", "hip_fracture_los")
PLANS = [(v, m) for v in ("coordinator", "node") for m in ("run", "upload", "aggregation")]
PLANS.append(("publish", "publish"))
START = {"run": "task_approved", "upload": "result_stored", "aggregation": "poll"}
END = {"run": "result_stored", "upload": "upload", "aggregation": "aggregation_upload"}
LHS = [sys.executable, "-m", "lhs"]
MAX_POLLS = 20  # polls of every node before a round counts as never done


def prepare(world: Path, persons: int, seed: int) -> None:
    """Write the world every trial starts from: registered, enrolled, rounds open."""
    app = _set_up_coordinator(world / "coordinator")
    codes, tokens = _register(app, NODES)
    with _serving(app) as url:
        for i, p in enumerate(NODES):
            config = make_node(world / "nodes" / p.node_id, p, persons, seed + i, url)
            enrol(load_config(config), codes[p.node_id])
        researcher = ApiClient(url, tokens["researcher"])
        coordinator = ApiClient(url, tokens["coordinator"])
        for path in (p for p in library_paths() if p.stem in SPECS):
            spec = researcher.call("POST", "/specs", {"yaml": path.read_text(encoding="utf-8")})
            coordinator.call("POST", f"/specs/{spec['spec_hash']}/approve", {"reason": "trial"})
    app.extensions["lhs_engine"].dispose()


def spans(path: Path, offset: int, moment: str) -> list[float | None]:
    """Per agent cycle in which a moment began (audit log after ``offset``): seconds from its
    first event to its last, or None while the cycle has not reached its last event."""
    with path.open("rb") as handle:
        handle.seek(offset)
        lines = handle.read().split(b"\n")[:-1]  # the last is being written, or empty
    cycles: list[list[dict]] = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:  # a line torn by a kill: the verify check reports it
            continue
        if record["event"] == "poll" or not cycles:
            cycles.append([])
        cycles[-1].append(record)
    out: list[float | None] = []
    for cycle in cycles:
        starts = [r for r in cycle if r["event"] == START[moment]]
        starts = [r for r in starts if moment != "aggregation" or r.get("aggregation")]
        ends = [r for r in cycle if r["event"] == END[moment]]
        if starts:
            out.append(max(_seconds(ends[-1]) - _seconds(starts[0]), 0.001) if ends else None)
    return out


def _seconds(record: dict) -> float:
    return datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()


class Trial:
    """One copy of the world, its processes, and the kill planned for it."""

    def __init__(self, world: Path, folder: Path, plan: tuple | None) -> None:
        shutil.copytree(world, folder)
        self.folder, self.plan = folder, plan
        self.db = folder / "coordinator" / "coordinator.sqlite3"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {**os.environ, "LHS_INSTANCE_PATH": str(folder / "coordinator")}
        self.configs, self.offsets = {}, {}
        for p in NODES:
            config = folder / "nodes" / p.node_id / "node.yaml"
            settings = yaml.safe_load(config.read_text(encoding="utf-8"))
            settings["coordinator"] = f"http://127.0.0.1:{self.port}"
            settings["data"] = str((config.parent / "extract").resolve())
            config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
            self.configs[p.node_id] = config
            self.offsets[p.node_id] = (config.parent / "state" / "audit.jsonl").stat().st_size
        self.procs: dict[str, subprocess.Popen] = {}
        self.killed: subprocess.Popen | None = None
        self.stop = threading.Event()
        self.stalls: list[str] = []
        self.polls = self.coordinator_starts = self.publishes = self.all_in = self.waiting = 0
        self.publish_seconds = 0.0

    def audit(self, node: str) -> Path:
        return self.configs[node].parent / "state" / "audit.jsonl"

    def spawn(self, role: str, args: list[str], log: Path) -> subprocess.Popen:
        with log.open("a", encoding="utf-8") as out:
            proc = subprocess.Popen(LHS + args, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.procs[role] = proc
        return proc

    def start_coordinator(self) -> None:
        self.coordinator_starts += 1
        log = self.folder / "coordinator.log"
        proc = self.spawn("coordinator", ["coordinator", "serve", "--port", str(self.port)], log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the coordinator did not start (see {log})")

    def chaos(self, rng: random.Random) -> None:
        """Wait for the planned moment, then SIGKILL the victim's current process once."""
        victim, moment, node, nth, window = self.plan  # type: ignore[misc]
        while not self.stop.wait(0.005):
            if moment == "publish":
                due = "publish" in self.procs
            else:
                due = len(spans(self.audit(node), self.offsets[node], moment)) >= nth
            if due:
                time.sleep(rng.uniform(0, window))
                proc = self.procs[node if victim == "node" else victim]
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    self.killed = proc
                return

    def snapshot(self) -> tuple[bool, str, list[tuple[int, str, bool]]]:
        """Return whether the round is done, its state as a line, and its open attempts
        (round, description, whether every member has sent what the attempt's phase asks)."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30) as con:
            missing = con.execute(
                "SELECT COUNT(*) FROM tasks t WHERE NOT EXISTS"
                " (SELECT 1 FROM results r WHERE r.task_id = t.id)"
            ).fetchone()[0]
            rounds = {r for (r,) in con.execute("SELECT DISTINCT round_id FROM tasks")}
            rows = con.execute(
                "SELECT a.round_id, a.area, a.attempt, a.state, a.members,"
                " SUM(m.kind = 'key'), SUM(m.kind = 'share') FROM agg_attempts a"
                " LEFT JOIN agg_messages m ON m.attempt_id = a.id GROUP BY a.id ORDER BY a.id"
            ).fetchall()
        latest = {(r[0], r[1]): r[3] for r in rows}
        done = not missing and {r for r, _ in latest} == rounds
        done = done and all(state == "done" for state in latest.values())
        line, stuck = f"{missing} tasks unanswered;", []
        for round_id, area, attempt, state, members, keys, shares in rows:
            line += f" r{round_id} {area}#{attempt} {state} {keys or 0}k{shares or 0}s"
            got, size = (
                {"keys": keys or 0, "shares": shares or 0}.get(state),
                len(json.loads(members)),
            )
            if got is not None:  # open: a stall if the next poll moves nothing
                stuck.append(
                    (round_id, f"r{round_id} {area}#{attempt} {state} {got}/{size}", got == size)
                )
        return done, line, stuck

    def run(self, rng: random.Random) -> str | None:
        """Drive the round to the end and publish; return why not, or None."""
        chaos = threading.Thread(target=self.chaos, args=(rng,)) if self.plan else None
        if chaos:
            chaos.start()
        try:
            self.start_coordinator()
            done, before, stuck = self.snapshot()
            while not done:
                if self.polls == MAX_POLLS:
                    return f"not done after {MAX_POLLS} polls: {before}"
                self.polls += 1
                procs = {
                    n: self.spawn(
                        n, ["node", "serve", "--once", "--config", str(c)], c.parent / "serve.log"
                    )
                    for n, c in self.configs.items()
                }
                codes = {n: proc.wait() for n, proc in procs.items()}
                if self.procs["coordinator"].poll() is not None:
                    self.start_coordinator()
                done, after, stuck = self.snapshot()
                with (self.folder / "trial.log").open("a", encoding="utf-8") as log:
                    log.write(f"poll {self.polls}: exits {codes}; {after}\n")
                if not done and after == before and not any(codes.values()):
                    # Every node polled and nothing moved: restart the stalled attempts.
                    self.stalls.append(", ".join(text for _, text, _ in stuck))
                    self.all_in += sum(full for _, _, full in stuck)
                    self.waiting += sum(not full for _, _, full in stuck)
                    for round_id in sorted({round_id for round_id, _, _ in stuck}):
                        args = ["round", "aggregate", str(round_id), "--restart"]
                        subprocess.run(LHS + args, env=self.env, capture_output=True, check=False)
                before = after
            for _ in range(3):
                self.publishes += 1
                started = time.perf_counter()
                out = ["coordinator", "publish", "--out", str(self.folder / "factsheets")]
                if self.spawn("publish", out, self.folder / "publish.log").wait() == 0:
                    self.publish_seconds = time.perf_counter() - started
                    return None
            return "publish failed 3 times (see publish.log)"
        finally:
            self.stop.set()
            if chaos:
                chaos.join()
            self.procs["coordinator"].terminate()
            self.procs["coordinator"].wait()

    def results(self) -> dict[tuple[int, str], list[str]]:
        """Return the content hash of every result stored, per round and node."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as con:
            rows = con.execute(
                "SELECT t.round_id, t.node_id, r.content_hash FROM tasks t"
                " LEFT JOIN results r ON r.task_id = t.id"
            ).fetchall()
        out: dict[tuple[int, str], list[str]] = {}
        for round_id, node_id, content in rows:
            out.setdefault((round_id, node_id), []).extend([content] if content else [])
        return out

    def factsheets(self) -> dict[str, bytes]:
        root = self.folder / "factsheets"
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}

    def logs_failing(self) -> list[str]:
        """Return the nodes whose audit log does not verify, with the reason."""
        procs = {
            n: subprocess.Popen(
                [*LHS, "node", "log", "--verify", "--config", str(c)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n, c in self.configs.items()
        }
        return [f"{n}: {p.communicate()[1].strip()[-160:]}" for n, p in procs.items() if p.wait()]


def json_diff(a: bytes, b: bytes) -> str:
    """Return the first path at which two JSON documents differ."""

    def walk(x, y, where):
        if type(x) is not type(y) or (isinstance(x, list) and len(x) != len(y)):
            return f"{where or '/'}: {str(x)[:40]} != {str(y)[:40]}"
        if isinstance(x, dict):
            keys = sorted(set(x) | set(y))
            return next((f for k in keys if (f := walk(x.get(k), y.get(k), f"{where}/{k}"))), None)
        if isinstance(x, list):
            pairs = enumerate(zip(x, y, strict=True))
            return next((f for i, (u, v) in pairs if (f := walk(u, v, f"{where}[{i}]"))), None)
        return None if x == y else f"{where}: {x!r} != {y!r}"

    return walk(json.loads(a), json.loads(b), "") or "the same JSON in other bytes"


def check(trial: Trial, expected: dict, sheets: dict[str, bytes]) -> dict[str, str | None]:
    """Run the three checks; return each one's failure, or None when it passes."""
    found = trial.results()
    bad = [f"{k}: {len(v)} stored" for k, v in found.items() if len(v) != 1]
    bad += [
        f"{k}: not the reference's" for k, v in found.items() if len(v) == 1 and v != expected[k]
    ]
    got = trial.factsheets()
    differ = [f"{n}: missing or extra" for n in sorted(set(got) ^ set(sheets))]
    differ += [
        f"{n}: {json_diff(sheets[n], got[n])}"
        for n in sorted(set(got) & set(sheets))
        if got[n] != sheets[n]
    ]
    logs = trial.logs_failing()
    return {
        "results": "; ".join(bad) or None,
        "factsheets": f"{len(differ)} differ, first {differ[0]}" if differ else None,
        "logs": "; ".join(logs) or None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--persons", type=int, default=3000)
    parser.add_argument("--only", type=int, nargs="+", help="Run only these trials.")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    world, params = args.workdir / "world", {"persons": args.persons, "seed": args.seed}
    if not world.exists():
        prepare(world, args.persons, args.seed)
        (world / "params.json").write_text(json.dumps(params), encoding="utf-8")
    elif json.loads((world / "params.json").read_text(encoding="utf-8")) != params:
        sys.exit(f"{world} was prepared with another --persons or --seed")
    shutil.rmtree(args.workdir / "reference", ignore_errors=True)
    reference = Trial(world, args.workdir / "reference", None)
    if (why := reference.run(random.Random())) is not None:
        sys.exit(f"the undisturbed run failed: {why}")
    expected, sheets = reference.results(), reference.factsheets()
    if any(len(v) != 1 for v in expected.values()) or reference.logs_failing():
        sys.exit("the undisturbed run left a missing result or a log that does not verify")
    windows = {
        (n, m): spans(reference.audit(n), reference.offsets[n], m)[:2]  # the first two at most
        for n in reference.configs
        for m in START
    }
    print(
        f"reference: {len(expected)} results, {len(sheets)} factsheet JSON files,"
        f" {reference.polls} polls, stalls {reference.stalls or 'none'},"
        f" {time.perf_counter() - started:.0f}s",
        flush=True,
    )
    plans = [PLANS[i % len(PLANS)] for i in range(args.trials)]
    random.Random(args.seed).shuffle(plans)
    rows: dict[tuple[str, str], Counter] = {}
    failures, extra = [], Counter()
    for number in args.only or range(args.trials):
        rng = random.Random(f"{args.seed}:{number}")
        victim, moment = plans[number]
        node = rng.choice(list(reference.configs))
        nth = rng.randint(1, len(windows[(node, moment)])) if moment != "publish" else 1
        window = (
            reference.publish_seconds if moment == "publish" else windows[(node, moment)][nth - 1]
        )
        folder = args.workdir / f"trial-{number:02d}"
        shutil.rmtree(folder, ignore_errors=True)
        trial = Trial(world, folder, (victim, moment, node, nth, window))
        t0 = time.perf_counter()
        try:
            why = trial.run(rng)
        except (OSError, RuntimeError, sqlite3.Error) as exc:  # one broken trial, not the run
            why = f"{type(exc).__name__}: {exc}"
        landed = trial.killed is not None and trial.killed.wait() == -signal.SIGKILL
        reasons = check(trial, expected, sheets) if why is None else {"round": why}
        failed = {name: reason for name, reason in reasons.items() if reason}
        row = rows.setdefault((victim, moment), Counter())
        row.update(trials=1, killed=landed, passed=not failed, stalled=bool(trial.stalls))
        for name in ("results", "factsheets", "logs"):
            row[name] += why is None and not reasons[name]
        extra.update(
            polls=trial.polls,
            starts=trial.coordinator_starts,
            publishes=trial.publishes,
            all_in=trial.all_in,
            waiting=trial.waiting,
        )
        who = f"node {node}" if victim == "node" else victim
        stalls = "; ".join(trial.stalls)
        print(
            f"trial {number:2d}: kill {who} mid-{moment} (#{nth}, within {window:.2f}s):"
            f" {'killed' if landed else 'missed'}, {trial.polls} polls,"
            f" {trial.coordinator_starts} coordinator starts, {trial.publishes} publish runs,"
            f" {'FAIL' if failed else 'ok'} ({time.perf_counter() - t0:.0f}s)"
            + (f"; stalled: {stalls}" if stalls else ""),
            flush=True,
        )
        failures += [f"trial {number} ({who} mid-{moment}): {k}: {v}" for k, v in failed.items()]
    columns = ("trials", "killed", "results", "factsheets", "logs", "passed", "stalled")
    print(f"\n{'victim':<12} {'moment':<12}" + "".join(f" {c:>10}" for c in columns))
    total = Counter()
    for (victim, moment), row in sorted(rows.items()):
        total.update(row)
        print(f"{victim:<12} {moment:<12}" + "".join(f" {row[c]:>10}" for c in columns))
    print(f"{'all':<25}" + "".join(f" {total[c]:>10}" for c in columns))
    print(
        f"polls {extra['polls']} (reference {reference.polls}), coordinator starts"
        f" {extra['starts']}, publish runs {extra['publishes']};"
        f" wall {time.perf_counter() - started:.0f}s (seed {args.seed})"
    )
    print(
        f"stalls (a poll of every node moved nothing; `round aggregate --restart`): open attempts"
        f" with every member's key or share stored {extra['all_in']}"
        f" (reference {reference.all_in}), waiting for a member {extra['waiting']}"
    )
    for line in failures:
        print(f"FAILED {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
