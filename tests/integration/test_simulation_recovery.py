"""A failed simulation job is recovered by the failure-management agent, against the real local DIRAC.

An ``mc-simulation`` step has no input files: its transformation (MCSimulation) is extended to ``jobs`` tasks at
submission, DIRAC's WorkflowTaskAgent submits one job per task and the job's run number is its task ID. There is
no file to send back to Unused when such a job fails: the agent puts the *task* back to ``Created``, and the
WorkflowTaskAgent submits a new job for the same task (same run number), within the class budget counted per
task; once the budget is spent the task is given up (left Failed, reported).

The payload is a stand-in for sim_telarray (a shell script, written by the test): run 1 crashes on its first
attempt and succeeds on the next; run 2 always crashes. Every DIRAC part is real: WorkflowTaskAgent, the WMS,
a JobAgent running the jobs (dirac-ctao-run-step inside), the catalog, the failure agent's DB.
"""

from __future__ import annotations

import json

import pytest
from test_job_side import FILE_META, _run_jobs, _submit_tasks

from CTAODIRAC.LocalDIRAC import control

pytestmark = pytest.mark.integration

AGENT = "Transformation/FailureManagementAgent"
#: acting at once, on simulations only; an application failure is retried once, then given up
ACT = ["ReportOnly=False", "MinJobAge=0", "TransformationTypes=MCSimulation", "BudgetApplication=1"]

PRODUCTION = """
format: 1
productions:
  - name: recovery-{unique}
    steps:
      - name: simulate
        kind: mc-simulation
        version: v0.0-test
        jobs: 2
        showers: 10
        options: --run @{{run_number}} --showers @{{showers}}
        output: {{MCCampaign: Recovery-{unique}, site: LaPalma, particle: proton}}
"""

# run 1 crashes once (the first attempt leaves a marker), run 2 every time
FLAKY_SIM_TELARRAY = """#!/bin/sh
# stand-in for sim_telarray: --run N --showers M
tried="{markers}/run$2.tried"
if [ "$2" = "2" ] || [ ! -e "$tried" ]; then
    touch "$tried"
    echo "sim_telarray: run $2 crashed" >&2
    exit 1
fi
echo "run $2 showers $4 task $CTAODIRAC_TASK_ID" > "run$2.simtel.zst"
"""

SUBMIT = """
from CTAODIRAC.Core.JobSide import Software
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
(prod,) = ProductionSubmitter("/ctao/tests/recovery", output_se="CTAO-Local-SE",
                              software=Software(kind="path", location=SOFTWARE)).submit(load_plan(PATH))
result = prod.steps[0].transformation_id
"""

TASKS = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
tasks = TransformationClient().getTransformationTasks({"TransformationID": TID})["Value"]
result = {t["TaskID"]: [t["ExternalStatus"], int(t["ExternalID"])] for t in tasks}
"""

JOB_NAMES = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
result = {j: JobMonitoringClient().getJobAttribute(j, "JobName")["Value"] for j in JOBS}
"""

OUTPUTS = """
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
result = sorted(FileCatalogClient().findFilesByMetadata({"MCCampaign": CAMPAIGN})["Value"])
"""


def _tasks(dirac, tid: int) -> dict[int, list]:
    return {int(task): value for task, value in dirac.py(f"TID = {tid}\n" + TASKS).items()}


def _agent(dirac) -> str:
    run = control.run_agent(dirac.inst, AGENT, options=ACT)
    assert run.returncode == 0 and "Cycle was successful" in run.output, run.output[-3000:]
    return run.output


def _decisions(dirac, tid: int) -> list[tuple[str, ...]]:
    """(Kind, Class, TaskID, JobID, State, Reason) of the transformation's decisions, in order (the oldest
    failure first: which job the JobAgent ran first is DIRAC's choice)."""
    rows = dirac.sql("FailureManagementDB", "SELECT Kind, Class, TaskID, JobID, State, Reason FROM FMDecisions "
                                            f"WHERE TransformationID = {int(tid)} ORDER BY DecisionID")
    return [tuple(row) for row in rows]


