"""The agent's option model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from CTAODIRAC.Core.Failures import FailureAgentOptions, FailureClass, OptionsError


def test_defaults_are_safe():
    options = FailureAgentOptions()
    assert options.report_only is True
    assert options.retry_killed_jobs is False
    assert options.act_without_parents is False
    assert options.give_up_status == "Problematic"
    assert FailureClass.APPLICATION not in options.site_ban_classes


def test_every_option_is_documented_and_has_a_cs_name():
    docs = FailureAgentOptions.documentation()
    assert list(docs) == list(FailureAgentOptions.cs_names())
    for name, (doc, _default) in docs.items():
        assert name[0].isupper(), name
        assert len(doc) > 20, f"{name} has no docstring"


def test_from_cs_parses_cs_strings():
    options = FailureAgentOptions.from_cs(
        {
            "ReportOnly": "False",
            "TransformationStatuses": "Active, Flush",
            "TransformationTypes": "DataReprocessing,Merge",
            "MinJobAge": "600",
            "BudgetApplication": "0",
            "SiteBanClasses": "Infrastructure, output-upload",
            "GiveUpStatus": "MaxReset",
            # not ours: ignored
            "PollingTime": "120",
            "LogLevel": "DEBUG",
            "Rules": {"Mine": {"Class": "software", "MinorStatus": "x"}},
        }
    )
    assert options.report_only is False
    assert options.transformation_statuses == ("Active", "Flush")
    assert options.transformation_types == ("DataReprocessing", "Merge")
    assert options.min_job_age == 600
    assert options.budget(FailureClass.APPLICATION) == 0
    assert options.site_ban_classes == (FailureClass.INFRASTRUCTURE, FailureClass.OUTPUT_UPLOAD)
    assert options.give_up_status == "MaxReset"


def test_budget_per_class():
    options = FailureAgentOptions(BudgetSoftware=7, BudgetUnknown=0)
    assert options.budget(FailureClass.SOFTWARE) == 7
    assert options.budget(FailureClass.UNKNOWN) == 0
    assert options.budget(FailureClass.APPLICATION) == 1


def test_scope():
    options = FailureAgentOptions(TransformationTypes="Merge")
    assert options.in_scope("Active", "Merge")
    assert not options.in_scope("Active", "MCSimulation")
    assert not options.in_scope("Stopped", "Merge")
    assert FailureAgentOptions().in_scope("Flush", "AnyType")


@pytest.mark.parametrize(
    ("section", "option", "text"),
    [
        ({"BudgetSoftware": "three"}, "BudgetSoftware", "valid integer"),
        ({"BudgetSoftware": "-1"}, "BudgetSoftware", "greater than or equal to 0"),
        ({"ReportOnly": "perhaps"}, "ReportOnly", "valid boolean"),
        ({"GiveUpStatus": "Unused"}, "GiveUpStatus", "Problematic"),
        ({"SiteBanClasses": "infra"}, "SiteBanClasses", "infrastructure"),
        ({"TransformationStatuses": " , "}, "TransformationStatuses", "would look at nothing"),
    ],
)
def test_bad_options_are_named(section, option, text):
    with pytest.raises(OptionsError) as info:
        FailureAgentOptions.from_cs(section)
    assert info.value.options[0].startswith(option)
    assert text in str(info.value)


def test_model_is_frozen():
    options = FailureAgentOptions()
    with pytest.raises(ValidationError):
        options.report_only = False  # type: ignore[misc]
