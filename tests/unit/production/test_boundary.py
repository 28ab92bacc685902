"""The production core and the dry run never import DIRAC (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import EXAMPLES

CHECK = """
import importlib, pkgutil, sys
import CTAODIRAC.Core.Production as core
for module in pkgutil.walk_packages(core.__path__, core.__name__ + "."):
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


def test_core_and_dry_run_do_not_import_dirac() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(EXAMPLES / "ctapipe_campaign.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "clean" in result.stderr
    assert '"productions"' in result.stdout
