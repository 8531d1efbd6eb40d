"""The demo's nodes: each provider's extract and node.yaml, enrolled, and its agent in a
process of its own (``demo/node_process.py``) that polls when asked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, suppress
from pathlib import Path

import yaml

from node.agent import enrol
from node.config import load_config
from protocol import K_FLOOR, LhsError

from .progress import say, since
from .synth import generate
from .world import PROVIDERS, DemoProvider

__all__ = ["NodeProcess", "extract_size", "make_node", "poll_all", "start_nodes"]


def extract_size(provider: DemoProvider, persons: int) -> int:
    """Return the persons in a provider's extract, given those of a mid-sized provider."""
    return max(int(persons * provider.size), 500)


def make_node(folder: Path, provider: DemoProvider, persons: int, seed: int, url: str) -> Path:
    """Write a provider's extract and node.yaml; return the config path."""
    extract = folder / "extract"
    generate(
        extract_size(provider, persons),
        seed=seed,
        out=extract,
        fmt="parquet",
        site_effect=provider.site_effect,
    )
    config = folder / "node.yaml"
    settings = {
        "coordinator": url,
        "node_id": provider.node_id,
        "keys": "keys",
        "state": "state",
        "data": str(extract.resolve()),
        "min_cell": K_FLOOR,
        "policy": {"auto_run_library": True},
    }
    config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return config


class NodeProcess:
    """One node's agent, running in its own process until the demo closes it
    (``demo/node_process.py``)."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.node_id = config.parent.name
        self.log = config.parent / "serve.log"
        with self.log.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "demo.node_process", str(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def poll(self, last: bool = False) -> tuple[str, str]:
        """Run one cycle (the ``last``: then stop); return its summary and the seconds it took."""
        started = time.perf_counter()
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write("poll\n")
            stdin.flush()
            answer = stdout.readline().strip()
        except OSError:  # the process ended before it was asked
            answer = ""
        status, _, summary = answer.partition(" ")
        if status != "ok":
            raise LhsError(f"node {self.node_id} failed: {self._last_log_line()}")
        took = since(started)
        if last:
            self.stop()  # it closes and exits while the others poll
        return summary, took

    def _last_log_line(self) -> str:
        with suppress(subprocess.TimeoutExpired):  # a process still running is ended at close
            self.process.wait(timeout=30)
        lines = self.log.read_text(encoding="utf-8").strip().splitlines()
        last = lines[-1].removeprefix("lhs: error: ") if lines else "no output"
        return f"{last} (see {self.log})"

    def stop(self) -> None:
        """Ask the agent to close its state and exit (its stdin ends), without waiting."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with suppress(OSError):  # it has ended already
                self.process.stdin.close()

    def close(self) -> None:
        """Stop the agent and wait for it; end it if it does not exit within 30 s."""
        try:
            self.stop()
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def poll_all(nodes: Sequence[NodeProcess], last: bool = False) -> None:
    """Let every node run one cycle, as many at once as there are cores."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        answers = pool.map(lambda node: node.poll(last), nodes)
        for node, (summary, took) in zip(nodes, answers, strict=True):
            say(f"  node {node.node_id} ({took}): {summary}")


def start_nodes(
    stack: ExitStack, folder: Path, persons: int, seed: int, codes: dict[str, str], url: str
) -> list[NodeProcess]:
    """Write each provider's extract, enrol its node and start its agent's process."""
    step = time.perf_counter()
    nodes: list[NodeProcess] = []
    for i, provider in enumerate(PROVIDERS):
        config = make_node(folder / provider.node_id, provider, persons, seed + i, url)
        enrolled = enrol(load_config(config), codes[provider.node_id])
        # Started now, so its start-up overlaps the next provider's extract.
        nodes.append(stack.enter_context(closing(NodeProcess(config))))
        say(
            f"node {provider.node_id}: extract of {extract_size(provider, persons):,} persons"
            f" written, enrolled ({enrolled.node_key_id}), agent started"
        )
    say(f"  {len(nodes)} extracts written, nodes enrolled in {since(step)}")
    return nodes
