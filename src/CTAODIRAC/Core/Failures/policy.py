"""The failure-management policy: facts in, decisions out, nothing else.

:func:`decide` looks at the facts of one cycle and returns what to do:

- for each failed task whose job is final, cannot be rescheduled any more and has been so for ``MinJobAge``
  seconds: classify the job, then **retry** (files back to Unused), **give up** once the class budget is spent
  (files to ``GiveUpStatus``) or **leave** (record only: killed job, nothing left to act on), and
  **avoid the site** for those files after ``SiteBanThreshold`` failures of a ban class at that site;
- a failed task without input files (a simulation: its run number is its task ID) is retried by putting the
  task itself back to ``Created``, so that DIRAC's WorkflowTaskAgent submits a new job for the same task, with
  the same class budgets counted per task; once a budget is spent the task is given up: left ``Failed`` (a
  final status: nothing of the transformation waits for it any more), the reason recorded;
- for each transformation whose step's ``input_limit`` is reached: its Unused files are **beyond the limit**:
  not wanted, set to their final status (``Removed``, :data:`~.inputlimit.BEYOND_LIMIT_STATUS`) with the reason,
  so that every input is accounted for and the transformation can complete;
- for each transformation whose parents are all Completed: **flush** it when the Unused files it may still
  take (fewer under an ``input_limit``) are fewer than its group size, **complete** it when all its files are
  processed, given up or beyond its limit;
- for each Active production whose transformations are all Completed: **complete** it.

File changes follow DIRAC's client-side file state machine (:func:`~.statuses.predict_file_status`): a
Processed or MaxReset file is never sent back to Unused, and a file that DIRAC would turn MaxReset is shown as
such. Nothing is forced.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from .decisions import (
    Decision,
    DecisionKind,
    FileChange,
    TaskChange,
    beyond_limit_key,
    failure_key,
    filter_new,
    outcome_key,
)
from .facts import CycleFacts, FileFacts, JobFacts, ProductionFacts, TaskFacts, TransformationFacts
from .classes import FailureClass
from .inputlimit import BEYOND_LIMIT_STATUS, files_taken, limit_reached, remaining_files
from .options import FailureAgentOptions
from .rules import RuleTable, default_rule_table
from .statuses import (
    ACTIVE_TRANSFORMATION_STATUSES,
    COMPLETED_PRODUCTION_STATUS,
    COMPLETED_TRANSFORMATION_STATUS,
    FILE_DONE_STATUSES,
    FLUSH_TRANSFORMATION_STATUS,
    PARENT_DONE_STATUSES,
    RESCHEDULING_MINOR_STATUSES,
    FileStatus,
    JobStatus,
    predict_file_status,
)

__all__ = [
    "NOT_A_SITE",
    "TASK_GIVE_UP_STATUS",
    "TASK_QUEUED_STATUSES",
    "TASK_RETRY_STATUS",
    "decide",
    "job_is_settled",
    "task_failure",
]

#: Site values that name no real site: failures there never count towards avoiding a site.
NOT_A_SITE: frozenset[str] = frozenset({"", "ANY", "Unknown", "Multiple"})

#: Task status that makes DIRAC's WorkflowTaskAgent submit a (new) job for a task (``getTasksToSubmit``).
TASK_RETRY_STATUS = "Created"
#: Task status of a task without input files that is given up: DIRAC's own final status of a task whose job
#: failed. The WorkflowTaskAgent keeps it (the job is Failed too), nothing resubmits it.
TASK_GIVE_UP_STATUS = "Failed"
#: Task statuses of a task already put back for a new job (by this agent or by hand): nothing more to do.
TASK_QUEUED_STATUSES: frozenset[str] = frozenset({"Created", "Reserved"})
#: Task statuses that say the task ended well after all (e.g. its job was rescheduled and succeeded).
TASK_SUCCESS_STATUSES: frozenset[str] = frozenset({"Done", "Completed", "Processed"})


def task_failure(transformation_id: int, task: TaskFacts) -> str:
    """The identity of the failure of a task's job (see :func:`~.decisions.failure_key`)."""
    assert task.job is not None
    return failure_key(transformation_id, task.task_id, task.job.job_id, task.job.last_update)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def job_is_settled(job: JobFacts, now: datetime, min_age: int) -> bool:
    """Whether a job's failure can be acted on: final, failed or killed, not about to be rescheduled, old enough.

    A Done or Completed job is no failure; a Failed job whose MinorStatus says it is being rescheduled, or
    that changed status less than ``min_age`` seconds ago (or at an unknown time, when ``min_age`` > 0), may
    still be rescheduled by DIRAC.
    """
    if job.status not in (JobStatus.FAILED, JobStatus.KILLED):
        return False
    if (job.minor_status or "").strip() in RESCHEDULING_MINOR_STATUSES:
        return False
    if min_age <= 0:
        return True
    if job.last_update is None:
        return False
    return (_as_utc(now) - _as_utc(job.last_update)).total_seconds() >= min_age


