"""This extension's monitoring types in DIRAC's Monitoring system, against the real local DIRAC and OpenSearch.

The failure-management agent, run as a data centre runs it (``dirac-agent``), decides about failed jobs of a
transformation of its own and sends its decisions (``FailureDecisions``) and the transformation's files per status
(``ProductionProgress``) through DIRAC's MonitoringReporter; they are read back through DIRAC's Monitoring
service (``getReport``, and a plot as the web portal fetches it) and DIRAC's MonitoringDB. Then OpenSearch is
stopped: the agent still decides and applies, keeps its records in its pending file, and a later run of the agent
(a new process: a restart) sends them once OpenSearch is back, with the time they were made.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from CTAODIRAC.LocalDIRAC import control, opensearch
from CTAODIRAC.LocalDIRAC.processes import Process, stop
from CTAODIRAC.TransformationSystem.Utilities.FailureMonitoring import PENDING_FILE

pytestmark = pytest.mark.integration

AGENT = "Transformation/FailureManagementAgent"
#: a transformation type of this test only: the agent's scope is this test's transformation, whatever else runs
TYPE = "MonitoringTest"
ACT = ["ReportOnly=False", "MinJobAge=0", "TransformationStatuses=Idle", f"TransformationTypes={TYPE}",
       "BudgetApplication=0", "SiteBanThreshold=0"]  # fmt: skip

STALLED = ("Failed", "Job stalled: pilot not running", "")
APPLICATION = ("Failed", "Application Finished With Errors", "'ctapipe-process' Exited With Status 1")
UPLOAD = ("Failed", "Uploading Output Data", "Failed to upload outputs")

SETUP = """
import uuid
from DIRAC.Interfaces.API.Dirac import Dirac
from DIRAC.Interfaces.API.Job import Job
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
from DIRAC.TransformationSystem.Client.Transformation import Transformation
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient

lfns = [f"/ctao/tests/monitoring/{NAME}/file_{i}.dat" for i in range(3)]
res = FileCatalogClient().addFile({lfn: {"PFN": "", "Size": 10, "SE": "CTAO-Local-SE", "Checksum": "0000abcd",
                                         "GUID": str(uuid.uuid4()).upper()} for lfn in lfns})
assert res["OK"] and not res["Value"]["Failed"], res
template = Job()
template.setExecutable("/bin/true")
t = Transformation()
t.setTransformationName("monitoring_" + NAME)
t.setType(TYPE)
t.setDescription("monitoring test")
t.setLongDescription("monitoring test")
t.setBody(template.workflow.toXML())
t.setPlugin("Standard")
t.setGroupSize(1)
res = t.addTransformation()
assert res["OK"], res
tid = t.getTransformationID()["Value"]
tc = TransformationClient()
assert tc.addFilesToTransformation(tid, lfns)["OK"]
jobs = []
for lfn in lfns:
    task = tc.addTaskForTransformation(tid, [lfn])
    assert task["OK"], task
    job = Job()
    job.setName(f"{tid:08d}_{task['Value']:08d}")
    job.setJobGroup(f"{tid:08d}")
    job.setExecutable("/bin/true")
    job.setCPUTime(1000)
    res = Dirac().submitJob(job)
    assert res["OK"], res
    assert tc.setTaskStatusAndWmsID(tid, task["Value"], "Submitted", str(res["Value"]))["OK"]
    jobs.append([res["Value"], task["Value"], lfn])
assert tc.setTransformationParameter(tid, "Status", "Idle")["OK"]
result = {"tid": tid, "jobs": jobs}
"""

WAITING = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
res = JobMonitoringClient().getJobsStates(JOBS)
assert res["OK"], res
result = sorted({v["Status"] for v in res["Value"].values()})
"""

WALK = """
from DIRAC.WorkloadManagementSystem.Client.JobStateUpdateClient import JobStateUpdateClient
jsu = JobStateUpdateClient()
for job_id, (status, minor, application) in WALKS.items():
    job_id = int(job_id)
    assert jsu.setJobSite(job_id, "CTAO.Local.ch")["OK"]
    for step, step_minor in (("Matched", "Assigned"), ("Running", "Job Initialization")):
        assert jsu.setJobStatus(job_id, step, step_minor, "JobAgent@CTAO.Local.ch")["OK"]
    if application:
        assert jsu.setJobApplicationStatus(job_id, application, "JobWrapper")["OK"]
    assert jsu.setJobStatus(job_id, status, minor, "JobWrapper")["OK"]
result = True
"""

