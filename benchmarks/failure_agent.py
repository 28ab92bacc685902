"""Benchmark of one failure-management cycle against the local DIRAC (issue 4, "Benchmarks").

Seeds T transformations x N tasks (one input file each) with F % failed jobs through DIRAC's own DB layer
(TransformationDB, JobDB), then runs the agent's cycle in-process (the same code as
``FailureManagementAgent.cycle``: gather, decide, record, apply) and prints cycle time, RPCs and peak memory;
then a quiet cycle (nothing new); then how the cost grows with changed tasks versus total tasks.

Run against a local DIRAC that is up, with its environment:

    export CTAODIRAC_LOCAL_ROOT=/tmp/fm-dirac CTAODIRAC_LOCAL_PORT_OFFSET=2000
    .venv/bin/dirac-ctao-local run --user prodmgr -- python benchmarks/failure_agent.py [--full]

Default size: 20 x 200 (smaller than the issue's 100 x 1,000, which ``--full`` runs: ~20 minutes of seeding).
"""

from __future__ import annotations

import argparse
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
    """Transformations of type ``ttype`` with ``tasks`` submitted tasks each; ``fail_pct`` % of the jobs Failed."""
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
        rows = []
        for i, lfn in enumerate(lfns):
            task_id = returnValueOrRaise(tdb.addTaskForTransformation(tid, [lfn]))
            jdl = jdb._update("INSERT INTO JobJDLs (JDL, JobRequirements, OriginalJDL) VALUES ('', '', '')")  # noqa: SLF001
            job_id = int(jdl["lastRowId"])
            failed = i % every == 0
            minor, application = REASONS[(i // every) % len(REASONS)] if failed else ("Execution Complete", "ok")
            rows.append((job_id, f"{tid:08d}", f"{tid:08d}_{task_id:08d}", "Failed" if failed else "Done", minor,
                         application, "LCG.Bench.xx", stamp, "prodmgr", "ctao_prodmgr", "ctao"))  # fmt: skip
            returnValueOrRaise(tdb.setTaskStatusAndWmsID(tid, task_id, "Submitted", str(job_id)))
        returnValueOrRaise(
            jdb._updatemany(  # noqa: SLF001 - bulk seeding through DIRAC's DB layer
                "INSERT INTO Jobs (JobID, JobGroup, JobName, Status, MinorStatus, ApplicationStatus, Site,"
                " LastUpdateTime, Owner, OwnerGroup, VO) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        )
        tids.append(tid)
    return tids


def cycle(ttype: str, high_water: datetime | None) -> tuple[dict[str, Any], datetime | None]:
    options = FailureAgentOptions(ReportOnly=False, MinJobAge=0, TransformationTypes=ttype, SiteBanThreshold=0)
    tc = TransformationClient()
    sources = DiracSources(tc, JobMonitoringClient(), ProductionClient(), ProductionDB(), Operations())
    db = FailureManagementDB()
    actions = Actions(db, tc, ProductionClient(), Log())
    outcome = Outcome()
    tracemalloc.start()
    started = time.monotonic()
    gathered = gather(sources, db, options, datetime.now(UTC), high_water)
    gathered_at = time.monotonic()
    decisions = decide(gathered.facts, options, None, gathered.recorded_keys)
    owned = actions.record(decisions, report_only=False, expected_status=gathered.expected_status, outcome=outcome)
    recorded_at = time.monotonic()
    actions.apply(owned, outcome)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": round(elapsed, 2),
        "gather_s": round(gathered_at - started, 2),
        "record_s": round(recorded_at - gathered_at, 2),
        "apply_s": round(elapsed - (recorded_at - started), 2),
        "rpcs": sources.rpcs + actions.rpcs,
        "failed_jobs_read": gathered.changed_jobs,
        "new_failures": gathered.new_failures,
        "decisions": len(outcome.recorded),
        "file_changes": outcome.files_changed,
        "peak_traced_MB": round(peak / 1e6, 1),
        "maxrss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, gathered.high_water


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's size: 100 transformations x 1,000 tasks")
    parser.add_argument("--transformations", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--fail-pct", type=float, default=5.0)
    args = parser.parse_args()
    if args.full:
        args.transformations, args.tasks = 100, 1000
    elif (args.transformations, args.tasks) != (100, 1000):
        print(f"NOTE: a smaller size than the issue's 100 x 1,000: {args.transformations} x {args.tasks}")
    tdb, jdb = TransformationDB(), JobDB()
    ttype = "FMBench" + uuid.uuid4().hex[:6]
    started = time.monotonic()
    seed(tdb, jdb, ttype, args.transformations, args.tasks, args.fail_pct)
    total = args.transformations * args.tasks
    print(f"seeded {args.transformations} transformations x {args.tasks} tasks ({total} jobs, {args.fail_pct} % "
          f"failed) in {time.monotonic() - started:.0f} s")  # fmt: skip
    first, mark = cycle(ttype, None)
    print("first cycle (all failures new):", first)
    quiet, mark = cycle(ttype, mark)
    print("quiet cycle (nothing new):     ", quiet)

    # growth: 10x more total tasks with the same number of changed tasks, vs the same total with 10x changed
    ttype2 = ttype + "b"
    seed(tdb, jdb, ttype2, args.transformations, args.tasks, 0.5)
    small, _ = cycle(ttype2, None)
    print(f"same total, 10x fewer failures ({args.fail_pct / 10} %):", small)
    print(
        "cost per new failure: first cycle "
        f"{first['seconds'] / max(1, first['new_failures']) * 1000:.1f} ms, "
        f"{first['rpcs']} RPCs for {first['new_failures']} failures over {total} tasks; "
        f"quiet cycle {quiet['rpcs']} RPCs, {quiet['seconds']} s"
    )


if __name__ == "__main__":
    main()
