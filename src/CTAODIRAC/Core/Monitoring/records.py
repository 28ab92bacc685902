"""Monitoring records of the failure agent: its decisions and the progress of the transformations it looks at.

A record is a flat dict as DIRAC's ``MonitoringReporter`` sends it: ``timestamp`` (epoch milliseconds, the time
of the agent's cycle), the type's key fields (strings: what plots group and select by) and its monitoring fields
(numbers: what plots add up). Each record also carries ``_id``, a digest of what identifies it, which OpenSearch
takes as the document's ID (``opensearch-py``'s bulk helper moves ``_id`` out of the document): a record sent
twice (a send that timed out after OpenSearch stored it, then sent again from the pending file) is stored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from CTAODIRAC.Core.Failures.decisions import Decision

__all__ = [
    "DECISIONS_TYPE",
    "DECISION_KEY_FIELDS",
    "DECISION_MONITORING_FIELDS",
    "NONE",
    "PROGRESS_KEY_FIELDS",
    "PROGRESS_MONITORING_FIELDS",
    "PROGRESS_TYPE",
    "TYPES",
    "TransformationInfo",
    "decision_records",
    "epoch_ms",
    "progress_records",
]

#: The monitoring type of the failure agent's decisions (the name of its DIRAC class and of its indices).
DECISIONS_TYPE = "FailureDecisions"
#: The monitoring type of the transformations' progress: files per status, per cycle.
PROGRESS_TYPE = "ProductionProgress"
TYPES = (DECISIONS_TYPE, PROGRESS_TYPE)

#: What a key field holds when it does not apply (a flush has no class or site, a production decision no
#: transformation): plots show it as a group of its own, and a selection can name it.
NONE = "none"

#: ``FailureDecisions``: what a decision is about.
DECISION_KEY_FIELDS = (
    "Production", "Transformation", "TransformationType", "Action", "Class", "Rule", "Site", "Mode", "Agent",
)  # fmt: skip
#: ``FailureDecisions``: ``Decisions`` is 1 per record (summed: the number of decisions); ``Files`` the number of
#: files the decision is about (retried, given up, kept away from a site, beyond the input limit).
DECISION_MONITORING_FIELDS = ("Decisions", "Files")

#: ``ProductionProgress``: which transformation and which file status.
PROGRESS_KEY_FIELDS = ("Production", "Transformation", "TransformationType", "TransformationStatus", "Status", "Agent")
#: ``ProductionProgress``: the number of the transformation's files in that status at the cycle's time.
PROGRESS_MONITORING_FIELDS = ("Files",)


@dataclass(frozen=True)
class TransformationInfo:
    """What the records say about a transformation besides its ID."""

    production_id: int | None = None
    type: str = ""
    status: str = ""


def epoch_ms(moment: datetime) -> int:
    """``moment`` (naive: UTC) as epoch milliseconds, the unit of DIRAC's monitoring ``timestamp``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _text(value: Any) -> str:
    return NONE if value is None or value == "" else str(value)


def _document_id(type_name: str, *parts: Any) -> str:
    return hashlib.sha1("\n".join([type_name, *(str(p) for p in parts)]).encode()).hexdigest()


def decision_records(
    decisions: Iterable[Decision],
    when: datetime,
    *,
    agent: str,
    report_only: bool,
    transformations: Mapping[int, TransformationInfo] | None = None,
) -> list[dict[str, Any]]:
    """One ``FailureDecisions`` record per decision recorded in a cycle at ``when``.

    ``transformations`` gives the type (and, when a decision does not name it, the production) of each
    transformation; ``report_only``: the agent only recorded the decisions (``Mode`` report-only) or also
    applied them (acting).
    """
    infos = transformations or {}
    stamp = epoch_ms(when)
    records = []
    for decision in decisions:
        info = infos.get(decision.transformation_id, TransformationInfo()) if decision.transformation_id else None
        production = decision.production_id if decision.production_id is not None else (info and info.production_id)
        records.append(
            {
                "timestamp": stamp,
                "Production": _text(production),
                "Transformation": _text(decision.transformation_id),
                "TransformationType": _text(info.type if info else ""),
                "Action": decision.kind.value,
                "Class": _text(decision.failure_class.value if decision.failure_class else ""),
                "Rule": _text(decision.rule),
                "Site": _text(decision.site),
                "Mode": "report-only" if report_only else "acting",
                "Agent": _text(agent),
                "Decisions": 1,
                "Files": len(decision.lfns),
                "_id": _document_id(DECISIONS_TYPE, decision.key),
            }
        )
    return records


def progress_records(
    counts: Mapping[int, Mapping[str, int]],
    transformations: Mapping[int, TransformationInfo],
    when: datetime,
    *,
    agent: str,
) -> list[dict[str, Any]]:
    """``ProductionProgress`` records at ``when``: one per transformation and file status with files in it
    (``counts``: transformation ID to file status to number of files, as DIRAC's ``getCounters`` gives them)."""
    stamp = epoch_ms(when)
    records = []
    for tid in sorted(counts):
        info = transformations.get(tid, TransformationInfo())
        for status, files in sorted(counts[tid].items()):
            if not files:
                continue
            records.append(
                {
                    "timestamp": stamp,
                    "Production": _text(info.production_id),
                    "Transformation": str(tid),
                    "TransformationType": _text(info.type),
                    "TransformationStatus": _text(info.status),
                    "Status": str(status),
                    "Agent": _text(agent),
                    "Files": int(files),
                    "_id": _document_id(PROGRESS_TYPE, agent, tid, status, stamp),
                }
            )
    return records