def _concerned_files(trans: TransformationFacts, task: TaskFacts) -> list[FileFacts]:
    """The task's files this decision may act on: still Assigned or Unused, and not in another task since."""
    concerned = []
    for lfn in task.lfns:
        facts = trans.files.get(lfn)
        if facts is None:
            continue
        if facts.task_id is not None and facts.task_id != task.task_id:
            continue
        if facts.status in (FileStatus.ASSIGNED, FileStatus.UNUSED):
            concerned.append(facts)
    return concerned


def _changes(files: list[FileFacts], proposed: str, max_reset_counter: int) -> tuple[FileChange, ...]:
    changes = []
    for facts in files:
        target = predict_file_status(facts.status, proposed, facts.error_count, max_reset_counter)
        if target != facts.status:
            changes.append(FileChange(lfn=facts.lfn, from_status=facts.status, to_status=target))
    return tuple(changes)


def _decide_failures(
    trans: TransformationFacts,
    facts: CycleFacts,
    options: FailureAgentOptions,
    rules: RuleTable,
    recorded_keys: Collection[str],
) -> list[Decision]:
    decisions: list[Decision] = []
    site_counts: dict[tuple[str, str], int] = dict(trans.site_failures)
    settled = [
        task
        for task in trans.tasks
        if task.job is not None and job_is_settled(task.job, facts.now, options.min_job_age)
    ]
    # Oldest failure first, so that counters grow in the order failures happened.
    settled.sort(
        key=lambda task: (
            _as_utc(task.job.last_update) if task.job and task.job.last_update else datetime.min.replace(tzinfo=UTC),
            task.job.job_id if task.job else 0,
            task.task_id,
        )
    )
    tid = trans.transformation_id
    for task in settled:
        job = task.job
        assert job is not None
        failure = task_failure(tid, task)
        key = outcome_key(failure)
        if key in recorded_keys:
            continue  # already decided (and counted in the facts' counters)
        failure_class, rule = rules.classify(job)
        site = (job.site or "").strip()
        site_count = 0
        if site not in NOT_A_SITE:
            site_count = site_counts.get((site, failure_class.value), 0) + 1
            site_counts[(site, failure_class.value)] = site_count
        common = {
            "key": key,
            "failure": failure,
            "transformation_id": tid,
            "production_id": trans.production_id,
            "task_id": task.task_id,
            "job_id": job.job_id,
            "site": site,
            "failure_class": failure_class,
            "rule": rule,
        }
        what = f"{failure_class.value} failure (rule {rule}) of job {job.job_id} at {site or 'no site'}"
        concerned = _concerned_files(trans, task)

        if job.status == JobStatus.KILLED and not options.retry_killed_jobs:
            decisions.append(
                Decision(kind=DecisionKind.LEAVE, reason=f"{what}: job was killed, RetryKilledJobs is off", **common)
            )
            continue
        if not task.lfns:
            decisions.append(_decide_task_without_input(task, job, failure_class, what, options, common))
            continue
        if not concerned:
            why = "no file left to act on (processed, given up or in another task)"
            decisions.append(Decision(kind=DecisionKind.LEAVE, reason=f"{what}: {why}", **common))
            continue

        budget = options.budget(failure_class)
        count = 1 + max(f.failures.get(failure_class.value, 0) for f in concerned)
        lfns = tuple(f.lfn for f in concerned)
        if count > budget:
            decisions.append(
                Decision(
                    kind=DecisionKind.GIVE_UP,
                    lfns=lfns,
                    file_changes=_changes(concerned, options.give_up_status, facts.files_max_reset_counter),
                    reason=f"{what}: failure {count} of this class exceeds the budget of {budget} retries; "
                    f"files set {options.give_up_status}",
                    **common,
                )
            )
            continue

        changes = _changes(concerned, FileStatus.UNUSED, facts.files_max_reset_counter)
        reason = f"{what}: retry {count} of {budget}"
        maxed = sum(1 for change in changes if change.to_status == FileStatus.MAX_RESET)
        if maxed:
            reason += f"; {maxed} file(s) reach DIRAC's FilesMaxResetCounter and become MaxReset"
        if len(changes) < len(concerned):
            reason += f"; {len(concerned) - len(changes)} file(s) already Unused"
        decisions.append(Decision(kind=DecisionKind.RETRY, lfns=lfns, file_changes=changes, reason=reason, **common))

        retried = tuple(change.lfn for change in changes if change.to_status == FileStatus.UNUSED)
        retried += tuple(f.lfn for f in concerned if f.status == FileStatus.UNUSED)
        if (
            retried
            and options.site_ban_threshold > 0
            and failure_class in options.site_ban_classes
            and site_count >= options.site_ban_threshold
        ):
            decisions.append(
                Decision(
                    kind=DecisionKind.AVOID_SITE,
                    key=f"avoid-site:{failure}",
                    failure=failure,
                    transformation_id=tid,
                    production_id=trans.production_id,
                    task_id=task.task_id,
                    job_id=job.job_id,
                    site=site,
                    failure_class=failure_class,
                    rule=rule,
                    lfns=retried,
                    reason=f"{site_count} {failure_class.value} failures at {site} in transformation {tid} "
                    f"(threshold {options.site_ban_threshold}): new tasks of these files avoid the site",
                )
            )
    return decisions


