"""A YAML ``executable`` step may use a CWL CommandLineTool as its job description (``cwl:``)."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from CTAODIRAC.Core.Production.errors import ProductionSpecError
from CTAODIRAC.Core.Production.loader import load_plan

from .conftest import EXAMPLES

YAML = """\
format: 1
inputs:
  events:
    query: {site: Paranal, data_level: 0}
productions:
  - name: toy
    steps:
      - name: count
        kind: executable
        executable: python3
        cwl: job/count_events.cwl
        input: events
        group_size: 3
"""


@pytest.fixture
def production(tmp_path):
    shutil.copytree(EXAMPLES / "job", tmp_path / "job")

    def write(text: str = YAML):
        path = tmp_path / "production.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


def test_executable_step_gets_the_cwl_job_description(production) -> None:
    plan = load_plan(production())
    job = plan.step("count").job
    cwl = job.extra["cwl"]
    assert cwl["cwl"].endswith("job/count_events.cwl")
    assert cwl["container_image"] == "python:3.11-slim" and cwl["memory_mb"] == 256
    assert [o["output"] for o in cwl["output_data"]] == ["summary"]
    assert plan.step("count").group_size == 3  # the rest of the plan is unchanged


def test_yaml_without_cwl_is_unchanged(production) -> None:
    plan = load_plan(production(YAML.replace("        cwl: job/count_events.cwl\n", "")))
    assert "cwl" not in plan.step("count").job.extra


def test_missing_cwl_file_is_located_in_the_yaml(production) -> None:
    with pytest.raises(ProductionSpecError) as info:
        load_plan(production(YAML.replace("job/count_events.cwl", "job/nope.cwl")))
    assert str(info.value).startswith("") and ":11:14: productions[0].steps[0].cwl: no CWL file 'job/nope.cwl'" in str(
        info.value)


def test_invalid_cwl_is_located_in_the_cwl_file(production, tmp_path) -> None:
    tool = tmp_path / "job" / "count_events.cwl"
    tool.write_text(tool.read_text().replace("baseCommand:", "baseCommandd:"))
    with pytest.raises(ProductionSpecError) as info:
        load_plan(production())
    assert "count_events.cwl:" in str(info.value) and "baseCommandd" in str(info.value)


def test_matrix_variables_are_not_allowed_in_cwl(production) -> None:
    with pytest.raises(ProductionSpecError, match="productions\\[0\\].steps\\[0\\].cwl"):
        load_plan(production(YAML.replace("job/count_events.cwl", "job/$tool.cwl")))
