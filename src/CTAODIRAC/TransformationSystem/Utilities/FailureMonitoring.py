"""Sending the failure agent's monitoring records through DIRAC's ``MonitoringReporter`` (docs/monitoring.md).

The records (``CTAODIRAC.Core.Monitoring``) are made by the pure core; this module is the edge: which types are
switched on (``Operations/<...>/MonitoringBackends/<Type>`` names ``Monitoring``, DIRAC's own switch), the
reporter, and the file of records waiting to be sent.

DIRAC's reporter writes to OpenSearch directly when its process connected to it when ``MonitoringDB`` was first
imported, otherwise through the Monitoring service (``Monitoring/Monitoring``, method ``put``). When the put
fails it keeps the records in the reporter's memory (or a message queue, when one is configured, which is not
the case here), and a restarted agent would lose them: so each cycle gives the reporter the records waiting in
the agent's pending file first, then its own, and writes back to the file what the reporter did not send
(``commit`` sends in order and returns how many it sent). Nothing here raises into the agent's cycle: its
decisions are recorded and applied before, whatever happens to OpenSearch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from CTAODIRAC.Core.Monitoring import PROGRESS_TYPE, TYPES, PendingRecords

__all__ = ["PENDING_FILE", "MonitoringSender", "SendReport"]

#: The file of records waiting to be sent, in the agent's work directory.
PENDING_FILE = "monitoring-pending.jsonl"


@dataclass
class SendReport:
    """What one send did."""

    sent: int = 0
    pending: int = 0
    dropped: int = 0
    skipped_lines: int = 0
    errors: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"{self.sent} monitoring records sent, {self.pending} waiting"
        if self.dropped:
            text += f", {self.dropped} dropped (more than the pending file keeps)"
        if self.skipped_lines:
            text += f", {self.skipped_lines} unreadable lines of the pending file skipped"
        return text


def _reporter(type_name: str) -> Any:
    from DIRAC.MonitoringSystem.Client.MonitoringReporter import MonitoringReporter

    return MonitoringReporter(monitoringType=type_name)


def _answers(reporter: Any) -> bool:
    """False when the reporter writes to OpenSearch directly and the node does not answer a ping: DIRAC's
    reporter would try 10 times, logging a traceback each time, before keeping the records."""
    from DIRAC.Core.Utilities.ElasticSearchDB import ElasticSearchDB

    db = getattr(reporter, "monitoringDB", None)
    if not isinstance(db, ElasticSearchDB):
        return True  # the Monitoring service's client: DIRAC's reporter tries it (10 calls of ~50 ms)
    result = db.pingDB()
    return bool(result["OK"] and result["Value"])


def _enabled_types() -> set[str]:
    from DIRAC.ConfigurationSystem.Client.Helpers.Operations import Operations

    ops = Operations()
    return {name for name in TYPES if "Monitoring" in ops.getMonitoringBackends(monitoringType=name)}


class MonitoringSender:
    """Sends records of this extension's monitoring types; keeps what could not be sent in ``pending_file``."""

    def __init__(
        self,
        pending_file: Path | str,
        reporter: Callable[[str], Any] = _reporter,
        enabled_types: Callable[[], set[str]] = _enabled_types,
        answers: Callable[[Any], bool] = _answers,
    ):
        self.pending = PendingRecords(pending_file, expendable=(PROGRESS_TYPE,))
        self._reporter = reporter
        self._enabled_types = enabled_types
        self._answers = answers

    def send(self, records: Iterable[tuple[str, dict[str, Any]]]) -> SendReport:
        """Send the records waiting, then ``records`` (``(type, record)``), in order; keep the rest for later.

        Records of a type whose monitoring backend is not ``Monitoring`` are neither sent nor kept. When a type's
        records cannot be sent at all, the types after it are not tried in this cycle (the cause is most likely
        common: OpenSearch or the Monitoring service down).
        """
        enabled = self._enabled_types()
        with self.pending.locked():
            return self._send(enabled, records)

    def _send(self, enabled: set[str], records: Iterable[tuple[str, dict[str, Any]]]) -> SendReport:
        waiting, skipped_lines = self.pending.load()
        queue = [(name, record) for name, record in [*waiting, *records] if name in enabled]
        report = SendReport(skipped_lines=skipped_lines)
        left: list[tuple[str, dict[str, Any]]] = []
        errors: list[str] = []
        unreachable = False
        for name in TYPES:
            batch = [record for type_name, record in queue if type_name == name]
            if not batch:
                continue
            sent = 0
            if not unreachable:
                try:
                    sent = self._commit(name, batch)
                except Exception as exc:  # noqa: BLE001 - a failed send must never fail the agent's cycle
                    errors.append(f"{name}: {exc!r}")
                unreachable = sent == 0
            report.sent += sent
            left.extend((name, record) for record in batch[sent:])
        report.dropped = self.pending.save(left)
        report.pending = len(left) - report.dropped
        report.errors = tuple(errors)
        return report

    def _commit(self, name: str, batch: list[dict[str, Any]]) -> int:
        """Give ``batch`` to a new reporter of type ``name`` and commit; the number of records it sent (from
        the first: DIRAC's reporter sends in order and stops at the first bundle it could not send)."""
        reporter = self._reporter(name)
        if not self._answers(reporter):
            raise RuntimeError("OpenSearch does not answer")
        for record in batch:
            reporter.addRecord(record)
        result = reporter.commit()
        if not result["OK"]:
            raise RuntimeError(result["Message"])
        return max(0, min(int(result["Value"]), len(batch)))
