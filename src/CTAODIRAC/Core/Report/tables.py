"""The rows of the report's tables: per production and transformation, and where the jobs' time went."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from CTAODIRAC.Core.Report.data import CampaignData, Job, Transformation
from CTAODIRAC.Core.Report.graph import layers, short_name
from CTAODIRAC.Core.Report.timing import PARTS, parts, split_of

__all__ = ["FileRow", "TimeRow", "transformation_rows", "production_rows", "job_parts", "time_rows", "ratios",
           "summary_split", "PART_LABELS"]

#: What each part of :data:`~CTAODIRAC.Core.Report.timing.PARTS` is called in the tables and pictures.
PART_LABELS = {"to_job": "task hold", "queued": "queue", "wrapper": "job wrapper", "payload": "payload",
               "upload": "upload"}  # fmt: skip


@dataclass(frozen=True)
class FileRow:
    production: str
    id: int | None
    name: str
    status: str
    files: int
    processed: int
    failed: int
    """Failed jobs."""
    given_up: int
    other: str
    """The files neither Processed nor given up, by status (e.g. ``2 Unused``)."""


def _other(t: Transformation) -> str:
    rest = {s: n for s, n in t.files.items() if s != "Processed" and n}
    return ", ".join(f"{n} {s}" for s, n in sorted(rest.items()))


def transformation_rows(data: CampaignData) -> list[FileRow]:
    """One row per transformation: by production, then as they follow each other (graph layer), then by ID."""
    order = {p.name: i for i, p in enumerate(data.productions)}
    layer = layers(data.transformations)
    rows = sorted(data.transformations, key=lambda t: (order.get(t.production, len(order)), layer[t.id], t.id))
    return [FileRow(t.production, t.id, short_name(t.name), t.status, sum(t.files.values()),
                    t.files.get("Processed", 0), t.failed_jobs, t.given_up, _other(t)) for t in rows]  # fmt: skip


def production_rows(data: CampaignData) -> list[FileRow]:
    """One row per production: its transformations' files added up."""
    rows = []
    for p in data.productions:
        mine = [t for t in data.transformations if t.production == p.name]
        files: dict[str, int] = {}
        for t in mine:
            for status, n in t.files.items():
                files[status] = files.get(status, 0) + n
        total = Transformation(0, "", p.name, p.status, files=files)
        rows.append(FileRow(p.name, p.id, f"{len(mine)} transformations", p.status, sum(files.values()),
                            files.get("Processed", 0), sum(t.failed_jobs for t in mine),
                            sum(t.given_up for t in mine), _other(total)))  # fmt: skip
    return rows


def job_parts(job: Job) -> dict[str, float | None]:
    """Seconds of each part of one job (:func:`CTAODIRAC.Core.Report.timing.parts`)."""
    return parts(job)


def summary_split(jobs: Sequence[Job]) -> dict[str, Any]:
    """Sums and medians of each part over ``jobs`` (the campaign summary's ``timing``)."""
    return split_of([job_parts(j) for j in jobs])


@dataclass(frozen=True)
class TimeRow:
    part: str
    label: str
    sum_s: float
    median_s: float | None
    share: float
    """Of the jobs' time (every part of every job)."""


def time_rows(jobs: Sequence[Job]) -> list[TimeRow]:
    """Where the jobs' time went: per part its sum, median and share of all parts."""
    split = summary_split(jobs)
    total = sum(split[p]["sum_s"] for p in PARTS)
    return [TimeRow(p, PART_LABELS[p], split[p]["sum_s"], split[p]["median_s"],
                    split[p]["sum_s"] / total if total else 0.0) for p in PARTS]  # fmt: skip


def ratios(jobs: Sequence[Job], wall_seconds: float | None, pilots: int | None) -> dict[str, float]:
    """A few ratios: payload over the jobs' time, payload over the pilots' time (pilots × wall time), the task
    hold over the payload."""
    split = summary_split(jobs)
    total = sum(split[p]["sum_s"] for p in PARTS)
    payload = split["payload"]["sum_s"]
    found = {"payload / job time": payload / total if total else 0.0}
    if wall_seconds and pilots:
        found["payload / (pilots x wall time)"] = payload / (pilots * wall_seconds)
    if payload:
        found["task hold / payload"] = split["to_job"]["sum_s"] / payload
    return found
