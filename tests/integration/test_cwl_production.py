"""A CWL Workflow submitted as a production: its transformations' jobs run the workflow's CommandLineTools.

A two-step workflow (the example tools `examples/cwl/tools/ctapipe-process.cwl` and `ctapipe-merge.cwl`, run
by reference) is submitted with the production submitter; two DL0 files and a configuration file are registered;
DIRAC's InputDataAgent, TransformationAgent and WorkflowTaskAgent make the tasks and jobs, a JobAgent runs them.
Inside each job `dirac-ctao-run-step` runs the step's tool with cwltool: the process task (group size 2, a
`scatter` step) runs the tool once per DL0 file with the configuration file bound to `config`; its two outputs
are registered with the step's metadata, so DIRAC's agents give them to the merge transformation, whose job
runs the merge tool on both. The programs are stand-ins (shell scripts named ctapipe-process and
ctapipe-merge in a `path` software area); everything else is real. A task whose tool fails ends Failed with the
exit status the failure agent reads for any production job.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from CTAODIRAC.LocalDIRAC import control

pytestmark = pytest.mark.integration

TOOLS = Path(__file__).parents[2] / "examples" / "cwl" / "tools"

WORKFLOW = """cwlVersion: v1.2
class: Workflow
$namespaces: {{dirac: https://ctao.org/dirac/cwl#}}
requirements: {{ScatterFeatureRequirement: {{}}}}
hints:
  - class: dirac:Production
    production: cwl-{unique}
    inputs:
      dl0: {{query: {{MCCampaign: CWL-{unique}, data_level: 0, outputType: Data}}}}
    defaults: {{version: v0.0-test}}
inputs:
  dl0: File[]
  process_config:
    type: File
    default: {{class: File, location: "lfn://{config}"}}
outputs:
  merged: {{type: File, outputSource: merge/merged}}
steps:
  process:
    run: {tools}/ctapipe-process.cwl
    scatter: input_file
    in: {{input_file: dl0, config: process_config}}
    out: [dl2]
    hints: [{{class: dirac:Step, group_size: 2}}]
  merge:
    run: {tools}/ctapipe-merge.cwl
    in: {{input_files: process/dl2}}
    out: [merged]
    hints: [{{class: dirac:Step, group_size: 2}}]
"""

FAKE_PROCESS = """#!/bin/sh
# stand-in for ctapipe-process: --input=IN --output=OUT [--write-showers] [--config=CFG]; fails on a "bad" input
for arg in "$@"; do case "$arg" in --input=*) in="${arg#--input=}";; --output=*) out="${arg#--output=}";;
  --config=*) cfg="${arg#--config=}";; esac; done
grep -q bad "$in" && { echo "cannot read $in" >&2; exit 3; }
echo "$(basename "$in") processed with $(cat "$cfg")" > "$out"
"""

FAKE_MERGE = """#!/bin/sh
# stand-in for ctapipe-merge: FILES... --output=OUT
for arg in "$@"; do case "$arg" in --output=*) out="${arg#--output=}";; esac; done
for arg in "$@"; do case "$arg" in --*) ;; *) cat "$arg" >> "$out";; esac; done
"""

SUBMIT = """
from CTAODIRAC.Core.JobSide import Software
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
(prod,) = ProductionSubmitter("/ctao/tests/cwlprod", output_se="CTAO-Local-SE",
                              software=Software(kind="path", location=SOFTWARE)).submit(load_plan(PATH))
result = {s.name: s.transformation_id for s in prod.steps}
"""

REGISTER = """
import os, tempfile
from DIRAC.DataManagementSystem.Client.DataManager import DataManager
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
fc = FileCatalogClient()
for lfn, (content, meta) in FILES.items():
    local = os.path.join(tempfile.mkdtemp(), os.path.basename(lfn))
    with open(local, "w") as fh:
        fh.write(content)
    res = DataManager().putAndRegister(lfn, local, "CTAO-Local-SE")
    assert res["OK"] and lfn in res["Value"]["Successful"], res
    directory = os.path.dirname(lfn)
    if meta:
        assert fc.setMetadata(directory, meta)["OK"]
result = sorted(FILES)
"""

STATE = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
tc = TransformationClient()
fc = FileCatalogClient()
files = tc.getTransformationFiles({"TransformationID": TID})["Value"]
outputs = sorted(fc.findFilesByMetadata(QUERY)["Value"])
result = {"files": sorted(f["Status"] for f in files), "outputs": outputs,
          "meta": {lfn: fc.getFileUserMetadata(lfn)["Value"] for lfn in outputs}}
"""

JOB_STATE = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
result = JobMonitoringClient().getJobsStates(JOBS)["Value"]
"""

TASK_JOBS = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
tasks = TransformationClient().getTransformationTasks({"TransformationID": TID})["Value"]
result = [int(t["ExternalID"]) for t in tasks]
"""


