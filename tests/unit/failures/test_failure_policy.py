"""The policy: failures per class, budgets, site avoidance, the file state machine, flush/complete, idempotence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from CTAODIRAC.Core.Failures import (
    DecisionKind,
    FailureAgentOptions,
    FailureClass,
    FileChange,
    ProductionFacts,
    build_rule_table,
    count_failures,
    decide,
    filter_new,
)

from CTAODIRAC.Core.Failures.decisions import TaskChange, count_task_failures

from ._builders import (
    APPLICATION,
    CPU,
    INPUT,
    NOW,
    SOFTWARE,
    STALLED,
    UNKNOWN,
    UPLOAD,
    cycle,
    files,
    job,
    recorded_state,
    task,
    transformation,
)

K = DecisionKind
F = FailureClass
ACT = FailureAgentOptions(ReportOnly=False)


def one_failure(reason=STALLED, *, file_status="Assigned", error_count=1, options=ACT, **failures):
    """A transformation with one failed task of two files; returns the decisions."""
    trans = transformation(
        tasks=[task(11, job(101, reason), "/a", "/b")],
        file_facts=files(11, "/a", "/b", status=file_status, error_count=error_count, **failures),
    )
    return decide(cycle(trans), options)


# ------------------------------------------------------------------------------------------------- classes


@pytest.mark.parametrize(
    ("reason", "expected_class", "expected_rule"),
    [
        (STALLED, F.INFRASTRUCTURE, "PilotStalled"),
        (CPU, F.INFRASTRUCTURE, "CPULimit"),
        (SOFTWARE, F.SOFTWARE, "SoftwareSetupStep"),
        (INPUT, F.INPUT_DATA, "InputDataResolution"),
        (UPLOAD, F.OUTPUT_UPLOAD, "OutputDataUpload"),
        (APPLICATION, F.APPLICATION, "ApplicationErrors"),
        (UNKNOWN, F.UNKNOWN, "NoMatch"),
    ],
)
def test_first_failure_of_every_class_is_retried(reason, expected_class, expected_rule):
    [decision] = one_failure(reason)
    assert decision.kind is K.RETRY
    assert decision.failure_class is expected_class
    assert decision.rule == expected_rule
    assert (decision.transformation_id, decision.task_id, decision.job_id) == (1, 11, 101)
    assert decision.site == "LCG.Site-A.xx"
    assert decision.lfns == ("/a", "/b")
    assert decision.file_changes == (FileChange("/a", "Assigned", "Unused"), FileChange("/b", "Assigned", "Unused"))
    assert decision.reason.startswith(f"{expected_class.value} failure (rule {expected_rule}) of job 101")


def test_custom_rules_drive_the_class():
    rules = build_rule_table({"Mine": {"Class": "input-data", "MinorStatus": "pilot not running", "Priority": "1"}})
    trans = transformation(tasks=[task(11, job(101, STALLED), "/a")], file_facts=files(11, "/a"))
    [decision] = decide(cycle(trans), ACT, rules)
    assert (decision.failure_class, decision.rule) == (F.INPUT_DATA, "Mine")


# ------------------------------------------------------------------------------------------------- budgets


@pytest.mark.parametrize(
    ("reason", "cls", "budget"),
    [
        (STALLED, "infrastructure", 5),
        (SOFTWARE, "software", 3),
        (INPUT, "input-data", 3),
        (UPLOAD, "output-upload", 5),
        (APPLICATION, "application", 1),
        (UNKNOWN, "unknown", 2),
    ],
)
def test_budget_per_class(reason, cls, budget):
    # budget - 1 failures recorded: this one is the last retry
    [last_retry] = _with_failures(reason, cls, budget - 1)
    assert last_retry.kind is K.RETRY
    assert f"retry {budget} of {budget}" in last_retry.reason
    # budget failures recorded: give up
    [give_up] = _with_failures(reason, cls, budget)
    assert give_up.kind is K.GIVE_UP
    assert give_up.file_changes == (
        FileChange("/a", "Assigned", "Problematic"),
        FileChange("/b", "Assigned", "Problematic"),
    )
    assert f"exceeds the budget of {budget} retries" in give_up.reason


def _with_failures(reason, cls, count):
    """One failed task of two files; ``count`` failures of class ``cls`` already recorded for /a only."""
    trans = transformation(
        tasks=[task(11, job(101, reason), "/a", "/b")],
        file_facts={**files(11, "/a", **{cls: count}), **files(11, "/b")},
    )
    return decide(cycle(trans), ACT)


def test_budgets_are_counted_per_class():
    # five infrastructure failures already: an application failure still has its own budget
    [decision] = _with_failures(APPLICATION, "infrastructure", 5)
    assert decision.kind is K.RETRY
    assert decision.failure_class is F.APPLICATION


def test_the_most_failed_file_of_a_task_decides():
    # /a has used the application budget, /b has not: the task (both files) is given up
    [decision] = _with_failures(APPLICATION, "application", 1)
    assert decision.kind is K.GIVE_UP
    assert decision.lfns == ("/a", "/b")


def test_zero_budget_gives_up_at_first_failure_and_give_up_status_is_an_option():
    options = FailureAgentOptions(ReportOnly=False, BudgetUnknown=0, GiveUpStatus="MaxReset")
    [decision] = one_failure(UNKNOWN, options=options)
    assert decision.kind is K.GIVE_UP
    assert {change.to_status for change in decision.file_changes} == {"MaxReset"}


# --------------------------------------------------------------------------------------- file state machine


def test_processed_maxreset_and_problematic_files_are_never_touched():
    trans = transformation(
        tasks=[task(11, job(101, STALLED), "/processed", "/maxreset", "/problematic", "/assigned")],
        file_facts={
            **files(11, "/processed", status="Processed"),
            **files(11, "/maxreset", status="MaxReset"),
            **files(11, "/problematic", status="Problematic"),
            **files(11, "/assigned"),
        },
    )
    [decision] = decide(cycle(trans), ACT)
    assert decision.kind is K.RETRY
    assert decision.lfns == ("/assigned",)
    assert decision.file_changes == (FileChange("/assigned", "Assigned", "Unused"),)


@pytest.mark.parametrize("status", ["Processed", "MaxReset", "Problematic", "Removed", "Processed-inherited"])
def test_task_with_only_finished_files_is_left(status):
    [decision] = one_failure(STALLED, file_status=status)
    assert decision.kind is K.LEAVE
    assert decision.file_changes == ()
    assert "no file left to act on" in decision.reason


def test_processed_file_is_not_reset_even_over_budget():
    [decision] = one_failure(APPLICATION, file_status="Processed", application=9)
    assert decision.kind is K.LEAVE
    assert not decision.changes_anything


def test_dirac_max_reset_counter_is_respected():
    trans = transformation(
        tasks=[task(11, job(101, STALLED), "/ten", "/nine")],
        file_facts={**files(11, "/ten", error_count=10), **files(11, "/nine", error_count=9)},
    )
    [decision] = decide(cycle(trans), ACT)
    assert decision.kind is K.RETRY
    assert decision.file_changes == (
        FileChange("/ten", "Assigned", "MaxReset"),
        FileChange("/nine", "Assigned", "Unused"),
    )
    assert "1 file(s) reach DIRAC's FilesMaxResetCounter" in decision.reason
    # a different FilesMaxResetCounter in the Operations section
    [decision] = decide(cycle(trans, max_reset=3), ACT)
    assert {c.lfn: c.to_status for c in decision.file_changes} == {"/ten": "Unused", "/nine": "MaxReset"}


def test_files_already_reset_by_the_workflow_task_agent_are_counted_not_changed():
    [decision] = one_failure(STALLED, file_status="Unused")
    assert decision.kind is K.RETRY
    assert decision.file_changes == ()
    assert decision.lfns == ("/a", "/b")
    assert "2 file(s) already Unused" in decision.reason
    # and they can still be given up from Unused
    [decision] = one_failure(APPLICATION, file_status="Unused", application=1)
    assert decision.kind is K.GIVE_UP
    assert decision.file_changes[0] == FileChange("/a", "Unused", "Problematic")


def test_file_now_in_another_task_is_left_alone():
    trans = transformation(
        tasks=[task(11, job(101, STALLED), "/a", "/b")],
        file_facts={**files(12, "/a"), **files(11, "/b")},  # /a was already retried and taken by task 12
    )
    [decision] = decide(cycle(trans), ACT)
    assert decision.lfns == ("/b",)
    assert [c.lfn for c in decision.file_changes] == ["/b"]


# ------------------------------------------------------------------------------------ jobs not to touch yet


@pytest.mark.parametrize(
    "status", ["Received", "Waiting", "Matched", "Running", "Stalled", "Completing", "Rescheduled", "Done", "Completed"]
)
def test_jobs_not_failed_or_not_final_are_left_alone(status):
    trans = transformation(tasks=[task(11, job(101, STALLED, status=status), "/a")], file_facts=files(11, "/a"))
    assert decide(cycle(trans), ACT) == []


@pytest.mark.parametrize("minor", ["Going to reschedule job", "Job Rescheduled"])
def test_failed_job_being_rescheduled_is_left_alone(minor):
    trans = transformation(tasks=[task(11, job(101, (minor, "")), "/a")], file_facts=files(11, "/a"))
    assert decide(cycle(trans), ACT) == []


def test_recent_failure_waits_for_min_job_age():
    options = FailureAgentOptions(ReportOnly=False, MinJobAge=900)
    young = transformation(
        tasks=[task(11, job(101, last_update=NOW - timedelta(seconds=899)), "/a")], file_facts=files(11, "/a")
    )
    old_enough = transformation(
        tasks=[task(11, job(101, last_update=NOW - timedelta(seconds=900)), "/a")], file_facts=files(11, "/a")
    )
    assert decide(cycle(young), options) == []
    assert [d.kind for d in decide(cycle(old_enough), options)] == [K.RETRY]


def test_unknown_last_update_waits_unless_min_job_age_is_zero():
    trans = transformation(tasks=[task(11, job(101, last_update=None), "/a")], file_facts=files(11, "/a"))
    assert decide(cycle(trans), ACT) == []
    assert [d.kind for d in decide(cycle(trans), FailureAgentOptions(ReportOnly=False, MinJobAge=0))] == [K.RETRY]


def test_naive_times_are_taken_as_utc():
    naive = (NOW - timedelta(hours=1)).replace(tzinfo=None)
    trans = transformation(tasks=[task(11, job(101, last_update=naive), "/a")], file_facts=files(11, "/a"))
    assert [d.kind for d in decide(cycle(trans), ACT)] == [K.RETRY]


def test_killed_job_is_recorded_not_retried_unless_asked():
    trans = transformation(
        tasks=[task(11, job(101, ("Marked for termination", ""), status="Killed"), "/a")], file_facts=files(11, "/a")
    )
    [decision] = decide(cycle(trans), ACT)
    assert decision.kind is K.LEAVE
    assert "killed" in decision.reason
    [decision] = decide(cycle(trans), FailureAgentOptions(ReportOnly=False, RetryKilledJobs=True))
    assert decision.kind is K.RETRY


def test_task_without_job_is_not_a_failure():
    trans = transformation(tasks=[task(11, None, "/a")], file_facts=files(11, "/a"))
    assert decide(cycle(trans), ACT) == []


# ---------------------------------------------------------------------- tasks without input files (simulation)


def sim_task(task_id=3, reason=STALLED, *, status="Failed", job_id=103, job_status="Failed", **failures):
    """A failed task of a transformation without input files (a simulation run = its task ID); ``failures``:
    class value to the failures already recorded for the task."""
    return replace(task(task_id, job(job_id, reason, status=job_status)), status=status, failures=failures)


def sim_decide(*tasks, options=ACT, recorded=frozenset()):
    return decide(cycle(transformation(tasks=tasks, type_="MCSimulation")), options, None, recorded)


def test_a_failed_task_without_input_is_put_back_for_a_new_job_of_the_same_task():
    [decision] = sim_decide(sim_task())
    assert (decision.kind, decision.task_id, decision.job_id, decision.lfns) == (K.RETRY, 3, 103, ())
    assert decision.task_change == TaskChange(task_id=3, job_id=103, from_status="Failed", to_status="Created")
    assert decision.failure_class is F.INFRASTRUCTURE and decision.counts_task
    assert decision.file_changes == () and decision.changes_anything
    assert "retry 1 of 5" in decision.reason and "run 3" in decision.reason


def test_a_task_still_showing_its_job_running_is_put_back_from_that_status():
    """The WorkflowTaskAgent copies job statuses into tasks only every 10 minutes: the change expects what the
    facts saw."""
    [decision] = sim_decide(sim_task(status="Running"))
    assert decision.task_change == TaskChange(3, 103, "Running", "Created")


@pytest.mark.parametrize(("reason", "cls", "budget"), [(STALLED, "infrastructure", 5), (APPLICATION, "application", 1),
                                                      (INPUT, "input-data", 3), (UNKNOWN, "unknown", 2)])
def test_a_task_without_input_has_the_class_budget_counted_per_task(reason, cls, budget):
    [first] = sim_decide(sim_task(reason=reason))
    assert first.kind is (K.RETRY if budget else K.GIVE_UP) and first.failure_class.value == cls
    [retry] = sim_decide(sim_task(reason=reason, **{cls: budget - 1}))
    assert retry.kind is K.RETRY and f"retry {budget} of {budget}" in retry.reason
    [given_up] = sim_decide(sim_task(reason=reason, **{cls: budget}))
    assert given_up.kind is K.GIVE_UP and given_up.counts_task
    assert given_up.task_change is None  # already Failed: its final status
    assert f"failure {budget + 1} of this class exceeds the budget of {budget}" in given_up.reason
    assert "given up, left Failed" in given_up.reason
    # failures of another class do not use this class's budget
    [other] = sim_decide(sim_task(reason=reason, software=99))
    assert other.kind is K.RETRY


def test_a_task_given_up_while_it_still_shows_a_running_job_is_set_failed():
    [decision] = sim_decide(sim_task(reason=APPLICATION, status="Running", application=1))
    assert decision.kind is K.GIVE_UP
    assert decision.task_change == TaskChange(3, 103, "Running", "Failed")


def test_a_task_without_input_already_put_back_or_done_is_left():
    for status in ("Created", "Reserved", "Done"):
        [decision] = sim_decide(sim_task(status=status))
        assert decision.kind is K.LEAVE and decision.task_change is None, status
        assert status in decision.reason


def test_a_killed_task_without_input_is_left_unless_killed_jobs_are_retried():
    [decision] = sim_decide(sim_task(reason=("Received Kill signal", ""), job_status="Killed"))
    assert decision.kind is K.LEAVE and "killed" in decision.reason
    options = FailureAgentOptions(ReportOnly=False, RetryKilledJobs=True)
    [decision] = sim_decide(sim_task(reason=("Received Kill signal", ""), job_status="Killed"), options=options)
    assert decision.kind is K.RETRY and decision.task_change.to_status == "Created"


def test_a_task_without_input_is_decided_once_and_its_retries_counted_until_given_up():
    """Each new job of the task is a new failure; recorded decisions count against the task's budget (as the
    agent's DB does), so that the task is retried BudgetApplication times, then given up, never twice."""
    options = FailureAgentOptions(ReportOnly=False, BudgetApplication=2)
    recorded: list = []
    kinds = []
    for attempt in range(4):
        counts = count_task_failures(recorded).get((1, 3), {})
        the_task = sim_task(reason=APPLICATION, job_id=200 + attempt, **counts)
        decisions = sim_decide(the_task, options=options, recorded={d.key for d in recorded})
        assert sim_decide(the_task, options=options, recorded={d.key for d in recorded + decisions}) == []
        recorded += decisions
        kinds.append([d.kind for d in decisions])
        if decisions and decisions[0].kind is K.GIVE_UP:
            break
    assert kinds == [[K.RETRY], [K.RETRY], [K.GIVE_UP]]
    assert count_task_failures(recorded) == {(1, 3): {"application": 3}}
    # the file counters know nothing of it: a task has no files
    assert count_failures(recorded)[0] == {}


