"""Hypothesis strategies for legacy CTADIRAC production files, written as YAML text.

The value space is the one CTADIRAC 3.3.1's job-config handling accepts (``WorkflowElement``, the Job classes,
``production_utils``): every step type in any letter case; parents, datasets, both, neither; IDs 1..N in any
order, with gaps or duplicates; lists written as YAML lists or as comma-separated strings (``moon``,
``div_ang``); versions that YAML types as a date, an int or a float; numbers as strings; optional keys absent;
values outside the closed vocabularies (particle, site, pointing, moon). Values are written as YAML scalar text,
so what YAML makes of them is part of the corpus.
"""

from __future__ import annotations

from hypothesis import strategies as st

#: The datasets the catalog stand-in knows (both builders read the same); ``DS_missing`` is unknown.
DATASETS = {
    "DS_gamma_south": {
        "array_layout": "Alpha", "site": "Paranal", "particle": "gamma", "phiP": 0, "thetaP": 20.0,
        "data_level": {"=": 1}, "MCCampaign": "Prod6", "configuration_id": 15, "sct": "False",
        "outputType": "Data",
    },
    "DS_proton_north": {
        "array_layout": "Alpha", "site": "LaPalma", "particle": {"in": ["proton", "electron"]}, "phiP": 180,
        "thetaP": 40.0, "data_level": 1, "nsb": {"in": [1, 5]},
    },
    "DS_partial": {"particle": "gamma", "site": "Paranal"},
}

SIM_TYPES = ["MCSimulation", "mcsimulation", "McSimulation"]
PROCESSING_TYPES = [
    "CtapipeProcessing", "ctapipeprocessing", "SimTelProcessing", "EvnDispProcessing", "Merging", "merging",
    "CtapipeTrainEnergy", "CtapipeTrainClassifier", "CtapipeApplyModels", "ctapipeapplymodels",
]
PARTICLES = ["gamma", "gamma-diffuse", "electron", "proton", "helium", "muon"]

#: key -> (values CTADIRAC builds with, values it refuses, crashes on or misreads), as YAML scalar text.
SIMULATION_KEYS = {
    "version": (["v0.19.2", '"v0.19.2"', "2020-06-28_baseline", "2020-06-28", "2024"], ["0.19", "0.10"]),
    "array_layout": (["Alpha", "Advanced-Baseline", "Prod6-Hyperarray"], ["2024"]),
    "site": (["Paranal", "LaPalma"], ["Tenerife", "paranal"]),
    "particle": (PARTICLES, ["photon", "Gamma"]),
    "pointing_dir": (["North", "South"], ["north", "East", "West"]),
    "zenith_angle": (["20", "20.0", '"20"', "40", "52.0"], ["high"]),
    "moon": (["dark", "[dark]", "[dark, half]", '"dark, half"', "[dark, half, full]", '"dark,half,full"'],
             ["half", "[half]", "[dark, full]", "new"]),
    "div_ang": (['"0.0121, 0.046"', '"0.0022, 0.0043, 0.008, 0.01135, 0.01453"'], ["0.01"]),
    "only_corsika": (["true", "false"], []),
    "sct": (["all", "non-alpha"], ["true", "other"]),
    "n_shower": (["100", "50"], []),
    "cpu_time": (["86400", "3600"], []),
    "tag": (["ctapipe", "[gpu, big]"], []),
    "data_level": (["-1", "R1"], ["DL0"]),
}
#: how often a simulation key is given in a clean file
SIMULATION_USUAL = {"version": 0.95, "site": 1, "particle": 1, "pointing_dir": 1, "n_shower": 1, "zenith_angle": 0.9,
                    "moon": 0.8, "array_layout": 0.8}
PROCESSING_KEYS = {
    "version": (["v0.19.2", '"v0.19.2"', "2024", "2020-06-28"], ["0.19"]),
    "data_level": (["2", "1", "0", "-1"], ["DL2", "DL1"]),
    "output_extension": (["DL2.h5", "merged.DL2.h5"], []),
    "group_size": (["1", "5", "10"], ["-1"]),
    "cpu_time": (["3600"], []),
    "tag": (["ctapipe"], []),
    "options": (['"--config x.yml"'], []),
    "moon": (["dark", "half", "full"], ["new"]),
    "split": (["train", "test"], []),
    "view_cone": (["10", "0"], []),
    "catalogs": (["DIRACFileCatalog"], []),
    "input_sandbox": ([], ["config.yml"]),
}
PROCESSING_USUAL = {"version": 0.95, "data_level": 0.9, "output_extension": 1, "group_size": 0.8}
REFINEMENTS = {
    "pointing_dir": (["North", "South"], ["north", "East"]),
    "zenith_angle": (["20", "20.0", '"20"', "40"], []),
    "moon": (["dark", "half", "full"], ["new", "[dark, half]"]),
    "particle": (PARTICLES, ["photon"]),
    "site": (["Paranal", "LaPalma"], ["Tenerife"]),
    "sct": (["True", "False"], []),
    "split": (["train", "test"], []),
    "data_level": (["1", "2", "-1"], []),
    "merged": (["0", "1"], []),
    "div_ang": (["0.0121"], []),
}


