"""A step's input_limit: what counts against it, which files may still be handed out, the files set aside
beyond it by the policy, flush under a limit, and the limit in the job configuration of the body."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from CTAODIRAC.Core.Failures import DecisionKind, FailureAgentOptions, FileChange, decide
from CTAODIRAC.Core.Failures.decisions import beyond_limit_key
from CTAODIRAC.Core.Failures.inputlimit import (
    BEYOND_LIMIT_STATUS,
    files_taken,
    limit_reached,
    pick_within_limit,
    remaining_files,
)
from CTAODIRAC.Core.Failures.statuses import FILE_DONE_STATUSES, FileStatus, predict_file_status

from ._builders import STALLED, cycle, files, job, task, transformation

K = DecisionKind
ACT = FailureAgentOptions(ReportOnly=False)
EXAMPLES = Path(__file__).parents[3] / "examples"


# ------------------------------------------------------------------------------------------- counting


def test_handed_out_files_count_and_waiting_or_set_aside_ones_do_not():
    counts = {"Assigned": 1, "Processed": 2, "Problematic": 1, "MaxReset": 1, "Unused": 7, "Removed": 3,
              "MissingInFC": 1, "Deleted": 1, "Moved": 1, "ProbInFC": 1, "Unused-inherited": 2}  # fmt: skip
    assert files_taken(counts) == 5
    # a status this module does not know counts: never more files than the limit
    assert files_taken({"SomethingNew": 2}) == 2
    assert remaining_files(None, counts) is None and not limit_reached(None, counts)
    assert remaining_files(8, counts) == 3 and not limit_reached(8, counts)
    assert remaining_files(5, counts) == 0 and limit_reached(5, counts)
    assert remaining_files(2, counts) == 0  # a limit lowered below what was taken: nothing more


def test_files_already_tried_go_first_then_by_lfn():
    offered = [("/d", 0), ("/b", 0), ("/c", 2), ("/a", 0), ("/b", 0)]
    assert pick_within_limit(offered, 2) == ["/c", "/a"]
    assert pick_within_limit(offered, 10) == ["/c", "/a", "/b", "/d"]
    assert pick_within_limit(offered, 0) == []


def test_the_status_beyond_the_limit_is_final_and_reached_without_force():
    assert BEYOND_LIMIT_STATUS == FileStatus.REMOVED
    assert BEYOND_LIMIT_STATUS in FILE_DONE_STATUSES
    assert predict_file_status(FileStatus.UNUSED, BEYOND_LIMIT_STATUS, 0, 10) == BEYOND_LIMIT_STATUS
    assert predict_file_status(FileStatus.UNUSED, BEYOND_LIMIT_STATUS, 10, 10) == BEYOND_LIMIT_STATUS


def test_beyond_limit_status_is_one_of_dirac_s_file_statuses():
    tfs = pytest.importorskip("DIRAC.TransformationSystem.Client.TransformationFilesStatus")
    assert tfs.REMOVED == BEYOND_LIMIT_STATUS


# ---------------------------------------------------------------------------------------------- policy


def limited(limit=2, counts=None, unused=("/c", "/d"), **kwargs):
    trans = transformation(2, counts=counts or {"Processed": 1, "Assigned": 1, "Unused": len(unused)}, **kwargs)
    return replace(trans, input_limit=limit, unused_lfns=tuple(unused))


def test_unused_files_beyond_a_reached_limit_are_set_aside_with_the_reason():
    [decision] = decide(cycle(limited()), ACT)
    assert decision.kind is K.BEYOND_LIMIT
    assert decision.transformation_id == 2 and decision.production_id == 7
    assert decision.lfns == ("/c", "/d")
    assert decision.file_changes == (FileChange("/c", "Unused", "Removed"), FileChange("/d", "Unused", "Removed"))
    assert decision.reason == ("beyond input_limit: 2 files taken of the step's input_limit 2; 2 Unused file(s) not "
                               "wanted, set Removed")  # fmt: skip
    assert decision.key == beyond_limit_key(2, ["/d", "/c"])
    assert decision.failure_class is None and not decision.counts_task  # no failure, no budget


def test_nothing_is_set_aside_below_the_limit_or_without_one():
    assert decide(cycle(limited(limit=3)), ACT) == []
    assert decide(cycle(limited(limit=None)), ACT) == []


def test_set_aside_whatever_the_parents_and_in_report_only_mode_too():
    # parents still producing: the files beyond the limit are not wanted anyway
    [decision] = decide(cycle(limited(parents={1: "Active"})), FailureAgentOptions())
    assert decision.kind is K.BEYOND_LIMIT


def test_a_recorded_set_aside_is_not_decided_again_and_lets_the_transformation_move_on():
    trans = limited(parents={1: "Completed"}, group_size=5)
    [first] = decide(cycle(trans), ACT)
    # recorded in report-only mode and still Unused: not decided again; no flush either (nothing left to take)
    assert decide(cycle(trans), ACT, recorded_keys={first.key}) == []
    # files arriving later make a new decision
    [later] = decide(cycle(limited(unused=("/c", "/d", "/e"))), ACT, recorded_keys={first.key})
    assert later.kind is K.BEYOND_LIMIT and later.key != first.key


def test_no_flush_or_complete_in_the_cycle_that_sets_files_aside_then_complete():
    trans = limited(parents={1: "Completed"}, counts={"Processed": 2, "Unused": 2})
    assert [d.kind for d in decide(cycle(trans), ACT)] == [K.BEYOND_LIMIT]
    done = replace(trans, file_counts={"Processed": 2, "Removed": 2}, unused_lfns=())
    [decision] = decide(cycle(done), ACT)
    assert decision.kind is K.COMPLETE and "Removed=2" in decision.reason


def test_a_file_a_failure_decision_retries_is_not_set_aside():
    # the failed task's file was sent back to Unused by DIRAC's task monitoring: the retry owns it
    trans = replace(
        transformation(2, tasks=[task(11, job(101, STALLED), "/a")], file_facts=files(11, "/a", status="Unused"),
                       counts={"Processed": 2, "Unused": 2}),
        input_limit=2, unused_lfns=("/a", "/z"),
    )  # fmt: skip
    decisions = decide(cycle(trans), ACT)
    assert [d.kind for d in decisions] == [K.RETRY, K.BEYOND_LIMIT]
    assert decisions[1].lfns == ("/z",)


def test_flush_counts_only_the_files_the_limit_still_allows():
    # 7 Unused but only 1 more file allowed with group size 2: that group can never fill
    trans = replace(transformation(2, parents={1: "Completed"}, group_size=2, counts={"Processed": 4, "Unused": 7}),
                    input_limit=5)  # fmt: skip
    [decision] = decide(cycle(trans), ACT)
    assert decision.kind is K.FLUSH
    assert decision.reason.startswith("1 Unused file(s) to take (input_limit 5: 1 left), fewer than the group size 2")
    # without the limit the 7 files fill groups: no flush
    assert decide(cycle(replace(trans, input_limit=None)), ACT) == []


# -------------------------------------------------------------------------------- the body carries it


def test_the_limit_travels_in_the_job_configuration_of_the_body():
    from CTAODIRAC.Core.JobSide import StepConfig, config_in_body, decode_config, encode_config, step_config
    from CTAODIRAC.Core.Production.loader import load_plan

    plan = load_plan(EXAMPLES / "two_step.yaml")
    process = step_config(plan.step("process"), "/ctao/prod/p", "SE")
    merge = step_config(plan.step("merge"), "/ctao/prod/m", "SE")
    assert (process.input_limit, merge.input_limit) == (10, None)
    assert decode_config(encode_config(process)) == process
    assert config_in_body(f"<Parameter>dirac-ctao-run-step {encode_config(process)}</Parameter>") == process
    # a step without a limit is encoded without the key, as before it existed (older job-side commands read it)
    assert "input_limit" not in decode_config(encode_config(merge)).model_dump(exclude_unset=True)
    import base64

    assert b"input_limit" not in base64.urlsafe_b64decode(encode_config(merge))
    with pytest.raises(ValueError):
        StepConfig.model_validate({**process.model_dump(), "input_limit": 0})


# ------------------------------------------------------------------ the TransformationAgent plugin (adapter)


class _Counters:
    def __init__(self, counts):
        self.counts = counts
        self.calls = 0

    def getCounters(self, table, attributes, condition):  # noqa: N802 - DIRAC's name
        from DIRAC import S_OK

        self.calls += 1
        assert (table, attributes, condition) == ("TransformationFiles", ["Status"], {"TransformationID": 5})
        return S_OK([({"Status": status}, count) for status, count in self.counts.items()])


def _plugin_run(limit, counts, offered, group_size=2, tried=()):
    pytest.importorskip("DIRAC")
    from CTAODIRAC.Core.JobSide import StepConfig, encode_config
    from CTAODIRAC.TransformationSystem.Agent.TransformationPlugin import TransformationPlugin

    cfg = StepConfig(step="s", kind="executable", program="x", output_dir="/d", output_se="SE", input_limit=limit)
    params = {"TransformationID": 5, "Body": f"<x>dirac-ctao-run-step {encode_config(cfg)}</x>", "Status": "Active",
              "GroupSize": group_size}  # fmt: skip
    client = _Counters(counts)
    plugin = TransformationPlugin("Standard", transClient=client, dataManager=object(), fc=object())
    plugin.setParameters(params)
    data = {lfn: ["CTAO-Local-SE"] for lfn in offered}
    plugin.setInputData(data)
    plugin.setTransformationFiles([{"LFN": lfn, "ErrorCount": 1} for lfn in tried])
    result = plugin.run()
    assert result["OK"], result
    # the agent's own transformation dict and data are left as they were
    assert params["Status"] == "Active" and plugin.data == data and client.calls == 1
    return sorted(sorted(lfns) for _se, lfns in result["Value"])


def test_the_plugin_hands_out_only_what_the_limit_leaves_and_makes_the_last_small_group_at_once():
    offered = ["/f0", "/f1", "/f2", "/f3", "/f4"]
    # 1 taken of 4: 3 left, the last ones: a group of 2 and, at once, the group of 1 (as in Flush)
    assert _plugin_run(4, {"Processed": 1, "Unused": 5}, offered) == [["/f0", "/f1"], ["/f2"]]
    # a retried file goes first (how DIRAC's plugin groups the 3 is its business)
    groups = _plugin_run(4, {"Processed": 1, "Unused": 5}, offered, tried=["/f4"])
    assert sorted(lfn for group in groups for lfn in group) == ["/f0", "/f1", "/f4"] and len(groups) == 2
    # the limit reached: no task
    assert _plugin_run(2, {"Assigned": 1, "Problematic": 1, "Removed": 3}, ["/f3"]) == []
    # fewer files on offer than the limit leaves: DIRAC's plugin as usual (a group waits to fill)
    assert _plugin_run(10, {"Unused": 3}, ["/f0", "/f1", "/f2"]) == [["/f0", "/f1"]]