def test_a_task_change_keeps_the_transformation_from_moving_in_the_same_cycle():
    trans = transformation(tasks=[sim_task()], type_="MCSimulation", parents={4: "Completed"}, group_size=5,
                           counts={"Unused": 2})
    assert [d.kind for d in decide(cycle(trans), ACT)] == [K.RETRY]


def test_a_task_decision_record_carries_its_task_change():
    [decision] = sim_decide(sim_task())
    record = decision.to_record()
    assert record["TaskChange"] == [3, 103, "Failed", "Created"] and record["LFNs"] == []


# ----------------------------------------------------------------------------------------- site avoidance


def _site_cycle(reason=STALLED, site="LCG.Site-A.xx", recorded=2, cls="infrastructure"):
    trans = transformation(
        tasks=[task(11, job(101, reason, site=site), "/a")],
        file_facts=files(11, "/a"),
        site_failures={(site, cls): recorded},
    )
    return cycle(trans)


def test_site_is_avoided_after_threshold_failures_of_a_class():
    retry, avoid = decide(_site_cycle(recorded=2), ACT)
    assert retry.kind is K.RETRY
    assert avoid.kind is K.AVOID_SITE
    assert (avoid.site, avoid.failure_class, avoid.lfns) == ("LCG.Site-A.xx", F.INFRASTRUCTURE, ("/a",))
    assert avoid.changes_anything
    assert "3 infrastructure failures at LCG.Site-A.xx" in avoid.reason


