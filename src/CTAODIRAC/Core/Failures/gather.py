"""Gathering the facts of one failure-management cycle, in bulk, from DIRAC and this extension's DB (pure).

:func:`gather` is plain logic over two small interfaces, so that it is tested with stubs:

- :class:`Sources`: what DIRAC knows (transformations, productions and their links, jobs, tasks, files); the
  real one, :class:`~CTAODIRAC.TransformationSystem.Utilities.FailureFacts.DiracSources` (at the edge), makes a fixed, small number of RPCs per cycle whatever the number of
  transformations, and counts them;
- :class:`Records`: what this extension's DB knows (recorded keys, failure counters); the real one is
  :class:`~CTAODIRAC.TransformationSystem.DB.FailureManagementDB.FailureManagementDB`.

Only what changed is looked at: jobs of the transformations in scope that reached Failed or Killed since the
high-water mark (JobDB ``LastUpdateTime``), minus the failures already decided.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .decisions import beyond_limit_key, failure_key, outcome_key
from .facts import (
    CycleFacts,
    FileFacts,
    JobFacts,
    ProductionFacts,
    TaskFacts,
    TransformationFacts,
)
from .inputlimit import limit_reached
from .links import implicit_parents
from .options import FailureAgentOptions
from .policy import job_is_settled
from .statuses import PARENT_DONE_STATUSES, RESCHEDULING_MINOR_STATUSES, JobStatus

__all__ = [
    "HIGH_WATER_OVERLAP",
    "Gathered",
    "Records",
    "Sources",
    "gather",
    "job_group",
    "parse_time",
]

#: Job changes are read from this long before the high-water mark: clock skew between the agent and the
#: JobDB server, and status changes committed while the previous cycle read. Failures read twice are
#: recognised by their recorded keys.
HIGH_WATER_OVERLAP = timedelta(seconds=120)

#: Job statuses whose jobs are read: the failures.
FAILED_STATUSES = (JobStatus.FAILED, JobStatus.KILLED)


class Sources(Protocol):
    """What a cycle reads from DIRAC. Each method raises on error."""

    def transformations(self, statuses: Collection[str], types: Collection[str]) -> list[dict[str, Any]]:
        """Transformations with these statuses (and types, if any): TransformationID, Status, Type, GroupSize."""

    def transformation_statuses(self, ids: Collection[int]) -> dict[int, str]:
        """Status of each of these transformations."""

    def production_links(self, ids: Collection[int]) -> tuple[dict[int, set[int]], dict[int, int]]:
        """``(parents, production)``: transformation to its parent transformations, and to its production."""

    def active_productions(self) -> dict[int, set[int]]:
        """Active production to all its transformations."""

    def failed_jobs(self, transformation_ids: Collection[int], since: datetime | None) -> list[int]:
        """IDs of Failed or Killed jobs of these transformations whose status changed since ``since``."""

    def job_attributes(self, job_ids: Collection[int]) -> dict[int, dict[str, Any]]:
        """JobDB attributes (Status, MinorStatus, ApplicationStatus, Site, LastUpdateTime, JobGroup, JobName)."""

    def tasks_of_jobs(self, transformation_ids: Collection[int], job_ids: Collection[int]) -> list[dict[str, Any]]:
        """Tasks whose ExternalID is one of the jobs: TransformationID, TaskID, ExternalID, ExternalStatus,
        InputVector."""

    def files(self, transformation_ids: Collection[int], lfns: Collection[str]) -> list[dict[str, Any]]:
        """Transformation files: TransformationID, LFN, Status, ErrorCount, TaskID."""

    def file_counts(self, transformation_ids: Collection[int]) -> dict[int, dict[str, int]]:
        """Transformation to the number of its files in each status."""

    def files_max_reset_counter(self) -> int:
        """``Operations/Transformations/FilesMaxResetCounter``."""

    def input_limits(self, ids: Collection[int]) -> dict[int, int | None]:
        """Transformation to its step's ``input_limit`` (None: none), from the job configuration in its body."""

    def unused_files(self, ids: Collection[int]) -> dict[int, list[str]]:
        """Transformation to the LFNs of its Unused files."""

    def meta_queries(self, ids: Collection[int]) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
        """Transformation to its stored (input, output) meta-queries (empty dicts: none)."""


