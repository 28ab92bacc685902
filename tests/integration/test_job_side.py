"""Production jobs on the local DIRAC, driven only by DIRAC's agents: inputs found by the InputDataAgent,
a task made by the TransformationAgent, a job submitted by the WorkflowTaskAgent and run by a JobAgent;
inside it, dirac-ctao-run-step runs the payload, uploads and registers the output with its metadata and
sets the inputs Processed.

Two payloads: the real ctapipe-process (ctapipe 0.32, in the Python 3.12 payload environment that
`make install` makes, `.venv-ctapipe`) on a toy DL0 input of this package's toy source; and a stand-in for
ctapipe-merge (a shell script that concatenates its inputs), which shows the exact bytes of the output.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from CTAODIRAC.LocalDIRAC import control

pytestmark = pytest.mark.integration

CTAPIPE_ENV = Path(__file__).parents[2] / ".venv-ctapipe"

SUBMIT = """
from CTAODIRAC.Core.JobSide import Software
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
plan = load_plan(PATH)
(prod,) = ProductionSubmitter("/ctao/tests/jobside", output_se=OUTPUT_SE, failover_ses=FAILOVER,
                              software=Software(kind=KIND, location=SOFTWARE)).submit(plan)
result = prod.steps[0].transformation_id
"""

REGISTER = """
import os, tempfile
from DIRAC.DataManagementSystem.Client.DataManager import DataManager
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata
fc = FileCatalogClient()
# as a submission using these fields would declare them
CatalogMetadata(fc).ensure_fields(directory={"particle": "str"}, file={"nsb": "int", "split": "str", "run_number": "int"})
assert fc.createDirectory(BASE)["OK"]
assert fc.setMetadata(BASE, DIR_META)["OK"]
lfns = []
for name, (content, meta) in FILES.items():
    local = os.path.join(tempfile.mkdtemp(), name)
    with open(local, "w") as fh:
        fh.write(content)
    lfn = f"{BASE}/{name}"
    res = DataManager().putAndRegister(lfn, local, "CTAO-Local-SE")
    assert res["OK"] and lfn in res["Value"]["Successful"], res
    if meta:
        assert fc.setMetadata(lfn, meta)["OK"]
    lfns.append(lfn)
result = lfns
"""

STATE = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
tc = TransformationClient()
files = tc.getTransformationFiles({"TransformationID": TID})["Value"]
tasks = tc.getTransformationTasks({"TransformationID": TID})["Value"]
outputs = FileCatalogClient().findFilesByMetadata(OUTPUT_QUERY)["Value"]
result = {"files": {f["LFN"]: f["Status"] for f in files},
          "tasks": [(t["TaskID"], t["ExternalID"]) for t in tasks], "outputs": outputs}
"""

FILE_META = """
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
result = {lfn: FileCatalogClient().getFileUserMetadata(lfn)["Value"] for lfn in LFNS}
"""


TASK_JOBS = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
tasks = TransformationClient().getTransformationTasks({"TransformationID": TID})["Value"]
result = [(t["TaskID"], t["ExternalID"]) for t in tasks]
"""

PENDING_REQUEST = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
result = JobMonitoringClient().getJobParameter(JOB, "PendingRequest")["Value"].get("PendingRequest")
"""

JOB_STATE = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
result = JobMonitoringClient().getJobsStates([JOB])["Value"][JOB]
"""


def _make_tasks(dirac, trans_types: str) -> str:
    """One cycle of the InputDataAgent and of the TransformationAgent for these transformation types: the new
    files of the catalog reach their transformations and become tasks. Returns what the agents printed."""
    output = ""
    for agent in ("Transformation/InputDataAgent", "Transformation/TransformationAgent"):
        run = control.run_agent(dirac.inst, agent, cycles=1, options=[f"TransformationTypes={trans_types}"])
        assert run.returncode == 0, run.output[-2000:]
        output += run.output
    return output


def _submit_tasks(dirac, tid: int, trans_type: str) -> list[int]:
    """One cycle of the WorkflowTaskAgent: the transformation's tasks become jobs (their IDs, by task)."""
    # DIRAC hands out only tasks created more than 30 s ago: age ours instead of waiting
    dirac.sql("TransformationDB", "UPDATE TransformationTasks SET CreationTime = CreationTime - INTERVAL 1 MINUTE "
                                  f"WHERE TransformationID = {tid}")
    run = control.run_agent(dirac.inst, "Transformation/WorkflowTaskAgent", cycles=1,
                            options=[f"TransType={trans_type}", "shifterProxy=ProductionManager", "MonitorTasks=",
                                     "MonitorFiles="])
    assert run.returncode == 0, run.output[-2000:]
    tasks = dirac.py(f"TID = {tid}\n" + TASK_JOBS)
    job_ids = [int(job_id) for _task, job_id in sorted(tasks)]
    assert job_ids and all(job_id > 0 for job_id in job_ids), f"the WorkflowTaskAgent submitted no job: {tasks}"
    return job_ids