def test_site_below_threshold_or_other_class_or_other_site_is_not_avoided():
    assert [d.kind for d in decide(_site_cycle(recorded=1), ACT)] == [K.RETRY]
    assert [d.kind for d in decide(_site_cycle(recorded=2, cls="software"), ACT)] == [K.RETRY]
    trans = transformation(
        tasks=[task(11, job(101, site="LCG.Site-B.yy"), "/a")],
        file_facts=files(11, "/a"),
        site_failures={("LCG.Site-A.xx", "infrastructure"): 10},
    )
    assert [d.kind for d in decide(cycle(trans), ACT)] == [K.RETRY]


def test_application_failures_never_ban_a_site_and_threshold_zero_disables():
    assert [d.kind for d in decide(_site_cycle(APPLICATION, recorded=9, cls="application"), ACT)] == [K.RETRY]
    no_ban = FailureAgentOptions(ReportOnly=False, SiteBanThreshold=0)
    assert [d.kind for d in decide(_site_cycle(recorded=9), no_ban)] == [K.RETRY]


@pytest.mark.parametrize("site", ["ANY", "Unknown", ""])
def test_no_real_site_no_ban(site):
    assert [d.kind for d in decide(_site_cycle(site=site, recorded=9), ACT)] == [K.RETRY]


