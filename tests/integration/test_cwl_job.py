"""A CWL CommandLineTool and its inputs file submitted as one DIRAC job, end to end on the local DIRAC.

`examples/cwl/job/count_events.cwl` with an inputs file whose `events` is a catalog file (lfn://) goes through
the real `dirac-ctao-submit-cwl-job --submit` as the user `user`; DIRAC's optimizers and a JobAgent run it;
inside the job `dirac-ctao-cwl-run` runs cwltool on the downloaded input, uploads the `summary` output to
CTAO-Local-SE, registers it with the metadata of the tool's dirac:Job hint, and leaves the log in the output
sandbox. A second job whose payload fails ends Failed with the statuses the failure rules read.

The JobAgent runs with the Pool computing element and declares the node's memory and the `toy` tag: the
example asks for 256 MB (ResourceRequirement.ramMin -> MinRAM) and the tag `toy` (dirac:Job.tags), and DIRAC
9.1's InProcess computing element advertises no memory before its first job (MaxRAM 0), so it never
matches a job with a memory requirement. Every DIRAC part is real; nothing is mocked.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from CTAODIRAC.LocalDIRAC import control

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "cwl" / "job" / "count_events.cwl"
#: Where the example's dirac:Job hint registers its summary (a directory: the file keeps its name).
OUTPUT_LFN = "/ctao/user/t/toy/count_events/summary.json"
#: The worker this test's JobAgent stands for: the memory and tag the example asks for, two job slots.
WORKER = ["/LocalSite/LocalCE=Pool", "/LocalSite/NumberOfProcessors=2", "/LocalSite/MaxRAM=2048",
          "/LocalSite/Tag=ctapipe,toy"]

REGISTER = """
import os, tempfile
from DIRAC.DataManagementSystem.Client.DataManager import DataManager
dm = DataManager()
for lfn, content in FILES.items():
    local = os.path.join(tempfile.mkdtemp(), os.path.basename(lfn))
    with open(local, "w") as fh:
        fh.write(content)
    res = dm.putAndRegister(lfn, local, "CTAO-Local-SE")
    assert res["OK"] and lfn in res["Value"]["Successful"], res
# a summary left by an earlier run of this test on this instance: the job never overwrites one
res = dm.removeFile([OUTPUT_LFN])
assert res["OK"], res
result = sorted(FILES)
"""

JOB_STATE = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
result = JobMonitoringClient().getJobsStates(JOBS)["Value"]
"""

JOB_DETAILS = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
monitoring = JobMonitoringClient()
result = {"jdl": monitoring.getJobJDL(JOB, False)["Value"], "input_data": monitoring.getInputData(JOB)["Value"],
          "history": monitoring.getJobLoggingInfo(JOB)["Value"]}
"""

OUTPUT = """
import os, tempfile
from DIRAC.DataManagementSystem.Client.DataManager import DataManager
from DIRAC.Interfaces.API.Dirac import Dirac
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
fc = FileCatalogClient()
here = tempfile.mkdtemp()
res = DataManager().getFile(OUTPUT_LFN, destinationDir=here)
assert res["OK"] and OUTPUT_LFN in res["Value"]["Successful"], res
sandboxes = {}
for job in JOBS:
    res = Dirac().getOutputSandbox(job, outputDir=here)
    assert res["OK"], res
    folder = os.path.join(here, str(job))
    sandboxes[job] = {name: open(os.path.join(folder, name)).read() for name in sorted(os.listdir(folder))}
