"""Recording decisions once and applying them at most once.

The protocol (see also ``FailureManagementDB``):

1. :meth:`Actions.record` writes the groups of decisions (a failure's outcome with its avoid-site decision,
   or one status decision), many groups per transaction; a group whose key is already recorded (a restart,
   another agent) is not this agent's to apply.
2. :meth:`Actions.apply` applies what this agent recorded, then marks the decisions Applied (those of one
   transformation together, once its changes are made). A file change is applied only if the file is still in
   the status the decision expected (and, for an Assigned file, still in the failed task): applying a decision
   a second time changes nothing. A status change is applied only if the transformation or production still has
   the status the decision saw. The transformations' file changes are made by up to :data:`PARALLEL_RPCS`
   threads at once (each reads its files and changes them: two RPCs), so that the cycle does not wait for each
   transformation's RPCs in turn.
3. :meth:`Actions.recover` takes over decisions left Pending by an agent that died (same host, process gone)
   or whose claim is older than :data:`CLAIM_LEASE`, and applies them the same way.

File changes go through DIRAC's own client-side file state machine
(``TransformationClient._applyTransformationFilesStateMachine``, never forced), from the file statuses read
just before.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from CTAODIRAC.Core.Failures.decisions import OUTCOME_KINDS, Decision, DecisionKind
from CTAODIRAC.Core.Failures.statuses import FileStatus

__all__ = [
    "CLAIM_LEASE",
    "PARALLEL_RPCS",
    "Action",
    "Actions",
    "Outcome",
    "group_decisions",
    "owner_id",
    "owner_is_dead",
]

#: A Pending decision whose owner may still be alive (another host) is taken over after this long.
CLAIM_LEASE = timedelta(minutes=10)

#: Most RPCs a cycle has in flight at once (the transformations' file changes; the meta-queries of
#: transformations new to the agent). Each DISET call waits ~50 ms for its TLS handshake and the server.
PARALLEL_RPCS = 8


def _start_ticks(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_id() -> str:
    """This process as the owner of the decisions it records: ``host:pid:start``."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '0'}"


def owner_is_dead(owner: str, host: str | None = None) -> bool:
    """Whether ``owner`` is a process of this host that no longer runs (False when it cannot be told)."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3:
        return False
    name, pid, start = parts
    if name != (host or socket.gethostname()) or not pid.isdigit():
        return False
    return _start_ticks(int(pid)) != start


def group_decisions(decisions: Iterable[Decision]) -> list[list[Decision]]:
    """Decisions grouped for recording: a failure's outcome first with the other decisions about that failure."""
    groups: list[list[Decision]] = []
    by_failure: dict[str, list[Decision]] = {}
    for decision in decisions:
        if decision.failure:
            group = by_failure.get(decision.failure)
            if group is None:
                group = by_failure[decision.failure] = []
                groups.append(group)
            if decision.kind in OUTCOME_KINDS:
                group.insert(0, decision)
            else:
                group.append(decision)
        else:
            groups.append([decision])
    return groups