def test_failures_in_one_cycle_count_in_order():
    tasks = [task(10 + n, job(100 + n, last_update=NOW - timedelta(hours=5 - n)), f"/f{n}") for n in range(4)]
    all_files = {}
    for n in range(4):
        all_files.update(files(10 + n, f"/f{n}"))
    # given in reverse order: the policy sorts by time of failure
    decisions = decide(cycle(transformation(tasks=reversed(tasks), file_facts=all_files)), ACT)
    assert [(d.kind, d.job_id) for d in decisions] == [
        (K.RETRY, 100),
        (K.RETRY, 101),
        (K.RETRY, 102),
        (K.AVOID_SITE, 102),
        (K.RETRY, 103),
        (K.AVOID_SITE, 103),
    ]


def test_given_up_files_get_no_site_ban():
    trans = transformation(
        tasks=[task(11, job(101), "/a")],
        file_facts=files(11, "/a", infrastructure=5),
        site_failures={("LCG.Site-A.xx", "infrastructure"): 9},
    )
    assert [d.kind for d in decide(cycle(trans), ACT)] == [K.GIVE_UP]


# ------------------------------------------------------------------------------------------ flush, complete


def _tr(status="Active", parents=None, counts=None, group_size=5, **kwargs):
    return transformation(
        2,
        status=status,
        parents={1: "Completed"} if parents is None else parents,
        counts=counts,
        group_size=group_size,
        **kwargs,
    )


