"""A demo node's agent as its own process: one cycle (``lhs node serve --once``) per line read.

What ``lhs node serve`` does on its timer, done on the demo's word instead: the agent is
opened once, like a serving node's, so each poll pays no start-up.  Its log goes to stderr
(the node's ``serve.log``); each cycle's outcome comes back as one line on stdout.

    python -m demo.node_process NODE_YAML
"""

from __future__ import annotations

import logging
import sys

from node.agent import Agent
from node.config import load_config
from protocol import LhsError


def main(config: str) -> None:
    """Poll once per line on stdin until it closes; answer each with one line."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("node.agent").setLevel(logging.INFO)
    try:
        agent = Agent(load_config(config))
        try:
            for _ in sys.stdin:
                print("ok", agent.poll_once(), flush=True)
        finally:
            agent.close()
    except LhsError as exc:
        print(f"lhs: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main(sys.argv[1])
