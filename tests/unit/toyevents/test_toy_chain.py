"""The unmodified ctapipe tools on toy DL0, from DL0 to DL2 with trained models (needs ctapipe).

The chain of the CTAO campaign (``examples/ctapipe_campaign.yaml``) in miniature: process every sample, merge
two runs, train the energy regressor on gamma-diffuse, apply it to the classifier-training samples, train the
particle classifier on gamma-diffuse against protons, and apply both models to the performance samples. Tools run
in-process (ctapipe's ``run_tool``), except one ``ctapipe-process`` started as a command, which checks that the
plugin is found in a fresh process through its entry point. Event counts are small: the whole module takes about
a minute on 2 cores. Timings and figures of merit are printed (``pytest -s``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

ctapipe = pytest.importorskip("ctapipe", reason="ctapipe is not installed (the toy DL0 source is a ctapipe plugin)")

import tables
from ctapipe.core import run_tool
from ctapipe.io import TableLoader
from ctapipe.tools.apply_models import ApplyModels
from ctapipe.tools.merge import MergeTool
from ctapipe.tools.process import ProcessorTool
from ctapipe.tools.train_energy_regressor import TrainEnergyRegressor
from ctapipe.tools.train_particle_classifier import TrainParticleClassifier

from CTAODIRAC.ToyEvents.make_inputs import make_inputs

#: (name, particle, split, showers). Protons trigger ~6 % of the time, gammas ~30 %.
SAMPLES = [
    ("gd-energy-1", "gamma-diffuse", "energy-training", 700),
    ("gd-energy-2", "gamma-diffuse", "energy-training", 700),
    ("gd-classifier", "gamma-diffuse", "classifier-training", 700),
    ("proton-classifier", "proton", "classifier-training", 2500),
    ("gamma-performance", "gamma", "performance", 700),
    ("proton-performance", "proton", "performance", 2500),
]
RESOURCES = files("ctapipe") / "resources"
QUIET = ["--log-level=ERROR"]


@dataclass
class Chain:
    """Files and timings of one run of the chain."""

    workdir: Path
    dl0: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def file(self, name: str) -> Path:
        return self.workdir / name

    def run(self, step: str, tool: object, argv: list[str]) -> None:
        start = time.perf_counter()
        assert run_tool(tool, argv=argv + QUIET, cwd=self.workdir, raises=True) == 0, step
        self.timings[step] = time.perf_counter() - start


def _process_argv(dl0: Path, output: Path) -> list[str]:
    return [
        f"--input={dl0}",
        f"--output={output}",
        "--write-parameters",
        "--no-write-images",
        "--write-showers",
        "--no-progress",
        "--overwrite",
    ]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    chain = Chain(tmp_path_factory.mktemp("toy-chain"))
    samples = [(particle, split) for _, particle, split, _ in SAMPLES]
    start = time.perf_counter()
    for (name, particle, split, showers), run_number in zip(SAMPLES, range(1, len(SAMPLES) + 1), strict=True):
        (path,) = make_inputs(chain.file("dl0"), showers, samples=[(particle, split)], first_run=run_number)
        chain.dl0[name] = path
    assert len(chain.dl0) == len(samples)
    chain.timings["make-inputs"] = time.perf_counter() - start

    # one ctapipe-process as a command: the plugin is found through its entry point in a fresh interpreter
    command = Path(sys.executable).with_name("ctapipe-process")
    start = time.perf_counter()
    subprocess.run(
        [str(command), *_process_argv(chain.dl0["gamma-performance"], chain.file("gamma-performance.dl1.h5")), *QUIET],
        check=True,
        cwd=chain.workdir,
    )
    chain.timings["process gamma-performance (command)"] = time.perf_counter() - start
    for name, *_ in SAMPLES:
        if name != "gamma-performance":
            chain.run(f"process {name}", ProcessorTool(), _process_argv(chain.dl0[name], chain.file(f"{name}.dl1.h5")))

    merge_dir = chain.file("to-merge")
    merge_dir.mkdir()
    for name in ("gd-energy-1", "gd-energy-2"):
        chain.file(f"{name}.dl1.h5").rename(merge_dir / f"{name}.dl1.h5")
    chain.run(
        "merge",
        MergeTool(),
        [f"--input-dir={merge_dir}", "--pattern=*.dl1.h5", f"--output={chain.file('gd-energy.dl1.h5')}"],
    )
    chain.run(
        "train-energy",
        TrainEnergyRegressor(),
        [
            f"--input={chain.file('gd-energy.dl1.h5')}",
            f"--output={chain.file('energy.pkl')}",
            f"--config={RESOURCES / 'train_energy_regressor.yaml'}",
            "--n-jobs=2",
        ],
    )
    for name in ("gd-classifier", "proton-classifier"):
        chain.run(
            f"apply-energy {name}",
            ApplyModels(),
            [
                f"--input={chain.file(f'{name}.dl1.h5')}",
                f"--output={chain.file(f'{name}.dl2.h5')}",
                f"--reconstructor={chain.file('energy.pkl')}",
                "--n-jobs=2",
                "--no-progress",
            ],
        )
    chain.run(
        "train-classifier",
        TrainParticleClassifier(),
        [
            f"--signal={chain.file('gd-classifier.dl2.h5')}",
            f"--background={chain.file('proton-classifier.dl2.h5')}",
            f"--output={chain.file('classifier.pkl')}",
            f"--config={RESOURCES / 'train_particle_classifier.yaml'}",
            "--n-jobs=2",
        ],
    )
    for name in ("gamma-performance", "proton-performance"):
        chain.run(
            f"apply-models {name}",
            ApplyModels(),
            [
                f"--input={chain.file(f'{name}.dl1.h5')}",
                f"--output={chain.file(f'{name}.dl2.h5')}",
                f"--reconstructor={chain.file('energy.pkl')}",
                f"--reconstructor={chain.file('classifier.pkl')}",
                "--n-jobs=2",
                "--no-progress",
            ],
        )
    print("\ntoy chain timings (s):", {k: round(v, 1) for k, v in chain.timings.items()})
    print(f"toy chain total: {sum(chain.timings.values()):.1f} s")
    return chain


def _subarray_events(path: Path):
    with TableLoader(path) as loader:
        return loader.read_subarray_events(dl2=True, simulated=True)


def test_process_writes_dl2_ready_dl1(chain: Chain) -> None:
    for name in ("gamma-performance", "proton-performance", "gd-classifier"):
        with tables.open_file(chain.file(f"{name}.dl1.h5")) as h5:
            assert "/dl1/event/telescope/parameters" in h5
            assert "/dl1/event/telescope/images" not in h5
            assert "/dl2/event/subarray/geometry/HillasReconstructor" in h5
            assert "/simulation/event/subarray/shower" in h5
            assert "/simulation/service/shower_distribution" in h5
            assert "/configuration/instrument/subarray/layout" in h5
    events = _subarray_events(chain.file("gamma-performance.dl1.h5"))
    valid = np.asarray(events["HillasReconstructor_is_valid"])
    d_alt = np.asarray(events["HillasReconstructor_alt"] - events["true_alt"])[valid]
    d_az = (np.asarray(events["HillasReconstructor_az"] - events["true_az"])[valid] + 180) % 360 - 180
    d_az *= np.cos(np.radians(np.asarray(events["true_alt"])[valid]))
    theta68 = np.percentile(np.hypot(d_alt, d_az), 68)
    print(f"\ngamma-performance: {len(events)} events, {valid.sum()} reconstructed, theta68 = {theta68:.3f} deg")
    assert valid.sum() > 50
    assert theta68 < 0.3


def test_protons_look_different(chain: Chain) -> None:
    def median_width(name: str) -> float:
        with TableLoader(chain.file(f"{name}.dl1.h5")) as loader:
            tel = loader.read_telescope_events(dl1_parameters=True, dl2=False, simulated=False)
        bright = np.asarray(tel["hillas_intensity"]) > 200
        return float(np.median(np.asarray(tel["hillas_width"])[bright]))

    gamma, proton = median_width("gamma-performance"), median_width("proton-performance")
    print(f"\nmedian hillas_width (intensity > 200): gamma {gamma:.3f} deg, proton {proton:.3f} deg")
    assert proton > 1.2 * gamma


def test_merge_keeps_both_runs(chain: Chain) -> None:
    merged = _subarray_events(chain.file("gd-energy.dl1.h5"))
    assert set(np.unique(merged["obs_id"])) == {1, 2}
    assert len(merged) > 200


def test_models_are_trained(chain: Chain) -> None:
    assert chain.file("energy.pkl").stat().st_size > 0
    assert chain.file("classifier.pkl").stat().st_size > 0


def test_energy_resolution_on_gamma_performance(chain: Chain) -> None:
    events = _subarray_events(chain.file("gamma-performance.dl2.h5"))
    reco = np.asarray(events["ExtraTreesRegressor_energy"])
    true = np.asarray(events["true_energy"])
    ok = np.isfinite(reco)
    relative = reco[ok] / true[ok] - 1
    resolution = np.percentile(np.abs(relative - np.median(relative)), 68)
    print(
        f"\nenergy: {ok.sum()} of {len(events)} gamma events estimated, resolution (68 %) {resolution:.1%}, "
        f"bias {np.median(relative):+.1%}"
    )
    assert ok.sum() > 50
    assert resolution < 0.4
    assert abs(np.median(relative)) < 0.2


def test_classifier_separates_gammas_from_protons(chain: Chain) -> None:
    from sklearn.metrics import roc_auc_score

    gamma = np.asarray(_subarray_events(chain.file("gamma-performance.dl2.h5"))["ExtraTreesClassifier_prediction"])
    proton = np.asarray(_subarray_events(chain.file("proton-performance.dl2.h5"))["ExtraTreesClassifier_prediction"])
    gamma, proton = gamma[np.isfinite(gamma)], proton[np.isfinite(proton)]
    auc = roc_auc_score(np.r_[np.ones(len(gamma)), np.zeros(len(proton))], np.r_[gamma, proton])
    print(f"\nclassifier: AUC {auc:.3f} on {len(gamma)} gammas and {len(proton)} protons")
    assert len(gamma) > 50 and len(proton) > 20
    assert auc > 0.7
