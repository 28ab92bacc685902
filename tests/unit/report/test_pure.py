"""The report's pure parts: timing, tables, timeline and graph layouts, DL2 metrics, the data's JSON."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from CTAODIRAC.Core.Report import dl2, graph, tables, timeline
from CTAODIRAC.Core.Report.data import CampaignData, Transformation
from CTAODIRAC.Core.Report.timing import job_phases, job_times

from ._data import T0, campaign

RECORDS = [
    ("Received", "Job accepted", "Unknown", "2026-11-29 10:00:40", "JobManager"),
    ("Matched", "Assigned", "idem", "2026-11-29 10:00:50", "Matcher"),
    ("Running", "Job Initialization", "idem", "2026-11-29 10:00:55", "JobWrapper"),
    ("idem", "idem", "Running ctapipe-process", "2026-11-29 10:01:00", "dirac-ctao-run-step"),
    ("idem", "Uploading Output Data", "idem", "2026-11-29 10:01:30", "dirac-ctao-run-step"),
    ("idem", "idem", "ctapipe-process successful", "2026-11-29 10:01:33", "dirac-ctao-run-step"),
    ("Done", "Execution Complete", "idem", "2026-11-29 10:01:36", "JobWrapper"),
]


# --- timing ---------------------------------------------------------------------------------------------------
def test_job_phases_name_each_moment_of_a_job():
    created = datetime(2026, 11, 29, 10, 0, 0)
    p = job_phases(created, RECORDS)
    assert (p.received.second, p.matched.second, p.finished.second) == (40, 50, 36)
    assert (p.payload_start.minute, p.payload_start.second) == (1, 0)
    assert (p.payload_end.second, p.upload_end.second) == (30, 33)
    assert job_times(created, RECORDS) == {"to_job": 40.0, "queued": 10.0, "payload": 30.0, "upload": 3.0,
                                           "wrapper": 13.0}  # fmt: skip


def test_job_phases_of_a_job_without_records():
    p = job_phases(None, [])
    assert p.received is None and p.payload_start is None and p.finished is None


# --- tables ---------------------------------------------------------------------------------------------------
def test_transformation_rows_count_files_failures_and_give_ups_in_production_order():
    rows = tables.transformation_rows(campaign())
    assert [r.id for r in rows] == [1, 2, 3, 4]
    first, _, apply, _ = rows
    assert (first.name, first.files, first.processed, first.other) == ("process-gamma", 4, 3, "1 Unused")
    assert (apply.failed, apply.given_up, apply.other) == (0, 1, "1 MaxReset")
    assert rows[1].failed == 1


def test_production_rows_add_up_their_transformations():
    rows = tables.production_rows(campaign())
    assert [(r.production, r.status, r.files, r.processed, r.failed, r.given_up) for r in rows] == [
        ("process-x", "Active", 5, 4, 1, 0), ("apply-x", "Completed", 4, 3, 0, 1)]


def test_time_rows_split_the_jobs_time_with_shares_that_add_up():
    data = campaign()
    rows = tables.time_rows(data.jobs)
    by = {r.part: r for r in rows}
    # 6 jobs with a hold of 30 s, the never-matched one too (7)
    assert by["to_job"].sum_s == 7 * 30 and by["to_job"].median_s == 30.0
    assert by["payload"].sum_s == 20 * 4 + 40 + 5
    assert by["upload"].sum_s == 6 * 2 and by["wrapper"].sum_s == 6 * 5
    assert sum(r.share for r in rows) == pytest.approx(1.0)
    ratios = tables.ratios(data.jobs, data.wall_seconds, data.pilots)
    assert ratios["payload / (pilots x wall time)"] == pytest.approx(125 / 600)
    assert ratios["task hold / payload"] == pytest.approx(210 / 125)


# --- timeline ---------------------------------------------------------------------------------------------------
def _overlap(segments):
    ordered = sorted(segments, key=lambda s: s.start)
    return any(b.start < a.end for a, b in zip(ordered, ordered[1:]))


def test_timeline_has_one_row_per_pilot_and_the_unknown_last():
    lay = timeline.layout(campaign().jobs)
    assert [r.pilot for r in lay.rows] == ["pilot1", "pilot2", timeline.UNKNOWN_PILOT]
    assert [r.jobs for r in lay.rows] == [3, 2, 2]
    assert lay.start == T0 and lay.end == pytest.approx(180)  # the never-matched job, held from 150 to 180


def test_timeline_lanes_never_overlap_and_a_jobs_waits_stay_together():
    lay = timeline.layout(campaign().jobs)
    pilot1 = lay.rows[0]
    assert not _overlap(pilot1.running)
    assert {s.kind for s in pilot1.running} == {"wrapper", "payload", "upload"}
    # jobs 10 and 12 wait at the same time: two lanes
    assert len(pilot1.waiting) == 2
    for lane in pilot1.waiting:
        assert not _overlap(lane)
    lane_of = {s.job: i for i, lane in enumerate(pilot1.waiting) for s in lane}
    assert all(lane_of[s.job] == i for i, lane in enumerate(pilot1.waiting) for s in lane)


def test_a_job_is_cut_into_segments_in_order():
    job = campaign().jobs[0]
    kinds = [s.kind for s in timeline.segments(job, T0)]
    assert kinds == ["hold", "queue", "wrapper", "payload", "upload", "wrapper"]
    failed = timeline.segments(campaign().jobs[3], T0)
    assert all(s.failed for s in failed)
    never = timeline.segments(campaign().jobs[-1], T0)
    assert [s.kind for s in never] == ["hold"]


# --- graph ------------------------------------------------------------------------------------------------------
def test_graph_layers_put_each_transformation_after_what_it_needs():
    lay = graph.layout(campaign())
    layer = {n.id: n.layer for n in lay.nodes}
    assert layer == {1: 0, 2: 1, 3: 2, 4: 3}  # apply waits for the model of 2
    assert {(e.parent, e.child, e.kind) for e in lay.edges} == {(1, 2, "data"), (1, 3, "data"), (2, 3, "model"),
                                                                 (3, 4, "data")}  # fmt: skip
    assert lay.width == 4 and lay.height == 1
    assert [n.name for n in lay.nodes][0] == "process-gamma"


def test_graph_layers_survive_a_cycle_and_unknown_parents():
    ts = [Transformation(1, "a", "p", "Active", parents=[2, 99]), Transformation(2, "b", "p", "Active", parents=[1])]
    assert sorted(graph.layers(ts).values()) == [0, 1]


def test_short_name_drops_the_production_systems_prefix():
    assert graph.short_name("00000012_Step3_merge2-gamma") == "merge2-gamma"
    assert graph.short_name("my_transformation") == "my_transformation"


# --- DL2 metrics ------------------------------------------------------------------------------------------------
def test_energy_metrics_find_a_known_bias_and_resolution():
    rng = np.random.default_rng(1)
    true = 10 ** rng.uniform(-1, 2, 20000)
    reco = true * (1 + rng.normal(0.1, 0.2, true.size))
    m = dl2.energy_metrics(true, reco, bins=5)
    assert len(m["edges"]) == 6 and sum(m["counts"]) == m["events"]
    assert all(b == pytest.approx(0.1, abs=0.02) for b in m["bias"])
    assert all(r == pytest.approx(0.2, abs=0.02) for r in m["resolution"])


def test_energy_metrics_leave_thin_bins_empty():
    m = dl2.energy_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], bins=2)
    assert m["bias"] == [None, None] and m["events"] == 3
    assert dl2.energy_metrics([], [])["events"] == 0


def test_roc_curve_of_a_perfect_and_of_a_useless_classifier():
    perfect = dl2.roc_curve([0.9, 0.8, 0.95], [0.1, 0.2])
    assert perfect["auc"] == pytest.approx(1.0)
    assert perfect["signal_efficiency"][0] == 0 and perfect["signal_efficiency"][-1] == 1
    rng = np.random.default_rng(2)
    useless = dl2.roc_curve(rng.uniform(size=3000), rng.uniform(size=3000))
    assert useless["auc"] == pytest.approx(0.5, abs=0.03)
    assert dl2.roc_curve([], [0.1])["auc"] is None


def test_pick_columns_and_metrics_pool_files_by_particle():
    assert dl2.pick_columns(["true_energy", "ExtraTreesRegressor_energy", "ExtraTreesRegressor_energy_uncert",
                             "ExtraTreesClassifier_prediction"]) == ("ExtraTreesRegressor_energy",
                                                                     "ExtraTreesClassifier_prediction")  # fmt: skip
    gammas = {"name": "g.h5", "columns": {"true_energy": [1.0] * 20, "true_shower_primary_id": [0] * 20,
                                          "R_energy": [1.1] * 20, "C_prediction": [0.9] * 20}}
    protons = {"name": "p.h5", "columns": {"true_energy": [1.0] * 5, "true_shower_primary_id": [101] * 5,
                                           "R_energy": [3.0] * 5, "C_prediction": [0.2] * 5}}
    m = dl2.metrics([gammas, protons], bins=1)
    assert m["energy"]["events"] == 20 and m["energy"]["bias"][0] == pytest.approx(0.1)
    assert m["roc"]["signal"] == 20 and m["roc"]["background"] == 5 and m["roc"]["auc"] == pytest.approx(1.0)
    assert [f["particles"] for f in m["files"]] == [{"0": 20}, {"101": 5}]
    json.dumps(m)  # plain JSON


def test_ctapipe_python_says_what_to_do_without_ctapipe(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(dl2.DL2ReadError, match="--ctapipe-python"):
        dl2.ctapipe_python()
    assert dl2.ctapipe_python("/some/python") == "/some/python"


# --- data ---------------------------------------------------------------------------------------------------------
def test_campaign_data_round_trips_through_json(tmp_path):
    data = campaign()
    data.save(tmp_path / "d.json")
    assert CampaignData.load(tmp_path / "d.json") == data
