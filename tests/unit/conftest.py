"""Fixtures shared by the unit tests (this file is also read in the ctapipe environment: pytest only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``dirac-ctao-submit-production`` in-process; returns exit code, stdout and stderr."""
    # imported here: the toy source's tests run in the ctapipe environment, which has no typer or rich
    from CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
