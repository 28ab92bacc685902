"""The toy DL0 input description and its writer: pure (pydantic, standard library), no ctapipe needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from CTAODIRAC.ToyEvents import (
    SUFFIX,
    Particle,
    Split,
    ToyDescriptionError,
    ToyRunDescription,
    default_description,
    read_description,
    write_description,
)
from CTAODIRAC.ToyEvents.description import looks_like_description
from CTAODIRAC.ToyEvents.make_inputs import ALL_SAMPLES, main, make_inputs


def test_defaults_per_particle_and_round_trip(tmp_path: Path) -> None:
    gamma = default_description("gamma", "performance", run_number=7, n_showers=100)
    diffuse = default_description("gamma-diffuse", "energy-training", run_number=8, n_showers=100)
    proton = default_description(Particle.PROTON, Split.CLASSIFIER_TRAINING, run_number=9, n_showers=100)
    assert not gamma.diffuse and diffuse.diffuse and proton.diffuse
    assert proton.energy_min_tev > gamma.energy_min_tev
    assert gamma.seed != diffuse.seed  # derived from the run number
    path = write_description(gamma, tmp_path / gamma.file_name())
    assert path.name == "gamma_performance_run000007.toydl0.json"
    assert read_description(path) == gamma
    assert looks_like_description(path)
    # every field is written explicitly, so a file documents itself
    assert set(json.loads(path.read_text())) == set(ToyRunDescription.model_fields)


def test_pointing_conventions() -> None:
    north = default_description("gamma", "performance", 1, 10, phiP=180.0, thetaP=20.0)
    south = default_description("gamma", "performance", 1, 10, phiP=0.0, thetaP=40.0)
    assert (north.azimuth_deg, north.altitude_deg) == (0.0, 70.0)
    assert (south.azimuth_deg, south.altitude_deg) == (180.0, 50.0)


def test_catalog_metadata_has_the_campaign_keys() -> None:
    meta = default_description("proton", "performance", 3, 10).catalog_metadata()
    assert meta == {
        "particle": "proton",
        "split": "performance",
        "site": "LaPalma",
        "array_layout": "ToyAlpha",
        "phiP": 180.0,
        "thetaP": 20.0,
        "run_number": 3,
        "n_showers": 10,
    }


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"particle": "muon"}, "particle"),
        ({"energy_min_tev": 10.0, "energy_max_tev": 1.0}, "energy_max_tev"),
        ({"viewcone_deg": [3, 1]}, "viewcone_deg"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"format": "something-else/9"}, "format"),
        ({"n_showers": 0}, "n_showers"),
    ],
)
def test_bad_descriptions_name_file_and_key(tmp_path: Path, change: dict, key: str) -> None:
    data = default_description("gamma", "performance", 1, 10).model_dump(mode="json")
    data.update(change)
    path = tmp_path / f"bad{SUFFIX}"
    path.write_text(json.dumps(data))
    with pytest.raises(ToyDescriptionError) as info:
        read_description(path)
    assert str(path) in str(info.value) and key in str(info.value)


def test_unreadable_and_foreign_files(tmp_path: Path) -> None:
    not_json = tmp_path / f"x{SUFFIX}"
    not_json.write_text("{")
    with pytest.raises(ToyDescriptionError, match="cannot read"):
        read_description(not_json)
    assert not looks_like_description(not_json)
    other = tmp_path / "x.json"
    other.write_text(json.dumps(default_description("gamma", "performance", 1, 10).model_dump(mode="json")))
    assert not looks_like_description(other)  # wrong suffix
    assert not looks_like_description(tmp_path / f"missing{SUFFIX}")


def test_make_inputs_all_samples_with_manifest(tmp_path: Path) -> None:
    paths = make_inputs(tmp_path, 50, runs_per_sample=2, first_run=10)
    assert len(paths) == len(ALL_SAMPLES) * 2 == 24
    runs = [read_description(p).run_number for p in paths]
    assert runs == list(range(10, 34))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == {p.name for p in paths}
    combos = {(m["particle"], m["split"]) for m in manifest.values()}
    assert combos == {(p.value, s.value) for p, s in ALL_SAMPLES}


def test_make_inputs_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(tmp_path), "--showers", "20", "--sample", "electron:performance", "--site", "Paranal"])
    assert code == 0
    (line,) = capsys.readouterr().out.split()
    description = read_description(line)
    assert (description.particle, description.site.value, description.n_showers) == (
        Particle.ELECTRON,
        "Paranal",
        20,
    )
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path), "--sample", "muon:performance"])
    assert info.value.code == 2
    assert main([str(tmp_path), "--showers", "0"]) == 2


def test_package_imports_neither_dirac_nor_ctapipe() -> None:
    code = (
        "import sys\n"
        "import CTAODIRAC.ToyEvents, CTAODIRAC.ToyEvents.description, CTAODIRAC.ToyEvents.make_inputs\n"
        "import CTAODIRAC.ToyEvents.layouts, CTAODIRAC.ToyEvents.shower\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('DIRAC', 'DIRACCommon', 'ctapipe', 'astropy')]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_package_import_alone_does_not_import_numpy() -> None:
    code = "import sys, CTAODIRAC.ToyEvents\nassert 'numpy' not in sys.modules and 'ctapipe' not in sys.modules\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