class Records(Protocol):
    """What a cycle reads from this extension's DB. Each method raises on error."""

    def existing_keys(self, keys: Collection[str], *, act: bool) -> set[str]: ...

    def status_decision_keys(
        self, transformation_ids: Collection[int], production_ids: Collection[int], *, act: bool
    ) -> set[str]: ...

    def file_failures(self, transformation_id: int, lfns: Collection[str]) -> dict[str, dict[str, int]]: ...

    def task_failures(self, transformation_id: int, task_ids: Collection[int]) -> dict[int, dict[str, int]]: ...

    def site_failures(self, transformation_ids: Collection[int]) -> dict[int, dict[tuple[str, str], int]]: ...


@dataclass
class Gathered:
    """The result of :func:`gather`.

    Attributes
    ----------
    facts:
        What the policy decides on.
    recorded_keys:
        Keys already recorded among those the policy may produce.
    high_water:
        The next high-water mark: no failure that could still be acted on changed before it.
    changed_jobs:
        Failed or Killed jobs read this cycle (including failures already decided).
    new_failures:
        Of those, failures not decided yet.
    expected_status:
        Transformation ID to the status the facts saw (a flush or complete expects it still).
    """

    facts: CycleFacts
    recorded_keys: set[str] = field(default_factory=set)
    high_water: datetime | None = None
    changed_jobs: int = 0
    new_failures: int = 0
    expected_status: dict[int, str] = field(default_factory=dict)


def job_group(transformation_id: int) -> str:
    """The JobGroup of the jobs of a transformation (DIRAC's ``%08d``)."""
    return f"{transformation_id:08d}"


def parse_time(value: Any) -> datetime | None:
    """A JobDB time (datetime or ``YYYY-MM-DD HH:MM:SS`` string) as an aware UTC datetime; None when unknown."""
    if value is None or value == "" or value == "None":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = str(value).strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _job_facts(job_id: int, attrs: Mapping[str, Any]) -> JobFacts:
    return JobFacts(
        job_id=int(job_id),
        status=str(attrs.get("Status") or ""),
        minor_status=str(attrs.get("MinorStatus") or ""),
        application_status=str(attrs.get("ApplicationStatus") or ""),
        site=str(attrs.get("Site") or ""),
        last_update=parse_time(attrs.get("LastUpdateTime")),
    )


def _transformation_of(attrs: Mapping[str, Any]) -> int | None:
    try:
        return int(str(attrs.get("JobGroup") or "").strip())
    except ValueError:
        return None


def _task_of(attrs: Mapping[str, Any]) -> int | None:
    """The task ID from a transformation job's name ``%08d_%08d``."""
    name = str(attrs.get("JobName") or "")
    head, _, tail = name.partition("_")
    if not (head.isdigit() and tail.isdigit()):
        return None
    return int(tail)


def _lfns(input_vector: Any) -> tuple[str, ...]:
    if not input_vector:
        return ()
    if isinstance(input_vector, (list, tuple)):
        return tuple(str(lfn) for lfn in input_vector if lfn)
    return tuple(lfn for lfn in str(input_vector).split(";") if lfn)


def _next_high_water(now: datetime, jobs: Iterable[JobFacts], options: FailureAgentOptions) -> datetime:
    """Up to ``now``, but not past a failure that is not settled yet only because it is too recent."""
    mark = now
    for job in jobs:
        if job.status not in FAILED_STATUSES or (job.minor_status or "").strip() in RESCHEDULING_MINOR_STATUSES:
            continue
        if job_is_settled(job, now, options.min_job_age):
            continue
        if job.last_update is not None and job.last_update < mark:
            mark = job.last_update
    return mark


