"""The facts the policy decides on: plain frozen data, gathered by the agent in bulk from DIRAC and its own DB.

Nothing here talks to DIRAC; the agent builds these objects from the results of its RPCs and queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .statuses import JOB_FINAL_STATUSES, PARENT_DONE_STATUSES

__all__ = ["CycleFacts", "FileFacts", "JobFacts", "ProductionFacts", "TaskFacts", "TransformationFacts"]


@dataclass(frozen=True)
class JobFacts:
    """The JobDB attributes of one job.

    Attributes
    ----------
    job_id:
        The WMS job ID (the task's ExternalID).
    status, minor_status, application_status, site:
        The job attributes of the same names.
    last_update:
        When the job last changed status (JobDB ``LastUpdateTime``), UTC; it identifies this failure of the job
        (a job rescheduled and failing again is a new failure). None when unknown.
    """

    job_id: int
    status: str
    minor_status: str = ""
    application_status: str = ""
    site: str = ""
    last_update: datetime | None = None

    @property
    def is_final(self) -> bool:
        """Whether the payload has finished (Done, Completed, Failed, Killed)."""
        return self.status in JOB_FINAL_STATUSES


@dataclass(frozen=True)
class FileFacts:
    """One input file of a transformation, as the TransformationDB and this extension's DB know it.

    Attributes
    ----------
    lfn:
        The file's LFN.
    status:
        Its status in the transformation (``TransformationFiles.Status``).
    error_count:
        Its ``ErrorCount`` in the transformation.
    task_id:
        The task the file is (or was last) attached to (``TransformationFiles.TaskID``); None when unknown. A
        file now attached to another task is left alone by a decision about an older task.
    failures:
        How many failures of each class were already recorded for this file in this transformation (class value
        to count), from this extension's decisions.
    """

    lfn: str
    status: str
    error_count: int = 0
    task_id: int | None = None
    failures: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskFacts:
    """One task of a transformation whose job changed since the last cycle.

    Attributes
    ----------
    task_id:
        The task ID in the transformation.
    job:
        The task's job; None when the task has no job (not submitted yet).
    lfns:
        The task's input files (empty for a task without input, e.g. a simulation).
    status:
        The task's status in the TransformationDB (``ExternalStatus``: the status of its job as the
        WorkflowTaskAgent last copied it, or ``Created`` / ``Reserved`` while it waits for a new job).
    failures:
        For a task without input files: how many failures of each class were already recorded for this task
        (class value to count), from this extension's decisions (its retry budget is counted per task).
    """

    task_id: int
    job: JobFacts | None
    lfns: tuple[str, ...] = ()
    status: str = ""
    failures: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TransformationFacts:
    """A transformation in scope, with what changed in it.

    Attributes
    ----------
    transformation_id, status, type, group_size:
        The transformation's ID, Status, Type and GroupSize.
    production_id:
        The production it belongs to, if any.
    parents:
        Parent transformation ID to its status. A parent whose status is unknown must be given as ``""``.
    tasks:
        The tasks whose job changed since the last cycle.
    files:
        LFN to facts, for (at least) the input files of ``tasks``.
    file_counts:
        Number of the transformation's files in each status (``getTransformationStats`` without ``Total``).
    site_failures:
        ``(site, class value)`` to the number of failures already recorded for this transformation.
    input_limit:
        The step's ``input_limit`` (at most this many input files in all), from the job configuration in the
        transformation's body; None: no limit.
    unused_lfns:
        The transformation's Unused files, read only when its ``input_limit`` is reached (they are beyond it).
    """

    transformation_id: int
    status: str
    type: str
    group_size: int = 1
    production_id: int | None = None
    parents: Mapping[int, str] = field(default_factory=dict)
    tasks: tuple[TaskFacts, ...] = ()
    files: Mapping[str, FileFacts] = field(default_factory=dict)
    file_counts: Mapping[str, int] = field(default_factory=dict)
    site_failures: Mapping[tuple[str, str], int] = field(default_factory=dict)
    input_limit: int | None = None
    unused_lfns: tuple[str, ...] = ()

    @property
    def parents_done(self) -> bool:
        """Whether every parent is Completed (or Archived): nothing more will come from them."""
        return all(status in PARENT_DONE_STATUSES for status in self.parents.values())


@dataclass(frozen=True)
class ProductionFacts:
    """A production and the statuses of all its transformations.

    Attributes
    ----------
    production_id, status:
        The production's ID and Status.
    transformations:
        Transformation ID to status, for every transformation of the production.
    """

    production_id: int
    status: str
    transformations: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CycleFacts:
    """Everything one cycle decides on.

    Attributes
    ----------
    now:
        The time of the cycle (UTC), compared with each job's ``last_update``.
    transformations:
        The transformations in scope.
    productions:
        The productions of those transformations.
    files_max_reset_counter:
        ``Operations/Transformations/FilesMaxResetCounter`` (DIRAC's default 10), to predict DIRAC's file state
        machine.
    """

    now: datetime
    transformations: tuple[TransformationFacts, ...] = ()
    productions: tuple[ProductionFacts, ...] = ()
    files_max_reset_counter: int = 10