def _run_jobs(dirac, job_ids: list[int]) -> dict[int, dict]:
    """Run these jobs with JobAgent cycles (once each is Waiting) until every one is Done or Failed: their
    states."""
    deadline = time.monotonic() + 180
    for job_id in job_ids:
        while (job := dirac.py(f"JOB = {job_id}\n" + JOB_STATE))["Status"] != "Waiting":
            assert job["Status"] not in ("Failed", "Killed"), job
            assert time.monotonic() < deadline, job
            time.sleep(3)
    states: dict[int, dict] = {}
    for _ in range(len(job_ids) + 8):  # other tests' leftover jobs (a reused instance) may be matched first
        run = control.run_job_agent(dirac.inst, cycles=1)
        assert run.returncode == 0, run.output[-3000:]
        states = {job_id: dirac.py(f"JOB = {job_id}\n" + JOB_STATE) for job_id in job_ids}
        if all(job["Status"] in ("Done", "Failed") for job in states.values()):
            break
    return states


def _run_one_task(dirac, tmp_path, unique, production: str, software: tuple[str, str], files: dict,
                  dir_meta: dict, output_query: dict, trans_type: str, expect: str = "Done",
                  output_se: str = "CTAO-Local-SE", lose_inputs: bool = False,
                  failover_ses: tuple[str, ...] = (), registered: Callable[[], None] = lambda: None) -> dict:
    """Submit a one-step production, register its inputs and let the agents run its single task; the job
    must end ``expect``. ``lose_inputs``: the stored copies of the inputs vanish before the job runs (the
    catalog still lists them), as when a storage element loses files. ``registered`` is called once the inputs
    are registered."""
    path = tmp_path / "production.yaml"
    path.write_text(production)
    tid = dirac.py(f"PATH = {str(path)!r}\nKIND, SOFTWARE = {software!r}\nOUTPUT_SE = {output_se!r}\n"
                   f"FAILOVER = {list(failover_ses)!r}\n" + SUBMIT)
    lfns = dirac.py(f"BASE = '/ctao/tests/jobside-in/{unique}'\nDIR_META = {dir_meta!r}\nFILES = {files!r}\n"
                    + REGISTER)
    if lose_inputs:
        for lfn in lfns:
            (dirac.inst.storage / lfn.lstrip("/")).unlink()
    registered()

    def state() -> dict:
        return dirac.py(f"TID = {tid}\nOUTPUT_QUERY = {output_query!r}\n" + STATE)

    _make_tasks(dirac, trans_type)
    before = state()
    assert sorted(before["files"]) == sorted(lfns) and set(before["files"].values()) == {"Assigned"}, before
    assert len(before["tasks"]) == 1
    (job_id,) = _submit_tasks(dirac, tid, trans_type)
    ((task_id, _),) = state()["tasks"]
    job = _run_jobs(dirac, [job_id])[job_id]
    assert job["Status"] == expect, job
    if expect == "Done":
        assert job["ApplicationStatus"] == "dirac-ctao-run-step successful"  # set by DIRAC's Script module
    return {**state(), "task_id": int(task_id), "lfns": lfns, "job": job, "job_id": job_id, "tid": tid}


MERGE = """
format: 1
inputs:
  dl1:
    query: {{MCCampaign: JobSide-{unique}, data_level: 1, outputType: Data}}
productions:
  - name: jobside-{unique}
    steps:
      - name: merge
        kind: ctapipe-merge
        input: dl1
        version: v0.0-test
        group_size: 2
"""

