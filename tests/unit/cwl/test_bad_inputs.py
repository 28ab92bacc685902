"""Bad CWL files: each gives exit code 2 and a message with file:line:column, key path and reason.

Each case changes the small valid workflow of ``conftest.BASE_WORKFLOW``; the line of the offending node
is marked ``# <-`` (the message must point at it).
"""

from __future__ import annotations

import re

import pytest

from .conftest import BASE_WORKFLOW


def mutate(old: str, new: str, base: str = BASE_WORKFLOW) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


# (id, workflow text, key path fragment, message fragment)
CASES = [
    # --- not YAML, not CWL (cwltool's own validation, located by it)
    ("yaml-syntax", mutate("  dl0: File[]\n", "  dl0: [File[]  # <-\n  x: 1\n"), "<document>", "not valid YAML"),
    ("unknown-cwl-field", mutate("    scatter: input_file\n", "    scatter: input_file\n    runn: x  # <-\n"),
     "steps.process.runn", "invalid field 'runn'"),
    ("dangling-step-input", mutate("in: {input_files: process/dl2}", "in: {input_files: proces/dl2}  # <-"),
     "steps.merge.in.input_files", "unknown identifier 'proces/dl2'"),
    ("dangling-workflow-input", mutate("in: {input_file: dl0}", "in: {input_file: dl1}  # <-"),
     "steps.process.in.input_file", "unknown identifier 'dl1'"),
    ("incompatible-connection",
     mutate("    in: {input_files: process/dl2}\n", "    in:\n      input_files: label  # <-\n"),
     "steps.merge.in.input_files", "incompatible"),
    ("unknown-tool-file", mutate("run: tools/ctapipe-merge.cwl", "run: tools/ctapipe-merger.cwl  # <-"),
     "steps", "not valid CWL"),
    # --- dirac hints (typed models)
    ("unknown-hint-field", mutate("        group_size: 5\n", "        grup_size: 5  # <-\n"),
     "steps.merge.hints[0].grup_size", "did you mean 'group_size'"),
    ("hint-value-not-allowed", mutate("        group_size: 5\n", "        plugin: Fancy  # <-\n"),
     "steps.merge.hints[0].plugin", "'Fancy' is not allowed"),
    ("hint-negative-group-size", mutate("        group_size: 5\n", "        group_size: 0  # <-\n"),
     "steps.merge.hints[0].group_size", ">= 1"),
    ("unknown-hint-class", mutate("      - class: dirac:Step\n        group_size: 5",
                                  "      - class: dirac:Stepp  # <-\n        group_size: 5"),
     "steps.merge.hints[0].class", "unknown hint class 'dirac:Stepp'"),
    ("undeclared-prefix", mutate("  dirac: https://ctao.org/dirac/cwl#\n", "  foo: https://ctao.org/dirac/cwl#\n").replace(
        "  - class: dirac:Production\n", "  - class: dirac:Production  # <-\n"),
     "hints[0].class", "prefix 'dirac' is not declared"),
    ("hint-as-requirement", mutate("    out: [merged]\n", "    out: [merged]\n    requirements:\n"
                                   "      - class: dirac:Step  # <-\n        group_size: 1\n"),
     "steps.merge.requirements", "undefined reference to 'https://ctao.org/dirac/cwl#Step'"),
    ("boolean-metadata", mutate("query: {site: Paranal, phiP: 0}", "query: {site: Paranal, sct: true}  # <-"),
     "hints[0].inputs.dl0.query.sct", "cannot be a boolean"),
    ("input-query-for-unknown-input", mutate("      dl0:\n        query", "      dl00:  # <-\n        query"),
     "hints[0].inputs.dl00", "not an input of the workflow"),
    ("input-query-for-a-string", mutate("      dl0:\n        query", "      label:  # <-\n        query"),
     "hints[0].inputs.label", "File or File[]"),
    ("wrong-kind-field", mutate("        group_size: 2\n", "        group_size: 2\n        level: 2  # <-\n"),
     "steps.process.hints[0].level", "unknown key 'level'"),
    ("unknown-matrix", mutate("        group_size: 5\n", "        group_size: 5\n        foreach: sample  # <-\n"),
     "steps.merge.hints[0].foreach", "unknown matrix 'sample'"),
    ("select-without-foreach", mutate("        group_size: 5\n",
                                      "        group_size: 5\n        select:\n          input_files: {x: 1}  # <-\n"),
     "steps.merge.hints[0].select.input_files", "nothing to select"),
    ("select-unknown-input", mutate("        group_size: 5\n",
                                    "        group_size: 5\n        select:\n          inputfiles: {x: 1}  # <-\n"),
     "steps.merge.hints[0].select.inputfiles", "not an input of step 'merge'"),
    # --- the data flow
    ("step-reads-nothing", mutate("    in: {input_files: process/dl2}\n",
                                  "    in:  # <-\n      input_files: {default: []}\n"),
     "steps.merge.in", "reads no files"),
    ("local-file-parameter", mutate("    in: {input_file: dl0}\n",
                                    "    in:\n      input_file: dl0\n      config: {default: {class: File, location: cfg.yaml}}  # <-\n"),
     "steps.process.in.config", "lfn:// location"),
    ("no-software-version", mutate("    defaults:\n      version: v1\n", ""),
     "steps.process", "no software version"),
    # --- DIRAC's link rules and the builder's checks, moved back to the CWL nodes
    ("link-rule-violation", mutate("        group_size: 5\n", "        group_size: 5\n        where: {phiP: 180}\n").replace(
        "in: {input_files: process/dl2}", "in: {input_files: process/dl2}  # <-"),
     "steps.merge.in.input_files", "DIRAC's link rules"),
    ("merge-level-does-not-follow", mutate("        group_size: 5\n", "        group_size: 5\n        level: 3  # <-\n"),
     "steps.merge.hints[0].level", "does not follow"),
    ("bad-transformation-name", mutate("        group_size: 5\n", "        group_size: 5\n        transformation: 'a b'  # <-\n"),
     "steps.merge.hints[0].transformation", "letters, digits"),
]