result = {
    "content": open(os.path.join(here, os.path.basename(OUTPUT_LFN))).read(),
    "metadata": fc.getFileUserMetadata(OUTPUT_LFN)["Value"],
    "found": fc.findFilesByMetadata({"data_level": 3, "outputType": "Data"}, "/ctao/user")["Value"],
    "replicas": sorted(fc.getReplicas(OUTPUT_LFN)["Value"]["Successful"].get(OUTPUT_LFN, {})),
    "sandboxes": sandboxes,
}
"""


def _submit(dirac, inputs: Path) -> int:
    proc = dirac.run([control.dirac_command("dirac-ctao-submit-cwl-job"), str(EXAMPLE), str(inputs), "--submit",
                      "--json"], user="user")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    submitted = json.loads(proc.stdout)
    assert submitted["job"]["input_data"] and submitted["job_id"] > 0
    return int(submitted["job_id"])


def test_a_cwl_job_runs_end_to_end_on_the_local_dirac(dirac, tmp_path, unique):
    base = f"/ctao/tests/cwl/{unique}"
    events = f"{base}/events_{unique}.txt"
    broken = f"{base}/broken_{unique}.txt"
    dirac.py(f"OUTPUT_LFN = {OUTPUT_LFN!r}\nFILES = {{{events!r}: '# id energy\\n1 0.05\\n2 0.31\\n3 1.20\\n4 2.50\\n',"
             f" {broken!r}: '1 not-a-number\\n'}}\n" + REGISTER, user="user")  # fmt: skip
    good = tmp_path / "good.yaml"
    good.write_text(f"events: {{class: File, location: 'lfn://{events}'}}\nlabel: cwl-{unique}\nmin_energy: 1.0\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"events: {{class: File, location: 'lfn://{broken}'}}\nlabel: broken\nmin_energy: 1.0\n")
    job, failing = _submit(dirac, good), _submit(dirac, bad)

    # the job DIRAC holds: what the tool asked for
    details = dirac.py(f"JOB = {job}\n" + JOB_DETAILS, user="user")
    assert [lfn.removeprefix("LFN:") for lfn in details["input_data"]] == [events]
    jdl = details["jdl"]
    for setting in ("MinRAM = 256", "CPUTime = 600", 'Tags = "toy"', '"count_events.log"', '"cwl-run.log"'):
        assert setting in jdl, (setting, jdl)

    def states() -> dict:
        return {int(k): v for k, v in dirac.py(f"JOBS = {[job, failing]}\n" + JOB_STATE, user="user").items()}

    deadline = time.monotonic() + 150
    while {s["Status"] for s in states().values()} != {"Waiting"}:  # DIRAC's optimizers, on their own scan
        assert not {s["Status"] for s in states().values()} & {"Failed", "Killed"}, states()
        assert time.monotonic() < deadline, states()
        time.sleep(3)
    for _ in range(3):  # other tests' leftover jobs may be matched first
        run = control.run_job_agent(dirac.inst, cycles=2, options=WORKER)
        assert run.returncode == 0, run.output[-3000:]
        if {s["Status"] for s in states().values()} <= {"Done", "Failed"}:
            break
    final = states()
    assert final[job]["Status"] == "Done", final
    assert final[job]["ApplicationStatus"] == "dirac-ctao-cwl-run successful"  # set by DIRAC's Script module
    assert final[failing]["Status"] == "Failed", final
    assert final[failing]["ApplicationStatus"] == "dirac-ctao-cwl-run Exited With Status 1"  # the payload's fault
    # what the command itself reported before DIRAC's workflow wrote the exit status over it
    history = dirac.py(f"JOB = {failing}\n" + JOB_DETAILS, user="user")["history"]
    assert [row[1:3] for row in history if row[4] == "dirac-ctao-cwl-run"][-1] == [
        "Application Finished With Errors", "cwltool Exited With Status 1"], history

    out = dirac.py(f"OUTPUT_LFN = {OUTPUT_LFN!r}\nJOBS = {[job, failing]}\n" + OUTPUT, user="user")
    # the catalog output: stored, registered with the hint's metadata, found by it, and its content right
    assert json.loads(out["content"]) == {"label": f"cwl-{unique}", "events": 4, "kept": 2}
    assert out["replicas"] == ["CTAO-Local-SE"]
    assert out["metadata"]["data_level"] == 3 and out["metadata"]["outputType"] == "Data"
    assert OUTPUT_LFN in out["found"]
    # the output sandbox: the other output, cwltool's output document with where each output went, the log
    sandbox = out["sandboxes"][str(job)]
    assert sandbox["count_events.log"].strip() == f"cwl-{unique}: 4 events, 2 kept"
    assert "summary.json" not in sandbox  # a catalog output
    record = json.loads(sandbox["cwl-outputs.json"])
    assert record["catalog"] == [{"output": "summary", "lfn": OUTPUT_LFN, "se": "CTAO-Local-SE",
                                  "status": "registered", "metadata": {"data_level": 3, "outputType": "Data"}}]
    assert "Final process status is success" in sandbox["cwl-run.log"]
    # the failing payload: nothing registered for it, cwltool's reason in its log
    failed_log = out["sandboxes"][str(failing)]["cwl-run.log"]
    assert "ValueError" in failed_log and "permanentFail" in failed_log


WORKFLOW_DATA = Path(__file__).parents[1] / "unit" / "cwl" / "data" / "wf"

SANDBOX = """
import os, tempfile
from DIRAC.Interfaces.API.Dirac import Dirac
here = tempfile.mkdtemp()
res = Dirac().getOutputSandbox(JOB, outputDir=here)
assert res["OK"], res
folder = os.path.join(here, str(JOB))
result = {name: open(os.path.join(folder, name)).read() for name in sorted(os.listdir(folder))}
"""


def test_a_two_step_workflow_runs_as_one_job(dirac, tmp_path, unique):
    """A Workflow (echo, then wc, tools in other files) submitted as ONE job: packed, run whole by cwltool."""
    source = (WORKFLOW_DATA / "count_words.cwl").read_text()
    header, body = source.split("\nhints:", 1)  # no catalog output here: the outputs come back in the sandbox
    text = f"{header}\nhints:\n  - {{class: dirac:Job, job_name: words}}\ninputs:{body.split(chr(10) + 'inputs:', 1)[1]}"
    for tool in ("echo.cwl", "wc.cwl"):  # the tools are elsewhere: only the packed workflow travels
        text = text.replace(f"run: {tool}", f"run: {WORKFLOW_DATA / tool}")
    workflow = tmp_path / "words.cwl"
    workflow.write_text(text)
    inputs = tmp_path / "words.yaml"
    inputs.write_text(f"message: one two three {unique}\nextra: {{class: File, path: extra.txt}}\n")
    (tmp_path / "extra.txt").write_text("five six\n")
    proc = dirac.run([control.dirac_command("dirac-ctao-submit-cwl-job"), str(workflow), str(inputs), "--submit",
                      "--json"], user="user")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    submitted = json.loads(proc.stdout)
    job = int(submitted["job_id"])
    assert submitted["job"]["process_class"] == "Workflow" and submitted["job"]["processors"] == 2

    def state() -> dict:
        return {int(k): v for k, v in dirac.py(f"JOBS = {[job]}\n" + JOB_STATE, user="user").items()}[job]

    deadline = time.monotonic() + 150
    while state()["Status"] != "Waiting":
        assert state()["Status"] not in ("Failed", "Killed"), state()
        assert time.monotonic() < deadline, state()
        time.sleep(3)
    for _ in range(3):
        run = control.run_job_agent(dirac.inst, cycles=2, options=WORKER)
        assert run.returncode == 0, run.output[-3000:]
        if state()["Status"] in ("Done", "Failed"):
            break
    final = state()
    sandbox = dirac.py(f"JOB = {job}\n" + SANDBOX, user="user")
    assert final["Status"] == "Done", (final, sandbox.get("cwl-run.log", "")[-3000:])
    assert sandbox["message.txt"] == f"one two three {unique}\n"
    words = sandbox["count.txt"].split()
    assert words[0] == "4" and words[2] == "2" and words[-2:] == ["6", "total"]
    assert "Final process status is success" in sandbox["cwl-run.log"]