def _make_tasks(dirac, types: str) -> None:
    for agent in ("Transformation/InputDataAgent", "Transformation/TransformationAgent"):
        run = control.run_agent(dirac.inst, agent, cycles=1, options=[f"TransformationTypes={types}"])
        assert run.returncode == 0, run.output[-2000:]


def _run_tasks(dirac, tid: int, trans_type: str) -> dict[int, dict]:
    """The transformation's tasks become jobs (WorkflowTaskAgent) and a JobAgent runs them: their states."""
    dirac.sql("TransformationDB", "UPDATE TransformationTasks SET CreationTime = CreationTime - INTERVAL 1 MINUTE "
                                  f"WHERE TransformationID = {tid}")
    run = control.run_agent(dirac.inst, "Transformation/WorkflowTaskAgent", cycles=1,
                            options=[f"TransType={trans_type}", "shifterProxy=ProductionManager", "MonitorTasks=",
                                     "MonitorFiles="])  # fmt: skip
    assert run.returncode == 0, run.output[-2000:]
    jobs = dirac.py(f"TID = {tid}\n" + TASK_JOBS)
    assert jobs and all(job > 0 for job in jobs), jobs

    def states() -> dict[int, dict]:
        return {int(k): v for k, v in dirac.py(f"JOBS = {jobs}\n" + JOB_STATE).items()}

    deadline = time.monotonic() + 180
    while any(s["Status"] not in ("Waiting", "Done", "Failed") for s in states().values()):
        assert time.monotonic() < deadline, states()
        time.sleep(3)
    for _ in range(len(jobs) + 8):  # other tests' leftover jobs (a reused instance) may be matched first
        run = control.run_job_agent(dirac.inst, cycles=1)
        assert run.returncode == 0, run.output[-3000:]
        if all(s["Status"] in ("Done", "Failed") for s in states().values()):
            break
    return states()


def _software(tmp_path: Path) -> Path:
    software = tmp_path / "software"
    (software / "bin").mkdir(parents=True)
    for name, script in (("ctapipe-process", FAKE_PROCESS), ("ctapipe-merge", FAKE_MERGE)):
        (software / "bin" / name).write_text(script)
        (software / "bin" / name).chmod(0o755)
    return software


def test_a_cwl_workflow_production_runs_its_tools_and_chains(dirac, tmp_path, unique):
    software = _software(tmp_path)
    base = f"/ctao/tests/cwlprod-in/{unique}"
    config = f"{base}/config/process_{unique}.yaml"
    workflow = tmp_path / "two_step.cwl"
    workflow.write_text(WORKFLOW.format(unique=unique, config=config, tools=TOOLS))
    tids = dirac.py(f"PATH = {str(workflow)!r}\nSOFTWARE = {str(software)!r}\n" + SUBMIT)
    dl0 = {f"{base}/dl0/run{n}_{unique}.dl0": (f"events {n}\n", None) for n in (1, 2)}
    files = {config: ("cfg-" + unique + "\n", None), **dl0}
    dirac.py(f"FILES = {files!r}\n" + REGISTER)
    # the DL0 directory gets the metadata of the workflow's catalog input (the configuration file does not)
    dirac.py("from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
             f"result = FileCatalogClient().setMetadata({base + '/dl0'!r}, {{'MCCampaign': 'CWL-{unique}', "
             "'data_level': 0, 'outputType': 'Data'})['OK']")

    # process: one task of both DL0 files; the tool runs once per file (scatter), with the configuration file
    _make_tasks(dirac, "DataReprocessing")
    states = _run_tasks(dirac, tids["process"], "DataReprocessing")
    assert [s["Status"] for s in states.values()] == ["Done"], states
    assert [s["ApplicationStatus"] for s in states.values()] == ["dirac-ctao-run-step successful"]
    query = {"MCCampaign": f"CWL-{unique}", "data_level": 2, "analysis_prog": "ctapipe-process"}
    state = dirac.py(f"TID = {tids['process']}\nQUERY = {query!r}\n" + STATE)
    assert state["files"] == ["Processed", "Processed"]
    assert [Path(lfn).name for lfn in state["outputs"]] == [f"run1_{unique}.dl2.h5", f"run2_{unique}.dl2.h5"]
    assert all(lfn.startswith(f"/ctao/tests/cwlprod/cwl-{unique}/process/") for lfn in state["outputs"])
    first = (dirac.inst.storage / state["outputs"][0].lstrip("/")).read_text()
    assert first == f"run1_{unique}.dl0 processed with cfg-{unique}\n"  # the config bound to the tool's input

    # merge: DIRAC's agents find both outputs by the step's output metadata; its tool merges them
    _make_tasks(dirac, "Merging")
    states = _run_tasks(dirac, tids["merge"], "Merging")
    assert [s["Status"] for s in states.values()] == ["Done"], states
    query = {"MCCampaign": f"CWL-{unique}", "analysis_prog": "ctapipe-merge"}
    state = dirac.py(f"TID = {tids['merge']}\nQUERY = {query!r}\n" + STATE)
    assert state["files"] == ["Processed", "Processed"]
    (merged,) = state["outputs"]
    assert Path(merged).name == "merged.dl2.h5"  # the tool's own output name
    assert state["meta"][merged]["merged"] == 1
    assert (dirac.inst.storage / merged.lstrip("/")).read_text() == (
        f"run1_{unique}.dl0 processed with cfg-{unique}\nrun2_{unique}.dl0 processed with cfg-{unique}\n")