FAKE_MERGE = """#!/bin/sh
# stand-in for ctapipe-merge: FILES... --output=OUT
out=""
for arg in "$@"; do case "$arg" in --output=*) out="${arg#--output=}";; esac; done
for arg in "$@"; do case "$arg" in --*) ;; *) cat "$arg" >> "$out";; esac; done
"""


def _run_merge_task(dirac, tmp_path, unique, script: str, meta1: dict, meta2: dict, **options) -> dict:
    """The one-step merge production of MERGE on two registered inputs, its merge program being ``script``
    (a stand-in for ctapipe-merge, in a ``path`` software setup); see :func:`_run_one_task` for ``options``."""
    software = tmp_path / "software"
    (software / "bin").mkdir(parents=True)
    program = software / "bin" / "ctapipe-merge"
    program.write_text(script)
    program.chmod(0o755)
    campaign = f"JobSide-{unique}"
    return _run_one_task(
        dirac, tmp_path, unique, MERGE.format(unique=unique), ("path", str(software)),
        {"in1.h5": ("input 1\n", meta1), "in2.h5": ("input 2\n", meta2)},
        {"MCCampaign": campaign, "data_level": 1, "outputType": "Data"},
        {"MCCampaign": campaign, "data_level": 1, "outputType": "Data", "analysis_prog": "ctapipe-merge"},
        "Merging", **options,
    )  # fmt: skip


def test_a_production_job_registers_its_output_and_processes_its_inputs(dirac, tmp_path, unique):
    result = _run_merge_task(dirac, tmp_path, unique, FAKE_MERGE, {"nsb": 5}, {"nsb": 5})
    assert set(result["files"].values()) == {"Processed"}  # set by the job itself, right after its upload
    (output,) = result["outputs"]
    assert output.startswith(f"/ctao/tests/jobside/jobside-{unique}/merge/{result['task_id']:08d}/")
    meta = dirac.py(f"from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
                    f"result = FileCatalogClient().getFileUserMetadata({output!r})['Value']")
    assert meta["nsb"] == 5 and meta["merged"] == 1 and meta["analysis_prog"] == "ctapipe-merge"
    stored = dirac.inst.storage / output.lstrip("/")
    assert stored.read_text() == "input 1\ninput 2\n"


PROCESS = """
format: 1
inputs:
  dl0:
    query: {{MCCampaign: Toy-{unique}, data_level: 0, outputType: Data}}
productions:
  - name: toyprocess-{unique}
    steps:
      - name: process
        kind: ctapipe-process
        input: dl0
        where: {{particle: gamma}}
        version: v0.32.0
        options: --no-progress --log-level=ERROR
        group_size: 1
"""


@pytest.mark.skipif(not (CTAPIPE_ENV / "bin" / "ctapipe-process").exists(),
                    reason="no .venv-ctapipe (ctapipe 0.32 needs a Python 3.12, which make install did not find)")
def test_a_real_ctapipe_process_job_on_toy_dl0(dirac, tmp_path, unique):
    from CTAODIRAC.ToyEvents.description import default_description

    description = default_description("gamma", "performance", run_number=7, n_showers=200, seed=7)
    toy = json.loads(description.model_dump_json())
    campaign = f"Toy-{unique}"
    result = _run_one_task(
        dirac, tmp_path, unique, PROCESS.format(unique=unique), ("venv", str(CTAPIPE_ENV)),
        {"gamma_run7.toydl0.json": (json.dumps(toy), {"split": "performance", "run_number": 7})},
        {"MCCampaign": campaign, "data_level": 0, "outputType": "Data", "particle": "gamma"},
        {"MCCampaign": campaign, "data_level": 2, "analysis_prog": "ctapipe-process"},
        "DataReprocessing",
    )  # fmt: skip
    assert set(result["files"].values()) == {"Processed"}
    (output,) = result["outputs"]
    assert output.endswith("/gamma_run7.process.h5")
    meta = dirac.py(f"from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
                    f"result = FileCatalogClient().getFileUserMetadata({output!r})['Value']")
    assert meta["split"] == "performance" and meta["run_number"] == 7 and meta["particle"] == "gamma"
    stored = dirac.inst.storage / output.lstrip("/")
    assert stored.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"  # a real HDF5 file written by ctapipe


FAILING_MERGE = """#!/bin/sh
echo "this payload fails" >&2
exit 7
"""

