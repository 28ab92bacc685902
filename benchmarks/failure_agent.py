"""Benchmark of one failure-management cycle against the local DIRAC (issue 4, "Benchmarks"; issue 17's goal:
first cycle <= 10 s at 100 transformations x 1,000 tasks, 5 % failed).

Seeds T transformations x N tasks (one input file each) with F % failed jobs (at different task IDs in each
transformation, as in real life) through DIRAC's own DB layer (TransformationDB, JobDB), then runs the agent's
cycle in-process (the same code as ``FailureManagementAgent.cycle``: gather, decide, record, apply) and prints
its time by phase and its RPCs; then a quiet cycle (nothing new) of the same agent (which keeps what it read once
per transformation); then, on the same transformations put back as they were, the same first cycle with its
Python allocations traced (tracemalloc slows a cycle down: that cycle gives the peak memory, not a time), and
the same first cycle by the path the agent had before (per-item reads: the tasks' input vectors read task by
task on the server, two meta-query calls per transformation; one transaction and one INSERT per decision group,
one UPDATE per decision, one RPC at a time), for a before/after ratio measured in one run; then how the cost
grows with changed tasks versus total tasks. ``--profile`` prints the top cProfile entries of the first cycle.

It runs against the local DIRAC of its environment: start it through ``dirac-ctao-local run`` of the instance
wanted (``CTAODIRAC_LOCAL_ROOT`` and ``CTAODIRAC_LOCAL_PORT_OFFSET`` choose it), which is up:

    export CTAODIRAC_LOCAL_ROOT=/tmp/fm-dirac CTAODIRAC_LOCAL_PORT_OFFSET=2000
    .venv/bin/dirac-ctao-local up
    .venv/bin/dirac-ctao-local run --user prodmgr -- python benchmarks/failure_agent.py [--full] [--profile]

Default size: 20 x 200 (smaller than the issue's 100 x 1,000, which ``--full`` runs: ~90 s of seeding per set of
transformations on 2 cores, two sets; ~6 minutes in all).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from typing import Any

import DIRAC

DIRAC.initialize(host_credentials=True)

from DIRAC.ConfigurationSystem.Client.Helpers.Operations import Operations  # noqa: E402
from DIRAC.Core.Utilities.ReturnValues import returnValueOrRaise  # noqa: E402
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient  # noqa: E402
from DIRAC.ProductionSystem.DB.ProductionDB import ProductionDB  # noqa: E402
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient  # noqa: E402
from DIRAC.TransformationSystem.DB.TransformationDB import TransformationDB  # noqa: E402
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient  # noqa: E402
from DIRAC.WorkloadManagementSystem.DB.JobDB import JobDB  # noqa: E402

from CTAODIRAC.Core.Failures import FailureAgentOptions, decide  # noqa: E402
from CTAODIRAC.TransformationSystem.DB.FailureManagementDB import FailureManagementDB  # noqa: E402
from CTAODIRAC.TransformationSystem.Utilities import FailureActions  # noqa: E402
from CTAODIRAC.TransformationSystem.Utilities.FailureActions import Actions, Outcome  # noqa: E402
from CTAODIRAC.TransformationSystem.Utilities.FailureFacts import DiracSources, gather  # noqa: E402

REASONS = [
    ("Job stalled: pilot not running", ""),
    ("Application Finished With Errors", "'ctapipe-process' Exited With Status 1"),
    ("Input Data Resolution", ""),
    ("Uploading Output Data", ""),
    ("Job has reached the CPU limit of the queue", ""),
]


class Log:
    def error(self, *args: Any) -> None:
        print("ERROR", *args)

    def warn(self, *args: Any) -> None:
        print("WARN", *args)

    def notice(self, *args: Any) -> None:
        pass


def seed(tdb: TransformationDB, jdb: JobDB, ttype: str, transformations: int, tasks: int, fail_pct: float) -> list[int]:
    """Transformations of type ``ttype`` with ``tasks`` submitted tasks each; ``fail_pct`` % of the jobs Failed.

    The transformations and their files are created through TransformationDB's methods; the tasks, their inputs
    and the jobs are written in bulk, as TransformationDB's ``addTaskForTransformation`` and
    ``setTaskStatusAndWmsID`` would write them one by one (same tables, same values: task IDs 1..N from DIRAC's
    ``TaskID_Generator`` trigger, files Assigned to their task). One at a time, 100,000 tasks took ~20 minutes.
    """
    tids = []
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    every = max(1, round(100 / fail_pct))
    for t in range(transformations):
        name = f"fmbench_{ttype}_{t}"
        tid = returnValueOrRaise(
            tdb.addTransformation(name, "bench", "bench", "prodmgr", "ctao_prodmgr", ttype, "Standard", "Automatic",
                                  "", groupSize=1, addFiles=False)  # fmt: skip
        )
        returnValueOrRaise(tdb.setTransformationParameter(tid, "Status", "Active"))
        lfns = [f"/ctao/bench/{ttype}/{t}/f{i:05d}" for i in range(tasks)]
        returnValueOrRaise(tdb.addFilesToTransformation(tid, lfns))
        file_ids = {
            row["LFN"]: int(row["FileID"])
            for row in returnValueOrRaise(tdb.getTransformationFiles(condDict={"TransformationID": tid}))
        }
        query = jdb._query("SELECT IFNULL(MAX(JobID), 0) + 1 FROM JobJDLs")  # noqa: SLF001
        (first_job,) = returnValueOrRaise(query)[0]
        job_ids = [int(first_job) + i for i in range(tasks)]
        returnValueOrRaise(
            jdb._updatemany(  # noqa: SLF001 - bulk seeding through DIRAC's DB layer
                "INSERT INTO JobJDLs (JobID, JDL, JobRequirements, OriginalJDL) VALUES (%s, '', '', '')",
                [(job_id,) for job_id in job_ids],
            )
        )
        # TaskIDs come from DIRAC's trigger (MAX + 1 per row): 1..N for a new transformation, in this order
        returnValueOrRaise(
            tdb._updatemany(  # noqa: SLF001
                "INSERT INTO TransformationTasks (TransformationID, TaskID, ExternalStatus, ExternalID, TargetSE,"
                " CreationTime, LastUpdateTime) VALUES (%s, 0, 'Submitted', %s, 'Unknown', UTC_TIMESTAMP(),"
                " UTC_TIMESTAMP())",
                [(tid, str(job_id)) for job_id in job_ids],
            )
        )
        query = tdb._query(  # noqa: SLF001
            "SELECT TaskID, ExternalID FROM TransformationTasks WHERE TransformationID = %s", args=[tid]
        )
        task_of = {str(external): int(task) for task, external in returnValueOrRaise(query)}
        task_ids = [task_of[str(job_id)] for job_id in job_ids]
        assert task_ids == list(range(1, tasks + 1)), "TaskID_Generator did not number the tasks 1..N"
        returnValueOrRaise(
            tdb._updatemany(  # noqa: SLF001
                "INSERT INTO TaskInputs (TransformationID, TaskID, InputVector) VALUES (%s, %s, %s)",
                [(tid, task_id, lfn) for task_id, lfn in zip(task_ids, lfns)],
            )
        )
        returnValueOrRaise(
            tdb._updatemany(  # noqa: SLF001
                "INSERT INTO TransformationFiles (TransformationID, FileID, TaskID, UsedSE, Status, LastUpdate)"
                " VALUES (%s, %s, %s, 'Unknown', 'Assigned', UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE"
                " TaskID = VALUES(TaskID), UsedSE = VALUES(UsedSE), Status = VALUES(Status),"
                " LastUpdate = VALUES(LastUpdate)",
                [(tid, file_ids[lfn], task_id) for task_id, lfn in zip(task_ids, lfns)],
            )
        )
        returnValueOrRaise(
            tdb._updatemany(  # noqa: SLF001
                "INSERT INTO TransformationFileTasks (TransformationID, FileID, TaskID) VALUES (%s, %s, %s)",
                [(tid, file_ids[lfn], task_id) for task_id, lfn in zip(task_ids, lfns)],
            )
        )
        rows = []
        for i, (job_id, task_id) in enumerate(zip(job_ids, task_ids)):
            # staggered: transformations fail at different task IDs, as they do in real life (reads by
            # TransformationID IN (...) AND TaskID IN (...) get no help from identical task IDs)
            failed = (i + t) % every == 0
            minor, application = REASONS[(i // every) % len(REASONS)] if failed else ("Execution Complete", "ok")
            rows.append((job_id, f"{tid:08d}", f"{tid:08d}_{task_id:08d}", "Failed" if failed else "Done", minor,
                         application, "LCG.Bench.xx", stamp, "prodmgr", "ctao_prodmgr", "ctao"))  # fmt: skip
        returnValueOrRaise(
            jdb._updatemany(  # noqa: SLF001
                "INSERT INTO Jobs (JobID, JobGroup, JobName, Status, MinorStatus, ApplicationStatus, Site,"
                " LastUpdateTime, Owner, OwnerGroup, VO) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        )
        tids.append(tid)
    return tids


class Agent:
    """What the agent keeps between cycles: the input limits and meta-queries of the transformations it has seen
    (each read once per transformation, in the first cycle that meets it), and the high-water mark."""

    def __init__(self) -> None:
        self.limits: dict[int, int | None] = {}
        self.queries: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.high_water: datetime | None = None


class PerItemSources(DiracSources):
    """The reads the agent had before: the tasks with DIRAC's ``inputVector=True`` (the server reads each task's
    input vector with a query of its own) and the meta-queries with ``getTransformationMetaQuery``, two calls per
    transformation, one at a time."""

    def tasks_of_jobs(self, transformation_ids: Any, job_ids: Any) -> list[dict[str, Any]]:
        cond = {"TransformationID": sorted(transformation_ids), "ExternalID": [str(j) for j in sorted(job_ids)]}
        return self._call(self._tc.getTransformationTasks(condDict=cond, inputVector=True))

    def meta_queries(self, ids: Any) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
        for tid in sorted(set(ids) - set(self._queries)):
            found = []
            for kind in ("Input", "Output"):
                res = self._tc.getTransformationMetaQuery(tid, kind)
                self.rpcs += 1
                found.append(dict(res["Value"]) if res["OK"] and res["Value"] else {})
            self._queries[tid] = (found[0], found[1])
        return {tid: self._queries[tid] for tid in ids}


class PerItemDB:
    """The per-item path the agent had before the bulk one, for the before/after ratio: each group of decisions
    recorded in a transaction of its own, one INSERT per decision (as FailureManagementDB did before it recorded a
    batch in a few statements), and each decision marked by an UPDATE of its own (FailureManagementDB's ``mark``).
    Run with ``FailureActions.PARALLEL_RPCS = 1`` (one RPC at a time) and :class:`PerItemSources`, this is the
    previous cycle statement for statement and RPC for RPC (the benchmark makes no status or avoid-site
    decisions, which that path also handled)."""

    INSERT = (
        "INSERT INTO FMDecisions (IdemKey, Kind, Failure, TransformationID, ProductionID, TaskID, JobID, Site, Class,"
        " Rule, NumFiles, FileChanges, ExpectedStatus, NewStatus, Reason, State, Owner, ClaimTime, CreationTime)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(),"
        " UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE DecisionID = DecisionID"
    )

    def __init__(self, db: FailureManagementDB) -> None:
        self._db = db

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def record_groups(self, groups: Any, *, report_only: bool, owner: str, **_: Any) -> list[list[int]]:
        return [self._record(group, report_only, owner) for group in groups]

    def _record(self, group: Any, report_only: bool, owner: str) -> list[int]:
        db = self._db
        conn = returnValueOrRaise(db._getConnection())  # noqa: SLF001
        returnValueOrRaise(db._update("START TRANSACTION", conn=conn))  # noqa: SLF001
        ids: list[int] = []
        files: list[tuple[Any, ...]] = []
        for index, decision in enumerate(group):
            assert decision.kind.value in ("retry", "give-up", "leave"), decision.kind
            record = decision.to_record()
            changes = json.dumps({"LFNs": record["LFNs"], "Changes": record["FileChanges"]})
            result = _checked(db._update(self.INSERT, args=[  # noqa: SLF001
                decision.key, record["Kind"], decision.failure, decision.transformation_id, decision.production_id,
                decision.task_id, decision.job_id, decision.site, record["Class"], decision.rule,
                len(decision.lfns), changes, "", decision.new_status, decision.reason,
                "ReportOnly" if report_only else "Pending", owner], conn=conn))  # fmt: skip
            if not result["Value"]:
                if index == 0:
                    break
                continue
            ids.append(int(result["lastRowId"]))
            if decision.kind.value in ("retry", "give-up"):
                files += [(ids[-1], decision.transformation_id, lfn, record["Class"]) for lfn in decision.lfns]
        if files:
            returnValueOrRaise(db._updatemany(  # noqa: SLF001
                "INSERT IGNORE INTO FMDecisionFiles (DecisionID, TransformationID, LFN, Class) VALUES (%s, %s, %s, %s)",
                files, conn=conn))  # fmt: skip
        returnValueOrRaise(db._update("COMMIT" if ids else "ROLLBACK", conn=conn))  # noqa: SLF001
        return ids

    def mark_many(self, marks: Any) -> None:
        for decision_id, state, result in marks:
            self._db.mark(decision_id, state, result)


def _checked(result: dict[str, Any]) -> dict[str, Any]:
    """The whole S_OK (its ``lastRowId`` too), or raise."""
    returnValueOrRaise(result)
    return result


def cycle(
    ttype: str, agent: Agent, *, per_item: bool = False, profile: bool = False, memory: bool = False
) -> dict[str, Any]:
    """One cycle; ``memory``: trace the Python allocations (tracemalloc slows the cycle: its times are not
    comparable, so it is a cycle of its own)."""
    options = FailureAgentOptions(ReportOnly=False, MinJobAge=0, TransformationTypes=ttype, SiteBanThreshold=0)
    tc = TransformationClient()
    source_class = PerItemSources if per_item else DiracSources
    sources = source_class(tc, JobMonitoringClient(), ProductionClient(), ProductionDB(), Operations(),
                           limits=agent.limits, queries=agent.queries)  # fmt: skip
    db: Any = FailureManagementDB()
    if per_item:
        db = PerItemDB(db)
    actions = Actions(db, tc, ProductionClient(), Log())
    outcome = Outcome()
    parallel = FailureActions.PARALLEL_RPCS
    FailureActions.PARALLEL_RPCS = 1 if per_item else parallel
    profiler = cProfile.Profile() if profile else None
    if memory:
        tracemalloc.start()
    started = time.monotonic()
    try:
        if profiler:
            profiler.enable()
        gathered = gather(sources, db, options, datetime.now(UTC), agent.high_water)
        gathered_at = time.monotonic()
        decisions = decide(gathered.facts, options, None, gathered.recorded_keys)
        decided_at = time.monotonic()
        owned = actions.record(decisions, report_only=False, expected_status=gathered.expected_status,
                               outcome=outcome)  # fmt: skip
        recorded_at = time.monotonic()
        actions.apply(owned, outcome)
        elapsed = time.monotonic() - started
    finally:
        if profiler:
            profiler.disable()
        FailureActions.PARALLEL_RPCS = parallel
    peak = 0
    if memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    if profiler:
        print("profile of this cycle, top cumulative entries:")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"CTAODIRAC|DISET/RPCClient|MySQL\.py", 25)
    agent.high_water = gathered.high_water
    return {
        "seconds": round(elapsed, 2),
        "gather_s": round(gathered_at - started, 2),
        "decide_s": round(decided_at - gathered_at, 2),
        "record_s": round(recorded_at - decided_at, 2),
        "apply_s": round(elapsed - (recorded_at - started), 2),
        "rpcs": sources.rpcs + actions.rpcs,
        "failed_jobs_read": gathered.changed_jobs,
        "new_failures": gathered.new_failures,
        "decisions": len(outcome.recorded),
        "file_changes": outcome.files_changed,
        "left_pending": outcome.left_pending,
        **({"peak_traced_MB": round(peak / 1e6, 1)} if memory else {}),
        "maxrss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def reset(tdb: TransformationDB, tids: list[int]) -> None:
    """Undo a first cycle on these transformations: no decision recorded, the failed tasks' files Assigned again."""
    fdb = FailureManagementDB()
    where = " WHERE TransformationID IN (" + ", ".join(["%s"] * len(tids)) + ")"
    for delete in ("DELETE FROM FMDecisionFiles", "DELETE FROM FMDecisionTasks", "DELETE FROM FMSiteBans",
                   "DELETE FROM FMDecisions"):  # fmt: skip
        returnValueOrRaise(fdb._update(delete + where, args=tids))  # noqa: SLF001
    returnValueOrRaise(
        tdb._update(  # noqa: SLF001
            "UPDATE TransformationFiles SET Status = 'Assigned', ErrorCount = 0" + where + " AND Status != 'Assigned'",
            args=tids,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's size: 100 transformations x 1,000 tasks")
    parser.add_argument("--transformations", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--fail-pct", type=float, default=5.0)
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries of the first cycle")
    args = parser.parse_args()
    if args.full:
        args.transformations, args.tasks = 100, 1000
    elif (args.transformations, args.tasks) != (100, 1000):
        print(f"NOTE: a smaller size than the issue's 100 x 1,000: {args.transformations} x {args.tasks}")
    tdb, jdb = TransformationDB(), JobDB()
    ttype = "FMBench" + uuid.uuid4().hex[:6]
    started = time.monotonic()
    tids = seed(tdb, jdb, ttype, args.transformations, args.tasks, args.fail_pct)
    total = args.transformations * args.tasks
    print(f"seeded {args.transformations} transformations x {args.tasks} tasks ({total} jobs, {args.fail_pct} % "
          f"failed) in {time.monotonic() - started:.0f} s")  # fmt: skip
    agent = Agent()
    first = cycle(ttype, agent, profile=args.profile)
    print("first cycle (all failures new), bulk path:", first)
    quiet = cycle(ttype, agent)
    print("quiet cycle (nothing new), same agent:    ", quiet)

    # the memory of the same first cycle (tracemalloc), untimed, on the same transformations put back as they were
    reset(tdb, tids)
    traced = cycle(ttype, Agent(), memory=True)
    print(f"first cycle again, memory traced (times not comparable): peak {traced['peak_traced_MB']} MB traced, "
          f"{traced['decisions']} decisions")  # fmt: skip

    # the same first cycle by the per-item path, on the same transformations put back as they were (run last:
    # the DB's caches are warm for it, so the ratio understates the gain)
    reset(tdb, tids)
    before = cycle(ttype, Agent(), per_item=True)
    print("first cycle, per-item path (before):      ", before)
    print(f"first cycle: per-item {before['seconds']} s, bulk {first['seconds']} s: "
          f"{before['seconds'] / max(first['seconds'], 0.01):.1f}x faster; record "
          f"{before['record_s']} -> {first['record_s']} s, apply {before['apply_s']} -> {first['apply_s']} s, "
          f"gather {before['gather_s']} -> {first['gather_s']} s; "
          f"RPCs {before['rpcs']} -> {first['rpcs']}; same decisions ({before['decisions']} vs {first['decisions']})"
          )  # fmt: skip

    # growth: 10x more total tasks with the same number of changed tasks, vs the same total with 10x changed
    ttype2 = ttype + "b"
    seed(tdb, jdb, ttype2, args.transformations, args.tasks, 0.5)
    small = cycle(ttype2, Agent())
    print(f"same total, 10x fewer failures ({args.fail_pct / 10} %):", small)
    print(
        "cost per new failure: first cycle "
        f"{first['seconds'] / max(1, first['new_failures']) * 1000:.1f} ms, "
        f"{first['rpcs']} RPCs for {first['new_failures']} failures over {total} tasks; "
        f"quiet cycle {quiet['rpcs']} RPCs, {quiet['seconds']} s"
    )


if __name__ == "__main__":
    main()
