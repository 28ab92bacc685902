"""The local DIRAC's OpenSearch node and what DIRAC 9.1 keeps there.

The node (``dirac-ctao-local up`` starts it, see docs/local-dirac.md) runs as an unprivileged user and answers
on its own port; DIRAC's job parameters (JobParametersDB) live there: ``dirac-wms-job-parameters`` answers for a
job a local pilot ran, and DIRAC's StalledJobAgent, which reads a stalled job's ``Pilot_Reference`` parameter
to decide, fails a job whose pilot was killed while it ran. DIRAC's Monitoring system keeps its WMSHistory and
DataOperation records there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from CTAODIRAC.LocalDIRAC import control, opensearch
from CTAODIRAC.LocalDIRAC.processes import Process, read_pid

pytestmark = pytest.mark.integration

SUBMIT = """
from DIRAC.Interfaces.API.Dirac import Dirac
from DIRAC.Interfaces.API.Job import Job
job = Job()
job.setName(NAME)
job.setExecutable(EXE, arguments=ARGS)
job.setCPUTime(1000)
res = Dirac().submitJob(job)
assert res["OK"], res
result = res["Value"]
"""

STATE = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
res = JobMonitoringClient().getJobsStates([JOB_ID])
assert res["OK"], res
result = res["Value"][JOB_ID]
"""

PARAMETERS = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
res = JobMonitoringClient().getJobParameters(JOB_ID)
assert res["OK"], res
result = res["Value"]
"""


def _submit(dirac, name: str, exe: str, args: str) -> int:
    return dirac.py(f"NAME = {name!r}\nEXE = {exe!r}\nARGS = {args!r}\n" + SUBMIT)


def _state(dirac, job_id: int) -> dict:
    return dirac.py(f"JOB_ID = {job_id}\n" + STATE)


def _wait_for(dirac, job_id: int, statuses: set[str], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while (state := _state(dirac, job_id))["Status"] not in statuses:
        assert time.monotonic() < deadline, f"job {job_id} never reached {sorted(statuses)}: {state}"
        time.sleep(2)
    return state


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_the_node_answers_on_its_own_port_as_an_unprivileged_user(local_dirac):
    health = opensearch.health(local_dirac)
    assert health is not None and health["status"] in ("green", "yellow"), health
    assert health["cluster_name"] == "ctao-local"
    pid = read_pid(Process(local_dirac, opensearch.KEY))
    assert pid is not None
    if os.geteuid() == 0:  # OpenSearch refuses root: up runs it as nobody
        assert os.stat(f"/proc/{pid}").st_uid == opensearch.UNPRIVILEGED_UID
    row = next(r for r in control.status(local_dirac) if r.name == "OpenSearch")
    assert (row.pid, row.port, row.listening) == (pid, opensearch.http_port(local_dirac), True)
    assert str(local_dirac.root) in (opensearch.node_dir(local_dirac) / "config" / "opensearch.yml").read_text()


def test_job_parameters_of_a_job_run_by_a_local_pilot(dirac, unique):
    job_id = _submit(dirac, f"opensearch-params-{unique}", "echo", f"parameters {unique}")
    _wait_for(dirac, job_id, {"Waiting"}, 180)
    # other tests' leftover jobs may be matched first: run cycles until ours is done
    for _ in range(5):
        run = control.run_job_agent(dirac.inst, cycles=1)
        assert run.returncode == 0, run.output[-3000:]
        if _state(dirac, job_id)["Status"] in ("Done", "Failed"):
            break
    assert _state(dirac, job_id)["Status"] == "Done"

    # what the JobAgent and the job wrapper recorded, through JobMonitoring (JobParametersDB in OpenSearch)
    params = dirac.py(f"JOB_ID = {job_id}\n" + PARAMETERS)
    assert set(params) == {str(job_id)}, params
    recorded = params[str(job_id)]
    assert recorded["CPUNormalizationFactor"], recorded
    assert "PayloadPID" in recorded and "TotalCPUTime(s)" in recorded, recorded

    # DIRAC's own command, as a user would type it
    proc = dirac.run(["dirac-wms-job-parameters", str(job_id)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CPUNormalizationFactor" in proc.stdout and "PayloadPID" in proc.stdout, proc.stdout


def test_stalled_job_agent_fails_a_job_whose_pilot_was_killed(dirac, unique):
    job_id = _submit(dirac, f"opensearch-stalled-{unique}", "/bin/sleep", "120")
    _wait_for(dirac, job_id, {"Waiting"}, 180)
    pilot = control.start_pilot(dirac.inst, 9, cycles=20)
    try:
        _wait_for(dirac, job_id, {"Running"}, 180)
        # a lost worker node: the pilot's process group and every process under it (the job wrapper starts the
        # payload in a process group of its own)
        lost = _descendants(pilot.pid)
        os.killpg(pilot.pid, signal.SIGKILL)
        for pid in lost:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pilot.wait(timeout=30)
    finally:
        control.stop_agent(pilot)
    deadline = time.monotonic() + 10
    while alive := [pid for pid in lost if _alive(pid)]:
        assert time.monotonic() < deadline, f"processes of the killed pilot still alive: {alive}"
        time.sleep(0.2)

    # No heartbeat for (StalledTimeHours + 0.5) watchdog periods (CheckingTime = 10 s here) makes the job Stalled;
    # a Stalled job whose pilot is not Running (a local pilot has no Pilot_Reference: "NoPilot") is then Failed.
    options = ["StalledTimeHours=1", "FailedTimeHours=1"]
    deadline = time.monotonic() + 180
    while (state := _state(dirac, job_id))["Status"] != "Failed":
        assert time.monotonic() < deadline, f"job {job_id} not failed by the StalledJobAgent: {state}"
        assert state["Status"] in ("Running", "Stalled"), state
        time.sleep(5)
        run = control.run_agent(dirac.inst, "WorkloadManagement/StalledJobAgent", cycles=1, options=options)
        assert run.returncode == 0, run.output[-3000:]
        assert "Failed to get pilot status" not in run.output, run.output[-3000:]
    assert state["MinorStatus"] == "Job stalled: pilot not running", state


MONITORING = """
import os, tempfile, time
from DIRAC.DataManagementSystem.Client.DataManager import DataManager
from DIRAC.Interfaces.API.Dirac import Dirac
from DIRAC.Interfaces.API.Job import Job
from DIRAC.MonitoringSystem.DB.MonitoringDB import MonitoringDB
from DIRAC.WorkloadManagementSystem.Agent.StatesAccountingAgent import StatesAccountingAgent