def test_flush_when_parents_done_and_fewer_unused_than_group_size():
    [decision] = decide(cycle(_tr(counts={"Unused": 3, "Processed": 40})), ACT)
    assert decision.kind is K.FLUSH
    assert decision.new_status == "Flush"
    assert decision.transformation_id == 2
    assert "3 Unused file(s), fewer than the group size 5" in decision.reason


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"parents": {1: "Active"}}, "parent still produces"),
        ({"parents": {1: "Completed", 3: "Flush"}}, "one parent still produces"),
        ({"parents": {1: ""}}, "parent status unknown"),
        ({"parents": {}}, "no parents"),
        ({"counts": {"Unused": 5, "Processed": 40}}, "a full group is left"),
        ({"counts": {"Processed": 40, "Assigned": 2}}, "nothing Unused"),
        ({"group_size": 1}, "no grouping"),
        ({"status": "Flush"}, "already flushing"),
    ],
)
def test_no_flush(kwargs, why):
    kwargs.setdefault("counts", {"Unused": 3, "Processed": 40})
    assert decide(cycle(_tr(**kwargs)), ACT) == [], why


def test_flush_of_transformation_without_parents_only_when_enabled():
    trans = _tr(parents={}, counts={"Unused": 3})
    assert decide(cycle(trans), ACT) == []
    options = FailureAgentOptions(ReportOnly=False, ActOnTransformationsWithoutParents=True)
    assert [d.kind for d in decide(cycle(trans), options)] == [K.FLUSH]
    assert decide(cycle(_tr(counts={"Unused": 3})), FailureAgentOptions(FlushTransformations=False)) == []


