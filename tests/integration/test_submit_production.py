"""dirac-ctao-submit-production against the real local DIRAC: the campaign, re-runs, failures, rights.

Each test renames the productions and the campaign metadata of the example files with a unique suffix,
so tests can re-run against a reused instance and catalog files of one test never match another's queries.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.LocalDIRAC import control

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parents[2] / "examples"
CLI = [sys.executable, "-m", "CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production"]


def _unique_copy(tmp_path: Path, example: str, unique: str) -> Path:
    text = (EXAMPLES / example).read_text()
    text = re.sub(r"(?m)^(  - name: )([\w.-]+)$", rf"\g<1>\g<2>-{unique}", text)  # production names
    text = text.replace("MCCampaign: Prod6", f"MCCampaign: Prod6-{unique}")
    text = text.replace("sites: [LCG.DESY-ZEUTHEN.de, LCG.CNAF.it]", "sites: [CTAO.Local.ch]")  # the local site
    path = tmp_path / example
    path.write_text(text)
    return path


def _cli(dirac, *args: str, user: str = "prodmgr") -> subprocess.CompletedProcess:
    env = dirac.inst.environment(user)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=600, cwd=dirac.inst.root)


STORED = """
import json
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
pc, tc = ProductionClient(), TransformationClient()
result = {}
for name in NAMES:
    prod = pc.getProduction(name)
    if not prod["OK"]:
        result[name] = None
        continue
    trans = pc.getProductionTransformations(name)["Value"]
    rows = {}
    for t in trans:
        tid = t["TransformationID"]
        info = tc.getTransformation(tid)["Value"]
        rows[info["TransformationName"]] = {
            "id": tid, "type": info["Type"], "status": info["Status"], "group_size": info["GroupSize"],
            "input": tc.getTransformationMetaQuery(tid, "Input").get("Value"),
            "output": tc.getTransformationMetaQuery(tid, "Output").get("Value"),
        }
    result[name] = {"id": prod["Value"]["ProductionID"], "status": prod["Value"]["Status"],
                    "description": json.loads(prod["Value"]["Description"]), "transformations": rows}