job = Job()
job.setName(NAME)
job.setJobGroup(NAME)
job.setExecutable("/bin/true")
assert Dirac().submitJob(job)["OK"]
local = os.path.join(tempfile.mkdtemp(), NAME)
with open(local, "w") as fh:
    fh.write(NAME)
res = DataManager().putAndRegister(LFN, local, "CTAO-Local-SE")  # sends a DataOperation record
assert res["OK"] and LFN in res["Value"]["Successful"], res

# one cycle of DIRAC's StatesAccountingAgent, which sends WMSHistory (it polls every 15 minutes and skips its
# first cycle after a start: its cycle is called here)
agent = StatesAccountingAgent("WorkloadManagement/StatesAccountingAgent", "WorkloadManagement/StatesAccountingAgent")
assert agent.initialize()["OK"]
agent.am_setModuleParam("cyclesDone", 1)
assert agent.execute()["OK"]

db = MonitoringDB()
deadline = time.time() + 30
while True:  # OpenSearch makes new documents searchable within a second
    wms = db.getKeyValues("WMSHistory")
    ops = db.query("dataoperation_index*", {"query": {"bool": {"filter": [
        {"term": {"User": "prodmgr"}}, {"term": {"Destination": "CTAO-Local-SE"}},
        {"term": {"OperationType": "putAndRegister"}}]}}, "size": 0, "track_total_hits": True})
    assert ops["OK"], ops
    found = wms["OK"] and NAME in wms["Value"].get("JobGroup", []) and ops["Value"]["hits"]["total"]["value"] > 0
    if found or time.time() > deadline:
        break
    time.sleep(1)
result = {"wms": wms.get("Value"), "data_operations": ops["Value"]["hits"]["total"]["value"]}
"""


def test_dirac_monitoring_records_are_kept_in_opensearch(dirac, unique):
    """WMSHistory (job states per site, group, status...) and DataOperation records, written by DIRAC's own
    reporters to the node (``MonitoringBackends`` of these types = Monitoring) and read back by DIRAC's MonitoringDB."""
    result = dirac.py(f"NAME = 'monitoring-{unique}'\nLFN = '/ctao/tests/monitoring/{unique}.txt'\n" + MONITORING)
    wms = result["wms"]
    assert f"monitoring-{unique}" in wms["JobGroup"], wms
    assert "prodmgr" in wms["User"] and "ctao_prodmgr" in wms["UserGroup"], wms
    assert result["data_operations"] >= 1, result
