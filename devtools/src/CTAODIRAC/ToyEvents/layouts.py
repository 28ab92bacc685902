"""Sites, toy array layouts and the toy telescope, as plain data (no ctapipe, no numpy).

Positions are in ctapipe's ground frame: x towards North, y towards West, z up, metres from the array
reference point. The numbers are "real-ish" (CTAO-North and CTAO-South coordinates, MST-sized telescopes),
not any actual layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from .description import Site

__all__ = ["LAYOUTS", "SITES", "TOY_CAMERA", "TOY_TELESCOPE", "SiteLocation", "ToyCamera", "ToyTelescope"]


@dataclass(frozen=True)
class SiteLocation:
    """Geodetic location of an array reference point."""

    name: str
    latitude_deg: float
    longitude_deg: float
    height_m: float


@dataclass(frozen=True)
class ToyCamera:
    """A hexagonal-pixel camera with one gain channel and sampled waveforms."""

    name: str = "ToyCam"
    n_rings: int = 15
    """Rings of hexagonal pixels around the central one: 3 n (n + 1) + 1 pixels (721)."""
    pixel_pitch_m: float = 0.05
    """Distance between neighbouring pixel centres in the focal plane, m (0.17 deg at 16.4 m)."""
    n_samples: int = 30
    sampling_rate_ghz: float = 1.0
    pulse_sigma_ns: float = 1.5
    """Width of the Gaussian single-photoelectron pulse."""
    noise_pe_per_sample: float = 0.5
    """White noise (night-sky background and electronics) per sample, photoelectrons."""

    @property
    def n_pixels(self) -> int:
        """Number of pixels."""
        return 3 * self.n_rings * (self.n_rings + 1) + 1


@dataclass(frozen=True)
class ToyTelescope:
    """An MST-like telescope."""

    name: str = "ToyMST"
    size_type: str = "MST"
    mirror_area_m2: float = 100.0
    n_mirror_tiles: int = 86
    equivalent_focal_length_m: float = 16.0
    effective_focal_length_m: float = 16.44


TOY_CAMERA = ToyCamera()
TOY_TELESCOPE = ToyTelescope()

SITES: dict[Site, SiteLocation] = {
    Site.LA_PALMA: SiteLocation("CTAO-North (toy)", 28.7617, -17.8914, 2158.0),
    Site.PARANAL: SiteLocation("CTAO-South (toy)", -24.6833, -70.3160, 2147.0),
}

#: (site, layout) -> {tel_id: (x, y, z)} in metres.
LAYOUTS: dict[tuple[Site, str], dict[int, tuple[float, float, float]]] = {
    (Site.LA_PALMA, "ToyAlpha"): {
        1: (100.0, 60.0, 1.5),
        2: (-60.0, 100.0, 0.5),
        3: (-100.0, -60.0, -1.0),
        4: (60.0, -100.0, 0.0),
    },
    (Site.PARANAL, "ToyAlpha"): {
        1: (0.0, 0.0, 0.0),
        2: (150.0, 30.0, 1.0),
        3: (-30.0, 150.0, -0.5),
        4: (-150.0, -30.0, 0.5),
        5: (30.0, -150.0, 2.0),
    },
}
