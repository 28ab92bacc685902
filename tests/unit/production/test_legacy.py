"""The legacy CTADIRAC format, rule by rule (docs/production-yaml.md, "Legacy format")."""

from __future__ import annotations

import pytest

from CTAODIRAC.Core.Production import ProductionSpecError, load_plan

from .conftest import EXAMPLES

SIM = """
  - ID: 1
    job_config:
      type: MCSimulation
      version: "2020"
      site: Paranal
      particle: [gamma, proton]
      pointing_dir: {pointing}
      zenith_angle: 20
      moon: [dark, half]
"""


def _plan(steps: str, common: str = "Common: {MCCampaign: Prod5b, configuration_id: 15, base_path: /x}\n", **kw):
    return load_plan(text="ProdSteps:\n" + steps + common, filename="legacy.yaml", **kw)


def _with_sim(child: str, pointing: str = "South"):
    return _plan(SIM.format(pointing=pointing) + child)


def test_example_reads_unchanged() -> None:
    plan = load_plan(EXAMPLES / "legacy_ctapipe.yaml")
    assert plan.format == "legacy"
    assert [p.name for p in plan.productions] == ["legacy_ctapipe"]
    assert [(s.name, s.type) for s in plan.steps] == [
        ("SimulationProton", "MCSimulation"),
        ("ProcessingProton", "DataReprocessing"),
        ("Merging_3", "Merging"),
        ("Merging_4", "Merging"),
    ]


@pytest.mark.parametrize(("pointing", "phi"), [("North", 180), ("South", 0)])
def test_pointing_dir_becomes_phiP(pointing: str, phi: int) -> None:
    plan = _with_sim(
        f"  - ID: 2\n    input_meta_query: {{parentID: 1, pointing_dir: {pointing}}}\n"
        "    job_config: {type: CtapipeProcessing, version: v1}\n",
        pointing,
    )
    assert plan.steps[0].output_query["phiP"] == {"=": phi}
    assert plan.steps[1].input_query["phiP"] == {"=": phi}
    assert plan.steps[1].output_query["phiP"] == {"=": phi}


def test_simulation_without_pointing_is_phiP_0() -> None:
    plan = _plan("  - ID: 1\n    job_config: {type: MCSimulation, version: v, particle: gamma}\n")
    assert plan.steps[0].output_query["phiP"] == {"=": 0}


@pytest.mark.parametrize(
    ("config", "outputs"),
    [("{type: MCSimulation}", ["*.simtel.zst"]), ("{type: MCSimulation, only_corsika: true}", ["*.corsika.zst"]),
     ("{type: SimPipe}", ["*.simtel.zst"]), ("{type: CtapipeProcessing}", [])],
)
def test_legacy_simulation_jobs_collect_their_programs_files(config: str, outputs: list[str]) -> None:
    # the legacy format cannot list the files a simulation writes: the program's usual outputs are collected
    child = f"  - ID: 2\n    input_meta_query: {{parentID: 1}}\n    job_config: {config}\n"
    plan = _plan(f"  - ID: 1\n    job_config: {config}\n" if "Ctapipe" not in config else
                 "  - ID: 1\n    job_config: {type: MCSimulation}\n" + child)
    assert plan.steps[-1].job.outputs == outputs


def test_zenith_angle_becomes_float_thetaP() -> None:
    plan = _with_sim(
        "  - ID: 2\n    input_meta_query: {parentID: 1, zenith_angle: 20}\n    job_config: {type: CtapipeProcessing}\n"
    )
    assert plan.steps[1].input_query["thetaP"] == {"=": 20.0}
    assert isinstance(plan.steps[1].input_query["thetaP"]["="], float)


@pytest.mark.parametrize(("moon", "nsb"), [("dark", 1), ("half", 5)])
def test_moon_becomes_nsb(moon: str, nsb: int) -> None:
    plan = _with_sim(
        f"  - ID: 2\n    input_meta_query: {{parentID: 1, moon: {moon}}}\n    job_config: {{type: CtapipeProcessing}}\n"
    )
    assert plan.steps[0].output_query["nsb"] == {"in": [1, 5]}
    assert plan.steps[1].input_query["nsb"] == {"=": nsb}
    assert plan.steps[1].output_query["nsb"] == {"=": nsb}  # file-level field copied to the output


def test_full_moon_is_19() -> None:
    plan = _plan("  - ID: 1\n    job_config: {type: MCSimulation, moon: full}\n")
    assert plan.steps[0].output_query["nsb"] == {"=": 19}


def test_sct_and_div_ang_become_strings() -> None:
    plan = _plan(
        "  - ID: 1\n    input_meta_query: {sct: true, div_ang: 1.5, particle: gamma}\n"
        "    job_config: {type: CtapipeProcessing}\n"
    )
    query = plan.steps[0].input_query
    assert query["sct"] == {"=": "True"} and query["div_ang"] == {"=": "1.5"} and query["particle"] == {"=": "gamma"}
    assert plan.steps[0].output_query["sct"] == {"=": "True"}
    assert plan.steps[0].output_query["div_ang"] == {"=": "1.5"}


def test_processing_output_defaults_and_known_keys_only() -> None:
    plan = _plan(
        "  - ID: 1\n    input_meta_query: {particle: gamma, foo: bar, split: train}\n"
        "    job_config: {type: CtapipeProcessing, version: v0.19.2}\n"
    )
    out = plan.steps[0].output_query
    assert "foo" not in out
    assert out["sct"] == {"=": "False"}
    assert out["analysis_prog"] == {"=": "ctapipe-process"}
    assert out["analysis_prog_version"] == {"=": "v0.19.2"}
    assert out["outputType"] == {"=": "Data"}
    assert out["MCCampaign"] == {"=": "Prod5b"} and out["configuration_id"] == {"=": 15}
    assert out["split"] == {"=": "train"}  # split kept for CtapipeProcessing
    assert out["data_level"] == {"=": 2}