"""


def _stored(dirac, names: list[str]) -> dict:
    return dirac.py(f"NAMES = {names!r}\n" + STORED)


def _step_of(transformation_name: str) -> str:
    return transformation_name.split("_", 2)[2]  # %08d_Step<N>_<step>


def test_campaign_is_submitted_once_with_the_planned_queries_and_links(dirac, tmp_path, unique):
    path = _unique_copy(tmp_path, "ctapipe_campaign.yaml", unique)
    plan = load_plan(path)
    out = tmp_path / "ids.json"
    proc = _cli(dirac, str(path), "--submit", "--output-json", str(out))
    assert proc.returncode == 0, proc.stderr
    ids = json.loads(out.read_text())
    assert [p["state"] for p in ids["productions"]] == ["created"] * 5

    names = [p.name for p in plan.productions]
    stored = _stored(dirac, names)
    assert len(stored) == 5 and all(stored[n]["status"] == "Active" for n in names)
    transformations = {_step_of(t): row for n in names for t, row in stored[n]["transformations"].items()}
    assert len(transformations) == 29
    for step in plan.steps:
        row = transformations[step.name]
        assert row["type"] == step.type
        if step.input_query is None:
            assert not row["input"], step.name
        else:
            assert row["input"] == step.input_query, step.name
        assert row["output"] == step.output_query
    # parent links inside each production, as DIRAC keeps them in the production description
    for production in plan.productions:
        description = stored[production.name]["description"]
        parents_by_step = {key.split("_", 1)[1]: [p.split("_", 1)[1] for p in val["parentStep"]]
                           for key, val in description.items()}
        for step in production.steps:
            same = [p for p in step.data_parents if p in parents_by_step]
            assert sorted(parents_by_step[step.name]) == sorted(same), step.name
    assert sorted(parents_by_step) == sorted(s.name for s in plan.productions[-1].steps)
    # the classifier trains on two parents, in another production: its input query unites both
    classifier = transformations["train-classifier"]["input"]
    assert classifier["particle"] == {"in": ["gamma-diffuse", "proton"]}

    # the same file again: nothing new
    again = _cli(dirac, str(path), "--submit", "--output-json", str(out))
    assert again.returncode == 0, again.stderr
    assert [p["state"] for p in json.loads(out.read_text())["productions"]] == ["existing"] * 5
    assert _stored(dirac, names) == stored


def test_south_pointing_zero_survives_and_files_reach_exactly_the_right_transformation(dirac, tmp_path, unique):
    path = _unique_copy(tmp_path, "two_step.yaml", unique)
    plan = load_plan(path)
    out = tmp_path / "ids.json"
    proc = _cli(dirac, str(path), "--submit", "--output-json", str(out))
    assert proc.returncode == 0, proc.stderr
    (prod,) = json.loads(out.read_text())["productions"]
    process_id = next(t["transformation_id"] for t in prod["transformations"] if t["name"] == "process")
    merge_id = next(t["transformation_id"] for t in prod["transformations"] if t["name"] == "merge")
    stored = _stored(dirac, [prod["name"]])[prod["name"]]["transformations"]
    process = next(row for name, row in stored.items() if _step_of(name) == "process")
    assert process["input"]["phiP"] == {"=": 0}  # South: the zero is kept

    query = {k: next(iter(v.values())) for k, v in plan.step("process").input_query.items()}
    nsb_values = query.pop("nsb")
    base = f"/ctao/tests/submit/{unique}"
    result = dirac.py(
        f"""
        from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
        fc = FileCatalogClient()
        query = {query!r}
        def register(directory, name, meta, nsb):
            assert fc.createDirectory(directory)["OK"]
            assert fc.setMetadata(directory, meta)["OK"]
            lfn = f"{{directory}}/{{name}}"
            res = fc.addFile({{lfn: {{"PFN": "file:" + lfn, "Size": 10, "SE": "CTAO-Local-SE",
                                     "GUID": __import__("uuid").uuid4().hex, "Checksum": "00000001"}}}})
            assert res["OK"] and lfn in res["Value"]["Successful"], res
            assert fc.setMetadata(lfn, {{"nsb": nsb}})["OK"]
            return lfn
        south = register("{base}/south", "south.h5", query, {nsb_values[0]!r})
        north = register("{base}/north", "north.h5", dict(query, phiP=180), {nsb_values[0]!r})
        other_nsb = register("{base}/south19", "south19.h5", query, 19)
        result = {{"south": south, "north": north, "other_nsb": other_nsb}}
        """
    )
    run = control.run_agent(dirac.inst, "Transformation/InputDataAgent", cycles=1)
    assert run.returncode == 0, run.output[-2000:]
    files = dirac.py(
        f"""
        from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
        tc = TransformationClient()
        result = {{tid: sorted(f["LFN"] for f in tc.getTransformationFiles({{"TransformationID": tid}})["Value"])
                  for tid in ({process_id}, {merge_id})}}
        """
    )
    # only the South file with an nsb the query names; nothing for the child (its inputs are DL2)
    assert files[str(process_id)] == [result["south"]]
    assert files[str(merge_id)] == []


FAILING_SUBMIT = """
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.LocalDIRAC import control
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter, SubmissionError
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient

class Crash(RuntimeError):
    pass

class FailingClient(ProductionClient):
    starts = 0
    def startProduction(self, name):
        FailingClient.starts += 1
        if FailingClient.starts == FAIL_AT:
            if KILL:
                raise Crash("the process was killed here")
            return {"OK": False, "Message": "injected failure before startProduction"}
        return super().startProduction(name)

plan = load_plan(PATH)
submitter = ProductionSubmitter("/ctao/tests/rollback", production_client_factory=FailingClient)
if KILL:  # a crash that leaves no chance to roll back: what a kill -9 would leave behind
    submitter._roll_back = lambda created: []
try:
    submitter.submit(plan)
    result = "submitted"
except (SubmissionError, Crash) as exc:
    result = str(exc)
