"""The agent's DB-free parts: ConfigTemplate vs options model, fact gathering and applying with stubbed clients,
the report's formatting and filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from diraccfg import CFG

import CTAODIRAC.TransformationSystem as ts
from CTAODIRAC.Core.Failures import DecisionKind, FailureAgentOptions, decide
from CTAODIRAC.Core.Failures.decisions import Decision, TaskChange, failure_key, outcome_key
from CTAODIRAC.TransformationSystem.Utilities import FailureActions, FailureFacts, FailureReport

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
TEMPLATE = Path(ts.__file__).parent / "ConfigTemplate.cfg"


# --- ConfigTemplate.cfg and the options model agree -------------------------------------------------------------


def _cs_text(default: Any) -> str:
    if isinstance(default, tuple):
        return ", ".join(str(getattr(item, "value", item)) for item in default)
    return str(default)


def test_config_template_documents_every_option_once_as_the_model_does():
    section = CFG().loadFromFile(str(TEMPLATE))["Agents"]["FailureManagementAgent"]
    options = [name for name in section.listOptions() if name != "PollingTime"]
    assert options == list(FailureAgentOptions.cs_names())
    for name, (doc, default) in FailureAgentOptions.documentation().items():
        assert section.getOption(name) == _cs_text(default), name
        comment = " ".join(section.getComment(name).split())
        assert comment == " ".join(doc.split()), name
    assert section.listSections() == ["Rules"]
    # the template's values parse back to the defaults
    assert FailureAgentOptions.from_cs(section.getAsDict()) == FailureAgentOptions()


def test_config_template_has_the_service_port():
    cfg = CFG().loadFromFile(str(TEMPLATE))
    assert int(cfg.getOption("Services/FailureManagement/Port")) > 9000


# --- fact gathering ------------------------------------------------------------------------------------------------


class StubSources:
    def __init__(self) -> None:
        self.calls: list[str] = []
        old = NOW - timedelta(hours=1)
        self.jobs = {
            100: {"Status": "Failed", "MinorStatus": "Job stalled: pilot not running", "ApplicationStatus": "",
                  "Site": "LCG.A.xx", "LastUpdateTime": old.strftime("%Y-%m-%d %H:%M:%S"), "JobGroup": "00000005",
                  "JobName": "00000005_00000001"},
            101: {"Status": "Failed", "MinorStatus": "Uploading Output Data", "ApplicationStatus": "",
                  "Site": "LCG.A.xx", "LastUpdateTime": old, "JobGroup": "00000005", "JobName": "00000005_00000002"},
            102: {"Status": "Failed", "MinorStatus": "Input Data Resolution", "ApplicationStatus": "",
                  "Site": "LCG.A.xx", "LastUpdateTime": NOW - timedelta(seconds=10), "JobGroup": "00000005",
                  "JobName": "00000005_00000003"},
            103: {"Status": "Failed", "MinorStatus": "x", "JobGroup": "00000099", "JobName": "00000099_00000001",
                  "LastUpdateTime": old},
        }  # fmt: skip

    def transformations(self, statuses, types):
        self.calls.append("transformations")
        return [
            {"TransformationID": 5, "Status": "Active", "Type": "DataReprocessing", "GroupSize": 2},
            {"TransformationID": 6, "Status": "Active", "Type": "Merging", "GroupSize": 3},
        ]

    def transformation_statuses(self, ids):
        self.calls.append("transformation_statuses")
        return {4: "Completed", 3: "Active"}

    def production_links(self, ids):
        self.calls.append("production_links")
        return {5: {4}, 6: {5}}, {5: 1, 6: 1}

    def active_productions(self):
        self.calls.append("active_productions")
        return {1: {4, 5, 6}}

    def failed_jobs(self, transformation_ids, since):
        self.calls.append("failed_jobs")
        self.since = since
        return list(self.jobs)

    def job_attributes(self, job_ids):
        self.calls.append("job_attributes")
        return {j: self.jobs[j] for j in job_ids}

    def tasks_of_jobs(self, transformation_ids, job_ids):
        self.calls.append("tasks_of_jobs")
        self.asked_jobs = set(job_ids)
        rows = {100: (1, "/a;/b"), 101: (2, "/c"), 102: (3, "/d")}
        return [{"TransformationID": 5, "TaskID": rows[j][0], "ExternalID": str(j), "InputVector": rows[j][1]}
                for j in job_ids if j in rows]  # fmt: skip

    def files(self, transformation_ids, lfns):
        self.calls.append("files")
        return [{"TransformationID": 5, "LFN": lfn, "Status": "Assigned", "ErrorCount": 0, "TaskID": task}
                for lfn, task in (("/a", 1), ("/b", 1), ("/c", 2), ("/d", 3)) if lfn in lfns]  # fmt: skip

    def file_counts(self, transformation_ids):
        self.calls.append("file_counts")
        self.counted = set(transformation_ids)
        return {5: {"Assigned": 4, "Processed": 10}}

    def files_max_reset_counter(self):
        return 10

    def input_limits(self, ids):
        self.calls.append("input_limits")
        return {tid: None for tid in ids}

    def unused_files(self, ids):
        self.calls.append("unused_files")
        return {}

    def meta_queries(self, ids):
        self.calls.append("meta_queries")
        return {}


class StubRecords:
    def __init__(self, recorded=()):
        self.recorded = set(recorded)

    def existing_keys(self, keys, *, act):
        return {key for key in keys if key in self.recorded}

    def status_decision_keys(self, transformation_ids, production_ids, *, act):
        return set()

    def file_failures(self, transformation_id, lfns):
        return {"/a": {"infrastructure": 2}}

    def task_failures(self, transformation_id, task_ids):
        self.task_asked = (transformation_id, set(task_ids))
        return {task_id: {"application": 1} for task_id in task_ids}

    def site_failures(self, transformation_ids):
        return {5: {("LCG.A.xx", "infrastructure"): 1}}


def test_gather_reads_only_new_settled_failures_in_bulk():
    sources = StubSources()
    already = outcome_key(failure_key(5, 2, 101, NOW - timedelta(hours=1)))
    options = FailureAgentOptions(MinJobAge=60)
    high_water = NOW - timedelta(hours=2)
    gathered = FailureFacts.gather(sources, StubRecords({already}), options, NOW, high_water)

    # one call of each kind, whatever the number of transformations and jobs
    assert sorted(sources.calls) == sorted(set(sources.calls))
    assert sources.since == high_water - FailureFacts.HIGH_WATER_OVERLAP
    # 101 is already decided, 102 is too young, 103 belongs to a transformation out of scope
    assert sources.asked_jobs == {100}
    trans = {t.transformation_id: t for t in gathered.facts.transformations}
    (task,) = trans[5].tasks
    assert (task.task_id, task.lfns, task.job.site) == (1, ("/a", "/b"), "LCG.A.xx")
    assert trans[5].files["/a"].failures == {"infrastructure": 2}
    assert trans[5].parents == {4: "Completed"} and trans[5].production_id == 1
    assert trans[6].parents == {5: "Active"}
    # only transformations whose parents are done have their files counted
    assert sources.counted == {5}
    assert trans[5].file_counts == {"Assigned": 4, "Processed": 10}
    assert already in gathered.recorded_keys
    # the young failure holds the high-water mark back
    assert gathered.high_water == NOW - timedelta(seconds=10)
    assert (gathered.changed_jobs, gathered.new_failures) == (3, 1)

    decisions = decide(gathered.facts, options, None, gathered.recorded_keys)
    assert [(d.kind, d.job_id) for d in decisions] == [(DecisionKind.RETRY, 100)]


class SimulationSources(StubSources):
    """A simulation transformation (no input files): job 100 ran task 1, which is still shown Running."""

    def tasks_of_jobs(self, transformation_ids, job_ids):
        self.calls.append("tasks_of_jobs")
        return [{"TransformationID": 5, "TaskID": 1, "ExternalID": "100", "ExternalStatus": "Running",
                 "InputVector": ""}]  # fmt: skip

    def files(self, transformation_ids, lfns):
        raise AssertionError("a task without input files needs no file look-up")


def test_gather_counts_the_failures_of_a_task_without_input_and_sees_its_status():
    sources = SimulationSources()
    records = StubRecords()
    options = FailureAgentOptions(MinJobAge=60, ReportOnly=False)
    gathered = FailureFacts.gather(sources, records, options, NOW, None)
    (task,) = next(t for t in gathered.facts.transformations if t.transformation_id == 5).tasks
    assert (task.task_id, task.lfns, task.status, dict(task.failures)) == (1, (), "Running", {"application": 1})
    assert records.task_asked == (5, {1})
    [decision] = decide(gathered.facts, options, None, gathered.recorded_keys)
    assert decision.kind is DecisionKind.RETRY
    assert decision.task_change == TaskChange(task_id=1, job_id=100, from_status="Running", to_status="Created")


class LimitSources(StubSources):
    """Transformation 6 (parents not done) has input_limit 2, reached: 2 files taken, 2 Unused."""

    def failed_jobs(self, transformation_ids, since):
        self.calls.append("failed_jobs")
        return []

    def input_limits(self, ids):
        self.calls.append("input_limits")
        return {5: None, 6: 2}

    def file_counts(self, transformation_ids):
        self.calls.append("file_counts")
        self.counted = set(transformation_ids)
        return {5: {"Processed": 3}, 6: {"Processed": 1, "Assigned": 1, "Unused": 2}}

    def unused_files(self, ids):
        self.calls.append("unused_files")
        self.unused_asked = set(ids)
        return {6: ["/u2", "/u1"]}


def test_gather_reads_the_unused_files_of_a_transformation_whose_input_limit_is_reached():
    sources = LimitSources()
    options = FailureAgentOptions(MinJobAge=60)
    gathered = FailureFacts.gather(sources, StubRecords(), options, NOW, None)
    assert sorted(sources.calls) == sorted(set(sources.calls))
    # counted although its parents are not done: its files beyond the limit are set aside at any time
    assert sources.counted == {5, 6} and sources.unused_asked == {6}
    trans = {t.transformation_id: t for t in gathered.facts.transformations}
    assert (trans[6].input_limit, trans[6].unused_lfns) == (2, ("/u1", "/u2"))
    assert (trans[5].input_limit, trans[5].unused_lfns) == (None, ())
    decisions = decide(gathered.facts, options, None, gathered.recorded_keys)
    assert [(d.kind, d.transformation_id) for d in decisions] == [
        (DecisionKind.COMPLETE, 5), (DecisionKind.BEYOND_LIMIT, 6)
    ]
    decision = decisions[1]
    assert decision.lfns == ("/u1", "/u2")
    assert {(c.from_status, c.to_status) for c in decision.file_changes} == {("Unused", "Removed")}
    # recorded before: nothing new, and nothing read twice
    again = FailureFacts.gather(LimitSources(), StubRecords({decision.key}), options, NOW, None)
    assert decision.key in again.recorded_keys
    assert [d.kind for d in decide(again.facts, options, None, again.recorded_keys)] == [DecisionKind.COMPLETE]


def test_gather_with_nothing_in_scope_makes_one_call():
    class Empty(StubSources):
        def transformations(self, statuses, types):
            self.calls.append("transformations")
            return []

    sources = Empty()
    gathered = FailureFacts.gather(sources, StubRecords(), FailureAgentOptions(CompleteProductions=False), NOW, None)
    assert sources.calls == ["transformations"]
    assert gathered.high_water == NOW


def test_parse_time():
    assert FailureFacts.parse_time("2025-03-01 12:00:00") == NOW
    assert FailureFacts.parse_time(datetime(2025, 3, 1, 12)) == NOW
    assert FailureFacts.parse_time(None) is None and FailureFacts.parse_time("None") is None


# --- recording and applying --------------------------------------------------------------------------------------


class StubDB:
    def __init__(self, duplicate_keys=()):
        self.duplicates = set(duplicate_keys)
        self.groups: list[list[str]] = []
        self.marked: dict[int, tuple[str, dict]] = {}
        self.next_id = 1

    def record(self, decisions, *, report_only, owner, expected_status):
        if decisions[0].key in self.duplicates:
            return []
        self.groups.append([d.key for d in decisions])
        ids = list(range(self.next_id, self.next_id + len(decisions)))
        self.next_id += len(decisions)
        return ids

    def record_groups(self, groups, *, report_only, owner, expected_status):
        return [self.record(group, report_only=report_only, owner=owner, expected_status=expected_status)
                for group in groups]  # fmt: skip

    def mark(self, decision_id, state, result):
        self.marked[decision_id] = (state, json.loads(json.dumps(result)))

    def mark_many(self, marks):
        self.mark_calls = getattr(self, "mark_calls", 0) + 1
        for decision_id, state, result in marks:
            self.mark(decision_id, state, result)


class StubRPC:
    def __init__(self, calls):
        self.calls = calls

    def setFileStatusForTransformation(self, tid, updates):
        self.calls.append(("set", tid, updates))
        return {"OK": True, "Value": None}


class StubTC:
    """Files as DIRAC shows them when the decisions are applied; DIRAC's state machine is the real client's."""

    def __init__(self, files):
        self.files = files
        self.calls: list[Any] = []
        from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient

        self._real = TransformationClient.__new__(TransformationClient)
        self._real.maxResetCounter = 10

    def getTransformationFiles(self, condDict, columns):
        self.calls.append(("get", condDict["TransformationID"]))
        return {"OK": True, "Value": [dict(row, LFN=lfn) for lfn, row in self.files.items() if lfn in condDict["LFN"]]}

    def _applyTransformationFilesStateMachine(self, *args):
        return self._real._applyTransformationFilesStateMachine(*args)

    def _wasFileInError(self, *args):
        return self._real._wasFileInError(*args)

    def _getRPC(self):
        return StubRPC(self.calls)


class Log:
    def __init__(self):
        self.errors = []

    def error(self, *args):
        self.errors.append(args)

    def notice(self, *args):
        pass


def _failure_facts():
    sources = StubSources()
    options = FailureAgentOptions(MinJobAge=60, ReportOnly=False)
    gathered = FailureFacts.gather(sources, StubRecords(), options, NOW, None)
    return options, gathered, decide(gathered.facts, options, None, gathered.recorded_keys)


def test_apply_changes_only_files_still_as_the_decision_saw_them():
    options, gathered, decisions = _failure_facts()
    assert [d.kind for d in decisions] == [DecisionKind.RETRY, DecisionKind.RETRY]  # jobs 100 and 101
    files = {
        "/a": {"Status": "Assigned", "ErrorCount": 0, "FileID": 1, "TaskID": 1},
        "/b": {"Status": "Assigned", "ErrorCount": 0, "FileID": 2, "TaskID": 7},  # taken by another task since
        "/c": {"Status": "Processed", "ErrorCount": 0, "FileID": 3, "TaskID": 2},  # moved on
    }
    tc = StubTC(files)
    db = StubDB()
    actions = FailureActions.Actions(db, tc, None, Log(), owner="h:1:1")
    outcome = FailureActions.Outcome()
    owned = actions.record(decisions, report_only=False, expected_status=gathered.expected_status, outcome=outcome)
    actions.apply(owned, outcome)
    sets = [call for call in tc.calls if call[0] == "set"]
    assert sets == [("set", 5, {1: ["Unused", True]})]
    assert outcome.files_changed == 1 and outcome.skipped_changes == 2
    assert all(state == "Applied" for state, _ in db.marked.values())
    assert len(db.marked) == 2 and db.mark_calls == 1  # a transformation's decisions are marked together
    skipped = {lfn: why for _, result in db.marked.values() for lfn, why in result.get("Skipped", {}).items()}
    assert "another task" not in skipped["/b"] and "task 7" in skipped["/b"]
    assert "now Processed" in skipped["/c"]


def test_applying_twice_changes_nothing_the_second_time():
    options, gathered, decisions = _failure_facts()
    files = {lfn: {"Status": "Assigned", "ErrorCount": 0, "FileID": i, "TaskID": task}
             for i, (lfn, task) in enumerate((("/a", 1), ("/b", 1), ("/c", 2)), 1)}  # fmt: skip
    tc = StubTC(files)
    actions = FailureActions.Actions(StubDB(), tc, None, Log(), owner="h:1:1")
    outcome = FailureActions.Outcome()
    owned = actions.record(decisions, report_only=False, expected_status={}, outcome=outcome)
    actions.apply(owned, outcome)
    for call in tc.calls:
        if call[0] == "set":
            for file_id, (status, _) in call[2].items():
                lfn = next(lfn for lfn, row in files.items() if row["FileID"] == file_id)
                files[lfn]["Status"] = status
    tc.calls.clear()
    actions.apply(owned, FailureActions.Outcome())  # e.g. a recovered Pending decision applied again
    assert [call for call in tc.calls if call[0] == "set"] == []


def test_a_group_already_recorded_elsewhere_is_not_applied():
    options, gathered, decisions = _failure_facts()
    db = StubDB(duplicate_keys={decisions[0].key})
    actions = FailureActions.Actions(db, StubTC({}), None, Log(), owner="h:1:1")
    outcome = FailureActions.Outcome()
    owned = actions.record(decisions, report_only=False, expected_status={}, outcome=outcome)
    assert [a.decision_id for a in owned] == [1] and outcome.duplicates == 1


def test_report_only_owns_nothing():
    options, gathered, decisions = _failure_facts()
    actions = FailureActions.Actions(StubDB(), StubTC({}), None, Log(), owner="h:1:1")
    outcome = FailureActions.Outcome()
    assert actions.record(decisions, report_only=True, expected_status={}, outcome=outcome) == []
    assert len(outcome.recorded) == 2


class TaskTC:
    """Tasks as DIRAC shows them when task decisions are applied."""

    def __init__(self, tasks):
        self.tasks = tasks  # task ID -> (ExternalStatus, ExternalID)
        self.calls: list[Any] = []

    def getTransformationTasks(self, condDict):
        self.calls.append(("get", condDict["TransformationID"], condDict["TaskID"]))
        return {"OK": True, "Value": [{"TaskID": t, "ExternalStatus": s, "ExternalID": e}
                                      for t, (s, e) in self.tasks.items() if t in condDict["TaskID"]]}  # fmt: skip

    def setTaskStatus(self, tid, task_ids, status):
        self.calls.append(("set", tid, sorted(task_ids), status))
        for task_id in task_ids:
            self.tasks[task_id] = (status, self.tasks[task_id][1])
        return {"OK": True, "Value": None}


class JobStates:
    def __init__(self, states):
        self.states = states
        self.asked: list[list[int]] = []

    def getJobsStates(self, job_ids):
        self.asked.append(list(job_ids))
        return {"OK": True, "Value": {j: {"Status": self.states[j]} for j in job_ids if j in self.states}}


def _task_decision(task_id, job_id, from_status="Failed", to_status="Created", kind=DecisionKind.RETRY):
    return Decision(kind=kind, key=f"outcome:5:{task_id}:{job_id}:-", failure=f"5:{task_id}:{job_id}:-",
                    transformation_id=5, task_id=task_id, job_id=job_id,
                    task_change=TaskChange(task_id, job_id, from_status, to_status))  # fmt: skip


def test_apply_puts_back_only_tasks_still_on_their_failed_job():
    tc = TaskTC({1: ("Failed", "100"), 2: ("Submitted", "300"), 3: ("Created", "102"), 4: ("Failed", "103"),
                 5: ("Running", "104")})  # fmt: skip
    jobs = JobStates({100: "Failed", 101: "Failed", 102: "Failed", 103: "Rescheduled", 104: "Failed"})
    decisions = [
        _task_decision(1, 100),  # put back
        _task_decision(2, 101),  # already resubmitted: a new job 300
        _task_decision(3, 102),  # already put back by someone
        _task_decision(4, 103),  # its job is being rescheduled by DIRAC
        _task_decision(5, 104, "Running", "Failed", DecisionKind.GIVE_UP),  # given up
    ]
    db = StubDB()
    actions = FailureActions.Actions(db, tc, None, Log(), owner="h:1:1", jobs=jobs)
    outcome = FailureActions.Outcome()
    actions.apply(actions.record(decisions, report_only=False, expected_status={}, outcome=outcome), outcome)
    assert [c for c in tc.calls if c[0] == "set"] == [("set", 5, [1], "Created"), ("set", 5, [5], "Failed")]
    assert len(jobs.asked) == 1 and len([c for c in tc.calls if c[0] == "get"]) == 1  # in bulk
    assert (outcome.tasks_changed, outcome.skipped_changes, outcome.applied) == (2, 3, 5)
    skipped = {k: v for _, result in db.marked.values() for k, v in result.get("Skipped", {}).items()}
    assert "job 300" in skipped["2"] and "now Created" in skipped["3"] and "no longer Failed" in skipped["4"]
    # applying again (a recovered Pending decision) changes nothing
    tc.calls.clear()
    actions.apply([FailureActions.Action.from_decision(d, i) for i, d in enumerate(decisions, 1)],
                  FailureActions.Outcome())  # fmt: skip
    assert [c for c in tc.calls if c[0] == "set"] == []


def test_a_task_change_survives_the_db_row():
    [action] = [FailureActions.Action.from_decision(_task_decision(1, 100), 7)]
    payload = {"LFNs": [], "Changes": [], "Task": list(action.task_change)}
    row = {"DecisionID": 7, "Kind": "retry", "TransformationID": 5, "TaskID": 1, "FileChanges": json.dumps(payload)}
    assert FailureActions.Action.from_row(row) == action


def test_group_decisions_puts_the_outcome_first():
    from CTAODIRAC.Core.Failures import Decision

    avoid = Decision(kind=DecisionKind.AVOID_SITE, key="avoid-site:f", failure="f")
    retry = Decision(kind=DecisionKind.RETRY, key="outcome:f", failure="f")
    flush = Decision(kind=DecisionKind.FLUSH, key="flush:1:x")
    assert FailureActions.group_decisions([avoid, retry, flush]) == [[retry, avoid], [flush]]


def test_owner_liveness():
    me = FailureActions.owner_id()
    host = me.rsplit(":", 2)[0]
    assert not FailureActions.owner_is_dead(me)
    assert FailureActions.owner_is_dead(f"{host}:999999999:1")
    assert not FailureActions.owner_is_dead("elsewhere.example:1:1")
    assert not FailureActions.owner_is_dead("garbage")


# --- report ------------------------------------------------------------------------------------------------------


def test_report_filters_and_since():
    from CTAODIRAC.TransformationSystem.scripts.dirac_ctao_failure_report import UsageError, parse_filters, parse_since

    assert parse_filters({"transformation": "1,2", "class": "Software", "site": "A, B", "since": "2025-03-01"}) == {
        "TransformationID": [1, 2], "Class": ["software"], "Site": ["A", "B"], "Since": "2025-03-01 00:00:00",
    }  # fmt: skip
    assert parse_since("2h", NOW) == "2025-03-01 10:00:00"
    for bad in ({"transformation": "x"}, {"class": "infra"}, {"since": "yesterday"}):
        with pytest.raises(UsageError):
            parse_filters(bad)


def test_where_clause_is_parameterised():
    from CTAODIRAC.TransformationSystem.DB.FailureManagementDB import where_clause

    sql, args = where_clause({"TransformationID": [1, 2], "Class": "software", "Since": "2025-03-01 00:00:00"})
    assert sql == " WHERE TransformationID IN (%s, %s) AND Class IN (%s) AND CreationTime >= %s"
    assert args == [1, 2, "software", "2025-03-01 00:00:00"]
    with pytest.raises(ValueError):
        where_clause({"Reason; DROP TABLE x": 1})


def test_summaries():
    rows = [
        {"TransformationID": 5, "ProductionID": 1, "Kind": "retry", "Class": "infrastructure", "Site": "A",
         "State": "Applied", "Decisions": 3, "Files": 3, "Last": datetime(2025, 3, 1)},
        {"TransformationID": 5, "ProductionID": 1, "Kind": "give-up", "Class": "application", "Site": "B",
         "State": "Applied", "Decisions": 1, "Files": 2, "Last": datetime(2025, 3, 2)},
        {"TransformationID": 5, "ProductionID": 1, "Kind": "avoid-site", "Class": "infrastructure", "Site": "A",
         "State": "Applied", "Decisions": 1, "Files": 1, "Last": datetime(2025, 3, 1)},
    ]  # fmt: skip
    (summary,) = FailureReport.summary_rows(rows)
    assert summary["Failures"] == 4
    assert summary["ByClass"] == {"infrastructure": 3, "application": 1}
    assert summary["ByKind"] == {"retry": 3, "give-up": 1, "avoid-site": 1}
    assert summary["Last"] == "2025-03-02 00:00:00"
    assert "infrastructure 3" in FailureReport.summary_table([summary])
    _, _, decisions = _failure_facts()
    lines = FailureReport.cycle_summary_lines(decisions, report_only=True)
    assert lines == [
        "transformation 5: failures by class: infrastructure 1, output-upload 1; by site: LCG.A.xx 2; "
        "would do: files 3, retry 2"
    ]


class CrossProductionSources(StubSources):
    """Transformation 7 has no parent in its production; its input query selects what Active 6 produces."""

    def transformations(self, statuses, types):
        self.calls.append("transformations")
        return [*super().transformations(statuses, types),
                {"TransformationID": 7, "Status": "Active", "Type": "Training", "GroupSize": 2}]

    def failed_jobs(self, transformation_ids, since):
        self.calls.append("failed_jobs")
        return []

    def file_counts(self, transformation_ids):
        self.calls.append("file_counts")
        self.counted = set(transformation_ids)
        return {7: {"Unused": 1}}

    def meta_queries(self, ids):
        self.calls.append("meta_queries")
        data = {"=": 2}
        return {5: ({}, {"data_level": {"=": 1}}),
                6: ({"data_level": {"=": 1}}, {"data_level": data, "merged": {"=": 1}}),
                7: ({"data_level": data, "merged": {"in": [1, 2]}}, {"data_level": {"=": 3}})}


def test_gather_counts_parents_in_other_productions_by_their_queries():
    sources = CrossProductionSources()
    options = FailureAgentOptions(MinJobAge=60, ActOnTransformationsWithoutParents=True)
    gathered = FailureFacts.gather(sources, StubRecords(), options, NOW, None)
    seven = next(t for t in gathered.facts.transformations if t.transformation_id == 7)
    # 6 (Active, same production links: none for 7) feeds 7: 7 is no transformation without parents any more
    assert seven.parents == {6: "Active"}
    assert 7 not in sources.counted  # not movable while 6 produces: its 1 Unused file is not flushed


# --- DiracSources' bulk reads (input vectors, meta-queries) --------------------------------------------------------


def test_task_buckets_cover_every_task_and_bound_the_cross_product():
    import random

    rng = random.Random(17)
    for _ in range(200):
        tasks = {tid: set(rng.sample(range(1, 400), rng.randint(1, 40))) for tid in rng.sample(range(1, 500), 30)}
        buckets = FailureFacts.task_buckets(tasks)
        covered = {(tid, task) for tids, task_ids in buckets for tid in tids for task in task_ids}
        assert covered >= {(tid, task) for tid, ids in tasks.items() for task in ids}
        assert sorted(tid for tids, _ in buckets for tid in tids) == sorted(tasks)  # each transformation once
        for tids, task_ids in buckets:
            needed = sum(len(tasks[tid]) for tid in tids)
            assert len(tids) == 1 or len(tids) * len(task_ids) <= FailureFacts.BUCKET_WASTE * needed
            assert len(tids) == 1 or len(task_ids) <= FailureFacts.BUCKET_TASKS


def test_task_buckets_put_transformations_with_the_same_tasks_together():
    same = {tid: {1, 21, 41} for tid in range(1, 101)}
    assert FailureFacts.task_buckets(same) == [(list(range(1, 101)), [1, 21, 41])]
    # disjoint task IDs: no bucket reads more than twice what it needs
    staggered = {tid: {tid % 20 + 20 * k for k in range(50)} for tid in range(1, 101)}
    buckets = FailureFacts.task_buckets(staggered)
    assert len(buckets) <= 20
    assert FailureFacts.task_buckets({}) == []


def _ok(value):
    return {"OK": True, "Value": value}


class BulkTC:
    """DIRAC's TransformationClient for the bulk reads: tasks, and ``getCounters`` on DIRAC's tables."""

    def __init__(self, tasks, inputs, meta=()):
        self.tasks, self.inputs, self.meta, self.calls = tasks, inputs, list(meta), []

    def getTransformationTasks(self, condDict, inputVector):
        self.calls.append(("getTransformationTasks", inputVector))
        jobs = set(condDict["ExternalID"])
        return _ok([dict(row) for row in self.tasks if row["ExternalID"] in jobs])

    def getCounters(self, table, attrs, cond):
        self.calls.append(("getCounters", table))
        if table == "TaskInputs":
            tids, task_ids = set(cond["TransformationID"]), set(cond["TaskID"])
            rows = [
                ({"TransformationID": tid, "TaskID": task, "InputVector": vector}, 1)
                for (tid, task), vector in sorted(self.inputs.items())
                if tid in tids and task in task_ids
            ]
            return _ok(rows)
        assert table == "TransformationMetaQueries"
        tids = set(cond["TransformationID"])
        return _ok([(dict(zip(attrs, row)), 1) for row in self.meta if row[0] in tids])


def _sources(tc):
    return FailureFacts.DiracSources(tc, None, None, None, None)


def test_tasks_of_jobs_reads_the_input_vectors_in_bulk_not_task_by_task():
    tasks = [
        {"TransformationID": 5, "TaskID": 1, "ExternalID": "100", "ExternalStatus": "Failed"},
        {"TransformationID": 5, "TaskID": 2, "ExternalID": "101", "ExternalStatus": "Failed"},
        {"TransformationID": 6, "TaskID": 7, "ExternalID": "102", "ExternalStatus": "Failed"},
    ]
    # the cross product also selects (6, 1), (6, 2), (5, 7): not asked for, left out
    inputs = {(5, 1): "/a;/b", (5, 2): "/c", (6, 7): "/d", (6, 1): "/x", (5, 7): "/y", (6, 2): "/z"}
    tc = BulkTC(tasks, inputs)
    sources = _sources(tc)
    rows = sources.tasks_of_jobs({5, 6}, {100, 101, 102})
    assert {(r["TransformationID"], r["TaskID"]): r["InputVector"] for r in rows} == {
        (5, 1): "/a;/b", (5, 2): "/c", (6, 7): "/d"
    }
    assert tc.calls[0] == ("getTransformationTasks", False)
    assert sources.rpcs == len(tc.calls) == 1 + len(FailureFacts.task_buckets({5: {1, 2}, 6: {7}}))


def test_a_task_without_input_vector_has_an_empty_one():
    tc = BulkTC([{"TransformationID": 5, "TaskID": 1, "ExternalID": "100", "ExternalStatus": "Failed"}], {})
    (row,) = _sources(tc).tasks_of_jobs({5}, {100})
    assert row["InputVector"] == ""


# rows of TransformationMetaQueries as DIRAC's createTransformationMetaQuery stores them
META_ROWS = [
    (5, "Input", "data_level", "{'=': 0}", "Dict"),
    (5, "Input", "particle", "gamma;;;proton", "String"),
    (5, "Input", "run", "1;;;2;;;3", "Integer"),
    (5, "Output", "zenith", "20", "Integer"),
    (5, "Output", "site", "north", "String"),
    (6, "Output", "data_level", "{'in': [1, 2]}", "Dict"),
]


def _dirac_meta_query(tid, kind):
    """What DIRAC's own ``TransformationDB.getTransformationMetaQuery`` answers for these rows."""
    from DIRAC import S_OK
    from DIRAC.TransformationSystem.DB.TransformationDB import TransformationDB

    db = TransformationDB.__new__(TransformationDB)
    db._getConnectionTransID = lambda connection, name: S_OK({"Connection": None, "TransformationID": name})
    db._query = lambda req, args, conn: S_OK(
        tuple((name, value, vtype) for t, q, name, value, vtype in META_ROWS if (t, q) == tuple(args))
    )
    result = db.getTransformationMetaQuery(tid, kind)
    return result["Value"] if result["OK"] else {}


def test_meta_queries_are_read_in_one_call_and_decoded_as_dirac_does():
    tc = BulkTC([], {}, META_ROWS)
    sources = _sources(tc)
    queries = sources.meta_queries({5, 6, 7})
    assert tc.calls == [("getCounters", "TransformationMetaQueries")] and sources.rpcs == 1
    for tid in (5, 6, 7):
        assert queries[tid] == (_dirac_meta_query(tid, "Input"), _dirac_meta_query(tid, "Output")), tid
    assert queries[5][0] == {"data_level": {"=": 0}, "particle": ["gamma", "proton"], "run": [1, 2, 3]}
    assert queries[7] == ({}, {})
    # kept: a second cycle reads nothing
    assert sources.meta_queries({5, 6}) == {5: queries[5], 6: queries[6]} and sources.rpcs == 1


def test_a_meta_query_value_dirac_cannot_read_fails_the_cycle():
    from DIRAC.Core.Utilities.ReturnValues import SErrorException

    with pytest.raises(SErrorException, match="data_level"):
        FailureFacts.decode_meta_query([("data_level", "{'=': ", "Dict")])