def test_a_failed_simulation_run_is_simulated_again_and_one_that_always_fails_is_given_up(dirac, tmp_path, unique):
    software, markers = tmp_path / "software", tmp_path / "markers"
    (software / "bin").mkdir(parents=True)
    markers.mkdir()
    program = software / "bin" / "sim_telarray"
    program.write_text(FLAKY_SIM_TELARRAY.format(markers=markers))
    program.chmod(0o755)
    path = tmp_path / "recovery.yaml"
    path.write_text(PRODUCTION.format(unique=unique))
    tid = dirac.py(f"PATH = {str(path)!r}\nSOFTWARE = {str(software)!r}\n" + SUBMIT)

    # first attempt: both runs crash
    first = _submit_tasks(dirac, tid, "MCSimulation")
    jobs = _run_jobs(dirac, first)
    assert [job["Status"] for job in jobs.values()] == ["Failed", "Failed"], jobs

    # the agent classifies both failures and puts both tasks back for a new job (budget: 1 retry)
    _agent(dirac)
    decided = _decisions(dirac, tid)
    assert sorted((kind, cls, task, job, state) for kind, cls, task, job, state, _ in decided) == [
        ("retry", "application", "1", str(first[0]), "Applied"),
        ("retry", "application", "2", str(first[1]), "Applied"),
    ], decided
    assert all("back to Created" in reason for *_, reason in decided)
    # still the failed jobs' IDs until DIRAC submits the new ones
    assert _tasks(dirac, tid) == {1: ["Created", first[0]], 2: ["Created", first[1]]}

    # DIRAC's WorkflowTaskAgent submits one new job per task, named after the same task (same run number) ...
    second = _submit_tasks(dirac, tid, "MCSimulation")
    assert set(second).isdisjoint(first) and len(second) == 2
    names = dirac.py(f"JOBS = {second}\n" + JOB_NAMES)
    assert sorted(names.values()) == [f"{tid:08d}_{1:08d}", f"{tid:08d}_{2:08d}"]
    # ... once: another cycle submits nothing more
    assert _submit_tasks(dirac, tid, "MCSimulation") == second
    assert len(_tasks(dirac, tid)) == 2  # no task added

    # second attempt: run 1 succeeds, run 2 crashes again
    jobs = _run_jobs(dirac, second)
    assert [job["Status"] for job in jobs.values()] == ["Done", "Failed"], jobs

    # run 2 has spent its budget: given up, reported; run 1 is not touched
    output = _agent(dirac)
    decided = _decisions(dirac, tid)
    assert len(decided) == 3, decided
    kind, cls, task, job, state, reason = decided[2]
    assert (kind, cls, task, job, state) == ("give-up", "application", "2", str(second[1]), "Applied")
    assert "exceeds the budget of 1 retries" in reason and "given up, left Failed" in reason
    assert "give-up 1" in output
    # a cycle with nothing new decides nothing
    _agent(dirac)
    assert len(_decisions(dirac, tid)) == 3

    # the run's output is registered exactly once, with its run number
    campaign = f"Recovery-{unique}"
    outputs = dirac.py(f"CAMPAIGN = {campaign!r}\n" + OUTPUTS)
    assert outputs == [f"/ctao/tests/recovery/recovery-{unique}/simulate/00000001/run1.simtel.zst"]
    assert dirac.py(f"LFNS = {outputs!r}\n" + FILE_META)[outputs[0]]["run_number"] == 1
    assert (dirac.inst.storage / outputs[0].lstrip("/")).read_text() == "run 1 showers 10 task 1\n"

    # DIRAC's task monitoring (tasks not updated for 10 minutes: backdated) finds every task final: nothing
    # of the transformation waits any more, so it can complete
    dirac.sql("TransformationDB", "UPDATE TransformationTasks SET LastUpdateTime = UTC_TIMESTAMP() - INTERVAL 15 "
                                  f"MINUTE WHERE TransformationID = {tid}")
    run = control.run_agent(dirac.inst, "Transformation/WorkflowTaskAgent",
                            options=["TransType=MCSimulation", "shifterProxy=ProductionManager", "MonitorTasks=yes",
                                     "MonitorFiles=", "SubmitTasks="])
    assert run.returncode == 0, run.output[-2000:]
    assert _tasks(dirac, tid) == {1: ["Done", second[0]], 2: ["Failed", second[1]]}

    # the operator's report shows the give-up and why
    report = dirac.run([control.dirac_command("dirac-ctao-failure-report"), "--transformation", str(tid), "--json"])
    assert report.returncode == 0, report.stderr
    rows = json.loads(report.stdout)["decisions"]
    assert sorted(row["Kind"] for row in rows) == ["give-up", "retry", "retry"]
    (given_up,) = [row for row in rows if row["Kind"] == "give-up"]
    assert int(given_up["TaskID"]) == 2 and "run 2" in given_up["Reason"]