def _decide_task_without_input(
    task: TaskFacts,
    job: JobFacts,
    failure_class: FailureClass,
    what: str,
    options: FailureAgentOptions,
    common: Mapping[str, Any],
) -> Decision:
    """Retry or give up a failed task that has no input files (a simulation run): the task itself is the unit.

    Its budget is the class budget, counted per task (``task.failures``). A retry puts the task back to
    ``Created`` (DIRAC then submits a new job for the same task ID, so the same run number); a give-up leaves it
    ``Failed``. The change expects the task to still point at the failed job, in the status seen now.
    """
    status = task.status or ""
    if status in TASK_QUEUED_STATUSES:
        return Decision(
            kind=DecisionKind.LEAVE,
            reason=f"{what}: the task is already {status}, waiting for a new job",
            **common,
        )
    if status in TASK_SUCCESS_STATUSES:
        return Decision(kind=DecisionKind.LEAVE, reason=f"{what}: the task is {status} after all", **common)
    budget = options.budget(failure_class)
    count = 1 + task.failures.get(failure_class.value, 0)
    run = f"task {task.task_id} (no input files: run {task.task_id})"
    if count > budget:
        change = (
            TaskChange(task.task_id, job.job_id, status, TASK_GIVE_UP_STATUS)
            if status != TASK_GIVE_UP_STATUS
            else None
        )
        return Decision(
            kind=DecisionKind.GIVE_UP,
            task_change=change,
            reason=f"{what}: failure {count} of this class exceeds the budget of {budget} retries; {run} given "
            f"up, left {TASK_GIVE_UP_STATUS}",
            **common,
        )
    return Decision(
        kind=DecisionKind.RETRY,
        task_change=TaskChange(task.task_id, job.job_id, status, TASK_RETRY_STATUS),
        reason=f"{what}: retry {count} of {budget}; {run} back to {TASK_RETRY_STATUS} for a new job",
        **common,
    )


def _decide_input_limit(trans: TransformationFacts, touched: Collection[str]) -> list[Decision]:
    """Set aside the Unused files of a transformation whose ``input_limit`` is reached (none of the files a
    failure decision of this cycle acts on: a retried file is the transformation's own)."""
    limit = trans.input_limit
    if limit is None or not trans.unused_lfns or not limit_reached(limit, trans.file_counts):
        return []
    lfns = tuple(sorted(set(trans.unused_lfns) - set(touched)))
    if not lfns:
        return []
    tid = trans.transformation_id
    return [
        Decision(
            kind=DecisionKind.BEYOND_LIMIT,
            key=beyond_limit_key(tid, lfns),
            transformation_id=tid,
            production_id=trans.production_id,
            lfns=lfns,
            file_changes=tuple(FileChange(lfn, FileStatus.UNUSED, BEYOND_LIMIT_STATUS) for lfn in lfns),
            reason=f"beyond input_limit: {files_taken(trans.file_counts)} files taken of the step's input_limit "
            f"{limit}; {len(lfns)} Unused file(s) not wanted, set {BEYOND_LIMIT_STATUS}",
        )
    ]


def _counts_fingerprint(counts: Mapping[str, int]) -> str:
    return ",".join(f"{status}={count}" for status, count in sorted(counts.items()) if count)