"""


def test_a_failure_between_two_calls_leaves_nothing_and_a_crash_is_recovered(dirac, tmp_path, unique):
    path = _unique_copy(tmp_path, "ctapipe_campaign.yaml", unique)
    names = [p.name for p in load_plan(path).productions]
    message = dirac.py(f"PATH = {str(path)!r}\nFAIL_AT = 3\nKILL = False\n" + FAILING_SUBMIT)
    assert "injected failure" in message
    assert _stored(dirac, names) == {n: None for n in names}  # the two started productions were removed too
    for name in names:  # no transformation of any of them is left in the TS
        leftovers = dirac.sql("TransformationDB", "SELECT COUNT(*) FROM Transformations WHERE LongDescription "
                              f"LIKE '%of production ''{name}''%'")
        assert leftovers == [["0"]], name

    # a crash after creating the third production but before starting it, with no roll back at all
    message = dirac.py(f"PATH = {str(path)!r}\nFAIL_AT = 3\nKILL = True\n" + FAILING_SUBMIT)
    assert "killed" in message
    half = _stored(dirac, names)
    assert [half[n]["status"] if half[n] else None for n in names] == ["Active", "Active", "New", None, None]
    # re-running completes: the two started ones are kept, the unstarted one is made again
    out = tmp_path / "ids.json"
    proc = _cli(dirac, str(path), "--submit", "--output-json", str(out))
    assert proc.returncode == 0, proc.stderr
    states = [p["state"] for p in json.loads(out.read_text())["productions"]]
    assert states == ["existing", "existing", "created", "created", "created"]
    assert all(p["status"] == "Active" for p in _stored(dirac, names).values())


KILLED_AFTER_START = """
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.Core.Production.submission import output_directories
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient

class Crash(RuntimeError):
    pass

class KilledClient(ProductionClient):
    def startProduction(self, name):
        res = super().startProduction(name)
        raise Crash("killed right after the production was started")

plan = load_plan(PATH)
first = ProductionSubmitter(BASE, production_client_factory=KilledClient)
first._roll_back = lambda created: []  # a kill -9 rolls nothing back
try:
    first.submit(plan)
    raise AssertionError("the first run was not killed")
except Crash:
    pass
fc = FileCatalogClient()
def directories():
    found = {}
    for d in output_directories(plan, BASE):
        res = fc.getDirectoryUserMetadata(d.path)
        found[d.path] = [d.metadata, res["Value"] if res["OK"] else None]
    return found