@st.composite
def _value(draw, pools: tuple[list[str], list[str]], clean: bool) -> str:
    good, bad = pools
    if clean or not bad or (good and draw(st.floats(0, 1)) < 0.7):
        return draw(st.sampled_from(good))
    return draw(st.sampled_from(bad))


@st.composite
def _settings(draw, keys: dict, usual: dict, clean: bool, rare: float) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, pools in keys.items():
        if not pools[0] and clean:
            continue
        p = usual.get(key, rare)
        if not clean and key in usual:
            p = min(p, 0.85)
        if draw(st.floats(0, 1)) < p:
            out[key] = draw(_value(pools, clean))
    return out


@st.composite
def simulation_step(draw, step_id: int, clean: bool) -> dict:
    config = {"type": draw(st.sampled_from(SIM_TYPES))}
    config.update(draw(_settings(SIMULATION_KEYS, SIMULATION_USUAL, clean, 0.25)))
    return {"ID": step_id, "name": draw(st.sampled_from([None, None, f"Sim_{step_id}"])), "query": {}, "config": config}


@st.composite
def processing_step(draw, step_id: int, earlier: list[int], clean: bool) -> dict:
    config = {"type": draw(st.sampled_from(PROCESSING_TYPES))}
    sources = ["parent"] * 6 + ["dataset"] * 2 + ["metadata"] if earlier else ["dataset"] * 3 + ["metadata"]
    if not clean:
        sources += ["both", "later-parent"] if earlier else []
    source = draw(st.sampled_from(sources))
    query: dict[str, str] = {}
    if source in ("parent", "both"):
        query["parentID"] = str(draw(st.sampled_from(earlier)))
    if source == "later-parent":
        query["parentID"] = str(step_id + 1)
    if source in ("dataset", "both"):
        query["dataset"] = draw(st.sampled_from(list(DATASETS) + ([] if clean else ["DS_missing"])))
    if source == "metadata":
        query.update(
            array_layout=draw(st.sampled_from(["Alpha", "Prod6-Hyperarray"])),
            site=draw(st.sampled_from(["Paranal", "LaPalma"])),
            pointing_dir=draw(st.sampled_from(["North", "South"])),
            zenith_angle=draw(st.sampled_from(["20", "40"])),
        )
    query.update(draw(_settings(REFINEMENTS, {}, clean, 0.12)))
    config.update(draw(_settings(PROCESSING_KEYS, PROCESSING_USUAL, clean, 0.15)))
    name = draw(st.sampled_from([None, None, None, f"Step_{step_id}"] + ([] if clean else ["bad name"])))
    return {"ID": step_id, "name": name, "query": query, "config": config}


@st.composite
def legacy_file(draw) -> tuple[str, dict]:
    """A legacy file as YAML text, and what the generator chose (``ids`` in file order, ``clean``)."""
    clean = draw(st.floats(0, 1)) < 0.6
    n = draw(st.integers(1, 4))
    ids = list(range(1, n + 1))
    variant = "plain" if clean else draw(st.sampled_from(["plain"] * 6 + ["gap", "duplicate"]))
    if variant == "gap":
        ids = [i if i == 1 else i + 2 for i in ids]
    if variant == "duplicate" and n > 1:
        ids[-1] = ids[-2]
    steps = []
    first_simulation = draw(st.floats(0, 1)) < 0.75
    for position, step_id in enumerate(ids):
        if position == 0 and first_simulation:
            steps.append(draw(simulation_step(step_id, clean)))
        else:
            steps.append(draw(processing_step(step_id, ids[:position], clean)))
    if draw(st.booleans()):
        steps = draw(st.permutations(steps))
    common: dict[str, str | None] = {
        "MCCampaign": draw(st.sampled_from(["Prod5bTest", "Prod6"] + ([] if clean else ["2024", None]))),
        "configuration_id": draw(st.sampled_from(["15", "1"] + ([] if clean else ['"15"', None]))),
        "base_path": "/ctao/tests/prodsys/MC",
    }
    if not clean and draw(st.floats(0, 1)) < 0.05:
        del common["base_path"]
    return _text(steps, common), {"ids": [step["ID"] for step in steps], "variant": variant, "clean": clean}


def _text(steps: list[dict], common: dict) -> str:
    lines = ["ProdSteps:"]
    for step in steps:
        lines.append(f"  - ID: {step['ID']}")
        if step["name"]:
            lines.append(f"    name: {step['name']}")
        if step["query"]:
            lines.append("    input_meta_query:")
            lines += [f"      {key}: {value}" for key, value in step["query"].items()]
        else:
            lines.append("    input_meta_query: {}")
        lines.append("    job_config:")
        lines += [f"      {key}: {value}" for key, value in step["config"].items()]
    lines.append("Common:")
    lines += [f"  {key}: {'null' if value is None else value}" for key, value in common.items()]
    return "\n".join(lines) + "\n"