@dataclass
class Action:
    """What applying one recorded decision means."""

    decision_id: int
    kind: str
    transformation_id: int | None
    production_id: int | None
    task_id: int | None
    changes: tuple[tuple[str, str, str], ...] = ()
    expected_status: str = ""
    new_status: str = ""
    task_change: tuple[int, int, str, str] | None = None
    """``(task, failed job, status expected, new status)`` of a task without input files."""

    @classmethod
    def from_decision(cls, decision: Decision, decision_id: int, expected_status: str = "") -> Action:
        change = decision.task_change
        return cls(
            decision_id=decision_id,
            kind=decision.kind.value,
            transformation_id=decision.transformation_id,
            production_id=decision.production_id,
            task_id=decision.task_id,
            changes=tuple((c.lfn, c.from_status, c.to_status) for c in decision.file_changes),
            expected_status=expected_status,
            new_status=decision.new_status,
            task_change=(change.task_id, change.job_id, change.from_status, change.to_status) if change else None,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Action:
        payload = json.loads(row.get("FileChanges") or "{}")
        return cls(
            decision_id=int(row["DecisionID"]),
            kind=str(row["Kind"]),
            transformation_id=_int(row.get("TransformationID")),
            production_id=_int(row.get("ProductionID")),
            task_id=_int(row.get("TaskID")),
            changes=tuple(tuple(change) for change in payload.get("Changes", ())),  # type: ignore[misc]
            expected_status=str(row.get("ExpectedStatus") or ""),
            new_status=str(row.get("NewStatus") or ""),
            task_change=_task_change(payload.get("Task")),
        )


def _task_change(value: Any) -> tuple[int, int, str, str] | None:
    if not value:
        return None
    task_id, job_id, from_status, to_status = value
    return int(task_id), int(job_id), str(from_status), str(to_status)


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


@dataclass
class Outcome:
    """What recording and applying did in one cycle (for the log and the summary)."""

    recorded: list[Decision] = field(default_factory=list)
    duplicates: int = 0
    applied: int = 0
    files_changed: int = 0
    tasks_changed: int = 0
    skipped_changes: int = 0
    left_pending: int = 0
    recovered: int = 0
    errors: list[str] = field(default_factory=list)


class Actions:
    """Records decisions in the DB and applies them through DIRAC's clients."""

    def __init__(
        self,
        db: Any,
        transformations: Any,
        productions: Any,
        log: Any,
        owner: str | None = None,
        jobs: Any = None,
    ):
        self.db = db
        self.tc = transformations
        self.pc = productions
        self.jm = jobs
        self.log = log
        self.owner = owner or owner_id()
        self.rpcs = 0
        self._lock = threading.Lock()

    def _call(self, result: Mapping[str, Any]) -> Any:
        from DIRAC.Core.Utilities.ReturnValues import returnValueOrRaise

        with self._lock:  # file changes are made by several threads
            self.rpcs += 1
        return returnValueOrRaise(result)

    # --- 1. record --------------------------------------------------------------------------------------------------

    def record(
        self,
        decisions: Sequence[Decision],
        *,
        report_only: bool,
        expected_status: Mapping[int, str],
        outcome: Outcome,
    ) -> list[Action]:
        """Record every group; return the actions this agent now owns (none in report-only mode)."""
        owned: list[Action] = []
        groups = group_decisions(decisions)
        expected = {
            d.key: expected_status.get(d.transformation_id, "")
            for group in groups
            for d in group
            if d.kind in (DecisionKind.FLUSH, DecisionKind.COMPLETE) and d.transformation_id is not None
        }
        recorded = self.db.record_groups(groups, report_only=report_only, owner=self.owner, expected_status=expected)
        for group, ids in zip(groups, recorded):
            if not ids:
                outcome.duplicates += 1
                continue
            outcome.recorded.extend(group[: len(ids)])
            if report_only:
                continue
            for decision, decision_id in zip(group, ids):
                if decision.kind is DecisionKind.AVOID_SITE:
                    continue  # applied when recorded (its bans are rows of the same DB)
                owned.append(Action.from_decision(decision, decision_id, expected.get(decision.key, "")))
        return owned

    # --- 3. recover -------------------------------------------------------------------------------------------------

    def recover(self) -> list[Action]:
        """Claim the Pending decisions that are this agent's to finish (see the module docstring)."""
        rows = self.db.pending()
        if not rows:
            return []
        now = self.db.now()
        claimed = []
        for row in rows:
            owner = str(row.get("Owner") or "")
            claim_time = row.get("ClaimTime")
            expired = claim_time is None or (now - claim_time) >= CLAIM_LEASE
            if owner != self.owner and not owner_is_dead(owner) and not expired:
                continue
            if self.db.claim(int(row["DecisionID"]), owner, claim_time, self.owner):
                claimed.append(Action.from_row(row))
        return claimed

    # --- 2. apply ---------------------------------------------------------------------------------------------------

    def apply(self, actions: Sequence[Action], outcome: Outcome) -> None:
        """Apply the actions this agent owns; each is marked Applied when done, or left Pending on an error."""
        by_transformation: dict[int, list[Action]] = {}
        task_actions: dict[int, list[Action]] = {}
        others: list[Action] = []
        for action in actions:
            if action.changes and action.transformation_id is not None:
                by_transformation.setdefault(action.transformation_id, []).append(action)
            elif action.task_change and action.transformation_id is not None:
                task_actions.setdefault(action.transformation_id, []).append(action)
            elif action.kind in (DecisionKind.FLUSH.value, DecisionKind.COMPLETE.value):
                others.append(action)
            elif action.kind == DecisionKind.COMPLETE_PRODUCTION.value:
                others.append(action)
            else:
                self._mark(action, {"Changes": {}, "Note": "nothing to change"}, outcome)
        if by_transformation:
            self._apply_file_changes(sorted(by_transformation.items()), outcome)
        if task_actions:
            every = [action for group in task_actions.values() for action in group]
            try:
                failed_jobs = self._still_failed({action.task_change[1] for action in every if action.task_change})
            except Exception as exc:  # noqa: BLE001
                failed_jobs = None
                self._left_pending(every, f"job statuses: {exc}", outcome)
            if failed_jobs is not None:
                for tid, group in sorted(task_actions.items()):
                    try:
                        self._apply_task_changes(tid, group, failed_jobs, outcome)
                    except Exception as exc:  # noqa: BLE001
                        self._left_pending(group, f"transformation {tid}: {exc}", outcome)
        for action in others:
            try:
                self._apply_status(action, outcome)
            except Exception as exc:  # noqa: BLE001
                self._left_pending([action], f"decision {action.decision_id}: {exc}", outcome)

    def _apply_file_changes(self, ordered: Sequence[tuple[int, Sequence[Action]]], outcome: Outcome) -> None:
        """Each transformation's file changes made by a thread of a pool (its RPCs), then, in this thread and in
        transformation order, counted and marked Applied; one transformation's failure leaves its decisions
        Pending and does not stop the others."""
        with ThreadPoolExecutor(max_workers=min(PARALLEL_RPCS, len(ordered))) as pool:
            futures = [(tid, group, pool.submit(self._file_changes, tid, group)) for tid, group in ordered]
            for tid, group, future in futures:
                try:
                    results = future.result()
                    for _, result in results:
                        outcome.files_changed += len(result["Changes"])
                        outcome.skipped_changes += len(result["Skipped"])
                    self._mark_all(results, outcome)
                except Exception as exc:  # noqa: BLE001 - one transformation's failure must not stop the others
                    self._left_pending(group, f"transformation {tid}: {exc}", outcome)

    def _left_pending(self, actions: Sequence[Action], message: str, outcome: Outcome) -> None:
        self.log.error("Could not apply decisions, left Pending for the next cycle", message)
        outcome.left_pending += len(actions)
        outcome.errors.append(message)

    def _mark(self, action: Action, result: Mapping[str, Any], outcome: Outcome) -> None:
        self._mark_all([(action, result)], outcome)

    def _mark_all(self, results: Sequence[tuple[Action, Mapping[str, Any]]], outcome: Outcome) -> None:
        """Mark these decisions Applied, with what applying each did (one DB statement)."""
        from CTAODIRAC.TransformationSystem.DB.FailureManagementDB import State

        if results:
            self.db.mark_many([(action.decision_id, State.APPLIED, result) for action, result in results])
            outcome.applied += len(results)

    def _file_changes(self, tid: int, actions: Sequence[Action]) -> list[tuple[Action, dict[str, Any]]]:
        """Make the file changes of one transformation's actions (two RPCs; thread-safe, changes no counter but
        :attr:`rpcs`); return what each action did, for the caller to mark."""
        lfns = sorted({lfn for action in actions for lfn, _, _ in action.changes})
        rows = self._call(
            self.tc.getTransformationFiles(
                condDict={"TransformationID": tid, "LFN": lfns},
                columns=["LFN", "Status", "ErrorCount", "FileID", "TaskID"],
            )
        )
        current = {
            row["LFN"]: {"Status": row["Status"], "ErrorCount": row["ErrorCount"], "FileID": row["FileID"],
                         "TaskID": row["TaskID"]}
            for row in rows
        }  # fmt: skip
        updates: dict[int, list[Any]] = {}
        results: list[tuple[Action, dict[str, Any]]] = []
        for action in actions:
            proposed: dict[str, str] = {}
            skipped: dict[str, str] = {}
            for lfn, from_status, to_status in action.changes:
                now = current.get(lfn)
                if now is None:
                    skipped[lfn] = "not in the transformation"
                elif now["Status"] != from_status:
                    skipped[lfn] = f"now {now['Status']}, expected {from_status}"
                elif (
                    from_status == FileStatus.ASSIGNED
                    and action.task_id is not None
                    and now["TaskID"] not in (None, "")
                    and int(now["TaskID"]) != action.task_id
                ):
                    skipped[lfn] = f"now in task {now['TaskID']}, not {action.task_id}"
                else:
                    proposed[lfn] = to_status
            machine_input = {lfn: [current[lfn]["Status"], current[lfn]["ErrorCount"], current[lfn]["FileID"]]
                             for lfn in proposed}  # fmt: skip
            new_statuses = self.tc._applyTransformationFilesStateMachine(machine_input, proposed, False)  # noqa: SLF001
            for lfn, status in new_statuses.items():
                before = current[lfn]["Status"]
                updates[current[lfn]["FileID"]] = [status, self.tc._wasFileInError(status, before)]  # noqa: SLF001
                current[lfn] = {**current[lfn], "Status": status}
            results.append((action, {"Changes": new_statuses, "Skipped": skipped}))
        if updates:
            self._call(self.tc._getRPC().setFileStatusForTransformation(tid, updates))  # noqa: SLF001
        return results

    def _still_failed(self, job_ids: set[int]) -> dict[int, str]:
        """Job ID to its status now, for the jobs that are still Failed or Killed (one RPC)."""
        if self.jm is None:
            raise RuntimeError("no job monitoring client to check the failed jobs")
        states = self._call(self.jm.getJobsStates(sorted(job_ids)))
        found = {int(jid): str(attrs.get("Status")) for jid, attrs in states.items()}
        return {jid: status for jid, status in found.items() if status in ("Failed", "Killed")}

    def _apply_task_changes(
        self, tid: int, actions: Sequence[Action], failed_jobs: Mapping[int, str], outcome: Outcome
    ) -> None:
        """Set the tasks' new statuses (one RPC per new status), each only if the task still points at its failed
        job, in the status the decision saw, and that job is still Failed or Killed."""
        task_ids = sorted({action.task_change[0] for action in actions if action.task_change})
        rows = self._call(
            self.tc.getTransformationTasks(condDict={"TransformationID": tid, "TaskID": task_ids})
        )
        current = {int(row["TaskID"]): (str(row.get("ExternalStatus")), str(row.get("ExternalID"))) for row in rows}
        to_set: dict[str, list[int]] = {}
        results: list[tuple[Action, dict[str, Any]]] = []
        for action in actions:
            assert action.task_change is not None
            task_id, job_id, from_status, to_status = action.task_change
            status, external_id = current.get(task_id, ("", ""))
            if task_id not in current:
                skip = "no such task"
            elif external_id != str(job_id):
                skip = f"task now has job {external_id}, not the failed job {job_id}"
            elif status != from_status:
                skip = f"task now {status}, expected {from_status}"
            elif job_id not in failed_jobs:
                skip = f"job {job_id} is no longer Failed or Killed"
            else:
                skip = ""
            if skip:
                results.append((action, {"Task": {}, "Skipped": {str(task_id): skip}}))
                continue
            to_set.setdefault(to_status, []).append(task_id)
            current[task_id] = (to_status, external_id)
            results.append((action, {"Task": {str(task_id): [from_status, to_status]}, "Skipped": {}}))
        for status, ids in sorted(to_set.items()):
            self._call(self.tc.setTaskStatus(tid, ids, status))
        for action, result in results:
            outcome.tasks_changed += len(result["Task"])
            outcome.skipped_changes += len(result["Skipped"])
        self._mark_all(results, outcome)

    def _apply_status(self, action: Action, outcome: Outcome) -> None:
        if action.kind == DecisionKind.COMPLETE_PRODUCTION.value:
            production = self._call(self.pc.getProduction(action.production_id))
            status = production.get("Status")
            if status != "Active":
                self._mark(action, {"Skipped": f"production is {status}, expected Active"}, outcome)
                return
            self._call(self.pc.setProductionStatus(action.production_id, action.new_status))
            self._mark(action, {"Status": action.new_status}, outcome)
            return
        tid = action.transformation_id
        status = self._call(self.tc.getTransformationParameters(tid, "Status"))
        if action.expected_status and status != action.expected_status:
            self._mark(action, {"Skipped": f"transformation is {status}, expected {action.expected_status}"}, outcome)
            return
        self._call(self.tc.setTransformationParameter(tid, "Status", action.new_status, currentStatus=status))
        self.rpcs += 2  # the client reads the transformation and its status again before setting it
        self._mark(action, {"Status": action.new_status, "Was": status}, outcome)


def describe_times(moment: datetime | None) -> str:
    """A time for logs: ``YYYY-MM-DD HH:MM:SS`` or ``-``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"
