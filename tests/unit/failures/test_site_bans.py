"""Site bans at task submission: the pure outcome, and the task-manager plugin with a stubbed ban source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from diraccfg import CFG

import CTAODIRAC.TransformationSystem as ts
from CTAODIRAC.Core.Failures.bans import BanOutcome, apply_site_bans, task_lfns

BANS = {"/a": {"LCG.Bad.de"}, "/b": {"LCG.Bad.de", "LCG.Worse.it"}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/a;/b", ["/a", "/b"]),
        (" /a ; ;/b;", ["/a", "/b"]),
        (["/a", "", "/b"], ["/a", "/b"]),
        ("", []),
        (None, []),
    ],
)
def test_task_lfns_reads_both_forms_of_input_data(value, expected):
    assert task_lfns(value) == expected


def test_no_ban_for_the_task_files_leaves_the_destination_alone():
    assert apply_site_bans({"CTAO.X.ch"}, ["/c"], BANS) == BanOutcome(destinations=frozenset({"CTAO.X.ch"}))
    assert apply_site_bans(set(), ["/c"], {}) == BanOutcome(destinations=frozenset())


def test_any_destination_gets_the_union_of_the_files_bans_as_banned_sites():
    outcome = apply_site_bans(set(), ["/a", "/b"], BANS)
    assert outcome.destinations == frozenset()  # still "any site"
    assert outcome.banned == ("LCG.Bad.de", "LCG.Worse.it")
    assert outcome.unsatisfiable == ()


def test_an_explicit_destination_loses_the_banned_sites():
    outcome = apply_site_bans({"LCG.Bad.de", "LCG.Good.fr"}, ["/a"], BANS)
    assert outcome.destinations == frozenset({"LCG.Good.fr"})
    assert outcome.banned == ("LCG.Bad.de",)


def test_bans_excluding_every_destination_are_dropped_and_said():
    outcome = apply_site_bans({"LCG.Bad.de"}, ["/a"], BANS)
    assert outcome.destinations == frozenset({"LCG.Bad.de"})
    assert outcome.banned == ()
    assert outcome.unsatisfiable == ("LCG.Bad.de",)


def test_bans_excluding_every_site_of_the_grid_are_dropped_for_any_destination():
    outcome = apply_site_bans(set(), ["/b"], BANS, all_sites={"LCG.Bad.de", "LCG.Worse.it"})
    assert (outcome.banned, outcome.unsatisfiable) == ((), ("LCG.Bad.de", "LCG.Worse.it"))
    outcome = apply_site_bans(set(), ["/b"], BANS, all_sites={"LCG.Bad.de", "LCG.Worse.it", "LCG.Good.fr"})
    assert (outcome.banned, outcome.unsatisfiable) == (("LCG.Bad.de", "LCG.Worse.it"), ())


def test_the_step_own_banned_sites_stay_beside_the_failure_bans():
    outcome = apply_site_bans(set(), ["/a"], BANS, all_sites={"LCG.Bad.de", "LCG.Good.fr", "LCG.Spare.uk"},
                              step_banned={"LCG.Spare.uk"})
    assert outcome.banned == ("LCG.Bad.de", "LCG.Spare.uk")
    assert outcome.unsatisfiable == ()


def test_the_step_own_banned_sites_count_when_checking_that_a_site_is_left():
    # the step bans the only other site: the failure ban would leave none, so it is dropped
    outcome = apply_site_bans(set(), ["/a"], BANS, all_sites={"LCG.Bad.de", "LCG.Good.fr"}, step_banned={"LCG.Good.fr"})
    assert (outcome.banned, outcome.unsatisfiable) == ((), ("LCG.Bad.de",))


def test_the_step_own_sites_narrow_what_is_left():
    # the step runs only at the banned site: nothing would be left
    outcome = apply_site_bans(set(), ["/a"], BANS, all_sites={"LCG.Bad.de", "LCG.Good.fr"}, step_sites={"LCG.Bad.de"})
    assert (outcome.banned, outcome.unsatisfiable) == ((), ("LCG.Bad.de",))
    # with the plugin's destination too: their intersection is what is left
    outcome = apply_site_bans({"LCG.Bad.de", "LCG.Good.fr"}, ["/a"], BANS, step_sites={"LCG.Bad.de"})
    assert outcome.unsatisfiable == ("LCG.Bad.de",)
    outcome = apply_site_bans({"LCG.Bad.de", "LCG.Good.fr"}, ["/a"], BANS, step_sites={"LCG.Bad.de", "LCG.Good.fr"})
    assert (outcome.destinations, outcome.banned) == (frozenset({"LCG.Good.fr"}), ("LCG.Bad.de",))


def test_a_destination_emptied_by_bans_moves_to_another_site_holding_the_data():
    # BySE chose the bad site (the SE the TransformationAgent picked); the file has a copy at the good one too
    asked = []

    def data_sites():
        asked.append(True)
        return {"LCG.Bad.de", "LCG.Good.fr"}

    outcome = apply_site_bans({"LCG.Bad.de"}, ["/a"], BANS, data_sites=data_sites)
    assert (outcome.destinations, outcome.banned, outcome.unsatisfiable) == (
        frozenset({"LCG.Good.fr"}), ("LCG.Bad.de",), ())
    # no copy elsewhere: nothing to move to, the bans are dropped as before
    outcome = apply_site_bans({"LCG.Bad.de"}, ["/a"], BANS, data_sites=lambda: {"LCG.Bad.de"})
    assert outcome.unsatisfiable == ("LCG.Bad.de",)
    # the step's own sites still bound where it may go
    outcome = apply_site_bans({"LCG.Bad.de"}, ["/a"], BANS, step_sites={"LCG.Bad.de", "LCG.Other.it"},
                              data_sites=lambda: {"LCG.Good.fr"})
    assert outcome.unsatisfiable == ("LCG.Bad.de",)
    # the replicas are looked up only when needed
    asked.clear()
    apply_site_bans({"LCG.Bad.de", "LCG.Good.fr"}, ["/a"], BANS, data_sites=data_sites)
    assert asked == []


# --- the plugin, DIRAC's TaskManagerPlugin underneath, the service stubbed ---------------------------------------


class _Ops:
    """Operations helper stand-in: DIRAC's plugins only read options through it."""

    def getValue(self, path: str, default: Any = None) -> Any:
        return default


