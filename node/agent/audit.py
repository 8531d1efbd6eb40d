"""The node's audit log: append-only JSON Lines, each record chained to the one before.

Every record carries ``prev``, the SHA-256 of the previous line's bytes, so an
edited, inserted or removed line breaks the chain at that point.  A small head
file beside the log remembers the size of the log and the hash of its last
line, so cutting lines off the end or editing the last line shows too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one agent process per state folder
    fcntl = None  # type: ignore[assignment]

from protocol import write_time

from ..private import private_file

__all__ = ["GENESIS", "AuditLog", "digest", "now_text"]

GENESIS = "sha256:" + "0" * 64
"""The ``prev`` of the first record."""


def now_text() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds and a Z."""
    return write_time(datetime.now(UTC), millis=True)


def digest(data: bytes) -> str:
    """Return ``sha256:`` and the hex SHA-256 of bytes (a line's chain hash, a body's hash)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Problem:
    """One break of the chain, with its 1-based line number."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class AuditLog:
    """An append-only, hash-chained JSON Lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Any]:
        private_file(self.path)
        # The agent and an admin's command may append at the same moment: one writer at a time.
        with open(self.path, "ab+") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _last_line(handle: Any) -> bytes | None:
        end = handle.seek(0, os.SEEK_END)
        if end == 0:
            return None
        block, data = 4096, b""
        position = end
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
            if data.rstrip(b"\n").count(b"\n") >= 1:
                break
        return data.rstrip(b"\n").rsplit(b"\n", 1)[-1]

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record (time, event, fields, prev) and make it durable."""
        with self._locked() as handle:
            last = self._last_line(handle)
            record = {"time": now_text(), "event": event, **fields}
            record["prev"] = GENESIS if last is None else digest(last)
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            end = handle.seek(0, os.SEEK_END)
            if end:
                handle.seek(end - 1)
                if handle.read(1) != b"\n":
                    line = b"\n" + line  # a torn write stays visible as a bad line
            handle.seek(0, os.SEEK_END)
            handle.write(line + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
            self._write_head(handle.tell(), digest(line.lstrip(b"\n")))
        return record

    def _write_head(self, size: int, last: str) -> None:
        tmp = private_file(self.head_path.with_name(self.head_path.name + ".tmp"))
        tmp.write_text(json.dumps({"size": size, "last": last}) + "\n", encoding="utf-8")
        os.replace(tmp, self.head_path)

    def records(self) -> list[dict[str, Any]]:
        """Return every record that parses (for display; ``verify`` judges the file)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_bytes().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def verify(self) -> tuple[int, list[Problem]]:
        """Check the chain and the head; return the number of records and every problem."""
        if not self.path.exists():
            return 0, []
        data = self.path.read_bytes()
        problems: list[Problem] = []
        prev, offset = GENESIS, 0
        ends: dict[int, tuple[int, str]] = {}
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        else:
            problems.append(Problem(len(lines), "the last line is incomplete (no newline)"))
        for number, line in enumerate(lines, start=1):
            offset += len(line) + 1
            ends[offset] = (number, digest(line))
            try:
                record = json.loads(line)
                claimed = record["prev"]
            except (ValueError, TypeError, KeyError):
                problems.append(Problem(number, "not a JSON record with a 'prev' hash"))
            else:
                if claimed != prev:
                    problems.append(
                        Problem(
                            number,
                            "'prev' does not match the SHA-256 of the line before"
                            " (a line was edited, inserted or removed)",
                        )
                    )
            prev = digest(line)
        problems += self._check_head(len(data), ends, len(lines))
        return len(lines), problems

    def _check_head(self, size: int, ends: dict[int, tuple[int, str]], count: int) -> list[Problem]:
        try:
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
            head_size, head_last = int(head["size"]), str(head["last"])
        except FileNotFoundError:
            return (
                [Problem(count, f"the head file {self.head_path.name} is missing")] if count else []
            )
        except (OSError, ValueError, TypeError, KeyError):
            return [Problem(count, f"the head file {self.head_path.name} is unreadable")]
        if head_size > size:
            return [
                Problem(
                    count,
                    f"the log is shorter than recorded ({size} < {head_size} bytes):"
                    " lines were removed from its end",
                )
            ]
        if head_size not in ends:
            return [Problem(count, "the recorded end of the log is not at a line end: edited")]
        number, digest = ends[head_size]
        if digest != head_last:
            return [Problem(number, "the line differs from the recorded last line: edited")]
        return []
