"""The failure agent's site bans meet the step's own sites and banned sites, at DIRAC's WorkflowTaskAgent.

Each test makes a transformation whose job template sets ``Site`` or ``BannedSites`` (as a step's ``sites`` and
``banned_sites`` do), records a ban for its file as the failure agent would (``FMSiteBans``), and lets DIRAC's
WorkflowTaskAgent submit the file's task through our task-manager plugin: the job must keep the step's own
choices, and a ban that would leave the job no site must not be applied. The jobs are deleted at the end (their
input files do not exist: a local JobAgent of a later test would only fail them).
"""

from __future__ import annotations

import time
import uuid

import pytest

from CTAODIRAC.LocalDIRAC import control
from CTAODIRAC.LocalDIRAC.csconfig import SITE, SPARE_SITE

pytestmark = pytest.mark.integration

SETUP = """
import uuid
from DIRAC.Interfaces.API.Job import Job
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
from DIRAC.TransformationSystem.Client.Transformation import Transformation
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient

job = Job()
job.setExecutable("/bin/true")
job.setCPUTime(1000)
if SITES:
    assert job.setDestination(SITES)["OK"]
if BANNED:
    job.setBannedSites(BANNED)
lfn = f"/ctao/tests/sitebans/{NAME}/file.dat"
res = FileCatalogClient().addFile({lfn: {"PFN": "", "Size": 10, "SE": "CTAO-Local-SE",
                                         "GUID": str(uuid.uuid4()).upper(), "Checksum": "0000abcd"}})
assert res["OK"] and not res["Value"]["Failed"], res
if SPARE_COPY:  # a second replica, at the other site's SE (the catalog entry is enough: no job runs there)
    res = FileCatalogClient().addReplica({lfn: {"SE": "CTAO-Spare-SE", "PFN": ""}})
    assert res["OK"] and not res["Value"]["Failed"], res
t = Transformation()
t.setTransformationName("sitebans_" + NAME)
t.setType("DataReprocessing")
t.setDescription("site bans test")
t.setLongDescription("site bans test")
t.setBody(job.workflow.toXML())
t.setPlugin("Standard")
t.setGroupSize(1)
t.setAgentType("Automatic")
res = t.addTransformation()
assert res["OK"], res
tid = t.getTransformationID()["Value"]
tc = TransformationClient()
assert tc.setTransformationParameter(tid, "Status", "Active")["OK"]
assert tc.addFilesToTransformation(tid, [lfn])["OK"]
res = tc.addTaskForTransformation(tid, [lfn], TARGET_SE)  # positional: an RPC drops keywords
assert res["OK"], res
result = {"tid": tid, "lfn": lfn, "task": res["Value"]}
"""

JOB_OF_TASK = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
res = TransformationClient().getTransformationTasks({"TransformationID": TID})
assert res["OK"], res
jobs = [int(t["ExternalID"]) for t in res["Value"] if t["ExternalID"] and int(t["ExternalID"]) > 0]
result = {"jobs": jobs, "jdl": ""}
if jobs:
    res = JobMonitoringClient().getJobJDL(jobs[0], False)
    assert res["OK"], res
    result["jdl"] = res["Value"]
"""

DELETE = """
from DIRAC.WorkloadManagementSystem.Client.JobManagerClient import JobManagerClient
result = JobManagerClient().deleteJob(JOBS)["OK"] if JOBS else True
"""


def _submitted(dirac, *, sites: list[str], banned: list[str], ban: str, target_se: str = "Unknown",
               spare_copy: bool = False) -> dict:
    """A transformation with that job template, a ban of its file at ``ban``, its task (for ``target_se``, as
    the TransformationAgent would set it) submitted by DIRAC."""
    name = uuid.uuid4().hex[:8]
    made = dirac.py(f"NAME = {name!r}\nSITES = {sites!r}\nBANNED = {banned!r}\nTARGET_SE = {target_se!r}\n"
                    f"SPARE_COPY = {spare_copy!r}\n" + SETUP)
    tid, lfn = made["tid"], made["lfn"]
    dirac.sql("FailureManagementDB", "INSERT INTO FMSiteBans (TransformationID, LFN, Site, Class, DecisionID, "
              f"CreationTime) VALUES ({tid}, '{lfn}', '{ban}', 'infrastructure', 0, UTC_TIMESTAMP())")  # fmt: skip
    # WorkflowTaskAgent only hands out tasks older than 30 s
    dirac.sql("TransformationDB", "UPDATE TransformationTasks SET CreationTime = UTC_TIMESTAMP() - INTERVAL 2 MINUTE "
              f"WHERE TransformationID = {tid}")  # fmt: skip
    try:
        run = control.run_agent(
            dirac.inst,
            "Transformation/WorkflowTaskAgent",
            options=["TransType=DataReprocessing", "MonitorTasks=False", "MonitorFiles=False", "shifterProxy="],
        )
    finally:
        dirac.sql("TransformationDB", f"UPDATE Transformations SET Status = 'Idle' WHERE TransformationID = {tid}")
    assert run.returncode == 0, run.output[-3000:]
    found = dirac.py(f"TID = {tid}\n" + JOB_OF_TASK)
    found["log"] = run.output
    return found


def _delete(dirac, jobs: list[int]) -> None:
    # let the optimizers finish with the jobs first: a job deleted while an optimizer holds it comes back
    time.sleep(1)
    assert dirac.py(f"JOBS = {jobs!r}\n" + DELETE)


def test_a_ban_keeps_the_step_own_banned_sites(dirac):
    """The step bans the spare site, the failure agent bans the other one for the file: together they leave
    no site, so the failure ban is not applied, and the job still avoids the step's banned site (the task's
    BannedSites used to replace the template's)."""
    found = _submitted(dirac, sites=[], banned=[SPARE_SITE], ban=SITE)
    try:
        assert len(found["jobs"]) == 1, found["log"][-3000:]
        assert f'BannedSites = "{SPARE_SITE}";' in found["jdl"], found["jdl"]
        assert "site bans not applied, they exclude every destination" in found["log"], found["log"][-3000:]
    finally:
        _delete(dirac, found["jobs"])


def test_a_ban_against_the_step_only_site_is_not_applied(dirac):
    """The step runs only at the local site and the failure agent bans it for the file: applying the ban
    would leave the job with a destination it is banned from, so it is not applied."""
    found = _submitted(dirac, sites=[SITE], banned=[], ban=SITE)
    try:
        assert len(found["jobs"]) == 1, found["log"][-3000:]
        assert f'Site = "{SITE}";' in found["jdl"], found["jdl"]
        assert "BannedSites" not in found["jdl"], found["jdl"]
    finally:
        _delete(dirac, found["jobs"])


def test_a_ban_of_the_site_the_target_se_chose_sends_the_task_where_the_data_also_is(dirac):
    """DIRAC's BySE plugin sends a task to the site of the one SE the TransformationAgent chose for it: when the
    failure agent bans that site for the file and the file has a copy at another site, the task goes there,
    banned from the first (the ban used to be dropped, and the file went back to the site that kept failing)."""
    found = _submitted(dirac, sites=[], banned=[], ban=SPARE_SITE, target_se="CTAO-Spare-SE", spare_copy=True)
    try:
        assert len(found["jobs"]) == 1, found["log"][-3000:]
        assert f'Sites = "{SITE}";' in found["jdl"], found["jdl"]  # the job's requirements: the other site
        assert f'BannedSites = "{SPARE_SITE}";' in found["jdl"], found["jdl"]
    finally:
        _delete(dirac, found["jobs"])
