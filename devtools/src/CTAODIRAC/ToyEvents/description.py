"""The toy DL0 input description: one small JSON file per simulated run.

A file named ``<anything>.toydl0.json`` holds one :class:`ToyRunDescription`. It is the whole "DL0" of a run:
the event source (:mod:`CTAODIRAC.ToyEvents.source`) simulates the showers from it, deterministically (same
file, same events). This module needs only pydantic and the standard library, so the job side and the
campaign tooling can write and read descriptions without ctapipe.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from CTAODIRAC.Core.errors import CTAODIRACError

__all__ = [
    "FORMAT_VERSION",
    "SUFFIX",
    "Particle",
    "Site",
    "Split",
    "ToyDescriptionError",
    "ToyRunDescription",
    "default_description",
    "looks_like_description",
    "read_description",
    "write_description",
]

#: File name suffix that marks a toy DL0 input description (what the event source claims).
SUFFIX = ".toydl0.json"
#: Value of the ``format`` key this code writes and reads.
FORMAT_VERSION = "ctaodirac-toy-dl0/1"


class Particle(StrEnum):
    """Primary particle of a run; the value is the campaign metadata ``particle``."""

    GAMMA = "gamma"
    GAMMA_DIFFUSE = "gamma-diffuse"
    PROTON = "proton"
    ELECTRON = "electron"

    @property
    def corsika_id(self) -> int:
        """CORSIKA particle code (gamma 0, electron 1, proton 101), as ctapipe's ``shower_primary_id``."""
        return {Particle.GAMMA: 0, Particle.GAMMA_DIFFUSE: 0, Particle.ELECTRON: 1, Particle.PROTON: 101}[self]


class Split(StrEnum):
    """What a run is for; the value is the campaign metadata ``split``."""

    ENERGY_TRAINING = "energy-training"
    CLASSIFIER_TRAINING = "classifier-training"
    PERFORMANCE = "performance"


class Site(StrEnum):
    """Observatory site; the value is the campaign metadata ``site``."""

    LA_PALMA = "LaPalma"
    PARANAL = "Paranal"


#: Per particle: energy range (TeV), maximum core distance (m), view cone (deg). Chosen so that a few hundred
#: showers give enough triggered events on the toy arrays; a proton needs ~3x the energy of a gamma for the same
#: light, and diffuse particles come from the whole field of view.
_PARTICLE_DEFAULTS: dict[Particle, dict[str, Any]] = {
    Particle.GAMMA: {"energy_min_tev": 0.08, "energy_max_tev": 50.0, "core_max_m": 400.0, "viewcone_deg": (0, 0)},
    Particle.GAMMA_DIFFUSE: {
        "energy_min_tev": 0.08,
        "energy_max_tev": 50.0,
        "core_max_m": 400.0,
        "viewcone_deg": (0, 2.5),
    },
    Particle.ELECTRON: {
        "energy_min_tev": 0.08,
        "energy_max_tev": 20.0,
        "core_max_m": 400.0,
        "viewcone_deg": (0, 3.0),
    },
    Particle.PROTON: {"energy_min_tev": 0.25, "energy_max_tev": 100.0, "core_max_m": 500.0, "viewcone_deg": (0, 3.5)},
}


