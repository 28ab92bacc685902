"""The CWL twin of the local example campaign (``dirac-ctao-local campaign --cwl``): the same reduced plan."""

from __future__ import annotations

from CTAODIRAC.LocalDIRAC.campaign import load_campaign_plan, reduced_campaign
from CTAODIRAC.LocalDIRAC.cwl_campaign import reduced_cwl_plan

from .conftest import REPO


def test_the_reduced_cwl_campaign_plans_like_the_reduced_yaml_campaign():
    campaign = "Toyc0ffee"
    cwl = reduced_cwl_plan(REPO, campaign)
    yaml = load_campaign_plan(reduced_campaign((REPO / "examples" / "ctapipe_campaign.yaml").read_text(), campaign))
    assert [p.name for p in cwl.productions] == [p.name for p in yaml.productions]
    assert [s.json_dict() for s in cwl.steps] == [s.json_dict() for s in yaml.steps]
    assert {s.job.processors for s in cwl.steps} == {1}
    assert cwl.step("train-classifier").group_size == 2
    # every transformation's jobs run the workflow's tools, found by absolute path
    assert all(s.job.extra["cwl_step"]["document"]["class"] == "CommandLineTool" for s in cwl.steps)
