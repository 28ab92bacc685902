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


def _run_main(capsys: pytest.CaptureFixture[str], main: Callable[[list[str]], None], args: tuple[str, ...]) -> CliResult:
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``dirac-ctao-submit-production`` in-process; returns exit code, stdout and stderr."""
    # imported here: the toy source's tests run in the ctapipe environment, which has no typer or rich
    from CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production import main

    return lambda *args: _run_main(capsys, main, args)


@pytest.fixture
def submit_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``dirac-ctao-submit-cwl-job`` in-process; returns exit code, stdout and stderr."""
    from CTAODIRAC.WorkloadManagementSystem.scripts.dirac_ctao_submit_cwl_job import main

    return lambda *args: _run_main(capsys, main, args)


NO_DIRAC_CHECK = """
import importlib, pkgutil, sys
for package in sys.argv[2:]:
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, package + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
from CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production import main
try:
    main([sys.argv[1], "--json"])
except SystemExit as exc:
    assert not exc.code, exc.code
loaded = sorted(name for name in sys.modules if name == "DIRAC" or name.startswith("DIRAC."))
assert not loaded, loaded
sys.stderr.write("clean\\n")
"""


@pytest.fixture
def dry_run_without_dirac() -> Callable[..., str]:
    """``(file, *packages) -> plan JSON``: in a fresh interpreter, import every module of ``packages``, plan
    ``file`` with ``dirac-ctao-submit-production --json``, and check that no DIRAC module was loaded."""
    import subprocess
    import sys

    def run(file: str, *packages: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", NO_DIRAC_CHECK, file, *packages], capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr
        assert "clean" in result.stderr
        return result.stdout

    return run