@pytest.mark.parametrize(("text", "key_path", "fragment"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_bad_cwl_is_located_and_exits_2(text: str, key_path: str, fragment: str, workspace, run_cli) -> None:
    path = workspace(text)
    result = run_cli(str(path.name), "--json")
    assert result.code == 2, result.stderr
    assert result.stdout == ""
    assert "nothing was sent to DIRAC" in result.stderr
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr, result.stderr
    assert f": {key_path}" in result.stderr, result.stderr
    marked = [number for number, line in enumerate(text.splitlines(), 1) if "# <-" in line]
    if marked:
        match = re.search(r"workflow\.cwl:(\d+):(\d+): ", result.stderr)
        assert match, result.stderr
        assert int(match.group(1)) == marked[0], result.stderr


def test_cases_are_distinct_and_many() -> None:
    assert len({case[0] for case in CASES}) == len(CASES) >= 20
    assert len({case[1] for case in CASES}) == len(CASES)


def test_base_workflow_is_valid(workspace, run_cli) -> None:
    result = run_cli(str(workspace(BASE_WORKFLOW)), "--json")
    assert result.code == 0, result.stderr
    assert '"name": "merge"' in result.stdout


def test_subworkflow_step_is_refused(workspace, run_cli) -> None:
    workspace(BASE_WORKFLOW, "sub.cwl")
    text = mutate("run: tools/ctapipe-merge.cwl", "run: sub.cwl  # <-").replace(
        "  ScatterFeatureRequirement: {}\n", "  ScatterFeatureRequirement: {}\n  SubworkflowFeatureRequirement: {}\n").replace(
        "in: {input_files: process/dl2}", "in: {dl0: process/dl2}").replace("out: [merged]", "out: []")
    result = run_cli(str(workspace(text)), "--json")
    assert result.code == 2, result.stderr
    assert "runs a Workflow" in result.stderr and "steps.merge.run" in result.stderr


def test_command_line_tool_is_not_a_production(workspace, run_cli) -> None:
    result = run_cli("tools/ctapipe-merge.cwl")
    assert result.code == 2
    assert "a CommandLineTool is one job, not a production" in result.stderr
    assert re.search(r"tools/ctapipe-merge.cwl:\d+:\d+: class:", result.stderr)


def test_inputs_file_with_an_unknown_key(workspace, run_cli) -> None:
    workflow = workspace(BASE_WORKFLOW)
    inputs = workspace("label: x\nlabl: y\n", "inputs.yaml")
    result = run_cli(str(workflow), "--inputs", str(inputs))
    assert result.code == 2
    assert re.search(r"inputs\.yaml:2:\d+: labl: 'labl' is not an input of the workflow", result.stderr), result.stderr


def test_errors_in_a_tool_file_name_that_file(workspace, run_cli) -> None:
    path = workspace(BASE_WORKFLOW)
    merge = path.parent / "tools" / "ctapipe-merge.cwl"
    merge.write_text(merge.read_text().replace("    kind: ctapipe-merge\n", "    kind: ctapipe-merj\n"))
    result = run_cli(str(path), "--json")
    assert result.code == 2
    assert re.search(r"tools/ctapipe-merge\.cwl:\d+:\d+: hints\[0\]\.kind: ", result.stderr), result.stderr
