"""The package as DIRAC sees it: entry points, no side effects on import, package data."""

from __future__ import annotations

import fnmatch
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


def test_system_config_templates_are_valid_and_ship_as_package_data():
    from diraccfg import CFG

    root = Path(CTAODIRAC.__file__).parent
    templates = sorted(root.glob("*System/ConfigTemplate.cfg"))
    assert templates, "no system of ours ships a ConfigTemplate.cfg"
    for template in templates:
        cfg = CFG().loadFromFile(str(template))
        assert cfg.listSections(), f"{template} has no section"
    # setup.cfg's package data patterns take them into the wheel
    from setuptools.config.setupcfg import read_configuration

    setup_cfg = Path(__file__).parents[2] / "setup.cfg"
    patterns = read_configuration(str(setup_cfg))["options"]["package_data"][""]
    assert any(fnmatch.fnmatch("ConfigTemplate.cfg", pattern) for pattern in patterns), patterns


def test_production_manager_writes_are_restricted_to_production_managers():
    from CTAODIRAC.LocalDIRAC.csconfig import system_templates

    auth = system_templates()["Production"]["Services"]["ProductionManager"]["Authorization"]
    assert auth.getOption("Default") == "authenticated"
    for method in ("addProduction", "addProductionStep", "startProduction", "deleteProduction"):
        assert auth.getOption(method) == "ProductionManagement", method