# DIRAC's Monitoring service: the report of each type, by its plotter (this extension's), and one plot as the
# web portal fetches it (an encoded request whose file the service generates and transfers)
REPORTS = """
import io
from datetime import datetime, timedelta
from DIRAC.Core.Tornado.Client.ClientSelector import TransferClientSelector as TransferClient
from DIRAC.MonitoringSystem.Client.MonitoringClient import MonitoringClient

start, end = datetime.utcnow() - timedelta(hours=1), datetime.utcnow() + timedelta(minutes=1)
client = MonitoringClient()
out = {}
for type_name, report, grouping in (("FailureDecisions", "NumberOfDecisions", "Class"),
                                    ("FailureDecisions", "NumberOfFiles", "Site"),
                                    ("ProductionProgress", "NumberOfFiles", "Status")):
    cond = {"Transformation": [str(TID)], "grouping": [grouping]}
    res = client.getReport(type_name, report, start, end, cond, grouping)
    assert res["OK"], res
    out[f"{type_name}/{report}/{grouping}"] = res["Value"]["data"]
res = client.listUniqueKeyValues("FailureDecisions")  # the portal's selectors
assert res["OK"], res
out["selectors"] = res["Value"]
if PLOT:
    cond = {"Transformation": [str(TID)], "grouping": ["Status"]}
    file_id = client.generateDelayedPlot("ProductionProgress", "NumberOfFiles", start, end, cond, "Status")
    assert file_id["OK"], file_id
    buffer = io.BytesIO()
    res = TransferClient("Monitoring/Monitoring").receiveFile(buffer, file_id["Value"]["plot"])
    assert res["OK"], res
    out["plot"] = buffer.getvalue()[:8].hex()
result = out
"""

# the documents themselves, through DIRAC's MonitoringDB (straight to OpenSearch)
DOCUMENTS = """
from DIRAC.MonitoringSystem.DB.MonitoringDB import MonitoringDB
db = MonitoringDB()
out = {}
for index in ("failuredecisions-index*", "productionprogress-index*"):
    res = db.query(index, {"query": {"term": {"Transformation": str(TID)}}, "size": 1000})
    assert res["OK"], res
    out[index] = [hit["_source"] for hit in res["Value"]["hits"]["hits"]]
result = out
"""


# the classes the agent recorded for the transformation (its own DB, which never depends on OpenSearch)
DECIDED = """
from CTAODIRAC.TransformationSystem.Client.FailureManagementClient import FailureManagementClient
res = FailureManagementClient().getDecisions({"TransformationID": [TID]}, 100)
assert res["OK"], res
result = sorted(str(row["Class"]) for row in res["Value"])
"""


def _walk(dirac, walks: dict[int, tuple[str, str, str]]) -> None:
    # out of the task queue first (a real match does that), or local JobAgents of other tests are handed them
    dirac.sql("TaskQueueDB", f"DELETE FROM tq_Jobs WHERE JobId IN ({', '.join(str(int(j)) for j in walks)})")
    assert dirac.py(f"WALKS = {json.dumps({str(k): v for k, v in walks.items()})}\n" + WALK, user=None)


def _agent(dirac) -> str:
    run = control.run_agent(dirac.inst, AGENT, options=ACT)
    assert run.returncode == 0, run.output[-3000:]
    assert "Cycle was successful" in run.output, run.output[-3000:]
    return run.output


def _totals(data: dict[str, dict]) -> dict[str, float]:
    return {key: sum(v or 0 for v in buckets.values()) for key, buckets in data.items()}


Documents = dict[str, list[dict]]


def _documents(dirac, tid: int, ready: Callable[[Documents], bool], timeout: float = 30) -> Documents:
    """The transformation's documents once ``ready`` says they are all there (or at the timeout, for the test's
    asserts to say what is missing): OpenSearch makes new documents searchable at each index's next refresh (about
    a second, each index on its own), so the decisions may be searchable before the progress sent with them."""
    deadline = time.monotonic() + timeout
    while True:
        docs = dirac.py(f"TID = {tid}\n" + DOCUMENTS)
        if ready(docs) or time.monotonic() > deadline:
            return docs
        time.sleep(1)


@pytest.fixture
def restore_opensearch(local_dirac):
    """Start the node again whatever the test did to it (the Monitoring service and the job parameters need it)."""
    yield
    opensearch.start(local_dirac)
    opensearch.wait_ready(local_dirac)


