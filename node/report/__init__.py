"""The node's report for its own people: what arrived, ran, was sent, held or declined.

``gather`` reads the agent's state read-only; ``render`` writes one static page with
Jinja2 (and the exact bytes sent, one file each); ``command`` is ``lhs node report``.
"""

from .command import report_command

__all__ = ["report_command"]