@pytest.mark.parametrize("status", ["Active", "Idle", "Flush"])
def test_complete_when_all_files_processed_or_given_up_and_parents_completed(status):
    counts = {"Processed": 40, "Problematic": 2, "MaxReset": 1, "Unused": 0}
    [decision] = decide(cycle(_tr(status=status, parents={1: "Completed", 3: "Archived"}, counts=counts)), ACT)
    assert decision.kind is K.COMPLETE
    assert decision.new_status == "Completed"
    assert "all 43 files processed or given up" in decision.reason


def test_child_never_completed_while_a_parent_still_produces():
    counts = {"Processed": 40}
    for parent_status in ["Active", "Flush", "Idle", "Stopped", "Completing", "New", ""]:
        assert decide(cycle(_tr(parents={1: "Completed", 3: parent_status}, counts=counts)), ACT) == []


@pytest.mark.parametrize(
    "counts",
    [
        {"Processed": 40, "Assigned": 1},
        {"Processed": 40, "Unused": 1},
        {"Processed": 40, "Unused-inherited": 1},
        {"Processed": 40, "SomeNewStatus": 1},
        {},
    ],
)
def test_no_complete_while_files_pending(counts):
    decisions = decide(cycle(_tr(counts=counts, group_size=1)), ACT)
    assert K.COMPLETE not in [d.kind for d in decisions]


