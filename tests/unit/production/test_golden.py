"""Golden plans: the ``--json`` output of every file in ``examples/``.

After an intended change of the plans, regenerate them (and review the diff) with::

    for f in ctapipe_campaign two_step legacy_ctapipe; do
      .venv/bin/python -m CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production \\
        examples/$f.yaml --json > tests/unit/production/golden/$f.json
    done
"""

from __future__ import annotations

import json
import os

import pytest

from .conftest import EXAMPLES, GOLDEN


def test_every_example_has_a_golden_plan() -> None:
    examples = sorted(path.stem for path in EXAMPLES.glob("*.yaml"))
    goldens = sorted(path.stem for path in GOLDEN.glob("*.json"))
    assert examples == goldens


@pytest.mark.parametrize("name", sorted(path.stem for path in EXAMPLES.glob("*.yaml")))
def test_json_output_matches_golden(name: str, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    result = run_cli(os.path.join("examples", f"{name}.yaml"), "--json")
    assert result.code == 0, result.stderr
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    assert json.loads(result.stdout) == expected
    # the exact bytes too: other tools read this output
    assert result.stdout == (GOLDEN / f"{name}.json").read_text()