FAILURE_DECISIONS = """
from CTAODIRAC.TransformationSystem.Client.FailureManagementClient import FailureManagementClient
res = FailureManagementClient().getDecisions({"TransformationID": TID}, 100)
assert res["OK"], res
result = res["Value"]
"""


@pytest.mark.parametrize(
    ("case", "exit_code", "failure_class"),
    [("payload", 1, "application"), ("upload", 3, "output-upload")],
)
def test_a_failing_job_leaves_its_inputs_for_the_failure_agent(dirac, tmp_path, unique, case, exit_code,
                                                               failure_class):
    result = _run_merge_task(
        dirac, tmp_path, unique, FAILING_MERGE if case == "payload" else FAKE_MERGE, {}, {}, expect="Failed",
        # an output storage element that does not exist: the upload fails and there is no failover SE
        output_se="CTAO-Local-SE" if case == "payload" else "CTAO-Nowhere-SE",
    )
    assert result["job"]["ApplicationStatus"] == f"dirac-ctao-run-step Exited With Status {exit_code}"
    assert set(result["files"].values()) == {"Assigned"}  # never Processed without its outputs
    assert result["outputs"] == []
    # the failure agent classifies the failure from the job's statuses and sends the files back for a retry
    run = control.run_agent(dirac.inst, "Transformation/FailureManagementAgent", cycles=1,
                            options=["ReportOnly=False", "MinJobAge=0", "TransformationTypes=Merging"])
    assert run.returncode == 0, run.output[-3000:]
    files = dirac.py(f"from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient\n"
                     f"res = TransformationClient().getTransformationFiles({{'TransformationID': {result['tid']}}})\n"
                     "result = {f['LFN']: f['Status'] for f in res['Value']}")
    assert set(files.values()) == {"Unused"}
    decisions = dirac.py(f"TID = {result['tid']}\n" + FAILURE_DECISIONS)
    assert decisions, "no decision recorded"
    assert {d["Class"] for d in decisions} == {failure_class}, decisions
    assert {int(d["JobID"]) for d in decisions} == {result["job_id"]}


def test_a_job_whose_input_is_missing_leaves_its_inputs_for_the_failure_agent(dirac, tmp_path, unique):
    """The catalog lists the inputs but the storage element lost them: DIRAC's job wrapper cannot download
    them and asks for a reschedule, which the local DIRAC refuses (MaxRescheduling = 0, docs/local-dirac.md): the
    job fails, the payload never ran, nothing is Processed, and the failure agent sees an input-data failure."""
    result = _run_merge_task(dirac, tmp_path, unique, FAKE_MERGE, {}, {}, expect="Failed", lose_inputs=True)
    assert result["job"]["MinorStatus"] == "Maximum of reschedulings reached", result["job"]
    assert result["job"]["ApplicationStatus"].startswith("Failed Input Data Resolution"), result["job"]
    assert set(result["files"].values()) == {"Assigned"}
    assert result["outputs"] == []
    run = control.run_agent(dirac.inst, "Transformation/FailureManagementAgent", cycles=1,
                            options=["ReportOnly=False", "MinJobAge=0", "TransformationTypes=Merging"])
    assert run.returncode == 0, run.output[-3000:]
    decisions = dirac.py(f"TID = {result['tid']}\n" + FAILURE_DECISIONS)
    assert {(d["Class"], d["Rule"], d["Kind"]) for d in decisions} == {
        ("input-data", "ReschedulingsInputData", "retry")}, decisions  # fmt: skip
    files = dirac.py(f"from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient\n"
                     f"res = TransformationClient().getTransformationFiles({{'TransformationID': {result['tid']}}})\n"
                     "result = {f['LFN']: f['Status'] for f in res['Value']}")
    assert set(files.values()) == {"Unused"}


MODELS = """
format: 1
inputs:
  dl1:
    query: {{MCCampaign: Models-{unique}, data_level: 1, outputType: Data}}
productions:
  - name: models-{unique}
    steps:
      - name: train-energy
        kind: ctapipe-train-energy
        input: dl1
        version: v0.0-test
      - name: apply
        kind: ctapipe-apply-models
        input: dl1
        version: v0.0-test
        models: [train-energy]
"""

SUBMIT_MODELS = """
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
(prod,) = ProductionSubmitter("/ctao/tests/jobside", output_se="CTAO-Local-SE").submit(load_plan(PATH))
result = {s.name: s.transformation_id for s in prod.steps}
"""