before = directories()
(again,) = ProductionSubmitter(BASE).submit(plan)  # the re-run
result = {"before": before, "after": directories(), "state": again.state}
"""


def test_a_submission_killed_after_starting_a_production_is_completed_by_the_re_run(dirac, tmp_path, unique):
    """Killed between starting a production and creating its output directories, then run again: the re-run
    finds the production existing, and still creates the directories with their metadata (outputs inherit it,
    and the children's queries look for it)."""
    path = _unique_copy(tmp_path, "two_step.yaml", unique)
    found = dirac.py(f"PATH = {str(path)!r}\nBASE = '/ctao/tests/killed/{unique}'\n" + KILLED_AFTER_START)
    assert found["state"] == "existing"
    assert all(stored is None for _, stored in found["before"].values()), found["before"]
    for directory, (planned, stored) in found["after"].items():
        assert planned and stored is not None, directory
        assert {k: stored.get(k) for k in planned} == planned, (directory, stored)


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
        output: {{MCCampaign: Sim-{unique}, site: LaPalma, particle: gamma}}
"""

# the real command, with DIRAC's extendTransformation failing (e.g. the TS lost its database for the call)
EXTENSION_FAILS = (
    "from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient as T\n"
    "T.extendTransformation = lambda self, *a, **k: {'OK': False, 'Message': 'injected: extendTransformation'}\n"
    "import runpy\n"
    "runpy.run_module('CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production', run_name='__main__')\n"
)


def test_a_failed_simulation_extension_says_what_was_left_and_a_re_run_completes_it(dirac, tmp_path, unique):
    """Extending a simulation transformation to its jobs runs after everything else, outside the roll-back:
    when it fails, the productions stay, and the command says so (it said that nothing was left). The failure is
    injected into the command's own process: the client-side path (the server's answer carries ``left`` the same
    way: tests/unit/production/test_server_submission.py)."""
    path = tmp_path / "simulation.yaml"
    path.write_text(SIMULATION.format(unique=unique))
    env = dirac.inst.environment("prodmgr")
    failed = subprocess.run([sys.executable, "-c", EXTENSION_FAILS, str(path), "--submit", "--client-side"], env=env,
                            capture_output=True, text=True, timeout=600, cwd=dirac.inst.root)
    stderr = " ".join(failed.stderr.split())  # rich folds long lines
    assert failed.returncode == 1, failed.stderr
    assert "injected: extendTransformation" in stderr, failed.stderr
    assert f"Left in DIRAC: production(s) simulation-{unique}" in stderr, failed.stderr
    assert "Nothing of this run was left" not in stderr, failed.stderr
    name = f"simulation-{unique}"
    assert _stored(dirac, [name])[name]["status"] == "Active"
    out = tmp_path / "ids.json"
    again = _cli(dirac, str(path), "--submit", "--output-json", str(out))
    assert again.returncode == 0, again.stderr
    (prod,) = json.loads(out.read_text())["productions"]
    assert prod["state"] == "existing"
    tid = prod["transformations"][0]["transformation_id"]
    tasks = dirac.sql("TransformationDB", f"SELECT COUNT(*) FROM TransformationTasks WHERE TransformationID = {tid}")
    assert tasks == [["2"]]


def test_bad_input_sends_nothing_and_the_ordinary_user_is_refused(dirac, tmp_path, unique):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "two_step.yaml").read_text().replace("kind: ctapipe-merge", "kind: ctapipe-mrege"))
    proc = _cli(dirac, str(bad), "--submit")
    assert proc.returncode == 2
    assert "bad.yaml:" in proc.stderr and "Traceback" not in proc.stderr

    path = _unique_copy(tmp_path, "two_step.yaml", unique)
    (name,) = [p.name for p in load_plan(path).productions]
    # a site the CS does not define: refused by DIRAC's Job API before anything is created
    unknown = tmp_path / "unknown_site.yaml"
    unknown.write_text(path.read_text().replace("sites: [CTAO.Local.ch]", "sites: [LCG.Nowhere.xx]"))
    proc = _cli(dirac, str(unknown), "--submit")
    assert proc.returncode == 1 and "LCG.Nowhere.xx" in proc.stderr and "step process" in proc.stderr, proc.stderr
    assert _stored(dirac, [name]) == {name: None}
    refused = _cli(dirac, str(path), "--submit", user="user")
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    said = " ".join(refused.stderr.split())  # rich folds long lines
    assert "Unauthorized" in said and "Nothing of this run was left" in said, refused.stderr
    assert _stored(dirac, [name]) == {name: None}
    # the ordinary user calling the method directly, with a valid request: refused by the service's rules
    direct = dirac.py(
        f"""
        from DIRAC.Core.Base.Client import Client
        from CTAODIRAC.Core.Production.loader import load_plan
        from CTAODIRAC.Core.Production.submission import submission_request
        result = Client(url="Production/ProductionManager").submitProductions(
            submission_request(load_plan({str(path)!r}), "/ctao/tests/refused"))
        """,
        user="user",
    )
    assert not direct["OK"] and "Unauthorized" in direct["Message"], direct
    assert _stored(dirac, [name]) == {name: None}


def test_mode_wms_submits_one_test_job_per_first_level_step(dirac, tmp_path, unique):
    path = _unique_copy(tmp_path, "two_step.yaml", unique)
    plan = load_plan(path)
    query = {k: next(iter(v.values())) for k, v in plan.step("process").input_query.items()}
    nsb = query.pop("nsb")[0]
    lfn = f"/ctao/tests/mode/{unique}/in.h5"
    dirac.py(
        f"""
        import os, tempfile
        from DIRAC.DataManagementSystem.Client.DataManager import DataManager
        from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
        fc = FileCatalogClient()
        d = os.path.dirname({lfn!r})
        assert fc.createDirectory(d)["OK"] and fc.setMetadata(d, {query!r})["OK"]
        local = os.path.join(tempfile.mkdtemp(), "in.h5")
        open(local, "w").write("toy")
        assert DataManager().putAndRegister({lfn!r}, local, "CTAO-Local-SE")["OK"]
        assert fc.setMetadata({lfn!r}, {{"nsb": {nsb!r}}})["OK"]
        result = True
        """
    )
    proc = _cli(dirac, str(path), "--mode", "wms")
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"process: job (\d+) \(wms\)", proc.stderr)
    assert match, proc.stderr
    assert "merge: skipped (its inputs are produced by process)" in proc.stderr
    job = dirac.py(
        f"""
        from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
        res = JobMonitoringClient().getJobJDL({match.group(1)}, False)
        assert res["OK"], res
        result = res["Value"]
        """
    )
    assert f"LFN:{lfn}" in job and "JobType = \"DataReprocessing\"" in job and "Site = \"CTAO.Local.ch\"" in job


def test_a_cwl_workflow_becomes_the_same_linked_transformations_as_its_yaml_twin(dirac, tmp_path, unique):
    """examples/cwl/two_step.cwl (a CWL Workflow with dirac: hints) submitted by the same command: one
    transformation per step, linked by the same queries as examples/two_step.yaml."""
    import shutil

    cwl_dir = tmp_path / "cwl"
    shutil.copytree(EXAMPLES / "cwl", cwl_dir)
    workflow = cwl_dir / "two_step.cwl"
    text = workflow.read_text().replace("production: south-protons-test", f"production: south-protons-test-{unique}")
    text = text.replace("MCCampaign: Prod6", f"MCCampaign: Prod6-{unique}")
    workflow.write_text(text.replace("sites: [LCG.DESY-ZEUTHEN.de, LCG.CNAF.it]", "sites: [CTAO.Local.ch]"))
    twin = load_plan(_unique_copy(tmp_path, "two_step.yaml", unique))
    out = tmp_path / "ids.json"
    proc = _cli(dirac, str(workflow), "--submit", "--output-json", str(out))
    assert proc.returncode == 0, proc.stderr
    (prod,) = json.loads(out.read_text())["productions"]
    assert prod["state"] == "created" and prod["name"] == f"south-protons-test-{unique}"
    stored = _stored(dirac, [prod["name"]])[prod["name"]]
    rows = {_step_of(name): row for name, row in stored["transformations"].items()}
    assert sorted(rows) == sorted(step.name for step in twin.steps) == ["merge", "process"]
    for step in twin.steps:
        assert rows[step.name]["type"] == step.type
        assert rows[step.name]["input"] == step.input_query, step.name
        assert rows[step.name]["output"] == step.output_query, step.name
    parents = {key.split("_", 1)[1]: [p.split("_", 1)[1] for p in val["parentStep"]]
               for key, val in stored["description"].items()}  # fmt: skip
    assert parents == {"process": [], "merge": ["process"]}
    # submitted again: recognised, nothing new
    again = _cli(dirac, str(workflow), "--submit", "--output-json", str(out))
    assert again.returncode == 0, again.stderr
    assert [p["state"] for p in json.loads(out.read_text())["productions"]] == ["existing"]


COUNTED = """
from DIRAC.Core.DISET.private.InnerRPCClient import InnerRPCClient
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.ProductionSystem.Client.ServerSubmission import ServerSubmitter

