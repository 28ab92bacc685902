"""FailureManagementDB: the decisions of the failure-management agent, their state, the agent's counters.

Tables (``FailureManagementDB.sql``): ``FMDecisions`` (one row per decision, its idempotency key unique),
``FMDecisionFiles`` (the files each retry / give-up counted as failed: the per-file budgets),
``FMDecisionTasks`` (the same for tasks without input files, e.g. simulation runs: the per-task budgets),
``FMSiteBans`` (files kept away from a site), ``FMState`` (the agent's high-water mark).

How a decision is acted on exactly once:

1. :meth:`record` inserts the decision (and, for a failure, its avoid-site decision and the site bans) in one
   transaction, ``State = Pending``, owned by the agent (:meth:`record_groups`: many groups per transaction).
   The keys are read first with a locking read: a decision whose unique ``IdemKey`` is already there (a
   restart, a second agent) is not inserted again, and that caller then applies nothing.
2. The agent applies it, then :meth:`mark` sets ``Applied`` (or ``Failed``) with what was done.
3. A decision left ``Pending`` (the agent died between 1 and 2) is taken over with :meth:`claim` by the next
   cycle of an agent once its owner is known dead or its claim is older than a lease; applying it again is
   harmless because each change is applied only if DIRAC still shows the state the decision expected.

Every SQL statement here is parameterised; the methods raise ``SErrorException`` (from DIRAC's return values)
on a DB error and return plain Python values.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from DIRAC.Core.Base.DB import DB
from DIRAC.Core.Utilities.ReturnValues import SErrorException, returnValueOrRaise

from CTAODIRAC.Core.Failures.decisions import Decision, DecisionKind

__all__ = ["DECISION_COLUMNS", "FailureManagementDB", "State"]

#: Largest number of values put in one ``IN (...)``.
CHUNK = 1000

#: Groups of decisions recorded in one transaction by :meth:`FailureManagementDB.record_groups`; decisions marked
#: in one statement by :meth:`FailureManagementDB.mark_many`.
BATCH = 500

#: Times a batch is tried again after MariaDB chose it as a deadlock victim (two agents recording at once; the
#: whole transaction was rolled back, so trying again is safe).
DEADLOCK_RETRIES = 3


class State:
    """Values of ``FMDecisions.State``."""

    REPORT_ONLY = "ReportOnly"
    PENDING = "Pending"
    APPLIED = "Applied"
    FAILED = "Failed"


#: Columns returned by :meth:`FailureManagementDB.get_decisions`, in order.
DECISION_COLUMNS = (
    "DecisionID", "IdemKey", "Kind", "Failure", "TransformationID", "ProductionID", "TaskID", "JobID", "Site",
    "Class", "Rule", "NumFiles", "FileChanges", "ExpectedStatus", "NewStatus", "Reason", "State", "Result",
    "Owner", "ClaimTime", "CreationTime", "AppliedTime",
)  # fmt: skip

#: Decisions that change a transformation or production status: one recorded in report-only mode is taken
#: over (not skipped) once the agent acts, since no counter depends on it. Files set aside beyond an input limit
#: are taken over the same way (no counter depends on them either).
STATUS_KINDS = frozenset(
    {DecisionKind.FLUSH.value, DecisionKind.COMPLETE.value, DecisionKind.COMPLETE_PRODUCTION.value,
     DecisionKind.BEYOND_LIMIT.value}
)  # fmt: skip

#: Outcome kinds of a failure (counted per site).
OUTCOME_KINDS = (DecisionKind.RETRY.value, DecisionKind.GIVE_UP.value, DecisionKind.LEAVE.value)

_SELECT_DECISIONS = "SELECT " + ", ".join(DECISION_COLUMNS) + " FROM FMDecisions"

#: Only ``%s`` in its VALUES: MySQLdb's ``executemany`` then sends many rows in one statement.
_INSERT_DECISION = (
    "INSERT INTO FMDecisions (IdemKey, Kind, Failure, TransformationID, ProductionID, TaskID, JobID, Site, Class,"
    " Rule, NumFiles, FileChanges, ExpectedStatus, NewStatus, Reason, State, Owner, ClaimTime, CreationTime,"
    " Result, AppliedTime) VALUES (" + ", ".join(["%s"] * 21) + ")"
)

#: Filters accepted by :meth:`FailureManagementDB.get_decisions` and their SQL (values always parameters).
_FILTERS = {
    "TransformationID": "TransformationID IN ({})",
    "ProductionID": "ProductionID IN ({})",
    "Class": "Class IN ({})",
    "Site": "Site IN ({})",
    "Kind": "Kind IN ({})",
    "State": "State IN ({})",
}


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _is_deadlock(exc: SErrorException) -> bool:
    """Whether a DB error is MariaDB's deadlock (1213), lock wait timeout (1205) or a duplicate key (1062: another
    agent inserted a key of the batch first): the whole transaction was rolled back and may be tried again."""
    message = str(exc)
    return any(code in message for code in ("1213", "1205", "1062", "Deadlock", "Duplicate entry"))


def where_clause(filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """``(" WHERE ...", args)`` for the report filters (see ``_FILTERS``; ``Since``: a datetime or ISO string).

    Column names come from a fixed table; every value is a ``%s`` parameter.
    """
    clauses: list[str] = []
    args: list[Any] = []
    for name, value in (filters or {}).items():
        if value is None or value == "" or value == []:
            continue
        if name == "Since":
            clauses.append("CreationTime >= %s")
            args.append(value if isinstance(value, str) else value.strftime("%Y-%m-%d %H:%M:%S"))
            continue
        if name not in _FILTERS:
            raise ValueError(f"unknown filter {name!r} (known: {', '.join([*_FILTERS, 'Since'])})")
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        clauses.append(_FILTERS[name].format(_placeholders(len(values))))
        args.extend(values)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


class FailureManagementDB(DB):
    """This extension's MariaDB tables for failure management (``Systems/Transformation/Databases``)."""

    def __init__(self, parentLogger: Any = None) -> None:
        super().__init__("FailureManagementDB", "Transformation/FailureManagementDB", parentLogger=parentLogger)
        self._ensure_tables()

    # --- plumbing -------------------------------------------------------------------------------------------

    def _ensure_tables(self) -> None:
        """Create the tables of ``FailureManagementDB.sql`` that are missing (``CREATE TABLE IF NOT EXISTS``)."""
        text = resources.files(__package__).joinpath("FailureManagementDB.sql").read_text()
        lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
        for statement in "\n".join(lines).split(";"):
            if statement.strip().upper().startswith("CREATE TABLE IF NOT EXISTS"):
                returnValueOrRaise(self._update(statement))

    def _rows(self, sql: str, args: Sequence[Any] | None = None, conn: Any = None) -> tuple[tuple[Any, ...], ...]:
        return returnValueOrRaise(self._query(sql, args=list(args) if args is not None else None, conn=conn))

    def _write(self, sql: str, args: Sequence[Any] | None = None, conn: Any = None) -> dict[str, Any]:
        result = self._update(sql, args=list(args) if args is not None else None, conn=conn)
        returnValueOrRaise(result)
        return result

    # --- recording --------------------------------------------------------------------------------------------

    def record(
        self,
        decisions: Sequence[Decision],
        *,
        report_only: bool,
        owner: str,
        expected_status: Mapping[str, str] | None = None,
    ) -> list[int]:
        """Record one group of decisions in one transaction; return their new DecisionIDs (empty: already there).

        The first decision is the group's head (a failure's outcome, or a status decision); when its key is
        already recorded nothing of the group is written, unless it is a status decision recorded in report-only
        mode and the agent now acts: then that row is taken over (``Pending``, this owner). In act mode an
        avoid-site decision is applied here, in the same transaction (its bans are rows of this DB).

        Parameters
        ----------
        decisions:
            The head first, then decisions about the same failure (avoid-site).
        report_only:
            Record as ``ReportOnly`` (never applied) instead of ``Pending``.
        owner:
            The agent recording them (see :func:`~CTAODIRAC.TransformationSystem.Utilities.FailureActions.owner_id`).
        expected_status:
            Decision key to the transformation status the decision expects to find (flush, complete).
        """
        return self.record_groups([decisions], report_only=report_only, owner=owner, expected_status=expected_status)[0]

    def record_groups(
        self,
        groups: Sequence[Sequence[Decision]],
        *,
        report_only: bool,
        owner: str,
        expected_status: Mapping[str, str] | None = None,
    ) -> list[list[int]]:
        """Record groups of decisions as :meth:`record` does each, :data:`BATCH` groups per transaction.

        Returns, for each group in order, its new DecisionIDs (empty: its head was already recorded). A batch is
        all or nothing: an error (or a crash) leaves none of its groups recorded, and the batches before it
        recorded.
        """
        expected_status = expected_status or {}
        ids: list[list[int]] = []
        for batch in _chunks(list(groups), BATCH):
            ids.extend(self._record_batch(batch, report_only, owner, expected_status))
        return ids

    def _record_batch(
        self, batch: Sequence[Sequence[Decision]], report_only: bool, owner: str, expected_status: Mapping[str, str]
    ) -> list[list[int]]:
        for attempt in range(DEADLOCK_RETRIES + 1):
            conn = returnValueOrRaise(self._getConnection())
            self._write("START TRANSACTION", conn=conn)
            try:
                ids = self._record_in_transaction(batch, report_only, owner, expected_status, conn)
                self._write("COMMIT" if any(ids) else "ROLLBACK", conn=conn)
                return ids
            except BaseException as exc:
                try:
                    self._write("ROLLBACK", conn=conn)
                except SErrorException as rollback_error:  # the connection is gone: the server rolls back by itself
                    self.log.warn("Rollback failed", str(rollback_error))
                if isinstance(exc, SErrorException) and _is_deadlock(exc) and attempt < DEADLOCK_RETRIES:
                    self.log.warn("Deadlock while recording decisions, trying the batch again", str(exc))
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _record_in_transaction(
        self,
        batch: Sequence[Sequence[Decision]],
        report_only: bool,
        owner: str,
        expected_status: Mapping[str, str],
        conn: Any,
    ) -> list[list[int]]:
        """Insert a batch of groups in the open transaction, in a few statements whatever its size.

        The batch's keys are read first with a locking read (``FOR UPDATE``): a key found is another cycle's or
        agent's (its group is skipped, or a report-only status decision is taken over); a key not found stays
        locked until this transaction ends, so the plain ``INSERT`` that follows inserts exactly the rows this
        agent then owns. Two agents recording the same new keys at once end in a deadlock or a duplicate key for
        one of them, whose whole transaction is rolled back and tried again (it then finds the keys).
        """
        keys = sorted({decision.key for group in batch for decision in group})
        found: set[str] = set()
        for chunk in _chunks(keys):
            rows = self._rows(
                "SELECT IdemKey FROM FMDecisions WHERE IdemKey IN (" + _placeholders(len(chunk)) + ") FOR UPDATE",
                chunk,
                conn=conn,
            )
            found.update(str(key) for (key,) in rows)
        (now,) = self._rows("SELECT UTC_TIMESTAMP()", conn=conn)[0]

        taken: dict[int, int] = {}  # group index to the DecisionID of its head taken over from report-only
        inserted: list[tuple[int, Decision]] = []  # (group index, decision) to insert, in order
        for index, group in enumerate(batch):
            if not group:
                continue
            head = group[0]
            if head.key in found:
                if report_only or head.kind.value not in STATUS_KINDS:
                    continue
                decision_id = self._take_over_report_only(head, owner, expected_status, conn)
                if decision_id is None:
                    continue
                taken[index] = decision_id
            for decision in group:
                if decision.key not in found:
                    found.add(decision.key)  # a key twice in the batch is inserted once, as before
                    inserted.append((index, decision))

        rows: list[tuple[Any, ...]] = []
        for _, decision in inserted:
            applied_now = decision.kind is DecisionKind.AVOID_SITE and not report_only
            state = State.REPORT_ONLY if report_only else (State.APPLIED if applied_now else State.PENDING)
            record = decision.to_record()
            payload = {"LFNs": record["LFNs"], "Changes": record["FileChanges"]}
            if record["TaskChange"]:
                payload["Task"] = record["TaskChange"]
            rows.append(
                (
                    decision.key, record["Kind"], decision.failure, decision.transformation_id,
                    decision.production_id, decision.task_id, decision.job_id, decision.site, record["Class"],
                    decision.rule, len(decision.lfns), json.dumps(payload), expected_status.get(decision.key, ""),
                    decision.new_status, decision.reason, state, owner, now, now,
                    json.dumps({"Banned": len(decision.lfns)}) if applied_now and decision.lfns else None,
                    now if applied_now and decision.lfns else None,
                )
            )  # fmt: skip
        self._updatemany_checked(_INSERT_DECISION, rows, conn)
        new_ids: dict[str, int] = {}
        for chunk in _chunks([decision.key for _, decision in inserted]):
            new_ids.update(
                (str(key), int(decision_id))
                for key, decision_id in self._rows(
                    "SELECT IdemKey, DecisionID FROM FMDecisions WHERE IdemKey IN (" + _placeholders(len(chunk)) + ")",
                    chunk,
                    conn=conn,
                )
            )

        ids: list[list[int]] = [[] for _ in batch]
        for index, decision_id in taken.items():
            ids[index].append(decision_id)
        files: list[tuple[Any, ...]] = []
        tasks: list[tuple[Any, ...]] = []
        bans: list[tuple[Any, ...]] = []
        for index, decision in inserted:
            decision_id = new_ids[decision.key]
            ids[index].append(decision_id)
            cls = decision.failure_class.value if decision.failure_class else ""
            if decision.kind in (DecisionKind.RETRY, DecisionKind.GIVE_UP) and decision.lfns:
                files.extend((decision_id, decision.transformation_id, lfn, cls) for lfn in decision.lfns)
            if decision.counts_task:
                tasks.append((decision_id, decision.transformation_id, decision.task_id, cls))
            if decision.kind is DecisionKind.AVOID_SITE and not report_only:
                bans.extend(
                    (decision.transformation_id, lfn, decision.site, cls, decision_id, now) for lfn in decision.lfns
                )
        self._updatemany_checked(
            "INSERT IGNORE INTO FMDecisionFiles (DecisionID, TransformationID, LFN, Class) VALUES (%s, %s, %s, %s)",
            files,
            conn,
        )
        self._updatemany_checked(
            "INSERT IGNORE INTO FMDecisionTasks (DecisionID, TransformationID, TaskID, Class) VALUES (%s, %s, %s, %s)",
            tasks,
            conn,
        )
        self._updatemany_checked(
            "INSERT IGNORE INTO FMSiteBans (TransformationID, LFN, Site, Class, DecisionID, CreationTime)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            bans,
            conn,
        )
        return ids

    def _take_over_report_only(
        self, decision: Decision, owner: str, expected_status: Mapping[str, str], conn: Any
    ) -> int | None:
        result = self._write(
            "UPDATE FMDecisions SET State = %s, Owner = %s, ClaimTime = UTC_TIMESTAMP(), ExpectedStatus = %s,"
            " Reason = %s WHERE IdemKey = %s AND State = %s",
            [State.PENDING, owner, expected_status.get(decision.key, ""), decision.reason, decision.key,
             State.REPORT_ONLY],
            conn=conn,
        )  # fmt: skip
        if not result["Value"]:
            return None
        rows = self._rows("SELECT DecisionID FROM FMDecisions WHERE IdemKey = %s", [decision.key], conn=conn)
        return int(rows[0][0])

    def _updatemany_checked(self, sql: str, data: list[tuple[Any, ...]], conn: Any) -> None:
        for chunk in _chunks(data):
            returnValueOrRaise(self._updatemany(sql, list(chunk), conn=conn))

    def mark(self, decision_id: int, state: str, result: Mapping[str, Any]) -> None:
        """Set a decision's final state (``Applied`` or ``Failed``) and what applying it did."""
        self._write(
            "UPDATE FMDecisions SET State = %s, Result = %s, AppliedTime = UTC_TIMESTAMP() WHERE DecisionID = %s",
            [state, json.dumps(result, default=str), decision_id],
        )

    def mark_many(self, marks: Sequence[tuple[int, str, Mapping[str, Any]]]) -> None:
        """:meth:`mark` for many ``(decision_id, state, result)``: one statement per :data:`BATCH` decisions."""
        for chunk in _chunks(list(marks), BATCH):
            states: list[Any] = []
            results: list[Any] = []
            for decision_id, state, result in chunk:
                states += [decision_id, state]
                results += [decision_id, json.dumps(result, default=str)]
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            self._write(
                "UPDATE FMDecisions SET State = CASE DecisionID " + cases + " END, Result = CASE DecisionID "
                + cases + " END, AppliedTime = UTC_TIMESTAMP() WHERE DecisionID IN (" + _placeholders(len(chunk)) + ")",
                [*states, *results, *(decision_id for decision_id, _, _ in chunk)],
            )  # fmt: skip

    # --- pending decisions (crash recovery) -------------------------------------------------------------------

    def pending(self) -> list[dict[str, Any]]:
        """Every ``Pending`` decision, oldest first."""
        where, args = where_clause({"State": State.PENDING})
        return self._decisions(where + " ORDER BY DecisionID", args)

    def claim(self, decision_id: int, old_owner: str, old_claim_time: datetime | None, owner: str) -> bool:
        """Take a pending decision over, if nobody else did since it was read (compare-and-set)."""
        result = self._write(
            "UPDATE FMDecisions SET Owner = %s, ClaimTime = UTC_TIMESTAMP() WHERE DecisionID = %s AND State = %s"
            " AND Owner = %s AND ClaimTime <=> %s",
            [owner, decision_id, State.PENDING, old_owner, old_claim_time],
        )
        return bool(result["Value"])

    def now(self) -> datetime:
        """The DB server's UTC time (claims and creation times are in it)."""
        return self._rows("SELECT UTC_TIMESTAMP()")[0][0]

    # --- what the policy needs ----------------------------------------------------------------------------------

    def existing_keys(self, keys: Collection[str], *, act: bool) -> set[str]:
        """The keys among ``keys`` already recorded (in act mode, report-only status decisions do not count)."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(keys))):
            rows = self._rows(
                "SELECT IdemKey, Kind, State FROM FMDecisions WHERE IdemKey IN (" + _placeholders(len(chunk)) + ")",
                chunk,
            )
            found.update(key for key, kind, state in rows if not (act and state == State.REPORT_ONLY and kind in STATUS_KINDS))
        return found

    def status_decision_keys(
        self, transformation_ids: Collection[int], production_ids: Collection[int], *, act: bool
    ) -> set[str]:
        """Keys of the flush / complete decisions of these transformations and productions."""
        found: set[str] = set()
        queries = (
            ("TransformationID", sorted(transformation_ids), (DecisionKind.FLUSH.value, DecisionKind.COMPLETE.value)),
            ("ProductionID", sorted(production_ids), (DecisionKind.COMPLETE_PRODUCTION.value,)),
        )
        for column, ids, kinds in queries:
            where_template = "TransformationID IN ({})" if column == "TransformationID" else "ProductionID IN ({})"
            for chunk in _chunks(ids):
                rows = self._rows(
                    "SELECT IdemKey, State FROM FMDecisions WHERE "
                    + where_template.format(_placeholders(len(chunk)))
                    + " AND Kind IN ("
                    + _placeholders(len(kinds))
                    + ")",
                    [*chunk, *kinds],
                )
                found.update(key for key, state in rows if not (act and state == State.REPORT_ONLY))
        return found

    def file_failures(self, transformation_id: int, lfns: Collection[str]) -> dict[str, dict[str, int]]:
        """LFN to ``{class: failures recorded}`` (retry and give-up decisions) in one transformation."""
        counts: dict[str, dict[str, int]] = {}
        for chunk in _chunks(sorted(set(lfns))):
            rows = self._rows(
                "SELECT LFN, Class, COUNT(*) FROM FMDecisionFiles WHERE TransformationID = %s AND LFN IN ("
                + _placeholders(len(chunk))
                + ") GROUP BY LFN, Class",
                [transformation_id, *chunk],
            )
            for lfn, cls, count in rows:
                counts.setdefault(lfn, {})[cls] = int(count)
        return counts

    def task_failures(self, transformation_id: int, task_ids: Collection[int]) -> dict[int, dict[str, int]]:
        """Task ID to ``{class: failures recorded}`` (retry and give-up decisions of tasks without input files)."""
        counts: dict[int, dict[str, int]] = {}
        for chunk in _chunks(sorted({int(task_id) for task_id in task_ids})):
            rows = self._rows(
                "SELECT TaskID, Class, COUNT(*) FROM FMDecisionTasks WHERE TransformationID = %s AND TaskID IN ("
                + _placeholders(len(chunk))
                + ") GROUP BY TaskID, Class",
                [transformation_id, *chunk],
            )
            for task_id, cls, count in rows:
                counts.setdefault(int(task_id), {})[cls] = int(count)
        return counts

    def site_failures(self, transformation_ids: Collection[int]) -> dict[int, dict[tuple[str, str], int]]:
        """Transformation to ``{(site, class): failures recorded}`` (outcome decisions with a site)."""
        counts: dict[int, dict[tuple[str, str], int]] = {}
        for chunk in _chunks(sorted(set(transformation_ids))):
            rows = self._rows(
                "SELECT TransformationID, Site, Class, COUNT(*) FROM FMDecisions WHERE TransformationID IN ("
                + _placeholders(len(chunk))
                + ") AND Kind IN ("
                + _placeholders(len(OUTCOME_KINDS))
                + ") AND Site != '' GROUP BY TransformationID, Site, Class",
                [*chunk, *OUTCOME_KINDS],
            )
            for tid, site, cls, count in rows:
                counts.setdefault(int(tid), {})[(site, cls)] = int(count)
        return counts

    def site_bans(self, transformation_id: int) -> dict[str, set[str]]:
        """LFN to the sites its new tasks must avoid, in one transformation."""
        bans: dict[str, set[str]] = {}
        for lfn, site in self._rows(
            "SELECT LFN, Site FROM FMSiteBans WHERE TransformationID = %s", [transformation_id]
        ):
            bans.setdefault(lfn, set()).add(site)
        return bans

    # --- agent state ----------------------------------------------------------------------------------------------

    def get_state(self, name: str) -> str | None:
        rows = self._rows("SELECT Value FROM FMState WHERE Name = %s", [name])
        return rows[0][0] if rows else None

    def set_state(self, name: str, value: str) -> None:
        self._write(
            "INSERT INTO FMState (Name, Value, LastUpdate) VALUES (%s, %s, UTC_TIMESTAMP())"
            " ON DUPLICATE KEY UPDATE Value = VALUES(Value), LastUpdate = VALUES(LastUpdate)",
            [name, value],
        )

    # --- reading for operators --------------------------------------------------------------------------------------

    def _decisions(self, tail: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        return [dict(zip(DECISION_COLUMNS, row)) for row in self._rows(_SELECT_DECISIONS + tail, args)]

    def get_decisions(self, filters: Mapping[str, Any] | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Decisions matching the filters (see :func:`where_clause`), newest first, at most ``limit``."""
        where, args = where_clause(filters)
        return self._decisions(where + " ORDER BY DecisionID DESC LIMIT %s", [*args, int(limit)])

    def summary(self, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Counts of decisions by transformation, kind, class, site and state, for the filters."""
        where, args = where_clause(filters)
        rows = self._rows(
            "SELECT TransformationID, ProductionID, Kind, Class, Site, State, COUNT(*), CAST(SUM(NumFiles) AS SIGNED),"
            " MAX(CreationTime) FROM FMDecisions"
            + where
            + " GROUP BY TransformationID, ProductionID, Kind, Class, Site, State"
            " ORDER BY TransformationID, Kind, Class, Site",
            args,
        )
        names = ("TransformationID", "ProductionID", "Kind", "Class", "Site", "State", "Decisions", "Files", "Last")
        return [dict(zip(names, row)) for row in rows]
