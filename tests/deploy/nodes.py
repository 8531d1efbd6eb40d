"""The smoke test's three nodes: configured from ``deploy/node/node.yaml``, enrolled over
HTTPS trusting the throwaway CA, and served with the systemd unit's own command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
import yaml

from demo.synth import generate

from .stack import DEPLOY, clean_env, lhs, start, stop, wait_until
from .topology import NODES, Topology

__all__ = ["enrol_nodes", "serve_nodes", "unit_command"]


def unit_command() -> list[str]:
    """Return the arguments after ``lhs`` in the node unit's ExecStart."""
    unit = (DEPLOY / "node" / "lhs-node.service").read_text(encoding="utf-8")
    (line,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    program, *args = line.removeprefix("ExecStart=").split()
    assert program.endswith("/bin/lhs") and args[-2] == "--config", line
    return args


def _config(topology: Topology, folder: Path, node_id: str, extract: Path) -> Path:
    """Write a node.yaml: deploy's example with this node's coordinator, id, CA and paths."""
    settings = yaml.safe_load((DEPLOY / "node" / "node.yaml").read_text(encoding="utf-8"))
    settings.update(
        coordinator=topology.url,
        node_id=node_id,
        ca_bundle=str(topology.certs.ca),
        data=str(extract),
        keys="keys",
        state="state",
        poll_interval=1,
        jitter=0,
        max_backoff=2,
    )
    path = folder / "node.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def enrol_nodes(topology: Topology, root: Path) -> dict[str, Path]:
    """Write each node's extract and config and enrol it (all three at once)."""
    configs, enrolling = {}, []
    for i, node_id in enumerate(NODES):
        folder = root / node_id
        generate(1_000 + 300 * i, seed=60 + i, out=folder / "extract", fmt="csv")
        configs[node_id] = _config(topology, folder, node_id, folder / "extract")
        env = clean_env(LHS_ENROLMENT_CODE=topology.codes[node_id])
        command = [sys.executable, "-m", "lhs", "node", "enrol", "--config", str(configs[node_id])]
        enrolling.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True,
                                          stderr=subprocess.STDOUT))  # fmt: skip
    for node_id, process in zip(NODES, enrolling, strict=True):
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0 and f"enrolled: node {node_id}" in output, output
    lhs(clean_env(), "node", "check-install", "--config", str(configs["zh-noord"]))
    return configs


def _round_done(topology: Topology, round_id: int) -> bool:
    """Whether every node answered the round and every aggregation group is done."""
    engine = sa.create_engine(topology.db.url)
    try:
        with engine.connect() as c:
            unanswered = c.scalar(
                sa.text(
                    "SELECT count(*) FROM tasks LEFT JOIN results ON results.task_id = tasks.id"
                    " WHERE tasks.round_id = :r AND results.id IS NULL"
                ),
                {"r": round_id},
            )
            states = list(
                c.scalars(
                    sa.text("SELECT state FROM agg_attempts WHERE round_id = :r"), {"r": round_id}
                )
            )
    finally:
        engine.dispose()
    return unanswered == 0 and states.count("done") >= 2 and not {"keys", "shares"} & set(states)


def serve_nodes(topology: Topology, configs: dict[str, Path], round_id: int) -> None:
    """Serve every node as its unit does until the round is answered and summed; stop them."""
    args = unit_command()
    processes = {}
    for node_id, config in configs.items():
        command = [sys.executable, "-m", "lhs", *args[:-1], str(config)]
        processes[node_id] = start(command, config.parent / "serve.log", clean_env(), config.parent)
    logs = [config.parent / "serve.log" for config in configs.values()]
    try:
        wait_until("round answered and aggregated", lambda: _round_done(topology, round_id), 180,
                   *logs)  # fmt: skip
    finally:
        statuses = {node_id: stop(process) for node_id, process in processes.items()}
    # SIGTERM, as systemd stops the unit: the agent finishes its cycle and exits cleanly.
    assert statuses == dict.fromkeys(configs, 0), statuses
