"""Bad production files: each gives exit code 2 and a message with file:line:column, key path and reason.

The line of the offending node is marked ``# <-`` in each case.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[3] / "examples"

NATIVE_HEAD = """\
format: 1
inputs:
  dl0:
    query: {site: Paranal, phiP: 0}
defaults:
  version: v1
"""

# (id, yaml, key path, message fragment)
CASES = [
    ("yaml-syntax", "productions: [a, b\nformat: 1  # <-\n", "<document>", "not valid YAML"),
    ("duplicate-yaml-key", "format: 1\nformat: 1  # <-\n", "<document>", "duplicate key"),
    ("top-not-mapping", "- a  # <-\n- b\n", "<document>", "mapping at its top"),
    ("unknown-top-key", NATIVE_HEAD + "productoins: []  # <-\n", "productoins", "did you mean 'productions'"),
    (
        "missing-productions",
        NATIVE_HEAD.replace("format: 1", "format: 1  # <-"),
        "productions",
        "missing required key 'productions'",
    ),
    ("bad-format-version", "format: 2  # <-\nproductions: []\n", "format", "2 is not allowed; allowed: 1"),
    ("empty-productions", NATIVE_HEAD + "productions: []  # <-\n", "productions", "must not be empty"),
    (
        "unknown-defaults-key",
        NATIVE_HEAD + "  cpu: 5  # <-\nproductions: []\n",
        "defaults.cpu",
        "did you mean 'cpu_time'",
    ),
    (
        "boolean-metadata",
        "inputs:\n  dl0:\n    query: {sct: true}  # <-\nproductions: []\n",
        "inputs.dl0.query.sct",
        "cannot be a boolean",
    ),
    (
        "bad-operator",
        "inputs:\n  dl0:\n    query: {thetaP: {'~': 20}}  # <-\nproductions: []\n",
        "inputs.dl0.query.thetaP",
        "unknown operator '~'",
    ),
    (
        "in-without-list",
        "inputs:\n  dl0:\n    query: {thetaP: {in: 20}}  # <-\nproductions: []\n",
        "inputs.dl0.query.thetaP",
        "takes a list",
    ),
    (
        "empty-list-value",
        "inputs:\n  dl0:\n    query: {particle: []}  # <-\nproductions: []\n",
        "inputs.dl0.query.particle",
        "an empty list selects nothing",
    ),
    (
        "bad-metadata-key",
        "inputs:\n  dl0:\n    query: {2bad: x}  # <-\nproductions: []\n",
        "inputs.dl0.query.2bad",
        "not a valid name",
    ),
    (
        "dataset-and-query",
        "inputs:\n  d:\n    dataset: X\n    query: {a: 1}  # <-\nproductions: []\n",
        "inputs.d.query",
        "unknown key 'query'",
    ),
]

STEP_CASES = [
    (
        "unknown-kind",
        "      - {name: a, kind: ctapipe-proces, input: dl0}  # <-\n",
        "productions[0].steps[0].kind",
        "unknown kind 'ctapipe-proces'",
    ),
    (
        "missing-kind",
        "      - {name: a, input: dl0}  # <-\n",
        "productions[0].steps[0].kind",
        "missing required key 'kind'",
    ),
    (
        "unknown-step-key",
        "      - {name: a, kind: ctapipe-process, input: dl0, grup_size: 2}  # <-\n",
        "productions[0].steps[0].grup_size",
        "did you mean 'group_size'",
    ),
    (
        "zero-group-size",
        "      - {name: a, kind: ctapipe-process, input: dl0, group_size: 0}  # <-\n",
        "productions[0].steps[0].group_size",
        "must be >= 1",
    ),
    (
        "string-group-size",
        "      - {name: a, kind: ctapipe-process, input: dl0, group_size: five}  # <-\n",
        "productions[0].steps[0].group_size",
        "expected an integer",
    ),
    (
        "bad-plugin",
        "      - {name: a, kind: ctapipe-process, input: dl0, plugin: Fancy}  # <-\n",
        "productions[0].steps[0].plugin",
        "allowed: 'Standard'",
    ),
    (
        "bad-step-name",
        "      - {name: 'a b', kind: ctapipe-process, input: dl0}  # <-\n",
        "productions[0].steps[0].name",
        "not a valid name",
    ),
    (
        "no-input-no-parents",
        "      - {name: a, kind: ctapipe-process}  # <-\n",
        "productions[0].steps[0]",
        "give either 'input'",
    ),
    (
        "input-and-parents",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: b, kind: ctapipe-merge, input: dl0, parents: [a]}  # <-\n",
        "productions[0].steps[1]",
        "not both",
    ),
    (
        "parents-not-a-list",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: b, kind: ctapipe-merge, parents: a}  # <-\n",
        "productions[0].steps[1].parents",
        "expected a list",
    ),
    (
        "unknown-input",
        "      - {name: a, kind: ctapipe-process, input: dl1}  # <-\n",
        "productions[0].steps[0].input",
        "unknown input 'dl1' (did you mean 'dl0'?)",
    ),
    (
        "dangling-parent",
        "      - {name: process, kind: ctapipe-process, input: dl0}\n"
        "      - {name: b, kind: ctapipe-merge, parents: [proces]}  # <-\n",
        "productions[0].steps[1].parents[0]",
        "unknown step 'proces' in 'parents' of step 'b' (did you mean 'process'?)",
    ),
    (
        "duplicate-parent",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: b, kind: ctapipe-train-classifier,\n         parents: [a, a]}  # <-\n",
        "productions[0].steps[1].parents[1]",
        "'a' is listed twice",
    ),
    (
        "self-parent",
        "      - {name: a, kind: ctapipe-merge, parents: [a]}  # <-\n",
        "productions[0].steps[0].parents[0]",
        "lists itself",
    ),
    (
        "cyclic-parents",
        "      - name: a\n        kind: ctapipe-merge\n        parents: [b]  # <-\n"
        "      - {name: b, kind: ctapipe-merge, parents: [a]}\n",
        "productions[0].steps[0].parents",
        "cyclic parents: a -> b -> a",
    ),
    (
        "duplicate-step-name",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: a, kind: ctapipe-process, input: dl0}  # <-\n",
        "productions[0].steps[1].name",
        "duplicate step name 'a'",
    ),
    (
        "incompatible-where",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: b, kind: ctapipe-merge, parents: [a]}\n"
        "      - {name: c, kind: ctapipe-merge, parents: [a], where: {phiP: 180}}  # <-\n",
        "productions[0].steps[2].parents[0]",
        "'phiP' selects 180 but the parent produces 0",
    ),
    (
        "where-key-not-in-parent",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: b, kind: ctapipe-merge, parents: [a], where: {split: x}}  # <-\n",
        "productions[0].steps[1].parents[0]",
        "'split' is not in the parent's output query",
    ),
    (
        "where-operator-on-link",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: b, kind: ctapipe-merge, parents: [a], where: {merged: {'>=': 0}}}  # <-\n",
        "productions[0].steps[1].parents[0]",
        "may only use '=' or 'in'",
    ),
    (
        "model-not-training",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - name: b\n        kind: ctapipe-apply-models\n        parents: [a]\n        models: [a]  # <-\n",
        "productions[0].steps[1].models[0]",
        "'a' is both a data parent and a model",
    ),
    (
        "model-of-wrong-kind",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: m, kind: ctapipe-merge, parents: [a]}\n"
        "      - name: b\n        kind: ctapipe-apply-models\n        parents: [a]\n        models: [m]  # <-\n",
        "productions[0].steps[2].models[0]",
        "models come from",
    ),
    (
        "apply-two-data-parents",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: t, kind: ctapipe-train-energy, parents: [a]}\n"
        "      - name: b\n        kind: ctapipe-apply-models\n        parents: [a, t]  # <-\n        models: [t]\n",
        "productions[0].steps[2].parents",
        "reads its data from one parent",
    ),
    (
        "merge-level-mismatch",
        "      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: b, kind: ctapipe-merge, parents: [a], level: 3}  # <-\n",
        "productions[0].steps[1].level",
        "does not follow the input's merge level 0",
    ),
    (
        "unknown-matrix",
        "      - {name: a-$x, kind: ctapipe-process, input: dl0, foreach: nomatrix}  # <-\n",
        "productions[0].steps[0].foreach",
        "unknown matrix 'nomatrix'",
    ),
    (
        "unknown-variable",
        "      - name: a\n        kind: ctapipe-process\n        input: dl0\n"
        "        where: {particle: $particle}  # <-\n",
        "productions[0].steps[0].where.particle",
        "unknown matrix variable '$particle'",
    ),
    (
        "only-without-foreach",
        "      - name: a\n        kind: ctapipe-process\n        input: dl0\n        only: {p: x}  # <-\n",
        "productions[0].steps[0].only",
        "has no 'foreach'",
    ),
    (
        "simulation-with-where",
        "      - name: s  # <-\n        kind: mc-simulation\n        jobs: 5\n"
        "        where: {a: 1}\n        output: {site: Paranal}\n",
        "productions[0].steps[0]",
        "no 'where'",
    ),
    (
        "unknown-placeholder",
        "      - name: a\n        kind: ctapipe-process\n        input: dl0\n"
        "        options: --run @{run}  # <-\n",
        "productions[0].steps[0].options",
        "unknown placeholder @{run}",
    ),
    (
        "output-pattern-with-directory",
        "      - name: s\n        kind: mc-simulation\n        jobs: 2\n        output: {site: X}\n"
        "        outputs: [out/*.zst]  # <-\n",
        "productions[0].steps[0].outputs[0]",
        "is not a file pattern of the job's working directory",
    ),
    (
        "executable-parent-without-outputs",
        "      - name: e  # <-\n        kind: executable\n        executable: x\n        input: dl0\n"
        "        output: {data_level: 1}\n"
        "      - {name: f, kind: ctapipe-process, parents: [e]}\n",
        "productions[0].steps[0].outputs",
        "has children (f) but its jobs collect no files",
    ),
    (
        "executable-bad-type",
        "      - {name: e, kind: executable, executable: x, input: dl0, transformation_type: Foo}  # <-\n",
        "productions[0].steps[0].transformation_type",
        "'Foo' is not allowed",
    ),
]

PRODUCTION_CASES = [
    (
        "duplicate-production",
        "productions:\n  - name: p\n    steps:\n      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "  - name: p  # <-\n    steps:\n      - {name: b, kind: ctapipe-process, input: dl0}\n",
        "productions[1].name",
        "duplicate production name 'p'",
    ),
    (
        "unknown-after",
        "productions:\n  - name: p\n    after: [q]  # <-\n    steps:\n"
        "      - {name: a, kind: ctapipe-process, input: dl0}\n",
        "productions[0].after[0]",
        "unknown production 'q'",
    ),
    (
        "production-cycle",
        "productions:\n  - name: p  # <-\n    steps:\n      - {name: a, kind: ctapipe-process, input: dl0}\n"
        "      - {name: c, kind: ctapipe-merge, parents: [b]}\n  - name: q\n    steps:\n"
        "      - {name: b, kind: ctapipe-merge, parents: [a]}\n",
        "productions[0].name",
        "productions depend on each other in a cycle",
    ),
    (
        "no-version",
        "productions:\n  - name: p\n    steps:\n      - {name: a, kind: ctapipe-process, input: dl0}  # <-\n",
        "productions[0].steps[0]",
        "no software version",
    ),
    (
        "list-variable-inside-string",
        "matrix:\n  m: [{v: [1, 2]}]\nproductions:\n  - name: p\n    steps:\n"
        "      - {name: a-$v, kind: ctapipe-process, input: dl0, foreach: m}  # <-\n",
        "productions[0].steps[0].name",
        "a list can only be a whole value",
    ),
    (
        "only-unknown-variable",
        "matrix:\n  m: [{v: 1}]\nproductions:\n  - name: p\n    steps:\n"
        "      - name: a-$v\n        kind: ctapipe-process\n        input: dl0\n        foreach: m\n"
        "        only: {w: 1}  # <-\n",
        "productions[0].steps[0].only.w",
        "'w' is not a variable",
    ),
]

#: Valid parts of the legacy cases (CTADIRAC 3.3.1 builds with them): each case has one mistake, marked ``# <-``.
LEGACY_SIM = (
    "{type: MCSimulation, version: v1, site: Paranal, particle: gamma, pointing_dir: South, moon: dark,"
    " n_shower: 10}"
)
LEGACY_PROCESS = "{type: CtapipeProcessing, version: v0.19.2, data_level: 2, output_extension: DL2.h5}"
LEGACY_MERGE = "{type: Merging, version: v0.19.2, group_size: 5, output_extension: merged.DL2.h5}"
LEGACY_COMMON = "Common: {MCCampaign: Prod6, configuration_id: 15, base_path: /ctao/tests}\n"

_LEGACY_CASES = [
    (
        "legacy-unknown-type",
        "ProdSteps:\n  - ID: 1\n    job_config: {type: CtapipeProces}  # <-\n",
        "ProdSteps[0].job_config.type",
        "unknown step type 'CtapipeProces'",
    ),
    (
        "legacy-unknown-moon",
        f"ProdSteps:\n  - ID: 1\n    input_meta_query: {{moon: blue}}  # <-\n    job_config: {LEGACY_PROCESS}\n",
        "ProdSteps[0].input_meta_query.moon",
        "allowed: dark, half, full",
    ),
    (
        "legacy-unknown-pointing",
        "ProdSteps:\n  - ID: 1\n    input_meta_query: {pointing_dir: East}  # <-\n"
        f"    job_config: {LEGACY_PROCESS}\n",
        "ProdSteps[0].input_meta_query.pointing_dir",
        "allowed: North, South",
    ),
    (
        "legacy-duplicate-id",
        f"ProdSteps:\n  - ID: 1\n    job_config: {LEGACY_SIM}\n  - ID: 1  # <-\n    job_config: {LEGACY_SIM}\n",
        "ProdSteps[1].ID",
        "duplicate step ID 1",
    ),
    (
        "legacy-bad-id",
        f"ProdSteps:\n  - ID: 0  # <-\n    job_config: {LEGACY_SIM}\n",
        "ProdSteps[0].ID",
        "must be >= 1",
    ),
    (
        "legacy-dangling-parent",
        f"ProdSteps:\n  - ID: 1\n    input_meta_query: {{parentID: 9}}  # <-\n    job_config: {LEGACY_MERGE}\n",
        "ProdSteps[0].input_meta_query.parentID",
        "no step with ID 9",
    ),
    (
        "legacy-cycle",
        f"ProdSteps:\n  - ID: 1\n    input_meta_query: {{parentID: 2}}  # <-\n    job_config: {LEGACY_MERGE}\n"
        f"  - ID: 2\n    input_meta_query: {{parentID: 1}}\n    job_config: {LEGACY_MERGE}\n",
        "ProdSteps[0].input_meta_query.parentID",
        "cyclic parentID: 1 -> 2 -> 1",
    ),
    (
        "legacy-unknown-step-key",
        f"ProdSteps:\n  - ID: 1\n    job_conf: {LEGACY_MERGE}  # <-\n",
        "ProdSteps[0].job_conf",
        "did you mean 'job_config'",
    ),
    (
        "legacy-unknown-common-key",
        f"ProdSteps:\n  - ID: 1\n    job_config: {LEGACY_SIM}\n"
        "Common:\n  MCCampaign: Prod6\n  configuration_id: 15\n  MCCampain: x  # <-\n",
        "Common.MCCampain",
        "did you mean 'MCCampaign'",
    ),
    (
        "legacy-sim-with-parent",
        f"ProdSteps:\n  - ID: 1\n    job_config: {LEGACY_SIM}\n  - ID: 2\n"
        f"    input_meta_query: {{parentID: 1}}  # <-\n    job_config: {LEGACY_SIM}\n",
        "ProdSteps[1].input_meta_query.parentID",
        "has no input",
    ),
    (
        "legacy-empty-input",
        f"ProdSteps:\n  - ID: 1\n    input_meta_query: {{}}  # <-\n    job_config: {LEGACY_PROCESS}\n",
        "ProdSteps[0].input_meta_query",
        "input query is empty",
    ),
    (
        "legacy-bad-zenith",
        "ProdSteps:\n  - ID: 1\n    input_meta_query: {zenith_angle: high}  # <-\n"
        f"    job_config: {LEGACY_PROCESS}\n",
        "ProdSteps[0].input_meta_query.zenith_angle",
        "must be a number",
    ),
    (
        "legacy-no-common",
        f"ProdSteps:  # <-\n  - ID: 1\n    job_config: {LEGACY_SIM}\n",
        "Common",
        "required",
    ),
]
LEGACY_CASES = [
    (case_id, text if "Common" in text or case_id == "legacy-no-common" else text + LEGACY_COMMON, path, fragment)
    for case_id, text, path, fragment in _LEGACY_CASES
]

ALL = (
    [(case_id, text, path, fragment) for case_id, text, path, fragment in CASES]
    + [(i, NATIVE_HEAD + "productions:\n  - name: p\n    steps:\n" + s, p, f) for i, s, p, f in STEP_CASES]
    + [
        (i, NATIVE_HEAD.replace("defaults:\n  version: v1\n", "") + s if i == "no-version" else NATIVE_HEAD + s, p, f)
        for i, s, p, f in PRODUCTION_CASES
    ]
    + LEGACY_CASES
)


def test_at_least_thirty_distinct_bad_inputs() -> None:
    assert len({case[0] for case in ALL}) == len(ALL) >= 30


@pytest.mark.parametrize(("text", "key_path", "fragment"), [case[1:] for case in ALL], ids=[case[0] for case in ALL])
def test_bad_input_is_located_and_exits_2(text: str, key_path: str, fragment: str, run_cli, write_yaml) -> None:
    text = textwrap.dedent(text)
    line = next(number for number, content in enumerate(text.splitlines(), 1) if "# <-" in content)
    path = write_yaml(text, "bad.yaml")
    result = run_cli(str(path))
    assert result.code == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    messages = [m for m in result.stderr.splitlines() if m.startswith("error: ")]
    pattern = re.compile(rf"^error: {re.escape(str(path))}:{line}:\d+: {re.escape(key_path)}: ")
    located = [m for m in messages if pattern.match(m)]
    assert located, f"expected {path}:{line}:<col>: {key_path}: ... in\n{result.stderr}"
    assert any(fragment in m for m in located), result.stderr
    assert "nothing was sent to DIRAC" in result.stderr


def test_several_schema_errors_are_all_reported(run_cli, write_yaml) -> None:
    path = write_yaml(NATIVE_HEAD + "  cpu: 1\n  tags: x\nproductions: []\n")
    result = run_cli(str(path))
    assert result.code == 2
    assert "defaults.cpu" in result.stderr and "defaults.tags" in result.stderr and "productions" in result.stderr
    assert "3 error(s)" in result.stderr


def test_a_cwl_executable_parent_without_outputs_is_refused(run_cli, write_yaml, tmp_path) -> None:
    """A step described by a CWL tool registers only the files its ``outputs`` name, as any executable step:
    with children and no ``outputs`` they would starve (it was accepted)."""
    (tmp_path / "job").mkdir()
    shutil.copy(EXAMPLES / "cwl" / "job" / "count_events.cwl", tmp_path / "job" / "count_events.cwl")
    text = NATIVE_HEAD + (
        "productions:\n  - name: p\n    steps:\n"
        "      - name: e  # <-\n        kind: executable\n        executable: python3\n        cwl: job/count_events.cwl\n"
        "        input: dl0\n        output: {data_level: 1}\n"
        "      - {name: f, kind: ctapipe-process, parents: [e]}\n"
    )
    path = write_yaml(text, "bad.yaml")
    result = run_cli(str(path))
    assert result.code == 2, result.stdout + result.stderr
    assert re.search(rf"^error: {re.escape(str(path))}:10:\d+: productions\[0\]\.steps\[0\]\.outputs: .*has children \(f\) "
                     "but its jobs collect no files", result.stderr, re.M), result.stderr
    # with the files it writes named, the same step is accepted
    fixed = write_yaml(text.replace("        input: dl0\n", "        input: dl0\n        outputs: ['*.txt']\n", 1),
                       "fixed.yaml")
    assert run_cli(str(fixed)).code == 0
