"""The same CWL files run locally with cwltool (for testing before submitting)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import EXAMPLES

JOB = EXAMPLES / "job"


def cwltool() -> list[str]:
    found = Path(sys.executable).with_name("cwltool")
    return [str(found)] if found.exists() else [sys.executable, "-m", "cwltool"]


def test_cwltool_runs_the_example_job(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [*cwltool(), "--no-container", "--quiet", "--outdir", str(out), str(JOB / "count_events.cwl"),
         str(JOB / "count_events.local.yaml")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert set(outputs) == {"summary", "log"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary == {"label": "local-test", "events": 5, "kept": 3}
    assert (out / "count_events.log").read_text().strip() == "local-test: 5 events, 3 kept"


def test_cwltool_validates_every_example() -> None:
    """What ``cwltool --validate`` accepts is what the loader accepts (dirac: hints are only hints)."""
    import io

    from cwltool.main import main as cwltool_main

    for path in sorted(EXAMPLES.rglob("*.cwl")):
        stdout, stderr = io.StringIO(), io.StringIO()
        code = cwltool_main(["--validate", str(path)], stdout=stdout, stderr=stderr)
        assert code == 0, (path, stderr.getvalue())
        assert "is valid CWL" in stdout.getvalue()


def test_ctapipe_chain_command_is_documented() -> None:
    docs = (EXAMPLES.parents[1] / "docs" / "cwl.md").read_text()
    assert "cwltool --outdir /tmp/two_step examples/cwl/two_step.cwl examples/cwl/two_step.local.yaml" in docs
