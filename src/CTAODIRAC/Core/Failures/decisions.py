"""The decisions the policy returns: pure data, each with an idempotency key.

A decision's ``key`` names what it is about, not what it concluded: the outcome of one failure of one job is
keyed by ``(transformation, task, job, the job's last status change)`` whether the policy retried or gave up,
so that deciding again after the counters moved can never add a second action for the same failure. The agent
records a decision (with its key, unique in its DB) before applying it; :func:`filter_new` drops decisions
whose key is already recorded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .classes import FailureClass

__all__ = [
    "Decision",
    "DecisionKind",
    "FileChange",
    "TaskChange",
    "count_failures",
    "beyond_limit_key",
    "count_task_failures",
    "failure_key",
    "filter_new",
    "outcome_key",
]


class DecisionKind(StrEnum):
    """What a decision does."""

    RETRY = "retry"
    """The task's files go back to Unused so that a new task processes them; a task without input files (a
    simulation) goes back to Created so that DIRAC submits a new job for the same task (same run number)."""
    GIVE_UP = "give-up"
    """The class budget is spent: the task's files are marked Problematic (or MaxReset); a task without input
    files is left Failed for good."""
    LEAVE = "leave"
    """A failure classified and recorded, with nothing to change (no input files, files already processed,
    given up or in another task, job killed)."""
    AVOID_SITE = "avoid-site"
    """New tasks of the listed files must not go to the site."""
    FLUSH = "flush"
    """The transformation goes to Flush so that its last, incomplete group of files gets a task."""
    COMPLETE = "complete"
    """The transformation goes to Completed."""
    COMPLETE_PRODUCTION = "complete-production"
    """The production goes to Completed."""
    BEYOND_LIMIT = "beyond-limit"
    """The transformation's ``input_limit`` is reached: its Unused files are not wanted and are set to their final
    status (``Removed``), so that the transformation can complete with every input accounted for."""


#: Prefix of the key of an outcome decision; the rest is the failure's identity.
OUTCOME_PREFIX = "outcome:"

#: Kinds that are the outcome of one job failure (exactly one per failure).
OUTCOME_KINDS: frozenset[DecisionKind] = frozenset({DecisionKind.RETRY, DecisionKind.GIVE_UP, DecisionKind.LEAVE})


@dataclass(frozen=True)
class FileChange:
    """One file status change; the agent applies it only if the file is still in ``from_status``."""

    lfn: str
    from_status: str
    to_status: str


@dataclass(frozen=True)
class TaskChange:
    """One task status change (a task without input files); applied only if the task still has ``from_status``
    and still points at the failed job ``job_id`` (its ExternalID), i.e. nobody resubmitted it since."""

    task_id: int
    job_id: int
    from_status: str
    to_status: str


@dataclass(frozen=True)
class Decision:
    """One decision of the policy.

    Attributes
    ----------
    kind:
        What the decision does.
    key:
        Idempotency key: the agent never applies two decisions with the same key.
    failure:
        For decisions about a job failure (outcome, avoid-site): the failure's identity (:func:`failure_key`).
        Once the outcome of a failure is recorded, no other decision about that failure is new either.
    transformation_id:
        The transformation concerned (None for a production decision).
    production_id:
        The production concerned, when known.
    task_id, job_id, site:
        The failed task, its job and the job's site (failure decisions).
    failure_class, rule:
        The class and the rule that classified the failure (failure decisions).
    lfns:
        The files concerned (RETRY, GIVE_UP: the files counted as failed; AVOID_SITE: the files to keep away
        from ``site``; BEYOND_LIMIT: the Unused files beyond the transformation's ``input_limit``).
    file_changes:
        The status changes to apply (may be empty: e.g. a retry of files another agent already reset).
    task_change:
        The task status change to apply, for a RETRY or GIVE_UP of a task without input files (None when
        nothing is to change, e.g. a task given up that is already Failed).
    new_status:
        The transformation or production status to set (FLUSH, COMPLETE, COMPLETE_PRODUCTION).
    reason:
        Why, in words, for the log, the DB and the report.
    """

    kind: DecisionKind
    key: str
    failure: str = ""
    transformation_id: int | None = None
    production_id: int | None = None
    task_id: int | None = None
    job_id: int | None = None
    site: str = ""
    failure_class: FailureClass | None = None
    rule: str = ""
    lfns: tuple[str, ...] = ()
    file_changes: tuple[FileChange, ...] = ()
    task_change: TaskChange | None = None
    new_status: str = ""
    reason: str = ""

    @property
    def changes_anything(self) -> bool:
        """Whether applying the decision would change something in DIRAC."""
        return bool(
            self.file_changes or self.task_change or self.new_status or self.kind is DecisionKind.AVOID_SITE
        )

    @property
    def counts_task(self) -> bool:
        """Whether this decision counts against the budget of its task (a retry or give-up of a task without
        input files), rather than against the budgets of files."""
        return self.kind in (DecisionKind.RETRY, DecisionKind.GIVE_UP) and not self.lfns and self.task_id is not None

    def to_record(self) -> dict[str, Any]:
        """The decision as a flat dict of plain values (for a DB row or JSON)."""
        return {
            "Kind": self.kind.value,
            "Key": self.key,
            "Failure": self.failure,
            "TransformationID": self.transformation_id,
            "ProductionID": self.production_id,
            "TaskID": self.task_id,
            "JobID": self.job_id,
            "Site": self.site,
            "Class": self.failure_class.value if self.failure_class else "",
            "Rule": self.rule,
            "LFNs": list(self.lfns),
            "FileChanges": [[c.lfn, c.from_status, c.to_status] for c in self.file_changes],
            "TaskChange": (
                [self.task_change.task_id, self.task_change.job_id, self.task_change.from_status,
                 self.task_change.to_status]
                if self.task_change
                else None
            ),
            "NewStatus": self.new_status,
            "Reason": self.reason,
        }


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment is not None else "-"


def failure_key(transformation_id: int, task_id: int, job_id: int, last_update: datetime | None) -> str:
    """The identity of one failure of one job: ``<trans>:<task>:<job>:<last status change>``."""
    return f"{transformation_id}:{task_id}:{job_id}:{_stamp(last_update)}"


def outcome_key(failure: str) -> str:
    """The key of the outcome decision (retry, give-up or leave) of a failure."""
    return f"{OUTCOME_PREFIX}{failure}"


def beyond_limit_key(transformation_id: int, lfns: Iterable[str]) -> str:
    """The key of a beyond-limit decision: the transformation and a digest of the files it sets aside (files
    that arrive later make a new decision; the same files seen again make the same key)."""
    digest = hashlib.sha1("\n".join(sorted(set(lfns))).encode()).hexdigest()[:20]
    return f"beyond-limit:{transformation_id}:{digest}"


def filter_new(decisions: Iterable[Decision], recorded_keys: Collection[str]) -> list[Decision]:
    """The decisions not recorded yet, in order, without two decisions with the same key.

    A decision is dropped when its key is recorded, and also when it is about a failure whose outcome is
    recorded (e.g. an avoid-site that a later look at moved counters would add to a failure already decided).
    """
    seen = set(recorded_keys)
    decided_failures = {key[len(OUTCOME_PREFIX) :] for key in seen if key.startswith(OUTCOME_PREFIX)}
    fresh = []
    for decision in decisions:
        if decision.key in seen:
            continue
        if decision.failure and decision.kind not in OUTCOME_KINDS and decision.failure in decided_failures:
            continue
        seen.add(decision.key)
        fresh.append(decision)
    return fresh


def count_failures(
    decisions: Iterable[Decision],
) -> tuple[dict[tuple[int, str], Counter[str]], dict[tuple[int, str, str], int]]:
    """The failure counters the policy expects in its facts, computed from recorded decisions.

    This defines what the agent's DB must count (it may run the equivalent SQL instead):

    - per file: ``(transformation, lfn)`` to a Counter of class values, one per RETRY or GIVE_UP decision
      listing the file;
    - per site: ``(transformation, site, class value)`` to the number of outcome decisions (RETRY, GIVE_UP,
      LEAVE) of failures at that site.
    """
    per_file: dict[tuple[int, str], Counter[str]] = {}
    per_site: dict[tuple[int, str, str], int] = {}
    for decision in decisions:
        if decision.kind not in OUTCOME_KINDS or decision.failure_class is None or decision.transformation_id is None:
            continue
        cls = decision.failure_class.value
        if decision.kind in (DecisionKind.RETRY, DecisionKind.GIVE_UP):
            for lfn in decision.lfns:
                per_file.setdefault((decision.transformation_id, lfn), Counter())[cls] += 1
        if decision.site:
            key = (decision.transformation_id, decision.site, cls)
            per_site[key] = per_site.get(key, 0) + 1
    return per_file, per_site


def count_task_failures(decisions: Iterable[Decision]) -> dict[tuple[int, int], Counter[str]]:
    """The per-task failure counters the policy expects in a task's facts (tasks without input files):
    ``(transformation, task)`` to a Counter of class values, one per RETRY or GIVE_UP decision of that task
    (:attr:`Decision.counts_task`). The agent's DB counts the same (table ``FMDecisionTasks``)."""
    per_task: dict[tuple[int, int], Counter[str]] = {}
    for decision in decisions:
        if not decision.counts_task or decision.failure_class is None or decision.transformation_id is None:
            continue
        assert decision.task_id is not None
        per_task.setdefault((decision.transformation_id, decision.task_id), Counter())[
            decision.failure_class.value
        ] += 1
    return per_task
