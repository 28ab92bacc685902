"""A CWL Workflow as ONE DIRAC job: its job description, packing, and the packed workflow run by cwltool."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from CTAODIRAC.Core.CWL import load_cwl_job
from CTAODIRAC.Core.CWL.jobside import JOB_ORDER, cwltool_command, job_settings
from CTAODIRAC.Core.CWL.pack import pack_cwl, write_packed
from CTAODIRAC.Core.CWL.validate import validate_process
from CTAODIRAC.Core.Production.errors import ProductionSpecError

from .conftest import EXAMPLES

DATA = Path(__file__).parent / "data" / "wf"
WORKFLOW = DATA / "count_words.cwl"
INPUTS = DATA / "count_words.yaml"


def test_the_job_description_of_a_workflow() -> None:
    desc = load_cwl_job(WORKFLOW, INPUTS)
    assert desc.process_class == "Workflow" and desc.name == "count-words" and desc.executable is None
    assert desc.inputs == {"message": "one two three four", "extra": {"class": "File", "path": "extra.txt"}}
    assert desc.input_sandbox == [str(WORKFLOW), str(INPUTS), str(DATA / "extra.txt")]
    assert [(out.output, out.glob, out.lfn) for out in desc.output_data] == [
        ("count", "count.txt", "/ctao/user/t/toy/count_words/")]
    assert desc.sandbox_outputs == {"text": "message.txt"} and desc.output_sandbox == ["message.txt"]
    # the maximum over the steps' tools: echo asks 1 core and 128 MiB, wc 2 cores and 64 MiB
    assert (desc.processors, desc.max_processors, desc.memory_mb) == (2, None, 128)
    assert desc.cpu_time == 300 and desc.container_image is None
    assert desc.ignored_hints == ["dirac:Production"]
    settings = job_settings(desc)
    assert settings.config.tool == "count_words.cwl"
    assert settings.output_sandbox == ["cwl-run.log", "cwl-outputs.json", "message.txt"]


def _workflow(tmp_path: Path, say_image: str | None, wc_image: str | None, extra: str = "") -> Path:
    def docker(image: str | None) -> str:
        return f"      - {{class: DockerRequirement, dockerPull: '{image}'}}\n" if image else ""

    text = textwrap.dedent(f"""\
        cwlVersion: v1.2
        class: Workflow
        $namespaces:
          dirac: https://ctao.org/dirac/cwl#
        requirements:
          ResourceRequirement: {{ramMin: 1000, coresMax: 4}}
        inputs:
          message: {{type: string, default: hi}}
        outputs:
          out: {{type: File, outputSource: words/count}}
        steps:
          say:
            run: {DATA / 'echo.cwl'}
            in: {{message: message}}
            out: [text]
            hints:
              - {{class: dirac:Step, group_size: 3}}
        """) + docker(say_image) + textwrap.indent(textwrap.dedent(f"""\
        words:
          run: {DATA / 'wc.cwl'}
          in: {{text: say/text}}
          out: [count]
          hints:
            - {{class: ResourceRequirement, coresMin: 3}}
        """), "  ") + docker(wc_image) + extra  # fmt: skip
    path = tmp_path / "w.cwl"
    path.write_text(text)
    return path


def test_resources_images_and_outputs_of_a_workflow(tmp_path: Path) -> None:
    desc = load_cwl_job(_workflow(tmp_path, "debian:12", None))
    assert (desc.processors, desc.max_processors, desc.memory_mb) == (3, 4, 1000)
    assert desc.container_image == "debian:12" and desc.name == "w"
    assert desc.output_sandbox == ["count.txt"] and desc.sandbox_outputs == {"out": "count.txt"}
    assert desc.ignored_hints == ["dirac:Step of step 'say'"]
    assert load_cwl_job(_workflow(tmp_path, "debian:12", "debian:12")).container_image == "debian:12"
    with pytest.raises(ProductionSpecError, match=r"w.cwl:.*different container images \(debian:12, alpine:3\)"):
        load_cwl_job(_workflow(tmp_path, "debian:12", "alpine:3"))


def test_the_packed_document_is_one_file_cwltool_validates(tmp_path: Path) -> None:
    packed = pack_cwl(WORKFLOW)
    assert {process["class"] for process in packed["$graph"]} == {"Workflow", "CommandLineTool"}
    assert "file://" not in json.dumps(packed["$graph"][0]["steps"])  # the steps point inside the document
    alone = tmp_path / "alone"
    alone.mkdir()
    path = write_packed(WORKFLOW, alone)
    assert path.name == "count_words.cwl" and sorted(p.name for p in alone.iterdir()) == ["count_words.cwl"]
    validate_process(path, path.name)  # no other file next to it: it is self-contained
    tool = write_packed(EXAMPLES / "job" / "count_events.cwl", alone)
    validate_process(tool, tool.name)
    broken = tmp_path / "broken.cwl"
    broken.write_text(WORKFLOW.read_text().replace("run: wc.cwl", "run: missing.cwl"))
    with pytest.raises(ProductionSpecError, match="cwltool cannot pack it"):
        pack_cwl(broken)


def test_the_packed_workflow_runs_as_the_worker_runs_it(tmp_path: Path) -> None:
    """What dirac-ctao-cwl-run does after the sandbox arrived: the packed file, the job order, cwltool."""
    desc = load_cwl_job(WORKFLOW, INPUTS)
    settings = job_settings(desc)
    write_packed(WORKFLOW, tmp_path)  # the sandbox: only the packed file and the local inputs
    (tmp_path / "extra.txt").write_text((DATA / "extra.txt").read_text())
    (tmp_path / JOB_ORDER).write_text(json.dumps(settings.config.job_order))
    proc = subprocess.run(cwltool_command(sys.executable, settings.config, "none"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    outputs = json.loads(proc.stdout)
    assert set(outputs) == {"count", "text"}
    assert (tmp_path / "cwl-outdir" / "message.txt").read_text() == "one two three four\n"
    words = (tmp_path / "cwl-outdir" / "count.txt").read_text().split()
    assert words[0] == "4" and words[2] == "2" and words[-2:] == ["6", "total"]