def gather(
    sources: Sources,
    records: Records,
    options: FailureAgentOptions,
    now: datetime,
    high_water: datetime | None,
) -> Gathered:
    """Gather the facts of one cycle.

    Parameters
    ----------
    sources, records:
        DIRAC and this extension's DB.
    options:
        The cycle's options (scope, MinJobAge, whether to act).
    now:
        The cycle's time (UTC), taken before anything is read.
    high_water:
        The previous cycle's high-water mark (None: the first cycle reads every failure of the scope).
    """
    act = not options.report_only
    in_scope = {
        int(row["TransformationID"]): row
        for row in sources.transformations(options.transformation_statuses, options.transformation_types)
        if options.in_scope(str(row.get("Status")), str(row.get("Type")))
    }
    parents, production_of = sources.production_links(in_scope) if in_scope else ({}, {})
    # and the parents in other productions (DIRAC links none): what feeds a transformation by the queries
    for child, feeders in implicit_parents(sources.meta_queries(in_scope) if in_scope else {}).items():
        parents.setdefault(child, set()).update(feeders)
    productions = sources.active_productions() if options.complete_productions else {}
    others = {p for ps in parents.values() for p in ps} | {t for ts in productions.values() for t in ts}
    others -= set(in_scope)
    statuses = {tid: str(row["Status"]) for tid, row in in_scope.items()}
    if others:
        statuses.update(sources.transformation_statuses(others))
    limits = {tid: limit for tid, limit in sources.input_limits(in_scope).items() if limit} if in_scope else {}

    # --- failures: only jobs that changed since the high-water mark, minus those already decided ---------------
    since = high_water - HIGH_WATER_OVERLAP if high_water is not None else None
    job_ids = sources.failed_jobs(in_scope, since) if in_scope else []
    attributes = sources.job_attributes(job_ids) if job_ids else {}
    jobs: dict[int, JobFacts] = {}
    job_task: dict[int, tuple[int, int | None]] = {}
    for job_id, attrs in attributes.items():
        tid = _transformation_of(attrs)
        if tid not in in_scope:
            continue
        jobs[int(job_id)] = _job_facts(int(job_id), attrs)
        job_task[int(job_id)] = (tid, _task_of(attrs))
    settled = {jid: job for jid, job in jobs.items() if job_is_settled(job, now, options.min_job_age)}
    candidate_keys = {
        jid: outcome_key(failure_key(job_task[jid][0], job_task[jid][1] or 0, jid, job.last_update))
        for jid, job in settled.items()
        if job_task[jid][1] is not None
    }
    recorded = records.existing_keys(candidate_keys.values(), act=act) if candidate_keys else set()
    fresh = {jid for jid, key in candidate_keys.items() if key not in recorded}
    # Settled jobs whose name does not give the task: look them up by ExternalID as well.
    fresh |= {jid for jid in settled if job_task[jid][1] is None}

    tasks: dict[int, list[TaskFacts]] = {}
    lfns_of: dict[int, set[str]] = {}
    without_input: dict[int, set[int]] = {}  # transformation to its tasks without input files (per-task budgets)
    if fresh:
        fresh_tids = {job_task[jid][0] for jid in fresh}
        for row in sources.tasks_of_jobs(fresh_tids, fresh):
            try:
                jid = int(str(row.get("ExternalID")))
            except ValueError:
                continue
            tid = int(row["TransformationID"])
            if jid not in fresh or job_task[jid][0] != tid:
                continue
            lfns = _lfns(row.get("InputVector"))
            tasks.setdefault(tid, []).append(
                TaskFacts(
                    task_id=int(row["TaskID"]), job=jobs[jid], lfns=lfns, status=str(row.get("ExternalStatus") or "")
                )
            )
            if lfns:
                lfns_of.setdefault(tid, set()).update(lfns)
            else:
                without_input.setdefault(tid, set()).add(int(row["TaskID"]))
        if any(job_task[jid][1] is None for jid in fresh):
            keys = {
                outcome_key(failure_key(tid, task.task_id, task.job.job_id, task.job.last_update))
                for tid, ts in tasks.items()
                for task in ts
                if task.job is not None
            }
            recorded |= records.existing_keys(keys, act=act)

    files: dict[int, dict[str, FileFacts]] = {}
    if lfns_of:
        all_lfns = set().union(*lfns_of.values())
        failures = {tid: records.file_failures(tid, lfns) for tid, lfns in lfns_of.items()}
        for row in sources.files(lfns_of, all_lfns):
            tid = int(row["TransformationID"])
            lfn = str(row["LFN"])
            if lfn not in lfns_of.get(tid, ()):
                continue
            task_id = row.get("TaskID")
            files.setdefault(tid, {})[lfn] = FileFacts(
                lfn=lfn,
                status=str(row["Status"]),
                error_count=int(row.get("ErrorCount") or 0),
                task_id=int(task_id) if task_id not in (None, "") else None,
                failures=failures.get(tid, {}).get(lfn, {}),
            )
    for tid, task_ids in without_input.items():
        counted = records.task_failures(tid, task_ids)
        tasks[tid] = [
            replace(task, failures=counted.get(task.task_id, {})) if task.task_id in task_ids else task
            for task in tasks[tid]
        ]
    site_failures = records.site_failures(tasks) if tasks else {}

    # --- transformations that may be flushed or completed -----------------------------------------------------
    def may_move(tid: int) -> bool:
        ps = parents.get(tid, set())
        if not ps:
            return options.act_without_parents
        return all(statuses.get(p, "") in PARENT_DONE_STATUSES for p in ps)

    movable = (
        [tid for tid in in_scope if may_move(tid)]
        if options.flush_transformations or options.complete_transformations
        else []
    )
    counted = sorted(set(movable) | set(limits))  # a limited transformation's files beyond its limit, at any time
    counts = sources.file_counts(counted) if counted else {}
    reached = [
        tid for tid, limit in sorted(limits.items())
        if counts.get(tid, {}).get("Unused", 0) and limit_reached(limit, counts.get(tid, {}))
    ]  # fmt: skip
    unused = sources.unused_files(reached) if reached else {}
    if unused:
        keys = {beyond_limit_key(tid, lfns) for tid, lfns in unused.items() if lfns}
        recorded |= records.existing_keys(keys, act=act)

    transformations = tuple(
        TransformationFacts(
            transformation_id=tid,
            status=str(row["Status"]),
            type=str(row.get("Type") or ""),
            group_size=int(row.get("GroupSize") or 1),
            production_id=production_of.get(tid),
            parents={p: statuses.get(p, "") for p in parents.get(tid, set())},
            tasks=tuple(sorted(tasks.get(tid, ()), key=lambda t: t.task_id)),
            files=files.get(tid, {}),
            file_counts=counts.get(tid, {}),
            site_failures=site_failures.get(tid, {}),
            input_limit=limits.get(tid),
            unused_lfns=tuple(sorted(unused.get(tid, ()))),
        )
        for tid, row in sorted(in_scope.items())
    )
    production_facts = tuple(
        ProductionFacts(production_id=pid, status="Active", transformations={t: statuses.get(t, "") for t in members})
        for pid, members in sorted(productions.items())
    )
    if movable or productions:
        recorded |= records.status_decision_keys(movable, productions, act=act)

    return Gathered(
        facts=CycleFacts(
            now=now,
            transformations=transformations,
            productions=production_facts,
            files_max_reset_counter=sources.files_max_reset_counter(),
        ),
        recorded_keys=recorded,
        high_water=_next_high_water(now, jobs.values(), options),
        changed_jobs=len(jobs),
        new_failures=len(fresh),
        expected_status={tid: str(row["Status"]) for tid, row in in_scope.items()},
    )