def _decide_transformation(trans: TransformationFacts, options: FailureAgentOptions) -> list[Decision]:
    """Flush or complete a transformation whose parents produce nothing more."""
    if not trans.parents and not options.act_without_parents:
        return []
    if not trans.parents_done:
        return []
    counts = {status: count for status, count in trans.file_counts.items() if count}
    total = sum(counts.values())
    tid = trans.transformation_id
    parents = ", ".join(str(parent) for parent in sorted(trans.parents)) or "none"
    if (
        options.complete_transformations
        and trans.status in ACTIVE_TRANSFORMATION_STATUSES | {FLUSH_TRANSFORMATION_STATUS}
        and total > 0
        and all(status in FILE_DONE_STATUSES for status in counts)
    ):
        return [
            Decision(
                kind=DecisionKind.COMPLETE,
                key=f"complete:{tid}",
                transformation_id=tid,
                production_id=trans.production_id,
                new_status=COMPLETED_TRANSFORMATION_STATUS,
                reason=f"all {total} files processed or given up ({_counts_fingerprint(counts)}); "
                f"parents done ({parents})",
            )
        ]
    unused = counts.get(FileStatus.UNUSED, 0)
    remaining = remaining_files(trans.input_limit, counts)
    takeable = unused if remaining is None else min(unused, remaining)  # a group can never grow past the limit
    if (
        options.flush_transformations
        and trans.status in ACTIVE_TRANSFORMATION_STATUSES
        and trans.group_size > 1
        and 0 < takeable < trans.group_size
    ):
        fingerprint = _counts_fingerprint(counts)
        return [
            Decision(
                kind=DecisionKind.FLUSH,
                key=f"flush:{tid}:{fingerprint}",
                transformation_id=tid,
                production_id=trans.production_id,
                new_status=FLUSH_TRANSFORMATION_STATUS,
                reason=f"{takeable} Unused file(s)"
                + (f" to take (input_limit {trans.input_limit}: {remaining} left)" if remaining is not None else "")
                + f", fewer than the group size {trans.group_size}, and parents done ({parents})",
            )
        ]
    return []


def _decide_production(production: ProductionFacts, options: FailureAgentOptions) -> list[Decision]:
    if not options.complete_productions or production.status != "Active" or not production.transformations:
        return []
    if not all(status in PARENT_DONE_STATUSES for status in production.transformations.values()):
        return []
    return [
        Decision(
            kind=DecisionKind.COMPLETE_PRODUCTION,
            key=f"complete-production:{production.production_id}",
            production_id=production.production_id,
            new_status=COMPLETED_PRODUCTION_STATUS,
            reason=f"all {len(production.transformations)} transformations are Completed",
        )
    ]


def decide(
    facts: CycleFacts,
    options: FailureAgentOptions | None = None,
    rules: RuleTable | None = None,
    recorded_keys: Collection[str] = frozenset(),
) -> list[Decision]:
    """Decide what to do in one cycle.

    Parameters
    ----------
    facts:
        What the agent gathered (transformations in scope, their changed tasks and files, productions).
    options:
        The agent's options (defaults when None).
    rules:
        The rule table (the built-in one when None).
    recorded_keys:
        Keys of the decisions already recorded. A failure whose outcome is recorded is skipped entirely (its
        counters are already in the facts), and no decision with a recorded key is returned.

    Returns
    -------
    list[Decision]
        New decisions, failures first (oldest first, per transformation by ID), then files beyond an input limit,
        then transformation and production decisions. Transformations out of scope (status, type) are ignored.
        A transformation with file or task changes in this cycle gets no flush or complete in the same cycle (its
        counts are stale).
    """
    options = options or FailureAgentOptions()
    rules = rules or default_rule_table()
    decisions: list[Decision] = []
    for trans in sorted(facts.transformations, key=lambda t: t.transformation_id):
        if not options.in_scope(trans.status, trans.type):
            continue
        failures = _decide_failures(trans, facts, options, rules, recorded_keys)
        decisions.extend(failures)
        touched = {lfn for decision in failures for lfn in decision.lfns}
        touched |= {change.lfn for decision in failures for change in decision.file_changes}
        beyond = [d for d in _decide_input_limit(trans, touched) if d.key not in recorded_keys]
        decisions.extend(beyond)
        if not any(decision.file_changes or decision.task_change for decision in (*failures, *beyond)):
            decisions.extend(_decide_transformation(trans, options))
    for production in sorted(facts.productions, key=lambda p: p.production_id):
        decisions.extend(_decide_production(production, options))
    return filter_new(decisions, recorded_keys)