def test_no_flush_or_complete_in_a_cycle_that_changes_files():
    trans = _tr(
        counts={"Unused": 1, "Processed": 10},
        tasks=[task(11, job(101), "/a")],
        file_facts=files(11, "/a"),
    )
    assert [d.kind for d in decide(cycle(trans), ACT)] == [K.RETRY]


def test_out_of_scope_transformation_is_ignored():
    stopped = transformation(status="Stopped", tasks=[task(11, job(101), "/a")], file_facts=files(11, "/a"))
    assert decide(cycle(stopped), ACT) == []
    merge_only = FailureAgentOptions(ReportOnly=False, TransformationTypes="Merge")
    other = transformation(type_="MCSimulation", tasks=[task(11, job(101), "/a")], file_facts=files(11, "/a"))
    assert decide(cycle(other), merge_only) == []


def test_completion_can_be_switched_off():
    options = FailureAgentOptions(CompleteTransformations=False)
    assert decide(cycle(_tr(counts={"Processed": 4})), options) == []


# ---------------------------------------------------------------------------------------------- production


def test_production_completed_when_all_transformations_completed():
    production = ProductionFacts(7, "Active", {1: "Completed", 2: "Completed", 3: "Archived"})
    [decision] = decide(cycle(productions=[production]), ACT)
    assert decision.kind is K.COMPLETE_PRODUCTION
    assert (decision.production_id, decision.new_status) == (7, "Completed")


@pytest.mark.parametrize(
    "production",
    [
        ProductionFacts(7, "Active", {1: "Completed", 2: "Active"}),
        ProductionFacts(7, "Active", {}),
        ProductionFacts(7, "Completed", {1: "Completed"}),
        ProductionFacts(7, "Stopped", {1: "Completed"}),
    ],
)
def test_production_not_completed(production):
    assert decide(cycle(productions=[production]), ACT) == []


def test_production_completion_can_be_switched_off():
    production = ProductionFacts(7, "Active", {1: "Completed"})
    assert decide(cycle(productions=[production]), FailureAgentOptions(CompleteProductions=False)) == []


# --------------------------------------------------------------------------------------------- idempotence


def _busy_cycle():
    """Failures of every kind at one site, a flushable and a completable transformation, a finished production."""
    failing = transformation(
        1,
        tasks=[
            task(11, job(101, STALLED, last_update=NOW - timedelta(hours=3)), "/a"),
            task(12, job(102, CPU, last_update=NOW - timedelta(hours=2)), "/b"),
            task(13, job(103, STALLED, last_update=NOW - timedelta(hours=1)), "/c"),
            task(14, job(104, APPLICATION, last_update=NOW - timedelta(minutes=30)), "/d"),
            task(15, job(105, status="Killed", last_update=NOW - timedelta(minutes=20)), "/e"),
        ],
        file_facts={
            **files(11, "/a"),
            **files(12, "/b"),
            **files(13, "/c"),
            **files(14, "/d", application=1),
            **files(15, "/e"),
        },
    )
    flushable = _tr(counts={"Unused": 2, "Processed": 8})
    completable = transformation(3, parents={2: "Completed"}, counts={"Processed": 8, "Problematic": 1})
    production = ProductionFacts(9, "Active", {4: "Completed", 5: "Completed"})
    return cycle(failing, flushable, completable, productions=[production])


def test_busy_cycle_decisions():
    decisions = decide(_busy_cycle(), ACT)
    assert [(d.kind, d.task_id or d.transformation_id or d.production_id) for d in decisions] == [
        (K.RETRY, 11),
        (K.RETRY, 12),
        (K.RETRY, 13),
        (K.AVOID_SITE, 13),
        (K.GIVE_UP, 14),
        (K.LEAVE, 15),
        (K.FLUSH, 2),
        (K.COMPLETE, 3),
        (K.COMPLETE_PRODUCTION, 9),
    ]
    assert len({d.key for d in decisions}) == len(decisions)