MODEL_FILE = """
import os, tempfile
from DIRAC.DataManagementSystem.Client.DataManager import DataManager
local = os.path.join(tempfile.mkdtemp(), "energy.pkl")
with open(local, "w") as fh:
    fh.write("a model")
# in the train-energy step's output directory, whose metadata the apply step's model query selects
res = DataManager().putAndRegister(LFN, local, "CTAO-Local-SE")
assert res["OK"] and LFN in res["Value"]["Successful"], res
result = True
"""

TASKS_OF = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
tc = TransformationClient()
result = {"tasks": len(tc.getTransformationTasks({"TransformationID": TID})["Value"]),
          "files": sorted(f["Status"] for f in tc.getTransformationFiles({"TransformationID": TID})["Value"])}
"""


def test_an_apply_models_step_gets_no_task_until_its_models_exist(dirac, tmp_path, unique):
    """Our TransformationPlugin (the TransformationAgent's PluginLocation, set by our ConfigTemplate.cfg) holds
    the apply step's files Unused while its model query finds nothing, and makes the task once a model exists."""
    path = tmp_path / "models.yaml"
    path.write_text(MODELS.format(unique=unique))
    tids = dirac.py(f"PATH = {str(path)!r}\n" + SUBMIT_MODELS)
    dirac.py(f"BASE = '/ctao/tests/jobside-in/{unique}'\n"
             f"DIR_META = {{'MCCampaign': 'Models-{unique}', 'data_level': 1, 'outputType': 'Data'}}\n"
             "FILES = {'run1.dl1.h5': ('dl1', {})}\n" + REGISTER)  # fmt: skip

    output = _make_tasks(dirac, "Training,ApplyModel")
    assert "no task until the models exist" in output, output[-3000:]
    assert dirac.py(f"TID = {tids['apply']}\n" + TASKS_OF) == {"tasks": 0, "files": ["Unused"]}
    assert dirac.py(f"TID = {tids['train-energy']}\n" + TASKS_OF) == {"tasks": 1, "files": ["Assigned"]}
    # the model appears (as the train-energy job would register it): the next cycle makes the apply task
    model = f"/ctao/tests/jobside/models-{unique}/train-energy/00000001/run1.train-energy.pkl"
    assert dirac.py(f"LFN = {model!r}\n" + MODEL_FILE)
    _make_tasks(dirac, "Training,ApplyModel")
    assert dirac.py(f"TID = {tids['apply']}\n" + TASKS_OF) == {"tasks": 1, "files": ["Assigned"]}


REQUESTS = """
from DIRAC.Core.Utilities import DEncode
from DIRAC.RequestManagementSystem.Client.ReqClient import ReqClient
rc = ReqClient()
ids = rc.getRequestIDsForJobs([JOB])["Value"]["Successful"]
result = []
for request_id in ids.values():
    request = rc.peekRequest(request_id)["Value"]  # getRequest would assign it (to no agent)
    result.append({"name": request.RequestName, "status": request.Status, "operations": [
        {"type": op.Type, "status": op.Status, "target": op.TargetSE, "source": op.SourceSE,
         "files": [f.LFN for f in op],
         "arguments": DEncode.decode(op.Arguments)[0] if op.Type == "SetFileStatus" else None}
        for op in request]})
"""


REQUEST_ID = """
from DIRAC.RequestManagementSystem.Client.ReqClient import ReqClient
(result,) = ReqClient().getRequestIDsForJobs([JOB])["Value"]["Successful"].values()
"""


WHERE_HELD = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from CTAODIRAC.LocalDIRAC.chaos import where_held
tc = TransformationClient()
result = where_held(tc, tc.getTransformationFiles({"TransformationID": TID})["Value"])
"""


RESERVED_RECOVERED = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from CTAODIRAC.LocalDIRAC.chaos import recover_reserved_tasks
tc = TransformationClient()
assert tc.setTaskStatus(TID, TASK, "Reserved")["OK"]
(before,) = tc.getTransformationTasks({"TransformationID": TID, "TaskID": TASK})["Value"]
import time
time.sleep(1.5)  # older than the grace of 0 s (the DB keeps whole seconds)
recovered = recover_reserved_tasks([TID], lambda what, **data: None, grace=0)
(after,) = tc.getTransformationTasks({"TransformationID": TID, "TaskID": TASK})["Value"]
result = {"name": f"{TID:08d}_{TASK:08d}", "before": before["ExternalStatus"], "recovered": recovered,
          "after": [after["ExternalStatus"], str(after["ExternalID"])]}
"""


TAKEN_THEN_KICKED = """
from DIRAC.RequestManagementSystem.Client.ReqClient import ReqClient
from CTAODIRAC.LocalDIRAC.chaos import kick_assigned_requests
rc = ReqClient()
(request_id,) = rc.getRequestIDsForJobs([JOB])["Value"]["Successful"].values()
assert rc.getRequest(request_id)["OK"]  # what the agent does first: the request is Assigned to it
taken = rc.getRequestStatus(request_id)["Value"]
records = []
kicked = kick_assigned_requests(lambda what, **data: records.append(data), grace=0)
after = rc.peekRequest(request_id)["Value"]
result = {"id": request_id, "taken": taken,
          "kicked": kicked, "records": records, "after": after.Status, "operations": [op.Status for op in after]}
"""


SE_WRITE_ACCESS = """
from DIRAC.ResourceStatusSystem.Client.ResourceStatusClient import ResourceStatusClient
res = ResourceStatusClient().modifyStatusElement("Resource", "Status", name=SE, statusType="WriteAccess",
                                                  status=STATUS, reason="integration test: SE down for writing")
assert res["OK"], res
result = True
"""


def _write_access(dirac, se: str, status: str) -> None:
    """Set a storage element's WriteAccess in DIRAC's ResourceStatus system, as an operator would for a downtime."""
    assert dirac.py(f"SE = {se!r}\nSTATUS = {status!r}\n" + SE_WRITE_ACCESS, user=None)


def test_an_upload_that_fails_goes_to_failover_and_the_inputs_wait_for_it(dirac, tmp_path, unique):
    """The output storage element cannot take the output (its write access is Banned, as in a downtime):
    dirac-ctao-run-step stores it on the failover storage element (CTAO-Spare-SE), with its metadata, and sends a
    DIRAC request to replicate it to the output SE, remove the failover copy, and only then set the inputs
    Processed. The job succeeds; the inputs stay Assigned. Once the SE is back, DIRAC's RequestExecutingAgent
    does the request: the output ends on the output SE only, and the inputs are Processed."""
    try:  # banned once the inputs are stored there
        result = _run_merge_task(dirac, tmp_path, unique, FAKE_MERGE, {"nsb": 5}, {"nsb": 5},
                                 output_se="CTAO-Local-SE", failover_ses=("CTAO-Spare-SE",),
                                 registered=lambda: _write_access(dirac, "CTAO-Local-SE", "Banned"))
    finally:
        _write_access(dirac, "CTAO-Local-SE", "Active")
    assert set(result["files"].values()) == {"Assigned"}  # not Processed before the output reaches its SE
    (output,) = result["outputs"]  # registered, with its metadata, at the failover SE
    replicas = dirac.py("from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
                        f"result = FileCatalogClient().getReplicas({output!r})['Value']['Successful']")
    assert list(replicas[output]) == ["CTAO-Spare-SE"]
    assert dirac.py(f"LFNS = {[output]!r}\n" + FILE_META)[output]["nsb"] == 5  # file metadata, for children
    assert (dirac.inst.root / "storage-spare" / output.lstrip("/")).read_text() == "input 1\ninput 2\n"
    (request,) = dirac.py(f"JOB = {result['job_id']}\n" + REQUESTS)
    kinds = [op["type"] for op in request["operations"]]
    assert kinds == ["ReplicateAndRegister", "RemoveReplica", "SetFileStatus"], request  # status last
    replicate = request["operations"][0]
    assert replicate["target"] == "CTAO-Local-SE" and replicate["files"] == [output]
    assert request["operations"][-1]["arguments"]["statusDict"] == dict.fromkeys(result["lfns"], "Processed")

    # the chaos campaign's report says where the inputs are held: the job, Done, and its request, Waiting
    held = dirac.py(f"TID = {result['tid']}\n" + WHERE_HELD)
    request_id = dirac.py(f"JOB = {result['job_id']}\n" + REQUEST_ID)
    assert len(held) == len(result["lfns"]) == 2, held  # one line per input
    for line in held:
        assert f"job {result['job_id']} Done / " in line and f"request {request_id} Waiting (" in line, line
        assert "ReplicateAndRegister Waiting" in line and "SetFileStatus Queued" in line, line

    # a WorkflowTaskAgent that dies after submitting the job but before recording it leaves the task Reserved: the
    # chaos campaign's recovery (DIRAC's CheckReserved, after 120 s instead of an hour) finds its job by name
    recovered = dirac.py(f"TID, TASK = {result['tid']}, {result['task_id']}\n" + RESERVED_RECOVERED)
    assert recovered["before"] == "Reserved" and recovered["recovered"] == [recovered["name"]], recovered
    assert recovered["after"] == ["Submitted", str(result["job_id"])], recovered

    # a RequestExecutingAgent takes the request (Assigned) and dies before putting it back: nothing would run it
    # again for an hour (DIRAC's CleanReqDBAgent); the chaos campaign's kick (as that agent does) puts it back
    kicked = dirac.py(f"JOB = {result['job_id']}\n" + TAKEN_THEN_KICKED)
    assert kicked["taken"] == "Assigned" and kicked["id"] in kicked["kicked"], kicked
    assert kicked["after"] == "Waiting" and request["name"] in [r["name"] for r in kicked["records"]], kicked
    assert kicked["operations"] == ["Waiting", "Queued", "Queued"], kicked  # as before it was taken

    # the SE is back: DIRAC's RequestExecutingAgent moves the output, then sets the inputs Processed, then
    # "finalizes" the request of the job: it writes the job parameter PendingRequest (kept in OpenSearch, which the
    # local DIRAC runs) and leaves the job Done
    done = f"request is finalized ReqName {request['name']}"  # this request (the log names it)
    run = control.run_agent(dirac.inst, "RequestManagement/RequestExecutingAgent", cycles=1,
                            options=["MinProcess=1", "MaxProcess=2"], until=done)
    assert done in run.output, run.output[-4000:]
    (after,) = dirac.py(f"JOB = {result['job_id']}\n" + REQUESTS)
    assert after["status"] == "Done" and {op["status"] for op in after["operations"]} == {"Done"}, after
    assert dirac.py(f"JOB = {result['job_id']}\n" + JOB_STATE)["Status"] == "Done"
    pending = dirac.py(f"JOB = {result['job_id']}\n" + PENDING_REQUEST)
    assert pending and "Done" in str(pending), pending  # the request's digest, as finalized
    replicas = dirac.py("from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
                        f"result = FileCatalogClient().getReplicas({output!r})['Value']['Successful']")
    assert list(replicas[output]) == ["CTAO-Local-SE"]
    assert (dirac.inst.storage / output.lstrip("/")).read_text() == "input 1\ninput 2\n"
    assert not (dirac.inst.root / "storage-spare" / output.lstrip("/")).exists()
    files = dirac.py(f"TID = {result['tid']}\n" + TASKS_OF)["files"]
    assert files == ["Processed", "Processed"]


SIMULATION = """
format: 1
productions:
  - name: simulation-{unique}
    steps:
      - name: simulate
        kind: mc-simulation
        version: v0.0-test
        jobs: 2
        showers: 25
        options: --run @{{run_number}} --showers @{{showers}}
        output: {{MCCampaign: Sim-{unique}, site: LaPalma, particle: gamma}}
      - name: count
        kind: executable
        executable: count-showers
        parents: [simulate]
        outputs: ["*.count.txt"]
        output: {{data_level: 0}}
"""

FAKE_SIM_TELARRAY = """#!/bin/sh
# stand-in for sim_telarray: --run N --showers M; writes one run file (and a file no pattern collects)
echo "run $2 showers $4 task $CTAODIRAC_TASK_ID of $CTAODIRAC_TRANSFORMATION_ID" > "run$2.simtel.zst"
echo "histograms" > "run$2.hist"
"""

FAKE_COUNT = """#!/bin/sh
# stand-in for a program reading simulation files: one count file per input
for f in "$@"; do grep -o "showers [0-9]*" "$f" > "${f%%.simtel.zst}.count.txt"; done
"""

SUBMIT_ALL = """
from CTAODIRAC.Core.JobSide import Software
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
lines = []
(prod,) = ProductionSubmitter("/ctao/tests/jobside", output_se="CTAO-Local-SE", say=lines.append,
                              software=Software(kind="path", location=SOFTWARE)).submit(load_plan(PATH))
result = {"state": prod.state, "tids": {s.name: s.transformation_id for s in prod.steps}, "said": lines}
"""

def test_a_simulation_step_gets_its_jobs_and_feeds_its_child(dirac, tmp_path, unique):
    """An mc-simulation step has no input files: the submission makes its `jobs` tasks (DIRAC's
    extendTransformation, once, even when submitted again); each job runs the simulation program with its run
    number and showers, and registers the files matching the step's outputs (sim_telarray's *.simtel.zst), with
    run_number = task ID. Its child, a generic executable, gets those files from DIRAC's agents and registers
    its own outputs (a pattern of its `outputs`) with the run number inherited."""
    software = tmp_path / "software"
    (software / "bin").mkdir(parents=True)
    for name, script in (("sim_telarray", FAKE_SIM_TELARRAY), ("count-showers", FAKE_COUNT)):
        (software / "bin" / name).write_text(script)
        (software / "bin" / name).chmod(0o755)
    path = tmp_path / "simulation.yaml"
    path.write_text(SIMULATION.format(unique=unique))
    submit = f"PATH = {str(path)!r}\nSOFTWARE = {str(software)!r}\n" + SUBMIT_ALL
    first = dirac.py(submit)
    sim, count = first["tids"]["simulate"], first["tids"]["count"]
    assert first["state"] == "created"
    assert any("extended by 2 tasks" in line for line in first["said"]), first["said"]
    again = dirac.py(submit)  # the same file again: nothing created, no task added
    assert again["state"] == "existing" and not any("extended" in line for line in again["said"]), again
    assert dirac.py(f"TID = {sim}\n" + TASKS_OF) == {"tasks": 2, "files": []}

    jobs = _run_jobs(dirac, _submit_tasks(dirac, sim, "MCSimulation"))
    assert [job["Status"] for job in jobs.values()] == ["Done", "Done"], jobs
    sim_dir = f"/ctao/tests/jobside/simulation-{unique}/simulate"
    simulated = [f"{sim_dir}/{task:08d}/run{task}.simtel.zst" for task in (1, 2)]
    outputs = dirac.py("from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
                       f"result = FileCatalogClient().findFilesByMetadata({{'MCCampaign': 'Sim-{unique}', "
                       "'tel_sim_prog': 'sim_telarray', 'data_level': -1})['Value']")
    assert sorted(outputs) == simulated  # the .hist files match no pattern: not collected
    meta = dirac.py(f"LFNS = {simulated!r}\n" + FILE_META)
    assert [meta[lfn]["run_number"] for lfn in simulated] == [1, 2]
    assert meta[simulated[0]]["particle"] == "gamma" and meta[simulated[0]]["site"] == "LaPalma"
    assert (dirac.inst.storage / simulated[1].lstrip("/")).read_text() == f"run 2 showers 25 task 2 of {sim}\n"

    # the child: DIRAC's agents find the simulated files with its input query (nothing registered by hand)
    _make_tasks(dirac, "DataReprocessing")
    assert dirac.py(f"TID = {count}\n" + TASKS_OF) == {"tasks": 2, "files": ["Assigned", "Assigned"]}
    jobs = _run_jobs(dirac, _submit_tasks(dirac, count, "DataReprocessing"))
    assert [job["Status"] for job in jobs.values()] == ["Done", "Done"], jobs
    assert dirac.py(f"TID = {count}\n" + TASKS_OF)["files"] == ["Processed", "Processed"]
    counted = dirac.py("from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
                       f"result = FileCatalogClient().findFilesByMetadata({{'MCCampaign': 'Sim-{unique}', "
                       "'data_level': 0})['Value']")
    assert sorted(Path(lfn).name for lfn in counted) == ["run1.count.txt", "run2.count.txt"]
    meta = dirac.py(f"LFNS = {sorted(counted)!r}\n" + FILE_META)
    # each output inherits its input's run number (which task got which run is the TransformationAgent's choice)
    assert sorted((Path(lfn).name, m["run_number"]) for lfn, m in meta.items()) == [
        ("run1.count.txt", 1), ("run2.count.txt", 2)]
    assert (dirac.inst.storage / sorted(counted)[0].lstrip("/")).read_text() == "showers 25\n"
