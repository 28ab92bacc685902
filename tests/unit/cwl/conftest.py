"""Helpers for the CWL tests: the CLI in-process, CWL workspaces with the example tools."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "cwl"
YAML_GOLDEN = REPO / "tests" / "unit" / "production" / "golden"
GOLDEN = Path(__file__).with_name("golden")

#: A small valid workflow (process then merge) used as the base of the bad-input cases.
BASE_WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
requirements:
  ScatterFeatureRequirement: {}
hints:
  - class: dirac:Production
    production: test
    inputs:
      dl0:
        query: {site: Paranal, phiP: 0}
    defaults:
      version: v1
inputs:
  dl0: File[]
  label: string?
outputs: []
steps:
  process:
    run: tools/ctapipe-process.cwl
    scatter: input_file
    in: {input_file: dl0}
    out: [dl2]
    hints:
      - class: dirac:Step
        group_size: 2
  merge:
    run: tools/ctapipe-merge.cwl
    in: {input_files: process/dl2}
    out: [merged]
    hints:
      - class: dirac:Step
        group_size: 5
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """A directory holding the example tools (``tools/``); writes a CWL (or other) file into it and
    returns its path. The working directory is the workspace, so messages name files relatively."""
    shutil.copytree(EXAMPLES / "tools", tmp_path / "tools")
    monkeypatch.chdir(tmp_path)

    def write(text: str, name: str = "workflow.cwl") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