def test_deciding_twice_over_the_same_facts_gives_the_same_decisions():
    assert decide(_busy_cycle(), ACT) == decide(_busy_cycle(), ACT)


def test_deciding_again_after_recording_acts_never_twice():
    facts = _busy_cycle()
    first = decide(facts, ACT)
    keys = {d.key for d in first}
    # restart: the counters now include the recorded failures (nothing applied, as in report-only mode)
    again = recorded_state(facts, first)
    assert decide(again, ACT, recorded_keys=keys) == []
    assert filter_new(decide(again, ACT), keys) == []


def test_moved_counters_do_not_turn_a_recorded_retry_into_a_give_up():
    facts = cycle(transformation(tasks=[task(11, job(101, APPLICATION), "/a")], file_facts=files(11, "/a")))
    [retry] = decide(facts, ACT)
    assert retry.kind is K.RETRY
    again = recorded_state(facts, [retry])
    assert again.transformations[0].files["/a"].failures == {"application": 1}
    # without the recorded keys the same failure would now look over budget...
    [looks_like] = decide(again, ACT)
    assert looks_like.kind is K.GIVE_UP
    # ...but it has the same key as the recorded retry, so it is never acted upon
    assert looks_like.key == retry.key
    assert filter_new([looks_like], {retry.key}) == []
    assert decide(again, ACT, recorded_keys={retry.key}) == []


def test_a_new_failure_of_the_same_files_is_a_new_decision():
    facts = cycle(transformation(tasks=[task(11, job(101, APPLICATION), "/a")], file_facts=files(11, "/a")))
    [retry] = decide(facts, ACT)
    # applied: /a went back to Unused, a new task 12 took it, its job 201 failed the same way
    later = cycle(
        transformation(tasks=[task(12, job(201, APPLICATION), "/a")], file_facts=files(12, "/a", error_count=2)),
        now=NOW + timedelta(hours=3),
    )
    later = recorded_state(later, [retry])
    [give_up] = decide(later, ACT, recorded_keys={retry.key})
    assert give_up.kind is K.GIVE_UP
    assert give_up.key != retry.key


def test_rescheduled_job_failing_again_is_a_new_failure():
    first = job(101, STALLED, last_update=NOW - timedelta(hours=3))
    second = job(101, STALLED, last_update=NOW - timedelta(hours=1))
    [a] = decide(cycle(transformation(tasks=[task(11, first, "/a")], file_facts=files(11, "/a"))), ACT)
    [b] = decide(cycle(transformation(tasks=[task(11, second, "/a")], file_facts=files(11, "/a"))), ACT)
    assert a.key != b.key


def test_flush_key_follows_the_file_counts():
    [first] = decide(cycle(_tr(counts={"Unused": 2, "Processed": 8})), ACT)
    assert decide(cycle(_tr(counts={"Unused": 2, "Processed": 8})), ACT, recorded_keys={first.key}) == []
    # the TransformationAgent made a task of the last files and put it back to Active; later retries left 1 Unused
    [second] = decide(
        cycle(_tr(counts={"Unused": 1, "Processed": 9, "Problematic": 0})), ACT, recorded_keys={first.key}
    )
    assert second.kind is K.FLUSH
    assert second.key != first.key


def test_filter_new_drops_recorded_and_repeated_keys():
    decisions = decide(_busy_cycle(), ACT)
    doubled = decisions + decisions
    assert filter_new(doubled, set()) == decisions
    assert filter_new(doubled, {decisions[0].key}) == decisions[1:]


def test_count_failures_counts_outcomes_only():
    decisions = decide(_busy_cycle(), ACT)
    per_file, per_site = count_failures(decisions)
    assert per_file[(1, "/a")] == {"infrastructure": 1}
    assert per_file[(1, "/d")] == {"application": 1}
    assert (1, "/e") not in per_file  # killed and left: not a failure of the file
    assert per_site[(1, "LCG.Site-A.xx", "infrastructure")] == 4  # 3 retried + the killed one (left)
