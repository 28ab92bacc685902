"""This extension's monitoring records, the pure core: what the failure agent sends to DIRAC's Monitoring system.

Two monitoring types (their DIRAC classes are ``CTAODIRAC.MonitoringSystem.Client.Types``; see
``docs/monitoring.md``):

- ``FailureDecisions``: one record per decision of the failure-management agent;
- ``ProductionProgress``: per cycle, one record per file status of each transformation looked at.

Nothing here imports DIRAC: :mod:`.records` turns decisions and file counts into records (plain dicts),
:mod:`.pending` keeps the records not sent yet in a file, so that they survive a restart of the agent and are
sent by a later cycle.
"""

from __future__ import annotations

from .pending import MAX_PENDING, PendingRecords, trim
from .records import (
    DECISION_KEY_FIELDS,
    DECISION_MONITORING_FIELDS,
    DECISIONS_TYPE,
    NONE,
    PROGRESS_KEY_FIELDS,
    PROGRESS_MONITORING_FIELDS,
    PROGRESS_TYPE,
    TYPES,
    TransformationInfo,
    decision_records,
    epoch_ms,
    progress_records,
)

__all__ = [
    "DECISIONS_TYPE",
    "DECISION_KEY_FIELDS",
    "DECISION_MONITORING_FIELDS",
    "MAX_PENDING",
    "NONE",
    "PROGRESS_KEY_FIELDS",
    "PROGRESS_MONITORING_FIELDS",
    "PROGRESS_TYPE",
    "TYPES",
    "PendingRecords",
    "TransformationInfo",
    "decision_records",
    "epoch_ms",
    "progress_records",
    "trim",
]
