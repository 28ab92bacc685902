"""The legacy CTADIRAC format, rule by rule (docs/production-yaml.md, "Legacy format").

The fixtures are files CTADIRAC 3.3.1 builds (unless a test says otherwise): a simulation gives version,
site, particle, pointing_dir, moon and n_shower; a processing step a version; ``Common`` MCCampaign and
configuration_id. tests/unit/legacy_oracle compares the rules with CTADIRAC's own builder on generated files.
"""

from __future__ import annotations

import pytest

from CTAODIRAC.Core.Production import ProductionSpecError, load_plan

from .conftest import EXAMPLES

SIM = """
  - ID: 1
    job_config:
      type: MCSimulation
      version: "2020"
      array_layout: Alpha
      site: Paranal
      particle: gamma
      pointing_dir: {pointing}
      zenith_angle: 20
      moon: [dark, half]
      n_shower: 100
"""
#: job_config of a simulation, in flow style: {type} and the keys it needs.
SIM_CONFIG = (
    "{{type: {type}, version: v1, site: Paranal, particle: gamma, pointing_dir: South, moon: {moon},"
    " n_shower: 10{more}}}"
)
#: input_meta_query of a first processing step: what its output metadata needs.
FIRST = "array_layout: Alpha, site: Paranal, pointing_dir: South, zenith_angle: 20"


def _sim(type_: str = "MCSimulation", moon: str = "dark", more: str = "") -> str:
    return "  - ID: 1\n    job_config: " + SIM_CONFIG.format(type=type_, moon=moon, more=more) + "\n"


def _plan(steps: str, common: str = "Common: {MCCampaign: Prod5b, configuration_id: 15, base_path: /x}\n", **kw):
    return load_plan(text="ProdSteps:\n" + steps + common, filename="legacy.yaml", **kw)


def _with_sim(child: str, pointing: str = "South"):
    return _plan(SIM.format(pointing=pointing) + child)


def _refused(steps: str) -> ProductionSpecError:
    with pytest.raises(ProductionSpecError) as info:
        _plan(steps)
    return info.value


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


def test_simulation_without_pointing_is_refused() -> None:
    # the old rule (phiP 0 without pointing_dir) was wrong: CTADIRAC's simulation cannot run without a pointing
    error = _refused(
        "  - ID: 1\n    job_config: {type: MCSimulation, version: v, site: Paranal, particle: gamma, moon: dark,"
        " n_shower: 10}\n"
    )
    assert error.key_path == "ProdSteps[0].job_config.pointing_dir"


@pytest.mark.parametrize(
    ("config", "outputs"),
    [
        (_sim(), ["*.simtel.zst"]),
        (_sim(more=", only_corsika: true"), ["*.corsika.zst"]),
        (_sim("SimPipe"), ["*.simtel.zst"]),
        (
            _sim() + "  - ID: 2\n    input_meta_query: {parentID: 1}\n"
            "    job_config: {type: CtapipeProcessing, version: v1}\n",
            [],
        ),
    ],
)
def test_legacy_simulation_jobs_collect_their_programs_files(config: str, outputs: list[str]) -> None:
    # the legacy format cannot list the files a simulation writes: the program's usual outputs are collected
    plan = _plan(config)
    assert plan.steps[-1].job.outputs == outputs


def test_zenith_angle_becomes_float_thetaP() -> None:
    plan = _with_sim(
        "  - ID: 2\n    input_meta_query: {parentID: 1, zenith_angle: 20}\n"
        "    job_config: {type: CtapipeProcessing, version: v1}\n"
    )
    assert plan.steps[1].input_query["thetaP"] == {"=": 20.0}
    assert isinstance(plan.steps[1].input_query["thetaP"]["="], float)


