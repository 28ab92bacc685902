"""The chaos campaign's pure parts: the seeded fault plan, the end-state checks and the confusion table."""

from __future__ import annotations

import json

from CTAODIRAC.LocalDIRAC.chaos import (
    JOB_FAULTS,
    ChaosSettings,
    Injector,
    PlannedFault,
    confusion,
    describe_stuck,
    failed_for_lost_input,
    hidden_bin,
    output_problems,
    plan_faults,
    received_job,
    render_confusion,
    site_bans,
    stale_assigned,
    storage_problems,
    submission_kill_delay,
    unaccounted,
)

AGENTS = ["Transformation/InputDataAgent", "Transformation/TransformationAgent", "Transformation/WorkflowTaskAgent",
          "Transformation/FailureManagementAgent"]  # fmt: skip


def test_the_plan_is_seeded_bounded_and_in_time_order():
    settings = ChaosSettings(seed=7)
    plan = plan_faults(settings, AGENTS)
    assert plan == plan_faults(ChaosSettings(seed=7), AGENTS)  # the same seed, the same chaos
    assert plan != plan_faults(ChaosSettings(seed=8), AGENTS)
    assert [f.at for f in plan] == sorted(f.at for f in plan)
    assert all(0 <= f.at <= settings.window for f in plan)
    counts = {kind: sum(1 for f in plan if f.kind == kind) for kind in {f.kind for f in plan}}
    assert counts == {"kill-pilot": 2, "software-missing": 1, "payload-fails": 2, "replica-lost": 2,
                      "output-se-banned": 1, "kill-agent": 12, "restart-mariadb": 1, "kill-service": 1}
    # every agent is killed, each as often as the others
    killed = [f.target for f in plan if f.kind == "kill-agent"]
    assert sorted(killed) == sorted(AGENTS * 3)
    assert all(f.target for f in plan if f.kind in ("kill-agent", "kill-service"))
    assert 0.5 <= submission_kill_delay(settings) <= 20


def test_without_opensearch_no_pilot_is_killed_and_the_short_plan_is_smaller():
    assert not [f for f in plan_faults(ChaosSettings(), AGENTS, kill_pilot=False) if f.kind == "kill-pilot"]
    assert len(plan_faults(ChaosSettings.short(), AGENTS)) < len(plan_faults(ChaosSettings(), AGENTS))
    assert set(JOB_FAULTS.values()) == {"infrastructure", "software", "application", "input-data", None}


def test_confusion_table_counts_injected_against_decided():
    table = confusion({1: "software", 2: "software", 3: "infrastructure", 4: "input-data"},
                      {1: "software", 2: "application", 3: "infrastructure"})
    assert table == {"software": {"software": 1, "application": 1}, "infrastructure": {"infrastructure": 1},
                     "input-data": {"none": 1}}
    text = render_confusion(table)
    assert text.splitlines()[0].split()[-4:] == ["application", "infrastructure", "none", "software"]
    assert "software" in text.splitlines()[-1] and text.splitlines()[-1].split()[1:] == ["1", "0", "0", "1"]


LOSSES = {"/a": [(1000.0, 1060.0)], "/gone": [(0.0, float("inf"))]}


def _history(resolution_at, payload_at=None):
    records = [("Job accepted", resolution_at - 30), ("Job Initialization", resolution_at - 1),
               ("Input Data Resolution", resolution_at)]
    return records + ([("Application", payload_at)] if payload_at is not None else [])


def test_a_job_failed_for_a_lost_input_when_its_input_resolution_ran_while_the_input_was_lost():
    # resolution during the loss, no payload: the download failed
    assert failed_for_lost_input(["/a"], LOSSES, _history(1020.0), ended=1025.0)
    # an input lost for good: always
    assert failed_for_lost_input(["/b", "/gone"], LOSSES, _history(5000.0), ended=5005.0)
    # resolved before the loss and its payload started: it had its inputs and failed for something else (e.g. the
    # bad site's watchdog) even though it ended while the input was lost
    assert not failed_for_lost_input(["/a"], LOSSES, _history(990.0, payload_at=992.0), ended=1030.0)
    # resolved well after the input came back: not the loss
    assert not failed_for_lost_input(["/a"], LOSSES, _history(1200.0), ended=1205.0)
    # no lost input at all
    assert not failed_for_lost_input(["/b"], LOSSES, _history(1020.0), ended=1025.0)
    # a job that never reached a job wrapper (no resolution record): by when it ended
    assert failed_for_lost_input(["/a"], LOSSES, [("Job accepted", 1001.0)], ended=1030.0)
    assert not failed_for_lost_input(["/a"], LOSSES, [("Job accepted", 1101.0)], ended=1130.0)