def test_a_cwl_task_whose_tool_fails_leaves_its_inputs_for_the_failure_agent(dirac, tmp_path, unique):
    software = _software(tmp_path)
    base = f"/ctao/tests/cwlprod-in/{unique}"
    config = f"{base}/config/process_{unique}.yaml"
    workflow = tmp_path / "two_step.cwl"
    workflow.write_text(WORKFLOW.format(unique=unique, config=config, tools=TOOLS))
    tids = dirac.py(f"PATH = {str(workflow)!r}\nSOFTWARE = {str(software)!r}\n" + SUBMIT)
    files = {config: ("cfg\n", None), f"{base}/dl0/good_{unique}.dl0": ("events\n", None),
             f"{base}/dl0/bad_{unique}.dl0": ("bad events\n", None)}
    dirac.py(f"FILES = {files!r}\n" + REGISTER)
    dirac.py("from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
             f"result = FileCatalogClient().setMetadata({base + '/dl0'!r}, {{'MCCampaign': 'CWL-{unique}', "
             "'data_level': 0, 'outputType': 'Data'})['OK']")
    _make_tasks(dirac, "DataReprocessing")
    states = _run_tasks(dirac, tids["process"], "DataReprocessing")
    (job,) = states.values()
    assert job["Status"] == "Failed", states
    assert job["ApplicationStatus"] == "dirac-ctao-run-step Exited With Status 1"  # the payload's fault
    query = {"MCCampaign": f"CWL-{unique}", "data_level": 2}
    state = dirac.py(f"TID = {tids['process']}\nQUERY = {query!r}\n" + STATE)
    assert state["files"] == ["Assigned", "Assigned"] and state["outputs"] == []  # nothing left behind


YAML_STEP = """format: 1
inputs:
  events: {{query: {{MCCampaign: CWLY-{unique}, data_level: 0, outputType: Data}}}}
productions:
  - name: cwly-{unique}
    steps:
      - name: count
        kind: executable
        executable: python3
        cwl: {tool}
        input: events
        output: {{data_level: 3}}
"""


def test_a_yaml_executable_step_with_cwl_runs_the_tool(dirac, tmp_path, unique):
    """A YAML ``executable`` step naming a CommandLineTool (``cwl:``): its task gives its file to the tool's one
    File input without a default; both outputs of the tool (``summary.json`` and its stdout ``count_events.log``)
    are registered with the step's metadata."""
    software = _software(tmp_path)
    production = tmp_path / "count.yaml"
    tool = Path(__file__).parents[2] / "examples" / "cwl" / "job" / "count_events.cwl"
    production.write_text(YAML_STEP.format(unique=unique, tool=tool))
    tids = dirac.py(f"PATH = {str(production)!r}\nSOFTWARE = {str(software)!r}\n" + SUBMIT)
    base = f"/ctao/tests/cwlprod-in/{unique}/events"
    dirac.py(f"FILES = {{{base + '/events.txt'!r}: ('# id energy\\n1 0.05\\n2 0.31\\n3 1.2\\n', None)}}\n" + REGISTER)
    dirac.py("from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient\n"
             f"result = FileCatalogClient().setMetadata({base!r}, {{'MCCampaign': 'CWLY-{unique}', "
             "'data_level': 0, 'outputType': 'Data'})['OK']")
    _make_tasks(dirac, "DataReprocessing")
    states = _run_tasks(dirac, tids["count"], "DataReprocessing")
    assert [s["Status"] for s in states.values()] == ["Done"], states
    query = {"MCCampaign": f"CWLY-{unique}", "data_level": 3}
    state = dirac.py(f"TID = {tids['count']}\nQUERY = {query!r}\n" + STATE)
    assert state["files"] == ["Processed"]
    assert sorted(Path(lfn).name for lfn in state["outputs"]) == ["count_events.log", "summary.json"]
    summary = next(lfn for lfn in state["outputs"] if lfn.endswith("summary.json"))
    assert json.loads((dirac.inst.storage / summary.lstrip("/")).read_text()) == {
        "label": "toy", "events": 3, "kept": 3}
