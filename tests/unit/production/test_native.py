"""Native format features: defaults, matrix expansion, datasets, options of every kind."""

from __future__ import annotations

from CTAODIRAC.Core.Production import load_plan
from CTAODIRAC.Core.Production.adapter import dirac_productions

from .conftest import EXAMPLES

HEADER = """
format: 1
inputs:
  dl0:
    query: {site: Paranal, phiP: 0, data_level: 0}
  ds:
    dataset: Prod6_South_proton
defaults:
  version: v1
"""


def _plan(text: str):
    return load_plan(text=HEADER + text, filename="test.yaml")


def test_two_step_example_keeps_south_pointing() -> None:
    plan = load_plan(EXAMPLES / "two_step.yaml")
    process, merge = plan.steps
    assert process.input_query["phiP"] == {"=": 0}
    assert merge.input_query["phiP"] == {"=": 0}
    assert process.input_query["nsb"] == {"in": [1, 5]}
    assert process.job.input_limit == 10 and process.job.processors == 2 and process.job.cpu_time == 3600
    assert process.job.sites == ["LCG.DESY-ZEUTHEN.de", "LCG.CNAF.it"]
    assert merge.output_query["comment"] == {"=": "test"}
    (production,) = dirac_productions(plan)
    assert production.steps[1].ParentStep == ["process"]


def test_where_refines_and_output_overrides() -> None:
    plan = _plan(
        """
productions:
  - name: p
    steps:
      - {name: a, kind: ctapipe-process, input: dl0, where: {thetaP: {">=": 20}, particle: [gamma, proton]},
         output: {data_level: 1}}
"""
    )
    step = plan.step("a")
    assert step.input_query["thetaP"] == {">=": 20}
    assert "thetaP" not in step.output_query  # only '='/'in' conditions describe outputs
    assert step.output_query["particle"] == {"in": ["gamma", "proton"]}
    assert step.output_query["data_level"] == {"=": 1}


def test_inherit_chooses_the_input_keys_the_output_carries_and_null_removes_a_key() -> None:
    plan = _plan(
        """
base_path: /ctao/prod7
productions:
  - name: p
    steps:
      - {name: a, kind: ctapipe-process, input: dl0, where: {thetaP: {">=": 20}, particle: [gamma, proton]},
         inherit: [thetaP, site, nothing_there], output: {merged: null, sct: "False"}}
      - {name: b, kind: ctapipe-merge, parents: [a], inherit: []}
      - {name: s, kind: mc-simulation, program: simpipe, output: {site: X}}
"""
    )
    a, b, s = plan.step("a"), plan.step("b"), plan.step("s")
    assert plan.base_path == "/ctao/prod7"
    # the listed keys, as they are (a comparison too), and only those; merged 0 of the kind removed by null
    assert a.output_query == {"thetaP": {">=": 20}, "site": {"=": "Paranal"}, "analysis_prog": {"=": "ctapipe-process"},
                              "analysis_prog_version": {"=": "v1"}, "data_level": {"=": 2},
                              "outputType": {"=": "Data"}, "sct": {"=": "False"}}  # fmt: skip
    assert set(b.output_query) == {"analysis_prog", "analysis_prog_version", "merged"}  # nothing of a's
    assert b.output_query["merged"] == {"=": 1}
    # a simulation without jobs: no task at submission; simpipe is a telescope simulation with simtel outputs
    assert s.job.jobs is None and s.job.outputs == ["*.simtel.zst"]
    assert s.output_query["tel_sim_prog"] == {"=": "simpipe"}


def test_dataset_input_unresolved_offline_and_resolved_with_a_resolver() -> None:
    text = """
productions:
  - name: p
    steps:
      - {name: a, kind: ctapipe-process, input: ds, where: {nsb: 1}}
"""
    offline = _plan(text)
    assert offline.unresolved_datasets == ["Prod6_South_proton"]
    assert offline.step("a").input_query == {"nsb": {"=": 1}}
    online = load_plan(
        text=HEADER + text, filename="t.yaml", dataset_resolver=lambda name: {"particle": "proton", "phiP": 0}
    )
    assert online.unresolved_datasets == []
    assert online.step("a").input_query == {"particle": {"=": "proton"}, "phiP": {"=": 0}, "nsb": {"=": 1}}


def test_matrix_product_and_only_filter() -> None:
    plan = _plan(
        """
matrix:
  particle: [{p: gamma}, {p: proton}]
  zenith: [{z: 20.0}, {z: 40.0}, {z: 60.0}]
productions:
  - name: p
    steps:
      - name: a-$p-${z}deg
        kind: ctapipe-process
        foreach: [particle, zenith]
        only: {z: [20.0, 40.0]}
        input: dl0
        where: {particle: $p, thetaP: $z}
"""
    )
    assert [s.name for s in plan.steps] == [
        "a-gamma-20.0deg",
        "a-gamma-40.0deg",
        "a-proton-20.0deg",
        "a-proton-40.0deg",
    ]
    assert plan.step("a-proton-40.0deg").input_query["thetaP"] == {"=": 40.0}  # typed, not a string


def test_simulation_and_executable_steps() -> None:
    plan = _plan(
        """
productions:
  - name: p
    steps:
      - name: sim
        kind: mc-simulation
        program: corsika
        jobs: 100
        showers: 2000
        output: {site: Paranal, particle: proton, phiP: 0}
      - name: exe
        kind: executable
        parents: [sim]
        executable: my-analysis
        arguments: --fast
        transformation_type: Processing
        program_category: analysis
        banned_sites: [LCG.X.fr]
"""
    )
    sim, exe = plan.steps
    assert sim.type == "MCSimulation" and sim.input_query is None
    assert sim.output_query["airshower_sim_prog"] == {"=": "corsika"}
    assert sim.output_query["data_level"] == {"=": -1}
    assert sim.job.jobs == 100 and sim.job.showers == 2000
    assert exe.type == "Processing"
    assert exe.input_query["phiP"] == {"=": 0}
    assert exe.output_query["analysis_prog"] == {"=": "my-analysis"}
    assert exe.job.arguments == "--fast" and exe.job.banned_sites == ["LCG.X.fr"]


def test_explicit_merge_level_and_after() -> None:
    plan = _plan(
        """
productions:
  - name: second
    after: [first]
    steps:
      - {name: m, kind: ctapipe-merge, parents: [a], level: 1}
  - name: first
    steps:
      - {name: a, kind: ctapipe-process, input: dl0}
"""
    )
    assert [p.name for p in plan.productions] == ["first", "second"]
    assert plan.step("m").output_query["merged"] == {"=": 1}


def test_dollar_escape() -> None:
    plan = _plan(
        """
productions:
  - name: p
    steps:
      - {name: a, kind: ctapipe-process, input: dl0, options: "--cost $$5"}
"""
    )
    assert plan.step("a").job.options == "--cost $5"
