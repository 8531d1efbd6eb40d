"""Write a node's report: one static HTML page (Jinja2, autoescaped) and the exact bytes sent.

The page carries its own CSS and nothing else (no script, no external resource; its
Content-Security-Policy says so), so it can be opened from a file share or mailed.  Each
message sent is also written as its own file, byte for byte, for anyone to hash again.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..errors import NodeError
from .gather import NodeReport, group_name

__all__ = ["render_page", "write_report"]

PAGE = "report.html"
SENT = "sent"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("node.report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["group"] = group_name
    return env


def render_page(report: NodeReport) -> str:
    """Return the report's HTML page."""
    return _environment().get_template(PAGE).render(report=report, sent_folder=SENT)


def _write(path: Path, data: bytes) -> None:
    # Whole files only: a reader never sees half a report.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report: NodeReport, out: Path) -> Path:
    """Write the page and the bytes of every message into ``out``; return the page's path."""
    if out.exists() and not out.is_dir():
        raise NodeError(f"{out} is a file, not a folder")
    try:
        (out / SENT).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NodeError(f"cannot create the report folder {out}: {exc.strerror}") from None
    for message in [*report.sent, *report.waiting]:
        _write(out / SENT / message.name, message.body)
    page = out / "index.html"
    _write(page, render_page(report).encode("utf-8"))
    return page
