"""The CTAO ctapipe campaign of issue 3: 29 transformations in 5 productions, with the right links."""

from __future__ import annotations

import pytest

from CTAODIRAC.Core.Production import load_plan
from CTAODIRAC.Core.Production.adapter import dirac_productions
from CTAODIRAC.Core.Production.metaquery import check_link

from .conftest import EXAMPLES

SAMPLES = [
    "gamma-diffuse-energy",
    "gamma-diffuse-classifier",
    "gamma-diffuse-performance",
    "proton-classifier",
    "proton-performance",
    "gamma-performance",
    "electron-performance",
]
PERFORMANCE = [s for s in SAMPLES if s.endswith("performance")]


@pytest.fixture(scope="module")
def plan():
    return load_plan(EXAMPLES / "ctapipe_campaign.yaml")


def test_29_steps_in_5_productions(plan) -> None:
    assert [(p.name, len(p.steps)) for p in plan.productions] == [
        ("dl0-to-dl2", 14),
        ("final-merge", 7),
        ("energy", 3),
        ("classifier", 1),
        ("dl2-performance", 4),
    ]
    assert len(plan.steps) == 29
    assert len({step.name for step in plan.steps}) == 29


def test_types(plan) -> None:
    types = [step.type for step in plan.steps]
    assert types.count("DataReprocessing") == 7
    assert types.count("Merging") == 14
    assert types.count("Training") == 2
    assert types.count("ApplyModel") == 6


def test_parents(plan) -> None:
    for sample in SAMPLES:
        assert plan.step(f"process-{sample}").parents == []
        assert plan.step(f"process-{sample}").input == "dl0"
        assert plan.step(f"merge1-{sample}").parents == [f"process-{sample}"]
        assert plan.step(f"merge2-{sample}").parents == [f"merge1-{sample}"]
    assert plan.step("train-energy").parents == ["merge2-gamma-diffuse-energy"]
    for sample in ("gamma-diffuse-classifier", "proton-classifier"):
        step = plan.step(f"apply-energy-{sample}")
        assert step.parents == [f"merge2-{sample}", "train-energy"]
        assert step.data_parents == [f"merge2-{sample}"] and step.model_parents == ["train-energy"]
    assert plan.step("train-classifier").parents == [
        "apply-energy-gamma-diffuse-classifier",
        "apply-energy-proton-classifier",
    ]
    for sample in PERFORMANCE:
        assert plan.step(f"apply-models-{sample}").parents == [
            f"merge2-{sample}",
            "train-energy",
            "train-classifier",
        ]


def test_productions_depend_on_the_productions_of_their_parents(plan) -> None:
    after = {p.name: p.after for p in plan.productions}
    assert after == {
        "dl0-to-dl2": [],
        "final-merge": ["dl0-to-dl2"],
        "energy": ["final-merge"],
        "classifier": ["energy"],
        "dl2-performance": ["final-merge", "energy", "classifier"],
    }


def test_first_level_queries_select_each_sample(plan) -> None:
    query = plan.step("process-proton-classifier").input_query
    assert query["particle"] == {"=": "proton"}
    assert query["split"] == {"=": "classifier-training"}
    assert query["data_level"] == {"=": 0}  # zero kept
    assert query["phiP"] == {"=": 180}


def test_merge_levels(plan) -> None:
    assert plan.step("process-gamma-performance").output_query["merged"] == {"=": 0}
    assert plan.step("merge1-gamma-performance").input_query["merged"] == {"=": 0}
    assert plan.step("merge1-gamma-performance").output_query["merged"] == {"=": 1}
    assert plan.step("merge2-gamma-performance").input_query["merged"] == {"=": 1}
    assert plan.step("merge2-gamma-performance").output_query["merged"] == {"=": 2}


def test_classifier_trains_on_both_particles(plan) -> None:
    step = plan.step("train-classifier")
    assert step.input_query["particle"] == {"in": ["gamma-diffuse", "proton"]}
    assert step.input_query["analysis_prog"] == {"=": "ctapipe-apply-models"}
    assert step.output_query["outputType"] == {"=": "Model"}


def test_apply_models_jobs_know_their_model_queries(plan) -> None:
    job = plan.step("apply-models-electron-performance").job
    assert set(job.models) == {"train-energy", "train-classifier"}
    assert job.models["train-energy"]["analysis_prog"] == {"=": "ctapipe-train-energy-regressor"}
    assert job.models["train-classifier"]["outputType"] == {"=": "Model"}


def test_every_data_link_passes_dirac_rules(plan) -> None:
    for step in plan.steps:
        for parent in step.data_parents:
            assert check_link(step.input_query, plan.step(parent).output_query) == [], (step.name, parent)


def test_no_two_first_level_inputs_overlap(plan) -> None:
    # each DL0 file goes to exactly one ctapipe-process transformation
    keys = {(s.input_query["particle"]["="], s.input_query["split"]["="]) for s in plan.steps if s.input == "dl0"}
    assert len(keys) == 7


def test_adapter_links_only_data_parents_within_a_production(plan) -> None:
    productions = {p.name: p for p in dirac_productions(plan)}
    steps = {s.Name: s for p in productions.values() for s in p.steps}
    assert steps["merge1-proton-performance"].ParentStep == ["process-proton-performance"]
    assert steps["merge2-proton-performance"].ParentStep == []  # parent in another production
    assert steps["apply-energy-proton-classifier"].ParentStep == []  # the model link is not a DIRAC link
    assert productions["dl2-performance"].depends_on == ["final-merge", "energy", "classifier"]
    assert steps["process-proton-performance"].Inputquery["data_level"] == {"=": 0}
    assert plan.step("train-energy").job.processors == 8  # in the jobs' body
    assert all(step.AgentType == "Automatic" for step in steps.values())