@pytest.mark.parametrize(("moon", "nsb"), [("dark", 1), ("half", 5)])
def test_moon_becomes_nsb(moon: str, nsb: int) -> None:
    plan = _with_sim(
        f"  - ID: 2\n    input_meta_query: {{parentID: 1, moon: {moon}}}\n"
        "    job_config: {type: CtapipeProcessing, version: v1}\n"
    )
    assert plan.steps[0].output_query["nsb"] == {"in": [1, 5]}
    assert plan.steps[1].input_query["nsb"] == {"=": nsb}
    assert plan.steps[1].output_query["nsb"] == {"=": nsb}  # file-level field copied to the output


@pytest.mark.parametrize(
    ("moon", "nsb"),
    [("dark", {"=": 1}), ("[dark, half, full]", {"in": [1, 5, 19]}), ('"dark, half"', {"in": [1, 5]})],
)
def test_simulation_moons_are_cumulative(moon: str, nsb: dict) -> None:
    # a comma-separated string is a list (CTADIRAC splits it)
    assert _plan(_sim(moon=moon)).steps[0].output_query["nsb"] == nsb


@pytest.mark.parametrize("moon", ["full", "half", "[dark, full]"])
def test_simulation_moons_not_simulated_are_refused(moon: str) -> None:
    # the old test expected moon: full alone to give nsb 19: sim_telarray simulates dark, then half, then full moon,
    # and CTADIRAC refuses any other setting
    error = _refused(_sim(moon=moon))
    assert error.key_path == "ProdSteps[0].job_config.moon"
    assert "moon settings" in str(error)


def test_full_moon_is_19() -> None:
    plan = _plan(_sim(moon="[dark, half, full]") + (
        "  - ID: 2\n    input_meta_query: {parentID: 1, moon: full}\n"
        "    job_config: {type: CtapipeProcessing, version: v1}\n"
    ))
    assert plan.steps[1].input_query["nsb"] == {"=": 19}


def test_sct_and_div_ang_become_strings() -> None:
    plan = _plan(
        f"  - ID: 1\n    input_meta_query: {{{FIRST}, sct: true, div_ang: 1.5, particle: gamma}}\n"
        "    job_config: {type: CtapipeProcessing, version: v1}\n"
    )
    query = plan.steps[0].input_query
    assert query["sct"] == {"=": "True"} and query["div_ang"] == {"=": "1.5"} and query["particle"] == {"=": "gamma"}
    assert plan.steps[0].output_query["sct"] == {"=": "True"}
    assert plan.steps[0].output_query["div_ang"] == {"=": "1.5"}


def test_simulation_sct_and_div_ang() -> None:
    # sct names the SCT option of sim_telarray: the output records "True" and the -sc build of the version
    plan = _plan(_sim(more=', sct: all, div_ang: "0.0121, 0.046"'))
    out = plan.steps[0].output_query
    assert out["sct"] == {"=": "True"} and out["tel_sim_prog_version"] == {"=": "v1-sc"}
    assert out["div_ang"] == {"in": ["0.0121", "0.046"]}
    for more, key in ((", sct: true", "sct"), (", div_ang: 0.01", "div_ang")):
        assert _refused(_sim(more=more)).key_path == f"ProdSteps[0].job_config.{key}"