class _Client:
    calls: list[int] = []

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def getSiteBans(self, transformation_id: int) -> dict[str, Any]:
        _Client.calls.append(transformation_id)
        return self.answer


class _Templates:
    """The job templates' banned sites (read from the transformation body by the real plugin)."""

    def __init__(self, sites: list[str] | None) -> None:
        self.value = sites

    def sites(self, transformation_id: int) -> list[str] | None:
        return self.value


def _plugin(answer: dict[str, Any], ttl: float = 60.0, sites: tuple[str, ...] = ("LCG.Bad.de", "LCG.Good.fr"),
            template_banned: list[str] | None = None):
    from CTAODIRAC.TransformationSystem.Client.TaskManagerPlugin import SiteBanCache, TaskManagerPlugin

    plugin = TaskManagerPlugin("BySE", operationsHelper=_Ops())
    plugin._all_sites = lambda: list(sites)  # the CS's Resources/Sites
    plugin.cache = SiteBanCache(ttl=ttl, client_factory=lambda: _Client(answer))
    plugin.templates = _Templates([] if template_banned is None else template_banned)
    return plugin


def _task(**extra: Any) -> dict[str, Any]:
    params = {"TransformationID": 7, "TaskID": 3, "TargetSE": "Unknown", "InputData": "/a;/c", "Site": ""}
    params.update(extra)
    return params


