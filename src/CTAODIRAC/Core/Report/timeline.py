"""The timeline of a campaign's jobs on the pilots: one row per pilot.

A pilot runs one job at a time, so the running parts of its jobs (job wrapper, payload, upload) share one lane.
Before a pilot has it, a job waits (its task held by DIRAC, then queued): these waits overlap each other and the
pilot's running job, so each row has waiting lanes above its running lane, filled first-fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from CTAODIRAC.Core.Report.data import Job

__all__ = ["SEGMENT_KINDS", "Segment", "PilotRow", "Timeline", "segments", "layout", "UNKNOWN_PILOT"]

#: Segment kinds, in a job's order; hold and queue are waits, the others run on the pilot.
SEGMENT_KINDS = ("hold", "queue", "wrapper", "payload", "upload")
WAITING = ("hold", "queue")
UNKNOWN_PILOT = "pilot unknown"


@dataclass(frozen=True)
class Segment:
    start: float
    """Seconds from the timeline's start."""
    end: float
    kind: str
    job: int
    failed: bool = False


@dataclass
class PilotRow:
    pilot: str
    running: list[Segment] = field(default_factory=list)
    waiting: list[list[Segment]] = field(default_factory=list)
    """Lanes of waits that do not overlap within a lane."""
    jobs: int = 0


@dataclass
class Timeline:
    start: float
    """Epoch seconds of the timeline's zero."""
    end: float
    """Seconds from ``start`` to the last segment's end."""
    rows: list[PilotRow]


def segments(job: Job, t0: float) -> list[Segment]:
    """The segments of one job (seconds from ``t0``), only those whose two ends are known and in order."""
    failed = job.status == "Failed"
    points = [("hold", job.created, job.received), ("queue", job.received, job.matched)]
    if job.payload_start is not None:
        points += [("wrapper", job.matched, job.payload_start), ("payload", job.payload_start, job.payload_end),
                   ("upload", job.payload_end, job.upload_end), ("wrapper", job.upload_end, job.finished)]
    else:
        points.append(("wrapper", job.matched, job.finished))
    return [Segment(a - t0, b - t0, kind, job.job, failed) for kind, a, b in points
            if a is not None and b is not None and b > a]  # fmt: skip


def _pack(waits: list[Segment]) -> list[list[Segment]]:
    """First-fit lanes: a job's hold and queue go together in the first lane free for both."""
    by_job: dict[int, list[Segment]] = {}
    for s in waits:
        by_job.setdefault(s.job, []).append(s)
    lanes: list[list[Segment]] = []
    ends: list[float] = []
    for group in sorted(by_job.values(), key=lambda g: min(s.start for s in g)):
        first, last = min(s.start for s in group), max(s.end for s in group)
        for i, end in enumerate(ends):
            if end <= first:
                lanes[i].extend(group)
                ends[i] = last
                break
        else:
            lanes.append(list(group))
            ends.append(last)
    return lanes


def layout(jobs: Sequence[Job]) -> Timeline:
    """The rows of the timeline, pilots in the order they started their first job; jobs no pilot is known for
    (never matched, or no pilot reference recorded) in a last row."""
    starts = [t for j in jobs for t in (j.created, j.received, j.matched) if t is not None]
    t0 = min(starts) if starts else 0.0
    rows: dict[str, PilotRow] = {}
    first: dict[str, float] = {}
    for job in jobs:
        pilot = job.pilot or UNKNOWN_PILOT
        row = rows.setdefault(pilot, PilotRow(pilot))
        row.jobs += 1
        parts = segments(job, t0)
        row.running += [s for s in parts if s.kind not in WAITING]
        row.waiting.append([s for s in parts if s.kind in WAITING])  # packed below
        if job.matched is not None:
            first[pilot] = min(first.get(pilot, job.matched), job.matched)
    for row in rows.values():
        row.running.sort(key=lambda s: s.start)
        row.waiting = _pack([s for lane in row.waiting for s in lane])
    ordered = sorted(rows.values(), key=lambda r: (r.pilot == UNKNOWN_PILOT, first.get(r.pilot, float("inf")), r.pilot))
    end = max([s.end for r in ordered for s in r.running] + [s.end for r in ordered for lane in r.waiting for s in lane]
              + [0.0])  # fmt: skip
    return Timeline(t0, end, ordered)