def _next_send(log: Path, offset: int, timeout: float = 60) -> tuple[str, int]:
    """The agent's next "Monitoring: ..." line after ``offset`` of its log, and the new offset."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
        for line in text.splitlines():
            if " Monitoring: " in line:
                return line, offset + text.index(line) + len(line)
        time.sleep(0.5)
    raise AssertionError(f"no monitoring send in {log} after {timeout} s")


def test_decisions_and_progress_reach_opensearch_and_wait_while_it_is_down(dirac, restore_opensearch):
    t0 = time.monotonic()
    made = dirac.py(f"NAME = {uuid.uuid4().hex[:8]!r}\nTYPE = {TYPE!r}\n" + SETUP)
    tid, jobs = made["tid"], made["jobs"]
    (stalled, _, _), (application, _, _), (upload, _, _) = jobs
    deadline = time.monotonic() + 150
    while (states := dirac.py(f"JOBS = {[j for j, _, _ in jobs]}\n" + WAITING)) != ["Waiting"]:
        assert time.monotonic() < deadline, states  # the optimizers' periodic scan
        time.sleep(2)

    # 1. the agent running as in a data centre (a cycle every 10 s), OpenSearch up: a retry (infrastructure), a
    # give-up (application) and the transformation's progress go straight in
    _walk(dirac, {stalled: STALLED, application: APPLICATION})
    log = dirac.inst.log("agent_monitoring_test")
    log.unlink(missing_ok=True)
    agent = control.start_agent(dirac.inst, AGENT, 10, ACT, log_name="agent_monitoring_test")
    try:
        line, offset = _next_send(log, 0)
        assert " 0 waiting" in line, line
        docs = _documents(
            dirac, tid, lambda d: len(d["failuredecisions-index*"]) >= 2 and len(d["productionprogress-index*"]) >= 3
        )
        decisions = sorted((d["Action"], d["Class"], d["Site"], d["Files"]) for d in docs["failuredecisions-index*"])
        assert decisions == [
            ("give-up", "application", "CTAO.Local.ch", 1), ("retry", "infrastructure", "CTAO.Local.ch", 1),
        ]  # fmt: skip
        assert {d["TransformationType"] for d in docs["failuredecisions-index*"]} == {TYPE}
        progress = {(d["Status"], d["Files"]) for d in docs["productionprogress-index*"]}
        assert progress == {("Unused", 1), ("Problematic", 1), ("Assigned", 1)}, docs

        reports = dirac.py(f"TID = {tid}\nPLOT = True\n" + REPORTS)
        assert _totals(reports["FailureDecisions/NumberOfDecisions/Class"]) == {"infrastructure": 1, "application": 1}
        assert _totals(reports["FailureDecisions/NumberOfFiles/Site"]) == {"CTAO.Local.ch": 2}
        assert set(reports["ProductionProgress/NumberOfFiles/Status"]) == {"Unused", "Problematic", "Assigned"}
        assert reports["plot"] == "89504e470d0a1a0a"  # a PNG
        assert {"infrastructure", "application"} <= set(reports["selectors"]["Class"]), reports["selectors"]
        assert str(tid) in reports["selectors"]["Transformation"]

        # 2. OpenSearch stops: the agent still decides and applies; its records wait in its pending file
        assert stop(Process(dirac.inst, opensearch.KEY))
        down_at = time.time()
        _walk(dirac, {upload: UPLOAD})
        while "output-upload" not in dirac.py(f"TID = {tid}\n" + DECIDED):
            line, offset = _next_send(log, offset)
        line, offset = _next_send(log, offset)  # a cycle that began once the decision was recorded
        assert " 0 waiting" not in line, line
    finally:
        os.killpg(agent.pid, signal.SIGKILL)  # the agent dies; what its memory held is gone
        agent.wait(timeout=30)
    pending = next(Path(dirac.inst.root, "work").rglob(PENDING_FILE))
    waiting = [json.loads(line) for line in pending.read_text().splitlines()]
    kinds = {(w["type"], w["record"].get("Class")) for w in waiting}
    assert ("FailureDecisions", "output-upload") in kinds and ("ProductionProgress", None) in kinds, waiting

    # 3. OpenSearch back; the agent restarted (a new process) sends what waited, with the time it was made
    opensearch.start(dirac.inst)
    opensearch.wait_ready(dirac.inst)
    output = _agent(dirac)
    assert " 0 waiting" in output, output[-3000:]
    assert not pending.exists()

    def progress_since_down(d: Documents) -> set[int]:
        return {p["timestamp"] for p in d["productionprogress-index*"] if p["timestamp"] / 1000 >= down_at}

    docs = _documents(
        dirac, tid, lambda d: len(d["failuredecisions-index*"]) >= 3 and len(progress_since_down(d)) >= 2
    )
    late = [d for d in docs["failuredecisions-index*"] if d["Class"] == "output-upload"]
    assert [(d["Action"], d["Site"], d["Mode"]) for d in late] == [("retry", "CTAO.Local.ch", "acting")], docs
    assert down_at - 1 <= late[0]["timestamp"] / 1000 <= down_at + 60
    assert len(docs["failuredecisions-index*"]) == 3  # each decision stored once
    assert len(progress_since_down(docs)) >= 2, docs  # the cycles while it was down, and the one after
    reports = dirac.py(f"TID = {tid}\nPLOT = False\n" + REPORTS)
    assert _totals(reports["FailureDecisions/NumberOfDecisions/Class"]) == {
        "infrastructure": 1, "application": 1, "output-upload": 1,
    }  # fmt: skip
    assert time.monotonic() - t0 < 180