class ToyDescriptionError(CTAODIRACError, ValueError):
    """A toy DL0 description that cannot be read; carries the file it came from."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


class ToyRunDescription(BaseModel):
    """One simulated run of the toy DL0 source (the content of a ``*.toydl0.json`` file)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    format: str = FORMAT_VERSION
    """Format tag, always ``ctaodirac-toy-dl0/1``."""

    particle: Particle
    """Primary particle: gamma (point-like, from the pointing direction), gamma-diffuse, proton or electron."""

    split: Split
    """What the run is for: energy-training, classifier-training or performance (metadata only)."""

    run_number: int = Field(ge=1, le=2**31 - 1)
    """Run number; becomes ctapipe's ``obs_id`` (and the scheduling-block id)."""

    n_showers: int = Field(ge=1, le=1_000_000)
    """Showers thrown (at most a million: their truth is drawn up front). Like sim_telarray, only those that
    trigger at least ``min_telescopes`` telescopes are written."""

    seed: int = Field(ge=0, le=2**63 - 1)
    """Seed of the random generator: the same description always gives the same events."""

    energy_min_tev: float = Field(gt=0)
    """Lower end of the simulated energy range, TeV."""

    energy_max_tev: float = Field(gt=0)
    """Upper end of the simulated energy range, TeV."""

    spectral_index: float = -2.0
    """Power-law index of the simulated spectrum, dN/dE ~ E**spectral_index."""

    core_max_m: float = Field(gt=0)
    """Shower cores are thrown uniformly on the ground within this radius of the array centre, m."""

    viewcone_deg: tuple[float, float] = (0.0, 0.0)
    """Minimum and maximum angle between shower direction and pointing, deg; (0, 0) is a point source."""

    site: Site = Site.LA_PALMA
    """Site, which fixes the observatory location and the toy array layout."""

    array_layout: str = "ToyAlpha"
    """Array layout name; only ``ToyAlpha`` exists (4 telescopes at LaPalma, 5 at Paranal)."""

    phiP: float = Field(default=180.0, ge=0, lt=360)
    """Pointing azimuth in the CORSIKA convention of the campaign metadata: 180 is North pointing, 0 South.
    ctapipe's azimuth (from North towards East) is ``(180 - phiP) mod 360``."""

    thetaP: float = Field(default=20.0, ge=0, le=60)
    """Pointing zenith angle, deg."""

    min_telescopes: int = Field(default=2, ge=1)
    """Subarray trigger: an event is written when at least this many telescopes trigger."""

    event_rate_hz: float = Field(default=100.0, gt=0)
    """Written events are spaced in time by ``1 / event_rate_hz`` from ``start_time``."""

    start_time: str = "2025-01-01T00:00:00"
    """Start of the run (ISO 8601, UTC)."""

    @model_validator(mode="after")
    def _check_ranges(self) -> ToyRunDescription:
        if self.format != FORMAT_VERSION:
            raise ValueError(f"format must be {FORMAT_VERSION!r}, not {self.format!r}")
        if self.energy_max_tev <= self.energy_min_tev:
            raise ValueError("energy_max_tev must be larger than energy_min_tev")
        low, high = self.viewcone_deg
        if not 0 <= low <= high <= 10:
            raise ValueError("viewcone_deg must be (min, max) with 0 <= min <= max <= 10")
        if self.array_layout != "ToyAlpha":
            raise ValueError(f"unknown array_layout {self.array_layout!r}; known: ToyAlpha")
        return self

    @property
    def azimuth_deg(self) -> float:
        """Pointing azimuth in ctapipe's convention (from North towards East), deg."""
        return (180.0 - self.phiP) % 360.0

    @property
    def altitude_deg(self) -> float:
        """Pointing altitude, deg."""
        return 90.0 - self.thetaP

    @property
    def diffuse(self) -> bool:
        """Whether showers come from a view cone rather than from the pointing direction."""
        return self.viewcone_deg[1] > 0

    def catalog_metadata(self) -> dict[str, str | int | float]:
        """The file-catalog metadata of the DL0 file this run stands for (keys as in the campaign examples).

        Returns
        -------
        dict
            ``particle``, ``split``, ``site``, ``array_layout``, ``phiP``, ``thetaP``, ``run_number``,
            ``n_showers``.
        """
        return {
            "particle": self.particle.value,
            "split": self.split.value,
            "site": self.site.value,
            "array_layout": self.array_layout,
            "phiP": self.phiP,
            "thetaP": self.thetaP,
            "run_number": self.run_number,
            "n_showers": self.n_showers,
        }

    def file_name(self) -> str:
        """A conventional file name, ``<particle>_<split>_run<run_number>.toydl0.json``."""
        return f"{self.particle.value}_{self.split.value}_run{self.run_number:06d}{SUFFIX}"


def default_description(
    particle: Particle | str,
    split: Split | str,
    run_number: int,
    n_showers: int,
    *,
    seed: int | None = None,
    **overrides: Any,
) -> ToyRunDescription:
    """A description with the per-particle defaults (energy range, core radius, view cone).

    Parameters
    ----------
    particle, split : Particle or str
        Primary particle and split.
    run_number : int
        Run number (ctapipe ``obs_id``).
    n_showers : int
        Showers thrown.
    seed : int, optional
        Random seed; by default derived from the run number, so runs differ and stay reproducible.
    **overrides
        Any other :class:`ToyRunDescription` field.

    Returns
    -------
    ToyRunDescription
    """
    particle = Particle(particle)
    values: dict[str, Any] = dict(_PARTICLE_DEFAULTS[particle])
    values.update(
        particle=particle,
        split=Split(split),
        run_number=run_number,
        n_showers=n_showers,
        seed=seed if seed is not None else 1_000_003 * run_number + 17,
    )
    values.update(overrides)
    return ToyRunDescription(**values)


def read_description(path: Path | str) -> ToyRunDescription:
    """Read and validate a ``*.toydl0.json`` file.

    Raises
    ------
    ToyDescriptionError
        When the file cannot be read, is not JSON, or does not validate (the message names the key).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ToyDescriptionError(path, f"cannot read toy DL0 description: {exc}") from exc
    try:
        return ToyRunDescription.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise ToyDescriptionError(path, f"invalid toy DL0 description: {problems}") from exc


def write_description(description: ToyRunDescription, path: Path | str) -> Path:
    """Write a description as indented JSON (every field explicit) and return the path."""
    path = Path(path)
    path.write_text(json.dumps(description.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    return path


def looks_like_description(path: Path | str) -> bool:
    """Cheap check used by the event source's ``is_compatible``: suffix and format tag in the first bytes."""
    path = Path(path)
    if not path.name.endswith(SUFFIX) or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return FORMAT_VERSION.encode() in head
