"""The package as DIRAC sees it: entry points, no side effects on import, package data; the wheels of the two
distributions: the extension a data centre installs, the development tooling apart (devtools/)."""

from __future__ import annotations

import fnmatch
import subprocess
import zipfile
import sys
from importlib.metadata import distribution, entry_points
from pathlib import Path

import pytest

import CTAODIRAC

CHECKOUT = Path(__file__).resolve().parents[2]
DEVTOOLS_PACKAGES = ("LocalDIRAC", "ToyEvents")


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
    scripts = [ep for name in ("CTAODIRAC", "CTAODIRAC-devtools") for ep in distribution(name).entry_points
               if ep.group == "console_scripts"]  # fmt: skip
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
    for method in ("submitProductions", "addProduction", "addProductionStep", "startProduction", "deleteProduction"):
        assert auth.getOption(method) == "ProductionManagement", method


def _wheel(tmp_path_factory, distribution_name: str) -> tuple[set[str], str]:
    """The files of a distribution's wheel built from a copy of the checkout, and its entry_points.txt."""
    from CTAODIRAC.LocalDIRAC.vmhost import build_wheel

    wheel = build_wheel(CHECKOUT, tmp_path_factory.mktemp("wheels"), distribution_name)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (entry_points_txt,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        return names, zf.read(entry_points_txt).decode()


@pytest.fixture(scope="module")
def main_wheel(tmp_path_factory):
    return _wheel(tmp_path_factory, "CTAODIRAC")


@pytest.fixture(scope="module")
def devtools_wheel(tmp_path_factory):
    return _wheel(tmp_path_factory, "CTAODIRAC-devtools")


def test_the_extension_wheel_a_data_centre_installs_has_no_development_tooling(main_wheel):
    names, entry_points_txt = main_wheel
    modules = {n for n in names if n.startswith("CTAODIRAC/")}
    assert "CTAODIRAC/__init__.py" in modules
    assert "CTAODIRAC/TransformationSystem/ConfigTemplate.cfg" in modules
    assert any(n.startswith("CTAODIRAC/WebApp/static/") for n in modules)
    assert [n for n in modules if n.split("/")[1] in DEVTOOLS_PACKAGES] == []
    assert "dirac-ctao-local" not in entry_points_txt and "ctapipe_io" not in entry_points_txt
    assert "ToyEvents" not in entry_points_txt and "LocalDIRAC" not in entry_points_txt
    assert "[dirac]" in entry_points_txt and "dirac-ctao-run-step" in entry_points_txt


def test_the_devtools_wheel_holds_exactly_the_local_dirac_and_the_toy_events(main_wheel, devtools_wheel):
    names, entry_points_txt = devtools_wheel
    modules = {n for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert {n.split("/")[1] for n in modules} == set(DEVTOOLS_PACKAGES)
    assert all(n.startswith("CTAODIRAC/") and n.endswith(".py") for n in modules), modules
    # no CTAODIRAC/__init__.py of its own: installed from wheels, both fill the one site-packages/CTAODIRAC
    assert "CTAODIRAC/__init__.py" not in modules and not modules & main_wheel[0]
    for package in DEVTOOLS_PACKAGES:
        shipped = {n for n in modules if n.startswith(f"CTAODIRAC/{package}/")}
        sources = {f"CTAODIRAC/{p.relative_to(CHECKOUT / 'devtools' / 'src' / 'CTAODIRAC').as_posix()}"
                   for p in (CHECKOUT / "devtools" / "src" / "CTAODIRAC" / package).rglob("*.py")}  # fmt: skip
        assert shipped == sources, package
    sections = {line.strip() for line in entry_points_txt.splitlines() if line.startswith("[")}
    assert sections == {"[console_scripts]", "[ctapipe_io]"}
    assert "dirac-ctao-local = CTAODIRAC.LocalDIRAC.cli:main" in entry_points_txt
    assert "ToyDL0EventSource = CTAODIRAC.ToyEvents.source:ToyDL0EventSource" in entry_points_txt


def test_the_package_spans_the_extension_and_the_devtools_directories():
    import CTAODIRAC.LocalDIRAC.cli
    import CTAODIRAC.ToyEvents.description

    assert Path(CTAODIRAC.__file__).parent == CHECKOUT / "src" / "CTAODIRAC"
    for module in (CTAODIRAC.LocalDIRAC.cli, CTAODIRAC.ToyEvents.description):
        assert Path(module.__file__).is_relative_to(CHECKOUT / "devtools" / "src" / "CTAODIRAC"), module.__file__
    assert str(CHECKOUT / "devtools" / "src" / "CTAODIRAC") in CTAODIRAC.__path__
    assert not (CHECKOUT / "devtools" / "src" / "CTAODIRAC" / "__init__.py").exists()
