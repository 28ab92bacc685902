"""What a campaign's report shows, as plain data: read from DIRAC (or made by the campaign driver), saved as
JSON next to the pictures, and read back to draw them again."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from CTAODIRAC.Core.Report.timing import JobPhases, epoch

__all__ = ["Transformation", "Production", "Job", "Event", "CampaignData", "job_from_phases"]


@dataclass
class Transformation:
    id: int
    name: str
    production: str
    status: str
    type: str = ""
    kind: str = ""
    """The step's kind (``ctapipe-process``, ...; empty when the body carries no job configuration)."""
    files: dict[str, int] = field(default_factory=dict)
    """Its input files by status (DIRAC's TransformationFiles)."""
    failed_jobs: int = 0
    """Its tasks whose job ended Failed (a retried file makes a new task)."""
    given_up: int = 0
    """Files the failure agent gave up (applied give-up decisions)."""
    parents: list[int] = field(default_factory=list)
    """Transformations whose outputs its input query selects."""
    model_parents: list[int] = field(default_factory=list)
    """Transformations whose outputs are models it applies."""
    outputs: list[str] = field(default_factory=list)
    """Its registered outputs (LFNs), when read."""


@dataclass
class Production:
    name: str
    status: str
    id: int | None = None
    transformations: list[int] = field(default_factory=list)


@dataclass
class Job:
    """One job of a transformation's task, with its phases in epoch seconds (None: not reached)."""

    job: int
    transformation: int
    task: int
    status: str = ""
    pilot: str = ""
    site: str = ""
    created: float | None = None
    received: float | None = None
    matched: float | None = None
    payload_start: float | None = None
    payload_end: float | None = None
    upload_end: float | None = None
    finished: float | None = None


@dataclass
class Event:
    """Something that happened at a moment: an injected fault or a decision of the failure agent."""

    time: float
    lane: str
    """``fault`` or ``decision``."""
    kind: str
    detail: str = ""


@dataclass
class CampaignData:
    title: str
    productions: list[Production] = field(default_factory=list)
    transformations: list[Transformation] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    dl2: list[str] = field(default_factory=list)
    wall_seconds: float | None = None
    pilots: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CampaignData:
        kinds = {"productions": Production, "transformations": Transformation, "jobs": Job, "events": Event}
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for name, kind in kinds.items():
            values[name] = [kind(**row) for row in values.get(name, [])]
        return cls(**values)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1))

    @classmethod
    def load(cls, path: Path) -> CampaignData:
        return cls.from_json(json.loads(path.read_text()))


def job_from_phases(job: int, transformation: int, task: int, phases: JobPhases, status: str = "", pilot: str = "",
                    site: str = "") -> Job:
    """A job's row from its :class:`~CTAODIRAC.Core.Report.timing.JobPhases` (times to epoch seconds)."""
    e = epoch
    return Job(job, transformation, task, status, pilot, site, e(phases.created), e(phases.received),
               e(phases.matched), e(phases.payload_start), e(phases.payload_end), e(phases.upload_end),
               e(phases.finished))
