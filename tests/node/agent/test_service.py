"""`lhs node serve`: the scheduled cycle, backing off while the coordinator is away."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from node.agent import Agent, Service, backoff_delay
from node.config import load_config
from tests.node.agent.fakecoord import NODE


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [backoff_delay(n, 300, 3600) for n in range(1, 8)]
    assert delays == [300, 600, 1200, 2400, 3600, 3600, 3600]


def _wait(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_serve_polls_backs_off_and_catches_up(enrolled: Path, fake, library_spec) -> None:
    agent = Agent(load_config(enrolled))  # poll_interval 1 s, max_backoff 4 s, no jitter
    service = Service(agent)
    fake.stop()
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: service.failures >= 2)
        job = service.scheduler.get_job("lhs-node-cycle")
        assert job.trigger.interval.total_seconds() == 2  # 1 s, doubled after the second failure
        task_id = fake.issue(fake.task(NODE, library_spec))["payload"]["task_id"]
        fake.start()
        _wait(lambda: task_id in fake.results)
        _wait(lambda: service.failures == 0)
        assert service.scheduler.get_job("lhs-node-cycle").trigger.interval.total_seconds() == 1
    finally:
        service.stop()
        thread.join(timeout=10)
        agent.close()
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("coordinator: http://coord.example.org\n", "plain http"),
        ("coordinator: ftp://localhost\n", "not an http(s) URL"),
        ("node_id: 'a/b'\n", "node_id must be"),
        ("policy: {auto_run_library: yes please}\n", "policy.auto_run_library must be true or"),
        ("policy: {run_everything: true}\n", "unknown policy setting 'run_everything'"),
        ("policy: true\n", "policy must be a mapping"),
        ("poll_interval: 0\n", "poll_interval must be above 0 seconds"),
        ("jitter: -1\n", "jitter must be at least 0 seconds"),
        ("max_backoff: soon\n", "max_backoff must be a number of seconds"),
        ("enrolment_code: abc\n", "secrets never go in node.yaml"),
        ("keys: null\n", "keys must be text"),
    ],
)
def test_agent_settings_are_checked(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "node.yaml"
    path.write_text(text)
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_agent_settings_and_their_defaults(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "node.yaml"
    path.parent.mkdir()
    path.write_text("coordinator: https://coord.example.org/\nnode_id: ziekenhuis-a\nkeys: /k\n")
    config = load_config(path)
    assert config.coordinator == "https://coord.example.org"
    assert (config.keys, config.state) == ("/k", str(path.parent / "state"))
    assert config.policy.auto_run_library is True
    assert (config.poll_interval, config.jitter, config.max_backoff) == (300, 30, 3600)
