"""The campaign driver's pure parts: the reduced campaign, progress counts, and where a job's time went."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.Core.Report.timing import job_times, time_split
from CTAODIRAC.LocalDIRAC.campaign import (
    file_states,
    reduced_campaign,
    total_states,
    transformation_done,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "ctapipe_campaign.yaml"

# DIRAC's logging records of one job: (status, minor status, application status, time, source)
RECORDS = [
    ("Received", "Job accepted", "Unknown", "2026-11-29 10:00:40", "JobManager"),
    ("Checking", "JobSanity", "idem", "2026-11-29 10:00:41", "JobPath"),
    ("Waiting", "Pilot Agent Submission", "idem", "2026-11-29 10:00:43", "JobScheduling"),
    ("Matched", "Assigned", "idem", "2026-11-29 10:00:50", "Matcher"),
    ("Running", "Job Initialization", "idem", "2026-11-29 10:00:55", "JobWrapper"),
    ("idem", "idem", "Running ctapipe-process", "2026-11-29 10:01:00", "dirac-ctao-run-step"),
    ("idem", "Uploading Output Data", "idem", "2026-11-29 10:01:30", "dirac-ctao-run-step"),
    ("idem", "idem", "ctapipe-process successful (1 outputs, inputs Processed)", "2026-11-29 10:01:33",
     "dirac-ctao-run-step"),
    ("Completing", "Application Finished Successfully", "idem", "2026-11-29 10:01:34", "JobWrapper"),
    ("Done", "Execution Complete", "idem", "2026-11-29 10:01:36", "JobWrapper"),
]


def test_reduced_campaign_keeps_the_steps_and_makes_groups_small():
    text = reduced_campaign(EXAMPLE.read_text(), "Toyabc123")
    plan = load_plan(text=text, filename="examples/ctapipe_campaign.yaml")
    full = load_plan(EXAMPLE)
    assert len(plan.steps) == len(full.steps) == 29
    assert [p.name for p in plan.productions] == [f"{p.name}-toyabc123" for p in full.productions]
    assert "MCCampaign: Toyabc123" in text and "Prod6" not in text
    sizes = {step.name: step.group_size for step in plan.steps}
    assert sizes["train-classifier"] == 2
    assert {size for name, size in sizes.items() if name != "train-classifier"} == {1}


def test_job_times_split_a_job_into_hold_queue_payload_and_overhead():
    times = job_times(datetime(2026, 11, 29, 10, 0, 0), RECORDS)
    assert times == {"to_job": 40.0, "queued": 10.0, "payload": 30.0, "upload": 3.0, "wrapper": 13.0}


def test_job_times_of_a_job_that_never_ran_its_payload():
    failed = [*RECORDS[:5], ("Failed", "Maximum of reschedulings reached", "idem", "2026-11-29 10:01:00", "JobDB")]
    times = job_times(datetime(2026, 11, 29, 10, 0, 0), failed)
    assert times["payload"] is None and times["upload"] is None and times["wrapper"] == 10.0


def test_time_split_sums_and_medians():
    created = datetime(2026, 11, 29, 10, 0, 0)
    split = time_split([(created, RECORDS), (created, RECORDS[:4])])
    assert split["jobs"] == 2
    assert split["to_job"] == {"sum_s": 80, "median_s": 40.0}
    assert split["payload"] == {"sum_s": 30, "median_s": 30.0}


def test_progress_counts():
    files = [
        {"TransformationID": 1, "Status": "Processed"},
        {"TransformationID": 1, "Status": "Processed"},
        {"TransformationID": 2, "Status": "Assigned"},
        {"TransformationID": 2, "Status": "Processed"},
    ]
    states = file_states(files)
    assert states == {1: {"Processed": 2}, 2: {"Assigned": 1, "Processed": 1}}
    assert transformation_done(states[1]) and not transformation_done(states[2]) and not transformation_done({})
    assert total_states(states) == {"Processed": 3, "Assigned": 1}


def test_pilots_are_read_from_their_logs(tmp_path):
    from CTAODIRAC.LocalDIRAC.campaign import PILOT_LOG, pilots_from_logs

    (tmp_path / f"{PILOT_LOG}pilot1.log").write_text("... Received JobID=4\n... Received JobID=6, ...\n")
    (tmp_path / f"{PILOT_LOG}pilot2.log").write_text("Received JobID=5\n")
    (tmp_path / f"{PILOT_LOG}software-missing_1234_7.log").write_text("Received JobID=9\n")
    (tmp_path / "agent_Transformation_InputDataAgent.log").write_text("Received JobID=99\n")
    assert pilots_from_logs(tmp_path) == {4: "pilot1", 6: "pilot1", 5: "pilot2", 9: "software-missing"}


def test_fault_events_are_the_applied_faults():
    from CTAODIRAC.LocalDIRAC.campaign import fault_events

    log = "\n".join([
        '{"time": 100.5, "what": "plan", "faults": []}',
        '{"time": 120.0, "what": "applied", "kind": "kill-agent", "target": "Transformation/InputDataAgent"}',
        '{"time": 130.0, "what": "skipped", "kind": "kill-pilot"}',
        '{"time": 140.0, "what": "applied", "kind": "replica-lost", "lfns": ["/a"]}',
        "not json",
    ])  # fmt: skip
    events = fault_events(log)
    assert [(e.time, e.lane, e.kind) for e in events] == [(120.0, "fault", "kill-agent"),
                                                          (140.0, "fault", "replica-lost")]  # fmt: skip
    assert events[0].detail == "Transformation/InputDataAgent"
