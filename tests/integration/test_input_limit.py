"""A step's ``input_limit`` against the real local DIRAC (issue 11: it was shown in the dry run, never sent).

One production, two first-level steps reading the same 4 catalog files: ``one`` (group size 1, input_limit 2)
and ``pairs`` (group size 2, input_limit 3). DIRAC's InputDataAgent gives both transformations all 4 files;
DIRAC's TransformationAgent, through this extension's plugin, makes tasks for 2 files (``one``: 2 tasks of 1)
and 3 files (``pairs``: a task of 2, and at once the last, smaller task of 1: it could never fill) and no more
in a second cycle. The tasks' jobs are not run here (the job side has its own tests): their files are set
Processed as the jobs would. The failure-management agent then sets the Unused files beyond each limit
``Removed`` (decision ``beyond-limit``, recorded and applied once), completes both transformations in its next
cycle, and the production in the one after.
"""

from __future__ import annotations

import pytest

from CTAODIRAC.LocalDIRAC import control

pytestmark = pytest.mark.integration

PRODUCTION = """
format: 1
inputs:
  dl0:
    query: {{MCCampaign: Limit-{unique}, data_level: 0, outputType: Data}}
productions:
  - name: limit-{unique}
    steps:
      - name: one-{unique}
        kind: ctapipe-process
        input: dl0
        version: v0.0-test
        group_size: 1
        input_limit: 2
      - name: pairs-{unique}
        kind: ctapipe-process
        input: dl0
        version: v0.0-test
        group_size: 2
        input_limit: 3
"""

SUBMIT = """
from CTAODIRAC.Core.JobSide import config_in_body
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
(prod,) = ProductionSubmitter("/ctao/tests/limit", output_se="CTAO-Local-SE").submit(load_plan(PATH))
tc = TransformationClient()
result = {"production": prod.production_id, "steps": {}}
for step in prod.steps:
    body = tc.getTransformationParameters(step.transformation_id, "Body")["Value"]
    result["steps"][step.name] = [step.transformation_id, config_in_body(body).input_limit]
"""

REGISTER = """
import os, tempfile
from DIRAC.DataManagementSystem.Client.DataManager import DataManager
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
fc = FileCatalogClient()
assert fc.createDirectory(BASE)["OK"]
assert fc.setMetadata(BASE, META)["OK"]
lfns = []
for index in range(4):
    local = os.path.join(tempfile.mkdtemp(), f"run{index}.dl0")
    with open(local, "w") as fh:
        fh.write(f"run {index}\\n")
    lfn = f"{BASE}/run{index}.dl0"
    res = DataManager().putAndRegister(lfn, local, "CTAO-Local-SE")
    assert res["OK"] and lfn in res["Value"]["Successful"], res
    lfns.append(lfn)
result = lfns
"""

STATE = """
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
tc = TransformationClient()
result = {"production": ProductionClient().getProduction(PROD)["Value"]["Status"]}
for tid in TIDS:
    files = tc.getTransformationFiles({"TransformationID": tid})["Value"]
    tasks = tc.getTransformationTasks({"TransformationID": tid}, inputVector=True)["Value"]
    result[tid] = {
        "status": tc.getTransformationParameters(tid, "Status")["Value"],
        "files": {f["LFN"]: f["Status"] for f in files},
        "tasks": sorted(sorted(t["InputVector"].split(";")) for t in tasks),
    }
"""

PROCESSED = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
tc = TransformationClient()
for tid in TIDS:
    files = tc.getTransformationFiles({"TransformationID": tid, "Status": "Assigned"})["Value"]
    res = tc.setFileStatusForTransformation(tid, "Processed", [f["LFN"] for f in files])
    assert res["OK"], res
