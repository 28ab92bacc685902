"""The pure core never imports DIRAC (STYLE.md: a pure core, DIRAC at the edge)."""

from __future__ import annotations

import subprocess
import sys

CODE = r"""
import importlib, pkgutil, sys
import CTAODIRAC.Core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, core.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(len(names) + 1, sorted(m for m in sys.modules if m == "DIRAC" or m.startswith("DIRAC.")))
"""


def test_core_and_local_tool_never_import_dirac():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert int(out[0]) >= 1
    assert out[1].strip() == "[]"


def test_local_dirac_tool_runs_dirac_only_in_subprocesses():
    code = (
        "import sys\n"
        "import CTAODIRAC.LocalDIRAC.cli, CTAODIRAC.LocalDIRAC.control, CTAODIRAC.LocalDIRAC.csconfig as c\n"
        "c.system_templates(), c.extension_databases(), c.all_components()\n"
        "print(any(m == 'DIRAC' or m.startswith('DIRAC.') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
