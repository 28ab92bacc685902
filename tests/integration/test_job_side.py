"""A production job on the local DIRAC, driven only by DIRAC's agents: inputs found by the InputDataAgent,
a task made by the TransformationAgent, a job submitted by the WorkflowTaskAgent and run by a JobAgent;
inside it, dirac-ctao-run-step runs the payload, uploads and registers the output with its metadata and
sets the inputs Processed.

The payload is a stand-in for ctapipe-merge (a shell script that concatenates its inputs): ctapipe 0.32
needs Python >= 3.12 and the job side here runs DIRAC's Python 3.11; everything DIRAC does is real.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from CTAODIRAC.LocalDIRAC import control

pytestmark = pytest.mark.integration

PRODUCTION = """
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

SUBMIT = """
from CTAODIRAC.Core.JobSide import Software
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
plan = load_plan(PATH)
(prod,) = ProductionSubmitter("/ctao/tests/jobside", output_se="CTAO-Local-SE",
                              software=Software(kind="path", location=SOFTWARE)).submit(plan)
result = prod.steps[0].transformation_id
"""

REGISTER = """
import os, tempfile
from DIRAC.DataManagementSystem.Client.DataManager import DataManager
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata
fc = FileCatalogClient()
CatalogMetadata(fc).ensure_fields(file={"nsb": "int"})  # as a submission using nsb would declare it
assert fc.createDirectory(BASE)["OK"]
assert fc.setMetadata(BASE, {"MCCampaign": CAMPAIGN, "data_level": 1, "outputType": "Data"})["OK"]
lfns = []
for i in (1, 2):
    local = os.path.join(tempfile.mkdtemp(), f"in{i}.h5")
    with open(local, "w") as fh:
        fh.write(f"input {i}\\n")
    lfn = f"{BASE}/in{i}.h5"
    res = DataManager().putAndRegister(lfn, local, "CTAO-Local-SE")
    assert res["OK"] and lfn in res["Value"]["Successful"], res
    assert fc.setMetadata(lfn, {"nsb": 5})["OK"]
    lfns.append(lfn)
result = lfns
"""

STATE = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
tc = TransformationClient()
files = tc.getTransformationFiles({"TransformationID": TID})["Value"]
tasks = tc.getTransformationTasks({"TransformationID": TID})["Value"]
outputs = FileCatalogClient().findFilesByMetadata({"MCCampaign": CAMPAIGN, "data_level": 1,
                                                   "outputType": "Data", "analysis_prog": "ctapipe-merge"})["Value"]
result = {"files": {f["LFN"]: f["Status"] for f in files},
          "tasks": [(t["TaskID"], t["ExternalID"], t["ExternalStatus"]) for t in tasks], "outputs": outputs}
"""


def _state(dirac, tid: int, campaign: str) -> dict:
    return dirac.py(f"TID = {tid}\nCAMPAIGN = {campaign!r}\n" + STATE)


def test_a_production_job_registers_its_output_and_processes_its_inputs(dirac, tmp_path, unique):
    software = tmp_path / "software"
    (software / "bin").mkdir(parents=True)
    script = software / "bin" / "ctapipe-merge"
    script.write_text(FAKE_MERGE)
    script.chmod(0o755)
    path = tmp_path / "production.yaml"
    path.write_text(PRODUCTION.format(unique=unique))
    campaign = f"JobSide-{unique}"
    tid = dirac.py(f"PATH = {str(path)!r}\nSOFTWARE = {str(software)!r}\n" + SUBMIT)
    lfns = dirac.py(f"BASE = '/ctao/tests/jobside-in/{unique}'\nCAMPAIGN = {campaign!r}\n" + REGISTER)

    for agent in ("Transformation/InputDataAgent", "Transformation/TransformationAgent"):
        run = control.run_agent(dirac.inst, agent, cycles=1, options=["TransformationTypes=Merging"])
        assert run.returncode == 0, run.output[-2000:]
    state = _state(dirac, tid, campaign)
    assert sorted(state["files"]) == sorted(lfns) and set(state["files"].values()) == {"Assigned"}
    assert len(state["tasks"]) == 1
    # DIRAC hands out only tasks created more than 30 s ago: age ours instead of waiting
    dirac.sql("TransformationDB", "UPDATE TransformationTasks SET CreationTime = CreationTime - INTERVAL 1 MINUTE "
                                  f"WHERE TransformationID = {tid}")
    run = control.run_agent(dirac.inst, "Transformation/WorkflowTaskAgent", cycles=1,
                            options=["TransType=Merging", "shifterProxy=ProductionManager", "MonitorTasks=",
                                     "MonitorFiles="])
    assert run.returncode == 0, run.output[-2000:]
    ((_, job_id, _),) = _state(dirac, tid, campaign)["tasks"]
    job_id = int(job_id)
    assert job_id > 0, "the WorkflowTaskAgent submitted no job"

    status = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
result = JobMonitoringClient().getJobsStates([JOB])["Value"][JOB]
"""
    deadline = time.monotonic() + 180
    while (job := dirac.py(f"JOB = {job_id}\n" + status))["Status"] != "Waiting":
        assert job["Status"] not in ("Failed", "Killed"), job
        assert time.monotonic() < deadline, job
        time.sleep(3)
    for _ in range(5):
        run = control.run_job_agent(dirac.inst, cycles=1)
        assert run.returncode == 0, run.output[-3000:]
        if dirac.py(f"JOB = {job_id}\n" + status)["Status"] in ("Done", "Failed"):
            break
    job = dirac.py(f"JOB = {job_id}\n" + status)
    assert job["Status"] == "Done", job
    assert job["ApplicationStatus"] == "dirac-ctao-run-step successful"  # set by DIRAC's Script module

    state = _state(dirac, tid, campaign)
    assert set(state["files"].values()) == {"Processed"}  # set by the job itself, right after its upload
    ((_, task_id, _),) = [(t[0], t[0], t[2]) for t in state["tasks"]]
    (output,) = state["outputs"]
    assert output.startswith(f"/ctao/tests/jobside/jobside-{unique}/merge/{int(task_id):08d}/")
    meta = dirac.py(f"from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
                    f"result = FileCatalogClient().getFileUserMetadata({output!r})['Value']")
    assert meta["nsb"] == 5 and meta["merged"] == 1 and meta["analysis_prog"] == "ctapipe-merge"
    stored = dirac.inst.storage / output.lstrip("/")
    assert stored.read_text() == "input 1\ninput 2\n"
