"""The package as DIRAC sees it: entry points, no side effects on import, package data."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution, entry_points
from pathlib import Path

import CTAODIRAC


def test_importing_the_package_does_not_import_dirac():
    code = "import sys, CTAODIRAC; print('DIRAC' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_extension_metadata_entry_point_has_priority_above_dirac():
    (ep,) = [ep for ep in entry_points(group="dirac") if ep.value.startswith("CTAODIRAC")]
    assert ep.name == "metadata"
    meta = ep.load()()
    assert meta is CTAODIRAC.extension_metadata() or meta == CTAODIRAC.extension_metadata()
    dirac_meta = [e for e in entry_points(group="dirac") if e.value.startswith("DIRAC:")][0].load()()
    assert meta["priority"] > dirac_meta["priority"]


def test_every_console_script_of_ours_loads_and_follows_dirac_naming():
    scripts = [ep for ep in distribution("CTAODIRAC").entry_points if ep.group == "console_scripts"]
    assert scripts, "no console scripts declared"
    for ep in scripts:
        func = ep.load()
        assert callable(func), ep
        module_file = ep.value.split(":")[0].rsplit(".", 1)[1]
        # DIRAC's @Script finds a command by its module name: dirac-x-y lives in dirac_x_y.py
        if ep.name.startswith("dirac-") and ep.name != "dirac-ctao-local":
            assert module_file == ep.name.replace("-", "_"), ep


def test_version_is_a_string_as_dirac_expects():
    # DIRAC's getCurrentVersion() sends <extension>.version with every job's parameters: it must be JSON-able
    assert isinstance(CTAODIRAC.version, str) and CTAODIRAC.version == CTAODIRAC.__version__
