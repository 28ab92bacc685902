"""Monitoring records not sent yet, kept in a file until a later cycle sends them.

The failure agent sends its records at the end of each cycle; what could not be sent (OpenSearch down, the
Monitoring service unreachable) is written to a JSON-lines file in the agent's work directory, one
``{"type": ..., "record": ...}`` per line, and the next cycle sends it first, in order. The file is replaced
atomically (written beside, then renamed), so an agent killed while writing leaves the previous file whole.

Two agents of the same name on one host share the file: :meth:`PendingRecords.locked` keeps the other out between
reading the file and writing it back (an advisory lock on ``<file>.lock``).

At most :data:`MAX_PENDING` records are kept: beyond that, the oldest records of the *expendable* types
(``ProductionProgress``: snapshots, of which the next cycle takes a new one) go first, then the oldest of the
others.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["MAX_PENDING", "PendingRecords", "trim"]

#: Records kept at most (~300 bytes each: ~30 MB). At 30 transformations looked at every 10 minutes, about a week
#: of progress records.
MAX_PENDING = 100_000

Item = tuple[str, dict[str, Any]]


def trim(items: Sequence[Item], limit: int, expendable: Collection[str] = ()) -> tuple[list[Item], int]:
    """``items`` without the oldest beyond ``limit`` (the expendable types' first); and how many were dropped."""
    excess = len(items) - limit
    if excess <= 0:
        return list(items), 0
    dropped: set[int] = set()
    for preferred in (True, False):
        for index, (type_name, _) in enumerate(items):
            if len(dropped) == excess:
                break
            if index not in dropped and (type_name in expendable) == preferred:
                dropped.add(index)
    return [item for index, item in enumerate(items) if index not in dropped], excess


class PendingRecords:
    """The file of records waiting to be sent."""

    def __init__(self, path: Path | str, limit: int = MAX_PENDING, expendable: Collection[str] = ()):
        self.path = Path(path)
        self.limit = limit
        self.expendable = frozenset(expendable)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's lock (waiting for another process that holds it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self) -> tuple[list[Item], int]:
        """The records waiting, oldest first, and the number of unreadable lines skipped (a file cut short)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], 0
        items: list[Item] = []
        bad = 0
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                items.append((str(entry["type"]), dict(entry["record"])))
            except (ValueError, KeyError, TypeError):
                bad += 1
        return items, bad

    def save(self, items: Sequence[Item]) -> int:
        """Keep ``items`` (trimmed to the limit) as the records waiting; return how many were dropped."""
        kept, dropped = trim(items, self.limit, self.expendable)
        if not kept:
            self.path.unlink(missing_ok=True)
            return dropped
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".new")
        with open(partial, "w", encoding="utf-8") as out:
            for type_name, record in kept:
                out.write(json.dumps({"type": type_name, "record": record}, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)
        return dropped