def _file(tid, lfn, status, task=1):
    return {"TransformationID": tid, "LFN": lfn, "Status": status, "TaskID": task}


def test_every_input_is_processed_or_given_up():
    files = [_file(1, "/a", "Processed"), _file(1, "/b", "Problematic"), _file(1, "/c", "Unused"),
             _file(2, "/b", "Problematic")]
    problems = unaccounted(files, given_up={(1, "/b")})
    assert problems == ["transformation 1: /c is Unused, neither processed nor given up",
                        "transformation 2: /b is Problematic, neither processed nor given up"]


def test_orphan_and_missing_outputs_are_found():
    files = [_file(1, "/a", "Processed", 2), _file(1, "/b", "Processed", 3), _file(1, "/c", "Problematic", 1)]
    outputs = {1: {1: ["/out/00000001/c.h5"], 2: ["/out/00000002/a.h5"]}}
    problems = output_problems(files, outputs, produces={1})
    assert problems == ["transformation 1 task 1: orphan outputs /out/00000001/c.h5",
                        "transformation 1 task 3: processed its inputs but registered nothing"]
    assert output_problems(files[:1], {1: {2: ["/x"]}}, produces={1}) == []


def test_requests_left_assigned_past_the_grace_are_the_ones_put_back():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC).timestamp()
    rows = [
        [1, "Assigned", datetime(2026, 12, 5, 11, 57, 0)],  # 3 min: left by a killed agent or a failed put-back
        [2, "Assigned", datetime(2026, 12, 5, 11, 59, 30)],  # 30 s: being run now
        [3, "Waiting", datetime(2026, 12, 5, 11, 0, 0)],  # not taken: nothing to put back
        [4, "Assigned", "2026-12-05 11:50:00"],  # as text
        [5, "Assigned", None],  # no time: left alone
    ]
    assert stale_assigned(rows, now, grace=120) == [1, 4]
    assert stale_assigned(rows, now, grace=900) == []


def test_an_input_held_at_the_end_says_which_job_and_request_hold_it():
    job = {"Status": "Done", "MinorStatus": "Execution Complete", "ApplicationStatus": "merge successful"}
    request = {"RequestID": 7, "Status": "Assigned", "LastUpdate": "2026-12-05 12:00:00", "NotBefore": "None",
               "Operations": [{"Type": "ReplicateAndRegister", "Status": "Done", "Error": ""},
                              {"Type": "SetFileStatus", "Status": "Waiting", "Error": "no connection"}]}
    line = describe_stuck(14, 1, "/out/a/run2.process.h5", 93, job, request)
    assert line == ("transformation 14 task 1 (run2.process.h5): job 93 Done / Execution Complete / merge successful;"
                    " request 7 Assigned (last update 2026-12-05 12:00:00, not before None): ReplicateAndRegister Done,"
                    " SetFileStatus Waiting (no connection)")
    assert describe_stuck(14, 1, "/a", None, None, None).endswith("no job recorded for the task")
    unknown = describe_stuck(14, 1, "/a", 93, None, None)
    assert unknown == "transformation 14 task 1 (a): job 93 unknown to the WMS; no request"


def test_storage_and_catalog_must_agree_except_what_was_lost_on_purpose():
    catalog = {"SE1": {"/a", "/b", "/lost"}, "SE2": {"/a"}}
    stored = {"SE1": {"/a", "/b", "/stray"}, "SE2": set()}
    assert storage_problems(catalog, stored, lost={"/lost"}) == [
        "SE1: /stray is stored but not in the catalog", "SE2: /a is in the catalog but not stored"]


def test_a_sick_pilot_runs_in_a_private_mount_namespace(tmp_path):
    prefix = hidden_bin(tmp_path / "env" / "bin", tmp_path / "empty")
    assert prefix[:4] == ["unshare", "--mount", "--propagation", "private"]
    assert f'mount --bind "{tmp_path / "empty"}" "{tmp_path / "env" / "bin"}"' in prefix[-2]
    log = tmp_path / "pilot.log"
    log.write_text("INFO: Job request OK\nINFO: Received JobID=123, JobType=DataReprocessing, Owner=x\n")
    assert received_job(log) == 123
    log.write_text("nothing\n")
    assert received_job(log) is None
    assert received_job(tmp_path / "missing.log") is None