def test_training_outputs_model_and_no_split() -> None:
    plan = _plan(
        "  - ID: 1\n    input_meta_query: {particle: gamma, split: train}\n"
        "    job_config: {type: ctapipetrainenergy, version: v1}\n"
    )
    step = plan.steps[0]
    assert step.type == "Training" and step.kind == "ctapipe-train-energy"
    assert step.output_query["outputType"] == {"=": "Model"}
    assert step.output_query["analysis_prog"] == {"=": "ctapipe-train-energy-regressor"}
    assert "split" not in step.output_query


def test_data_level_names() -> None:
    plan = _plan(
        "  - ID: 1\n    input_meta_query: {particle: gamma}\n"
        "    job_config: {type: CtapipeProcessing, data_level: DL1}\n"
    )
    assert plan.steps[0].output_query["data_level"] == {"=": 1}


def test_simulation_output() -> None:
    plan = _plan(
        "  - ID: 1\n    job_config: {type: mcsimulation, version: v, only_corsika: true, array_layout: A,"
        " site: Paranal, particle: gamma, zenith_angle: 40, pointing_dir: North}\n"
    )
    out = plan.steps[0].output_query
    assert plan.steps[0].input_query is None
    assert out["airshower_sim_prog"] == {"=": "corsika"} and "tel_sim_prog" not in out
    assert out["data_level"] == {"=": -1} and out["phiP"] == {"=": 180} and out["thetaP"] == {"=": 40.0}
    assert out["sct"] == {"=": "False"} and out["outputType"] == {"=": "Data"}


def test_child_query_is_a_copy_not_an_alias() -> None:
    plan = _with_sim(
        "  - ID: 2\n    input_meta_query: {parentID: 1, particle: gamma}\n    job_config: {type: CtapipeProcessing}\n"
    )
    assert plan.steps[1].input_query["particle"] == {"=": "gamma"}
    assert plan.steps[0].output_query["particle"] == {"in": ["gamma", "proton"]}  # unchanged


def test_ids_need_not_be_1_to_n_nor_ordered() -> None:
    plan = _plan(
        "  - ID: 20\n    input_meta_query: {parentID: 7}\n    job_config: {type: Merging}\n"
        "  - ID: 7\n    input_meta_query: {particle: gamma}\n    job_config: {type: CtapipeProcessing}\n"
    )
    assert [s.name for s in plan.steps] == ["CtapipeProcessing_7", "Merging_20"]
    assert plan.steps[1].parents == ["CtapipeProcessing_7"]


def test_job_keys_on_parent_linked_steps_do_not_crash_nor_leak() -> None:
    plan = _with_sim(
        "  - ID: 2\n    input_meta_query: {parentID: 1}\n"
        "    job_config: {type: CtapipeProcessing, tag: gpu, cpu_time: 3600, group_size: 3,"
        " catalogs: [DIRACFileCatalog]}\n"
    )
    step = plan.steps[1]
    assert step.job.tags == ["gpu"] and step.job.cpu_time == 3600 and step.group_size == 3
    assert step.job.extra == {"catalogs": ["DIRACFileCatalog"]}
    assert not {"tag", "cpu_time", "catalogs"} & set(step.output_query)


def test_merging_without_group_size_and_merge_levels() -> None:
    plan = _plan(
        "  - ID: 1\n    input_meta_query: {particle: gamma}\n    job_config: {type: CtapipeProcessing}\n"
        "  - ID: 2\n    input_meta_query: {parentID: 1}\n    job_config: {type: Merging}\n"
        "  - ID: 3\n    input_meta_query: {parentID: 2}\n    job_config: {type: Merging, group_size: 4}\n"
    )
    assert plan.steps[1].group_size == 1
    assert plan.steps[1].output_query["merged"] == {"=": 1}
    assert plan.steps[2].input_query["merged"] == {"=": 1}
    assert plan.steps[2].output_query["merged"] == {"=": 2}


def test_dataset_seeds_the_input_query() -> None:
    steps = "  - ID: 1\n    input_meta_query: {dataset: DS1, moon: dark}\n    job_config: {type: CtapipeProcessing}\n"
    offline = _plan(steps)
    assert offline.unresolved_datasets == ["DS1"] and offline.steps[0].input_query == {"nsb": {"=": 1}}
    online = _plan(steps, dataset_resolver=lambda name: {"particle": "gamma", "phiP": 0})
    assert online.steps[0].input_query == {"particle": {"=": "gamma"}, "phiP": {"=": 0}, "nsb": {"=": 1}}


def test_parent_and_dataset_together_is_an_error() -> None:
    with pytest.raises(ProductionSpecError) as info:
        _with_sim(
            "  - ID: 2\n    input_meta_query: {parentID: 1, dataset: DS}\n    job_config: {type: CtapipeProcessing}\n"
        )
    assert info.value.key_path == "ProdSteps[1].input_meta_query.dataset"
    assert "either parentID or dataset" in str(info.value)


def test_legacy_link_checked_by_dirac_rules() -> None:
    with pytest.raises(ProductionSpecError) as info:
        _with_sim(
            "  - ID: 2\n    input_meta_query: {parentID: 1, split: train}\n    job_config: {type: CtapipeProcessing}\n"
        )
    assert "'split' is not in the parent's output query" in str(info.value)


def test_production_name_option(run_cli) -> None:
    result = run_cli(str(EXAMPLES / "legacy_ctapipe.yaml"), "--json", "--name", "Prod5b_South")
    assert result.code == 0
    assert '"name": "Prod5b_South"' in result.stdout