def test_processing_output_defaults_and_known_keys_only() -> None:
    plan = _plan(
        f"  - ID: 1\n    input_meta_query: {{{FIRST}, particle: gamma, foo: bar, split: train}}\n"
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
    assert out["phiP"] == {"=": 0} and out["thetaP"] == {"=": 20.0} and out["array_layout"] == {"=": "Alpha"}


@pytest.mark.parametrize(
    ("refinement", "key"),
    [("moon: [dark, half]", "moon"), ("pointing_dir: [North, South]", "pointing_dir"),
     ("zenith_angle: [20, 40]", "zenith_angle"), ("sct: [True]", "sct")],
)
def test_input_refinements_are_one_value(refinement: str, key: str) -> None:
    # CTADIRAC crashes on a list (moon: unhashable, zenith_angle: float()) or drops it silently (pointing_dir)
    error = _refused(
        f"  - ID: 1\n    input_meta_query: {{{FIRST.replace(key + ':', 'x_' + key + ':')}, {refinement}}}\n"
        "    job_config: {type: EvnDispProcessing, version: v1}\n"
    )
    assert error.key_path == f"ProdSteps[0].input_meta_query.{key}" and "one value here" in str(error)


@pytest.mark.parametrize(
    ("sim_more", "query", "key"),
    [("", f"{FIRST}, moon: dark, div_ang: 0.0121", "input_meta_query.div_ang"),
     (', div_ang: "0.0121, 0.046"', "parentID: 1, moon: dark", "input_meta_query.parentID")],
)
def test_simtel_processing_refuses_div_ang(sim_more: str, query: str, key: str) -> None:
    # CTADIRAC's sim_telarray processing job registers its outputs by nsb alone and crashes on a div_ang
    error = _refused(
        _sim(more=sim_more) + f"  - ID: 2\n    input_meta_query: {{{query}}}\n"
        "    job_config: {type: SimTelProcessing, version: v1}\n"
    )
    assert error.key_path == f"ProdSteps[1].{key}" and "div_ang" in str(error)


def test_simtel_processing_runs_one_nsb() -> None:
    plan = _plan(_sim(moon="[dark, half]") + (
        "  - ID: 2\n    input_meta_query: {parentID: 1, moon: half}\n"
        "    job_config: {type: SimTelProcessing, version: v1}\n"
    ))
    assert plan.steps[1].output_query["nsb"] == {"=": 5} and plan.steps[1].output_query["data_level"] == {"=": -1}
    error = _refused(_sim(moon="[dark, half]") + (
        "  - ID: 2\n    input_meta_query: {parentID: 1}\n    job_config: {type: SimTelProcessing, version: v1}\n"
    ))
    assert error.key_path == "ProdSteps[1].job_config.moon"


def test_processing_output_needs_the_array_metadata() -> None:
    # CTADIRAC crashes (KeyError) when neither the input nor job_config gives them
    error = _refused(
        "  - ID: 1\n    input_meta_query: {particle: gamma}\n    job_config: {type: CtapipeProcessing, version: v1}\n"
    )
    assert error.key_path == "ProdSteps[0].input_meta_query" and "needs 'array_layout'" in str(error)


def test_training_outputs_model_and_no_split() -> None:
    plan = _plan(
        f"  - ID: 1\n    input_meta_query: {{{FIRST}, particle: gamma, split: train}}\n"
        "    job_config: {type: ctapipetrainenergy, version: v1}\n"
    )
    step = plan.steps[0]
    assert step.type == "Training" and step.kind == "ctapipe-train-energy"
    assert step.output_query["outputType"] == {"=": "Model"}
    assert step.output_query["analysis_prog"] == {"=": "ctapipe-train-energy-regressor"}
    assert "split" not in step.output_query


def test_data_level_names() -> None:
    plan = _plan(
        f"  - ID: 1\n    input_meta_query: {{{FIRST}, particle: gamma}}\n"
        "    job_config: {type: CtapipeProcessing, version: v1, data_level: DL1}\n"
    )
    assert plan.steps[0].output_query["data_level"] == {"=": 1}


def test_simulation_output() -> None:
    plan = _plan(
        "  - ID: 1\n    job_config: {type: mcsimulation, version: v, only_corsika: true, array_layout: A,"
        " site: Paranal, particle: gamma, zenith_angle: 40, pointing_dir: North, moon: dark, n_shower: 10}\n"
    )
    out = plan.steps[0].output_query
    assert plan.steps[0].input_query is None
    assert out["airshower_sim_prog"] == {"=": "corsika"} and "tel_sim_prog" not in out
    assert out["data_level"] == {"=": -1} and out["phiP"] == {"=": 180} and out["thetaP"] == {"=": 40.0}
    assert out["sct"] == {"=": "False"} and out["outputType"] == {"=": "Data"}
    assert out["MCCampaign"] == {"=": "Prod5b"} and out["configuration_id"] == {"=": 15}


def test_simulation_defaults() -> None:
    # CTADIRAC's MCPipeJob defaults: the Prod6 hyperarray at 20 degrees
    out = _plan(_sim()).steps[0].output_query
    assert out["array_layout"] == {"=": "Prod6-Hyperarray"} and out["thetaP"] == {"=": 20.0}


@pytest.mark.parametrize("key", ["version", "site", "particle", "pointing_dir", "moon", "n_shower"])
def test_simulation_needs(key: str) -> None:
    config = {"type": "MCSimulation", "version": "v1", "site": "Paranal", "particle": "gamma",
              "pointing_dir": "South", "moon": "dark", "n_shower": 10}
    del config[key]
    flow = ", ".join(f"{k}: {v}" for k, v in config.items())
    error = _refused(f"  - ID: 1\n    job_config: {{{flow}}}\n")
    assert error.key_path == f"ProdSteps[0].job_config.{key}" and f"needs '{key}'" in str(error)


@pytest.mark.parametrize(
    ("given", "wrong"),
    [("site: Paranal", "site: Tenerife"), ("particle: gamma", "particle: photon"),
     ("particle: gamma", "particle: [gamma, proton]"), ("pointing_dir: South", "pointing_dir: north")],
)
def test_simulation_closed_vocabularies(given: str, wrong: str) -> None:
    key = wrong.split(":")[0]
    assert _refused(_sim().replace(given, wrong)).key_path == f"ProdSteps[0].job_config.{key}"


def test_versions_yaml_reads_as_numbers_or_dates() -> None:
    plan = _plan(_sim().replace("version: v1", "version: 2020-06-28"))
    assert plan.steps[0].output_query["tel_sim_prog_version"] == {"=": "2020-06-28"}
    plan = _plan(_sim().replace("version: v1", "version: 2024"))
    assert plan.steps[0].output_query["tel_sim_prog_version"] == {"=": "2024"}
    error = _refused(_sim().replace("version: v1", "version: 0.10"))
    assert error.key_path == "ProdSteps[0].job_config.version" and "quotes" in str(error)


def test_common_campaign_and_configuration_are_required() -> None:
    with pytest.raises(ProductionSpecError) as info:
        _plan(_sim(), common="Common: {base_path: /x}\n")
    assert {issue.key_path for issue in info.value.issues} == {"Common.MCCampaign", "Common.configuration_id"}


def test_child_query_is_a_copy_not_an_alias() -> None:
    plan = _plan(
        _sim(more=", particle: gamma").replace("particle: gamma, pointing", "pointing")
        + "  - ID: 2\n    input_meta_query: {parentID: 1, moon: dark}\n"
        "    job_config: {type: CtapipeProcessing, version: v1}\n"
        "  - ID: 3\n    input_meta_query: {parentID: 1}\n    job_config: {type: CtapipeProcessing, version: v2}\n"
    )
    assert plan.steps[1].input_query["nsb"] == {"=": 1}
    assert plan.steps[0].output_query["nsb"] == {"=": 1}  # unchanged
    assert plan.steps[0].output_query == plan.steps[2].input_query  # the sibling sees the parent's own


def test_ids_need_not_be_1_to_n_nor_ordered() -> None:
    plan = _plan(
        "  - ID: 20\n    input_meta_query: {parentID: 7}\n    job_config: {type: Merging, version: v1}\n"
        f"  - ID: 7\n    input_meta_query: {{{FIRST}}}\n    job_config: {{type: CtapipeProcessing, version: v1}}\n"
    )
    assert [s.name for s in plan.steps] == ["CtapipeProcessing_7", "Merging_20"]
    assert plan.steps[1].parents == ["CtapipeProcessing_7"]


def test_job_keys_on_parent_linked_steps_do_not_crash_nor_leak() -> None:
    plan = _with_sim(
        "  - ID: 2\n    input_meta_query: {parentID: 1}\n"
        "    job_config: {type: CtapipeProcessing, version: v1, tag: gpu, cpu_time: 3600, group_size: 3,"
        " catalogs: [DIRACFileCatalog]}\n"
    )
    step = plan.steps[1]
    assert step.job.tags == ["gpu"] and step.job.cpu_time == 3600 and step.group_size == 3
    assert step.job.extra == {"catalogs": ["DIRACFileCatalog"]}
    assert not {"tag", "cpu_time", "catalogs"} & set(step.output_query)


def test_merging_without_group_size_and_merge_levels() -> None:
    plan = _plan(
        f"  - ID: 1\n    input_meta_query: {{{FIRST}}}\n    job_config: {{type: CtapipeProcessing, version: v1}}\n"
        "  - ID: 2\n    input_meta_query: {parentID: 1}\n    job_config: {type: Merging, version: v1}\n"
        "  - ID: 3\n    input_meta_query: {parentID: 2}\n    job_config: {type: Merging, version: v1, group_size: 4}\n"
    )
    assert plan.steps[1].group_size == 1
    assert plan.steps[1].output_query["merged"] == {"=": 1}
    assert plan.steps[2].input_query["merged"] == {"=": 1}
    assert plan.steps[2].output_query["merged"] == {"=": 2}


def test_dataset_seeds_the_input_query() -> None:
    steps = (
        "  - ID: 1\n    input_meta_query: {dataset: DS1, moon: dark}\n"
        "    job_config: {type: CtapipeProcessing, version: v1}\n"
    )
    offline = _plan(steps)
    assert offline.unresolved_datasets == ["DS1"] and offline.steps[0].input_query == {"nsb": {"=": 1}}
    stored = {"array_layout": "Alpha", "site": "Paranal", "particle": "gamma", "phiP": 0, "thetaP": 20.0}
    online = _plan(steps, dataset_resolver=lambda name: stored)
    assert online.steps[0].input_query == {**{k: {"=": v} for k, v in stored.items()}, "nsb": {"=": 1}}


def test_unknown_dataset_is_located() -> None:
    def resolver(name: str) -> dict:
        raise LookupError(f"dataset {name}: the catalog has no such dataset")

    with pytest.raises(ProductionSpecError) as info:
        _plan(
            "  - ID: 1\n    input_meta_query: {dataset: DS1}\n    job_config: {type: CtapipeProcessing, version: v1}\n",
            dataset_resolver=resolver,
        )
    assert info.value.key_path == "ProdSteps[0].input_meta_query.dataset" and "no such dataset" in str(info.value)


def test_parent_and_dataset_together_is_an_error() -> None:
    with pytest.raises(ProductionSpecError) as info:
        _with_sim(
            "  - ID: 2\n    input_meta_query: {parentID: 1, dataset: DS}\n"
            "    job_config: {type: CtapipeProcessing, version: v1}\n"
        )
    assert info.value.key_path == "ProdSteps[1].input_meta_query.dataset"
    assert "either parentID or dataset" in str(info.value)


def test_legacy_link_checked_by_dirac_rules() -> None:
    with pytest.raises(ProductionSpecError) as info:
        _with_sim(
            "  - ID: 2\n    input_meta_query: {parentID: 1, split: train}\n"
            "    job_config: {type: CtapipeProcessing, version: v1}\n"
        )
    assert "'split' is not in the parent's output query" in str(info.value)


def test_production_name_option(run_cli) -> None:
    result = run_cli(str(EXAMPLES / "legacy_ctapipe.yaml"), "--json", "--name", "Prod5b_South")
    assert result.code == 0
    assert '"name": "Prod5b_South"' in result.stdout