calls = []
original = InnerRPCClient.executeRPC
def counting(self, name, args):
    if "Configuration/" not in self.getDestinationService():  # not the CS refreshes of DIRAC's own thread
        calls.append(name)
    return original(self, name, args)
InnerRPCClient.executeRPC = counting
done = ServerSubmitter(BASE).submit(load_plan(PATH))
result = {"calls": calls, "productions": [p.as_dict() for p in done]}
"""


def test_the_server_makes_the_campaign_in_one_call_owned_by_the_production_manager(dirac, tmp_path, unique):
    """One client RPC for the 29 transformations; their author is the production manager (user and group), not the
    ProductionManager's host; the same plan again is one more call and creates nothing."""
    path = _unique_copy(tmp_path, "ctapipe_campaign.yaml", unique)
    plan = load_plan(path)
    snippet = f"PATH = {str(path)!r}\nBASE = '/ctao/tests/onecall/{unique}'\n" + COUNTED
    first = dirac.py(snippet)
    assert first["calls"] == ["submitProductions"], first["calls"]
    assert [p["state"] for p in first["productions"]] == ["created"] * 5
    ids = [t["transformation_id"] for p in first["productions"] for t in p["transformations"]]
    assert len(ids) == 29
    owners = dirac.sql("TransformationDB", "SELECT DISTINCT Author, AuthorGroup FROM Transformations WHERE "
                       f"TransformationID IN ({', '.join(map(str, ids))})")  # fmt: skip
    assert owners == [["prodmgr", "ctao_prodmgr"]]
    authors = dirac.sql("ProductionDB", "SELECT DISTINCT Author, AuthorGroup FROM Productions WHERE ProductionName "
                        f"IN ({', '.join(repr(p.name) for p in plan.productions)})")  # fmt: skip
    assert authors == [["prodmgr", "ctao_prodmgr"]]
    # the output directories are there with their metadata, made as the production manager too
    directory = f"/ctao/tests/onecall/{unique}/{plan.productions[0].name}/{plan.productions[0].steps[0].name}"
    meta = dirac.py(f"""
        from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
        result = FileCatalogClient().getDirectoryUserMetadata({directory!r})
        """)  # fmt: skip
    assert meta["OK"] and meta["Value"], meta
    again = dirac.py(snippet)
    assert again["calls"] == ["submitProductions"]
    assert [p["state"] for p in again["productions"]] == ["existing"] * 5
    assert [t["transformation_id"] for p in again["productions"] for t in p["transformations"]] == ids