class _SickPilots:
    """Sick pilots that each receive the next job of ``jobs`` at once and end (their logs say so)."""

    def __init__(self, tmp_path, jobs):
        self.tmp_path, self.jobs, self.started = tmp_path, list(jobs), 0

    def start_sick(self, name, prefix):
        self.started += 1
        log = self.tmp_path / f"sick-{self.started}.log"
        log.write_text(f"INFO: Received JobID={self.jobs.pop(0)}, JobType=DataReprocessing\n" if self.jobs else "")
        return log

    def sick_running(self):
        return False


def test_a_sick_pilot_job_with_a_lost_input_does_not_count_and_another_sick_pilot_is_started(tmp_path, monkeypatch):
    inputs = {11: ["/ctao/dl0/gone.h5"], 12: ["/ctao/dl0/back.h5"], 13: ["/ctao/dl0/fine.h5"]}
    monkeypatch.setattr(Injector, "_inputs", staticmethod(lambda job: inputs[job]))
    pilots = _SickPilots(tmp_path, [11, 12, 13])
    fault = PlannedFault(at=10.0, kind="software-missing")
    injector = Injector(None, ChaosSettings(), [fault], tmp_path / "faults.jsonl", None, pilots, tmp_path / "env",
                        [1], "SE", {}, lost_for_good=["/ctao/dl0/gone.h5"], operator_every=None)  # fmt: skip
    injector.lost.add("/ctao/dl0/back.h5")  # a replica lost for a while
    injector.tick(10.0)  # the first sick pilot
    for elapsed in (11.0, 12.0, 13.0):
        injector.tick(elapsed)
    (sick,) = injector.faults
    assert sick.state == "applied" and sick.jobs == [13]  # 11 and 12 were masked by their lost inputs
    assert injector.expected() == {13: "software"}
    log = [json.loads(line) for line in (tmp_path / "faults.jsonl").read_text().splitlines()]
    assert [(e["job"], e["lost_inputs"]) for e in log if e["what"] == "masked"] == [
        (11, ["/ctao/dl0/gone.h5"]), (12, ["/ctao/dl0/back.h5"])]


def test_a_sick_fault_whose_pilots_get_no_job_is_skipped_after_its_grace(tmp_path):
    pilots = _SickPilots(tmp_path, [])
    injector = Injector(None, ChaosSettings(), [PlannedFault(at=0.0, kind="payload-fails")], tmp_path / "f.jsonl",
                        None, pilots, tmp_path / "env", [1], "SE", {}, operator_every=None)  # fmt: skip
    injector.tick(0.0)
    injector.tick(100.0)
    assert injector.faults[0].state == "sick" and pilots.started == 3  # started again while it waits
    injector.tick(1000.0)
    assert injector.faults[0].state == "skipped"


def test_what_the_run_does_as_the_operator_is_counted_and_logged(tmp_path):
    injector = Injector(None, ChaosSettings(), [], tmp_path / "f.jsonl", None, None, tmp_path / "env", [1], "SE", {},
                        operator_every=None)  # fmt: skip
    injector.record("kicked", request=3)
    injector.record("kicked", request=4)
    injector.record("reserved-recovered", task="00000001_00000002", to="Created")
    injector.record("applied", kind="kill-agent")  # a fault, not the operator
    assert injector.actions == {"kicked": 2, "reserved-recovered": 1}
    logged = [json.loads(line)["what"] for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert logged == ["kicked", "kicked", "reserved-recovered", "applied"]


def _decision(kind, tid, site, klass="infrastructure"):
    return {"Kind": kind, "TransformationID": tid, "Site": site, "Class": klass}


def test_a_transformation_failed_twice_at_the_bad_site_is_due_a_ban():
    decisions = [_decision("retry", 3, "Bad"), _decision("retry", 3, "Bad"), _decision("avoid-site", 3, "Bad"),
                 _decision("retry", 4, "Bad"), _decision("retry", 4, "Good"), _decision("give-up", 5, "Bad"),
                 _decision("retry", 5, "Bad", "input-data"), _decision("complete", 6, ""),
                 _decision("retry", 7, "Bad"), _decision("give-up", 7, "Bad")]  # fmt: skip
    due, banned = site_bans(decisions, "Bad", threshold=2)
    assert due == [3, 7] and banned == [3]