def test_plugin_writes_banned_sites_into_the_task_parameters():
    _Client.calls = []
    plugin = _plugin({"OK": True, "Value": {"/a": ["LCG.Bad.de"], "/z": ["LCG.Other.ch"]}})
    params = _task()
    plugin.setParameters(params)
    assert plugin.run() == set()  # BySE with no target SE: any site, as DIRAC's plugin says
    assert params["BannedSites"] == "LCG.Bad.de"
    # a second task of the same transformation reuses the bans read for the first
    other = _task(TaskID=4, InputData="/c")
    plugin.setParameters(other)
    assert plugin.run() == set()
    assert "BannedSites" not in other
    assert _Client.calls == [7]


def test_plugin_without_service_submits_without_bans():
    plugin = _plugin({"OK": False, "Message": "Cannot connect"})
    params = _task()
    plugin.setParameters(params)
    assert plugin.run() == set()
    assert "BannedSites" not in params


def test_plugin_drops_bans_that_leave_no_site():
    plugin = _plugin({"OK": True, "Value": {"/a": ["LCG.Bad.de"]}}, sites=("LCG.Bad.de",))
    params = _task()
    plugin.setParameters(params)
    assert plugin.run() == set()
    assert "BannedSites" not in params


def test_plugin_keeps_the_template_banned_sites_in_the_task_banned_sites():
    plugin = _plugin({"OK": True, "Value": {"/a": ["LCG.Bad.de"]}}, sites=("LCG.Bad.de", "LCG.Good.fr", "LCG.Far.jp"),
                     template_banned=["LCG.Far.jp"])
    params = _task()
    plugin.setParameters(params)
    assert plugin.run() == set()
    assert params["BannedSites"] == "LCG.Bad.de;LCG.Far.jp"


def test_plugin_applies_no_ban_when_the_template_cannot_be_read():
    plugin = _plugin({"OK": True, "Value": {"/a": ["LCG.Bad.de"]}})
    plugin.templates = _Templates(None)
    params = _task()
    plugin.setParameters(params)
    assert plugin.run() == set()
    assert "BannedSites" not in params


def test_plugin_drops_bans_against_the_template_destination():
    plugin = _plugin({"OK": True, "Value": {"/a": ["LCG.Bad.de"]}})
    params = _task(Site="LCG.Bad.de")
    plugin.setParameters(params)
    assert plugin.run() == set()
    assert "BannedSites" not in params


def test_plugin_leaves_tasks_without_input_data_alone():
    _Client.calls = []
    plugin = _plugin({"OK": True, "Value": {"/a": ["LCG.Bad.de"]}})
    params = _task(InputData="")
    plugin.setParameters(params)
    assert plugin.run() == set()
    assert _Client.calls == []


def test_plugin_keeps_dirac_unknown_plugin_error():
    from CTAODIRAC.TransformationSystem.Client.TaskManagerPlugin import TaskManagerPlugin

    plugin = TaskManagerPlugin("NoSuchPlugin", operationsHelper=_Ops())
    plugin.setParameters(_task())
    result = plugin.run()
    assert isinstance(result, dict) and not result["OK"]


def test_config_template_points_the_workflow_task_agent_at_the_plugin():
    section = CFG().loadFromFile(str(Path(ts.__file__).parent / "ConfigTemplate.cfg"))["Agents"]["WorkflowTaskAgent"]
    location = section.getOption("PluginLocation")
    module = __import__(location, fromlist=["TaskManagerPlugin"])
    assert module.TaskManagerPlugin.__name__ == "TaskManagerPlugin"


def test_config_template_points_the_transformation_agent_at_the_plugin():
    section = CFG().loadFromFile(str(Path(ts.__file__).parent / "ConfigTemplate.cfg"))["Agents"]["TransformationAgent"]
    module = __import__(section.getOption("PluginLocation"), fromlist=["TransformationPlugin"])
    from DIRAC.TransformationSystem.Agent.TransformationPlugin import TransformationPlugin

    assert issubclass(module.TransformationPlugin, TransformationPlugin)