def test_a_client_killed_while_the_server_submits_leaves_nothing_half_made(dirac, tmp_path, unique):
    """The client is killed (SIGKILL) once the server has started creating the campaign: the server finishes it
    alone; the same command again waits for it if needed, then finds every production complete (never twice)."""
    import signal
    import time

    path = _unique_copy(tmp_path, "ctapipe_campaign.yaml", unique)
    plan = load_plan(path)
    names = [p.name for p in plan.productions]
    env = dirac.inst.environment("prodmgr")
    client = subprocess.Popen([*CLI, str(path), "--submit"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd=dirac.inst.root)  # fmt: skip
    started = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and client.poll() is None:
        rows = dirac.sql("ProductionDB", f"SELECT COUNT(*) FROM Productions WHERE ProductionName = {names[0]!r}")
        if rows != [["0"]]:
            started = time.monotonic()
            break
        time.sleep(0.2)
    assert started is not None and client.poll() is None, "the server never started or the client ended first"
    client.send_signal(signal.SIGKILL)
    client.wait()
    made = dirac.sql("ProductionDB", f"SELECT COUNT(*) FROM Productions WHERE ProductionName = {names[-1]!r}")
    assert made == [["0"]], "the kill came too late to prove anything: the last production already existed"

    out = tmp_path / "ids.json"
    proc = _cli(dirac, str(path), "--submit", "--output-json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert [p["state"] for p in json.loads(out.read_text())["productions"]] == ["existing"] * 5
    stored = _stored(dirac, names)
    assert all(stored[n]["status"] == "Active" for n in names)
    assert sum(len(stored[n]["transformations"]) for n in names) == 29
    for name in names:  # exactly one production of each name, and its transformations only once
        assert dirac.sql("ProductionDB", f"SELECT COUNT(*) FROM Productions WHERE ProductionName = {name!r}") == [["1"]]
        count = dirac.sql("TransformationDB", "SELECT COUNT(*) FROM Transformations WHERE LongDescription "
                          f"LIKE '%of production ''{name}''%'")  # fmt: skip
        assert count == [[str(len(stored[name]["transformations"]))]], name
