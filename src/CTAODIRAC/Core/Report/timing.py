"""Where a job's time went, from its task's creation time and DIRAC's logging records of the job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["PARTS", "JobPhases", "job_phases", "job_times", "parts", "time_split", "epoch"]

#: The parts of a job's life, in order (see :func:`parts`).
PARTS = ("to_job", "queued", "wrapper", "payload", "upload")
#: Where ``dirac-ctao-run-step`` records its own statuses (the source of its logging records).
RUN_STEP = "dirac-ctao-run-step"
FINAL = ("Done", "Failed", "Completed", "Killed")


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def epoch(value: datetime | None) -> float | None:
    """Epoch seconds of a DIRAC time (naive datetimes are UTC, as DIRAC stores them)."""
    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).timestamp()


@dataclass(frozen=True)
class JobPhases:
    """The moments of one job's life (None: not reached or not recorded)."""

    created: datetime | None
    """Its task created by the TransformationAgent."""
    received: datetime | None
    """The job received by DIRAC's JobManager (its first logging record)."""
    matched: datetime | None
    """Matched to a pilot."""
    payload_start: datetime | None
    """``dirac-ctao-run-step`` started the program."""
    payload_end: datetime | None
    """The program ended (the step's next record)."""
    upload_end: datetime | None
    """``dirac-ctao-run-step``'s last record (uploads, registrations, file statuses done)."""
    finished: datetime | None
    """The job's last final status (Done, Failed, Completed, Killed)."""


def job_phases(created: datetime | None, records: Sequence[Sequence[Any]]) -> JobPhases:
    """The phases of one job from DIRAC's logging records ``(status, minor status, application status, time,
    source)`` (as ``JobMonitoringClient.getJobLoggingInfo`` returns them, in order)."""
    times = [(_when(r[3]), str(r[0]), str(r[1]), str(r[2]), str(r[4])) for r in records]
    received = times[0][0] if times else None
    matched = next((t for t, status, *_ in times if status == "Matched"), None)
    finished = next((t for t, status, *_ in reversed(times) if status in FINAL), None)
    start = next((i for i, (_, _, _, app, source) in enumerate(times)
                  if app.startswith("Running ") and RUN_STEP in source), None)  # fmt: skip
    payload_start = payload_end = upload_end = None
    if start is not None and start + 1 < len(times):
        payload_start, payload_end = times[start][0], times[start + 1][0]
        last = max(i for i, row in enumerate(times) if RUN_STEP in row[4])
        upload_end = times[max(last, start + 1)][0]
    return JobPhases(created, received, matched, payload_start, payload_end, upload_end, finished)


def _span(a: Any, b: Any) -> float | None:
    """Seconds from ``a`` to ``b`` (datetimes or epoch seconds); None when either is missing."""
    if a is None or b is None:
        return None
    delta = b - a
    return delta.total_seconds() if hasattr(delta, "total_seconds") else float(delta)


def parts(phases: Any) -> dict[str, float | None]:
    """Seconds of each part (:data:`PARTS`) of one job whose moments are the attributes of ``phases`` (a
    :class:`JobPhases` of datetimes, or a report's ``Job`` in epoch seconds):

    - ``to_job``: task created → job received (the TransformationManager's task hold, ``TaskSubmissionDelay``,
      and the WorkflowTaskAgent's polling);
    - ``queued``: received → matched (optimizers, waiting for a free pilot);
    - ``payload``: the program's run (dirac-ctao-run-step's "Running <program>" to its next status);
    - ``upload``: after the payload, dirac-ctao-run-step's uploads, registrations and file statuses (to its last
      status);
    - ``wrapper``: the rest of the job's run (DIRAC's job wrapper: sandbox, input download, finalisation);
      the whole run when the payload never started.
    """
    payload = _span(phases.payload_start, phases.payload_end)
    upload = _span(phases.payload_end, phases.upload_end)
    run = _span(phases.matched, phases.finished)
    return {
        "to_job": _span(phases.created, phases.received),
        "queued": _span(phases.received, phases.matched),
        "payload": payload,
        "upload": upload,
        "wrapper": run - (payload or 0) - (upload or 0) if run is not None else None,
    }


def job_times(created: datetime | None, records: Sequence[Sequence[Any]]) -> dict[str, float | None]:
    """:func:`parts` of one job from its task's creation time and DIRAC's logging records."""
    return parts(job_phases(created, records))


def time_split(records: Sequence[tuple[datetime | None, Sequence[Sequence[Any]]]]) -> dict[str, Any]:
    """Sums and medians of :func:`job_times` over jobs given as ``(task creation time, logging records)``."""
    return split_of([job_times(created, recs) for created, recs in records])


def split_of(per_job: Sequence[dict[str, float | None]]) -> dict[str, Any]:
    """Sums and medians over jobs of :func:`job_times`-like dicts."""
    split: dict[str, Any] = {"jobs": len(per_job)}
    for key in PARTS:
        values = sorted(v[key] for v in per_job if v.get(key) is not None)
        split[key] = {"sum_s": round(sum(values)), "median_s": round(values[len(values) // 2], 1) if values else None}
    return split
