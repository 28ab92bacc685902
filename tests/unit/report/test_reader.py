"""The DIRAC edge of the report, on stand-in clients: what it makes of DIRAC's answers (links, jobs, pilots,
decisions, DL2 leaves). Its run against a real DIRAC: tests/integration/test_campaign_report.py."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

pytest.importorskip("DIRAC")

from CTAODIRAC.Core.JobSide import StepConfig, encode_config  # noqa: E402
from CTAODIRAC.ProductionSystem.Client import CampaignReader as reader_mod  # noqa: E402
from CTAODIRAC.ProductionSystem.Client.CampaignReader import CampaignReader, CampaignReadError  # noqa: E402


def ok(value: Any) -> dict[str, Any]:
    return {"OK": True, "Value": value}


def body(step: str, kind: str, output: dict, models: dict | None = None) -> str:
    config = StepConfig(step=step, kind=kind, program=kind, output_dir=f"/out/{step}", output_se="SE",
                        output_metadata=output, models=models or {})  # fmt: skip
    return f"<Workflow>dirac-ctao-run-step {encode_config(config)}</Workflow>"


Q = {  # tid: (input query, output query)
    1: ({"data_level": {"=": 0}}, {"data_level": {"=": 1}, "step": {"=": "merge"}}),
    2: ({"data_level": {"=": 1}, "step": {"=": "merge"}}, {"data_level": {"=": 9}, "step": {"=": "train"}}),
    3: ({"data_level": {"=": 1}, "step": {"=": "merge"}}, {"data_level": {"=": 2}, "step": {"=": "apply"}}),
}
BODIES = {1: body("merge", "ctapipe-merge", Q[1][1]), 2: body("train", "ctapipe-train-energy", Q[2][1]),
          3: body("apply", "ctapipe-apply-models", Q[3][1], models={"train": {"step": {"=": "train"}}})}
RECORDS = [("Received", "", "", "2026-12-04 10:00:30", "JobManager"), ("Matched", "", "", "2026-12-04 10:00:40", "M"),
           ("Done", "", "", "2026-12-04 10:01:00", "JobWrapper")]  # fmt: skip


class Productions:
    def getProduction(self, key):
        return ok({"ProductionName": "p", "Status": "Active", "ProductionID": 7}) if key in ("p", 7) else \
            {"OK": False, "Message": "Production does not exist"}

    def getProductionTransformations(self, key):
        return ok([{"TransformationID": t} for t in (3, 1, 2)])


class Transformations:
    def getTransformations(self, cond):
        return ok([{"TransformationID": t, "TransformationName": f"0000000{t}_Step{t}_s{t}", "Status": "Active",
                    "Type": "DataReprocessing", "Body": BODIES[t]} for t in cond["TransformationID"]])

    def getTransformationMetaQuery(self, tid, kind):
        return ok(Q[tid][0 if kind == "Input" else 1])

    def getCounters(self, table, attrs, cond):
        return ok([({"TransformationID": 1, "Status": "Processed"}, 2), ({"TransformationID": 3, "Status": "Unused"}, 1)])

    def getTransformationTasks(self, cond):
        return ok([{"TransformationID": 1, "TaskID": 1, "ExternalID": "11", "ExternalStatus": "Submitted",
                    "CreationTime": datetime(2026, 12, 4, 10, 0, 0)},
                   {"TransformationID": 3, "TaskID": 1, "ExternalID": "12", "ExternalStatus": "Submitted",
                    "CreationTime": datetime(2026, 12, 4, 10, 0, 0)},
                   {"TransformationID": 3, "TaskID": 2, "ExternalID": "0", "ExternalStatus": "Created",
                    "CreationTime": datetime(2026, 12, 4, 10, 0, 0)}])  # fmt: skip


class Monitoring:
    def getJobLoggingInfo(self, job):
        return ok(RECORDS)

    def getJobParameters(self, jobs, names):
        return ok({11: {"Pilot_Reference": "https://ce/pilot/abc"}, 12: {"Pilot_Reference": "Unknown"}})

    def getJobsSites(self, jobs):
        return ok({j: {"Site": "CTAO.Local.ch"} for j in jobs})

    def getJobsStatus(self, jobs):
        return ok({11: {"Status": "Done"}, 12: {"Status": "Failed"}})


class Decisions:
    def getDecisions(self, filters, limit):
        return ok([{"Kind": "give-up", "State": "Applied", "TransformationID": 3, "JobID": 12, "Class": "input-data",
                    "FileChanges": json.dumps({"LFNs": ["/a", "/b"]}), "CreationTime": "2026-12-04 10:02:00"},
                   {"Kind": "retry", "State": "Applied", "TransformationID": 3, "JobID": 12, "Class": "application",
                    "FileChanges": "{}", "CreationTime": "2026-12-04 10:01:30"}])  # fmt: skip


@pytest.fixture
def reader(monkeypatch):
    import CTAODIRAC.TransformationSystem.Client.FailureManagementClient as fmc

    monkeypatch.setattr(fmc, "FailureManagementClient", Decisions)
    monkeypatch.setattr(CampaignReader, "_outputs", staticmethod(lambda config: [f"{config.output_dir}/1/out"]))
    r = object.__new__(CampaignReader)
    r.productions, r.transformations, r.monitoring = Productions(), Transformations(), Monitoring()
    r.say, r.pilots, r.read_outputs = (lambda msg: None), {}, True
    return r


def test_the_reader_links_counts_and_times_what_dirac_holds(reader):
    data = reader.read(["p"])
    assert [p.transformations for p in data.productions] == [[1, 2, 3]] and data.title == "p"
    by = {t.id: t for t in data.transformations}
    assert by[2].parents == [1] and by[3].parents == [1] and by[3].model_parents == [2]
    assert by[1].files == {"Processed": 2} and by[3].files == {"Unused": 1}
    assert by[3].failed_jobs == 1 and by[3].given_up == 2 and by[1].failed_jobs == 0
    assert (by[1].kind, by[2].kind) == ("ctapipe-merge", "ctapipe-train-energy")
    jobs = {j.job: j for j in data.jobs}
    assert sorted(jobs) == [11, 12]  # the task without a job is no job
    assert jobs[11].pilot == "https://ce/pilot/abc" and jobs[12].pilot == ""  # "Unknown" names no pilot
    assert jobs[12].status == "Failed" and jobs[11].received - jobs[11].created == 30
    assert [e.kind for e in data.events] == ["retry", "give-up"]  # in time order
    assert data.models == ["/out/train/1/out"] and data.dl2 == ["/out/apply/1/out"]


def test_the_pilots_known_otherwise_win(reader):
    reader.pilots = {12: "pilot2"}
    assert {j.job: j.pilot for j in reader.read(["p"]).jobs}[12] == "pilot2"


def test_an_unknown_production_says_which(reader):
    with pytest.raises(CampaignReadError, match="production nope"):
        reader.read(["nope"])
    assert reader_mod.PARALLEL_RPCS >= 1