result = True
"""

FAILURE_AGENT = ["ReportOnly=False", "ActOnTransformationsWithoutParents=True", "TransformationTypes=DataReprocessing"]


def _state(dirac, production: int, tids: list[int]) -> dict:
    return {str(key): value for key, value in dirac.py(f"PROD = {production}\nTIDS = {tids!r}\n" + STATE).items()}


def test_input_limit_bounds_the_tasks_and_the_rest_is_set_aside_until_completion(dirac, tmp_path, unique):
    path = tmp_path / "production.yaml"
    path.write_text(PRODUCTION.format(unique=unique))
    submitted = dirac.py(f"PATH = {str(path)!r}\n" + SUBMIT)
    production = submitted["production"]
    (one, one_limit), (pairs, pairs_limit) = (submitted["steps"][f"{name}-{unique}"] for name in ("one", "pairs"))
    assert (one_limit, pairs_limit) == (2, 3)  # the limit travels in the job configuration of the body
    meta = {"MCCampaign": f"Limit-{unique}", "data_level": 0, "outputType": "Data"}
    lfns = sorted(dirac.py(f"BASE = '/ctao/tests/limit-in/{unique}'\nMETA = {meta!r}\n" + REGISTER))

    for agent in ("Transformation/InputDataAgent", "Transformation/TransformationAgent",
                  "Transformation/TransformationAgent"):  # a second TransformationAgent cycle makes no more tasks
        run = control.run_agent(dirac.inst, agent, cycles=1, options=["TransformationTypes=DataReprocessing"])
        assert run.returncode == 0, run.output[-2000:]

    state = _state(dirac, production, [one, pairs])
    # files already tried first, then by LFN: here the first ones by LFN
    assert state[str(one)]["tasks"] == [[lfns[0]], [lfns[1]]]
    assert state[str(pairs)]["tasks"] == [[lfns[0], lfns[1]], [lfns[2]]]  # the last group of 1 made at once
    assert state[str(one)]["files"] == dict(zip(lfns, ["Assigned"] * 2 + ["Unused"] * 2))
    assert state[str(pairs)]["files"] == dict(zip(lfns, ["Assigned"] * 3 + ["Unused"]))
    assert "input_limit reached" in run.output

    dirac.py(f"TIDS = {[one, pairs]!r}\n" + PROCESSED)  # as the tasks' jobs would
    for _ in range(3):  # set aside; complete the transformations; complete the production
        run = control.run_agent(dirac.inst, "Transformation/FailureManagementAgent", cycles=1, options=FAILURE_AGENT)
        assert run.returncode == 0, run.output[-3000:]

    state = _state(dirac, production, [one, pairs])
    assert state[str(one)]["files"] == dict(zip(lfns, ["Processed"] * 2 + ["Removed"] * 2))
    assert state[str(pairs)]["files"] == dict(zip(lfns, ["Processed"] * 3 + ["Removed"]))
    assert (state[str(one)]["status"], state[str(pairs)]["status"]) == ("Completed", "Completed")
    assert state["production"] == "Completed"
    assert len(state[str(one)]["tasks"]) == 2 and len(state[str(pairs)]["tasks"]) == 2

    rows = dirac.sql("FailureManagementDB", "SELECT TransformationID, Kind, State, NumFiles, Reason FROM FMDecisions "
                                            f"WHERE TransformationID IN ({one}, {pairs}) ORDER BY DecisionID")
    decisions = [(int(tid), kind, st, int(n)) for tid, kind, st, n, _reason in rows]
    assert sorted(decisions) == sorted([
        (one, "beyond-limit", "Applied", 2), (pairs, "beyond-limit", "Applied", 1),
        (one, "complete", "Applied", 0), (pairs, "complete", "Applied", 0),
    ])  # fmt: skip
    reasons = {int(tid): reason for tid, kind, _st, _n, reason in rows if kind == "beyond-limit"}
    assert "beyond input_limit: 2 files taken of the step's input_limit 2" in reasons[one]
    assert "beyond input_limit: 3 files taken of the step's input_limit 3" in reasons[pairs]
