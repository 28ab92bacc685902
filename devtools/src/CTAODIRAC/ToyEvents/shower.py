"""The toy shower model: numpy only, no ctapipe (so it can be read and tested alone).

Not physics. Just enough geometry and light that ctapipe's image cleaning, Hillas parameters, stereo
reconstruction and machine-learning models behave as they do on real simulations:

- A shower is a cloud of emission points around its axis: longitudinally Gaussian around the height of the
  shower maximum (from a toy ``X_max(E)`` in an exponential atmosphere), laterally Gaussian. Protons are split
  into a few sub-showers offset from the axis, with a wider lateral spread, larger ``X_max`` fluctuations and
  about a third of the light of a gamma of the same energy: their images are wider and irregular.
  Electrons are gammas from a view cone, shifted slightly up.
- Each telescope sees the points projected into its field of view (exact geometry, ground frame of ctapipe:
  x North, y West, z up), smeared by a point-spread function; the light it collects is proportional to the
  energy times a light-pool profile of the distance between telescope and shower axis (flat with a rim up to
  ~120 m, falling beyond). So image size, shape and position depend on energy, impact and particle as expected.
- Photon arrival times follow the geometry (path length minus shower front delay), so images have timing
  gradients; waveforms are Gaussian pulses plus white noise in photoelectrons (R1-like, one gain channel).
- A telescope triggers when at least 3 pixels expect 5 photoelectrons or more; an event is written when at least
  ``min_telescopes`` trigger.

Everything is drawn from ``numpy.random.default_rng``: per-shower quantities from the run seed at start, and each
shower's images from ``(seed, shower index)``, so a run is reproducible and ``max_events`` does not change events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .description import Particle, ToyRunDescription
from .layouts import LAYOUTS, SITES, TOY_CAMERA, TOY_TELESCOPE, ToyCamera, ToyTelescope

__all__ = [
    "ATMOSPHERE_SCALE_HEIGHT_M",
    "ATMOSPHERE_SEA_LEVEL_DEPTH",
    "ShowerTruth",
    "SimulatedEvent",
    "TelescopeEvent",
    "ToyShowerSimulator",
    "altaz_to_ground",
    "ground_to_fov",
    "hexagonal_pixel_grid",
]

#: Exponential atmosphere: vertical depth X(h) = X0 exp(-h / H), h above sea level.
ATMOSPHERE_SCALE_HEIGHT_M = 8400.0
ATMOSPHERE_SEA_LEVEL_DEPTH = 1030.0  # g / cm2
SPEED_OF_LIGHT_M_PER_NS = 0.299792458

#: Sample index where the light-weighted mean arrival time of an image is put.
_REFERENCE_SAMPLE = 12.0
#: A telescope triggers when this many pixels expect at least _TRIGGER_PIXEL_PE photoelectrons.
_TRIGGER_N_PIXELS = 3
_TRIGGER_PIXEL_PE = 5.0
#: Optical point-spread function (Gaussian sigma), deg.
_PSF_DEG = 0.05


@dataclass(frozen=True)
class _ParticleModel:
    """Toy shower parameters of one primary."""

    xmax_at_1tev: float  # g/cm2, along the axis
    xmax_per_decade: float
    xmax_sigma: float
    first_interaction_length: float  # g/cm2
    longitudinal_sigma: float  # g/cm2
    lateral_sigma_m: float
    angular_sigma_deg: float  # intrinsic angular spread of the light around each emission point
    pe_per_tev: float  # photoelectrons per TeV for a 100 m2 telescope inside the light pool
    yield_sigma: float  # log-normal shower-to-shower fluctuation of the light yield
    pool_radius_m: float
    pool_falloff_m: float
    pool_rim: float  # relative excess of light at the rim of the light pool
    mean_subshowers: float  # Poisson mean of additional sub-showers (hadrons)
    subshower_offset_m: float


_MODELS: dict[Particle, _ParticleModel] = {
    Particle.GAMMA: _ParticleModel(360, 80, 25, 47, 110, 7, 0.03, 1000, 0.10, 120, 60, 0.3, 0, 0),
    Particle.ELECTRON: _ParticleModel(345, 80, 25, 30, 110, 7, 0.03, 1000, 0.10, 120, 60, 0.3, 0, 0),
    Particle.PROTON: _ParticleModel(320, 65, 60, 80, 150, 16, 0.06, 400, 0.35, 90, 110, 0.0, 1.5, 45),
}
_MODELS[Particle.GAMMA_DIFFUSE] = _MODELS[Particle.GAMMA]


@dataclass(frozen=True)
class ShowerTruth:
    """Simulation truth of one shower (ctapipe's ``SimulatedShowerContainer`` in plain numbers)."""

    energy_tev: float
    alt_deg: float
    az_deg: float
    core_x_m: float
    core_y_m: float
    h_first_int_m: float
    x_max_gcm2: float
    shower_primary_id: int


@dataclass
class TelescopeEvent:
    """What one triggered telescope recorded."""

    tel_id: int
    waveform: np.ndarray
    """R1-like waveform in photoelectrons per sample, shape (1, n_pixels, n_samples), float32."""
    true_image: np.ndarray
    """Photoelectrons per pixel before noise, int32."""
    impact_m: float
    """Distance between telescope and shower axis."""
    time_offset_ns: float
    """Trigger time of the telescope relative to the array trigger (shower front arrival)."""


@dataclass
class SimulatedEvent:
    """One written (triggered) event."""

    event_id: int
    shower_index: int
    shower: ShowerTruth
    telescopes: dict[int, TelescopeEvent] = field(default_factory=dict)


def altaz_to_ground(alt_rad: np.ndarray | float, az_rad: np.ndarray | float) -> np.ndarray:
    """Unit vector(s) towards (alt, az) in the ground frame (x North, y West, z up); shape (..., 3)."""
    alt = np.asarray(alt_rad, dtype=float)
    az = np.asarray(az_rad, dtype=float)
    return np.stack([np.cos(alt) * np.cos(az), -np.cos(alt) * np.sin(az), np.sin(alt)], axis=-1)


def ground_to_altaz(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`altaz_to_ground` for (not necessarily unit) vectors: (alt, az) in rad, az in [0, 2 pi)."""
    norm = np.linalg.norm(vectors, axis=-1)
    alt = np.arcsin(np.clip(vectors[..., 2] / norm, -1, 1))
    az = np.mod(np.arctan2(-vectors[..., 1], vectors[..., 0]), 2 * np.pi)
    return alt, az


def ground_to_fov(
    vectors: np.ndarray, pointing_alt_rad: float, pointing_az_rad: float
) -> tuple[np.ndarray, np.ndarray]:
    """Field-of-view offsets (ctapipe ``TelescopeFrame`` fov_lon, fov_lat, deg) of ground-frame directions.

    A rotation that brings the pointing direction to (lon, lat) = (0, 0), as astropy's ``SkyOffsetFrame`` of
    ``AltAz``: fov_lon grows with azimuth, fov_lat with altitude.
    """
    north, east, up = vectors[..., 0], -vectors[..., 1], vectors[..., 2]
    cos_az, sin_az = np.cos(pointing_az_rad), np.sin(pointing_az_rad)
    cos_alt, sin_alt = np.cos(pointing_alt_rad), np.sin(pointing_alt_rad)
    n1 = north * cos_az + east * sin_az
    e1 = -north * sin_az + east * cos_az
    x = n1 * cos_alt + up * sin_alt
    z = -n1 * sin_alt + up * cos_alt
    lon = np.degrees(np.arctan2(e1, x))
    lat = np.degrees(np.arctan2(z, np.hypot(x, e1)))
    return lon, lat


def hexagonal_pixel_grid(n_rings: int, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres of a hexagonal grid of ``3 n (n + 1) + 1`` pixels, pointy side up, in units of ``pitch``."""
    xs: list[float] = []
    ys: list[float] = []
    for q in range(-n_rings, n_rings + 1):
        for r in range(max(-n_rings, -q - n_rings), min(n_rings, -q + n_rings) + 1):
            xs.append(pitch * (q + r / 2.0))
            ys.append(pitch * r * np.sqrt(3.0) / 2.0)
    return np.array(xs), np.array(ys)


def _perpendicular_basis(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to ``direction`` and to each other."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(direction[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    first = np.cross(direction, helper)
    first /= np.linalg.norm(first)
    return first, np.cross(direction, first)


class ToyShowerSimulator:
    """Simulate the showers of one :class:`ToyRunDescription`.

    Parameters
    ----------
    description : ToyRunDescription
        The run.
    pix_fov_lon_deg, pix_fov_lat_deg : numpy.ndarray
        Pixel centres in the telescope's field of view (ctapipe ``TelescopeFrame``), deg. The event source
        passes ctapipe's own transformation of the camera geometry, so images and geometry agree exactly.
    camera, telescope : ToyCamera, ToyTelescope
        Camera readout and telescope parameters.
    """

    def __init__(
        self,
        description: ToyRunDescription,
        pix_fov_lon_deg: np.ndarray,
        pix_fov_lat_deg: np.ndarray,
        camera: ToyCamera = TOY_CAMERA,
        telescope: ToyTelescope = TOY_TELESCOPE,
    ) -> None:
        self.description = description
        self.camera = camera
        self.telescope = telescope
        self.model = _MODELS[description.particle]
        self.site = SITES[description.site]
        layout = LAYOUTS[(description.site, description.array_layout)]
        self.tel_ids = np.array(sorted(layout))
        self.tel_positions = np.array([layout[t] for t in self.tel_ids], dtype=float)
        self.pix_lon = np.asarray(pix_fov_lon_deg, dtype=float)
        self.pix_lat = np.asarray(pix_fov_lat_deg, dtype=float)
        spacing = np.sort(np.hypot(self.pix_lon - self.pix_lon[0], self.pix_lat - self.pix_lat[0]))[1]
        self.pix_area_deg2 = np.sqrt(3.0) / 2.0 * spacing**2
        self.camera_radius_deg = float(np.max(np.hypot(self.pix_lon, self.pix_lat)))
        self.pointing_alt = np.radians(description.altitude_deg)
        self.pointing_az = np.radians(description.azimuth_deg)
        self.pointing = altaz_to_ground(self.pointing_alt, self.pointing_az)
        self._sample_times = np.arange(camera.n_samples, dtype=float) / camera.sampling_rate_ghz
        self._draw_showers()

    # -- per-run draws ---------------------------------------------------------------------------------------

    def _draw_showers(self) -> None:
        d = self.description
        rng = np.random.default_rng(d.seed)
        n = d.n_showers
        self.energy = self._draw_power_law(rng, n, d.energy_min_tev, d.energy_max_tev, d.spectral_index)

        low, high = np.radians(d.viewcone_deg)
        cos_offset = rng.uniform(np.cos(high), np.cos(low), n)
        offset = np.arccos(np.clip(cos_offset, -1, 1))
        phi = rng.uniform(0, 2 * np.pi, n)
        first, second = _perpendicular_basis(self.pointing)
        self.direction = np.cos(offset)[:, None] * self.pointing + np.sin(offset)[:, None] * (
            np.cos(phi)[:, None] * first + np.sin(phi)[:, None] * second
        )
        self.alt, self.az = ground_to_altaz(self.direction)

        radius = d.core_max_m * np.sqrt(rng.uniform(0, 1, n))
        core_phi = rng.uniform(0, 2 * np.pi, n)
        self.core = np.stack([radius * np.cos(core_phi), radius * np.sin(core_phi), np.zeros(n)], axis=-1)

        m = self.model
        cos_zenith = np.sin(self.alt)
        ground_depth = ATMOSPHERE_SEA_LEVEL_DEPTH * np.exp(-self.site.height_m / ATMOSPHERE_SCALE_HEIGHT_M)
        ground_depth_slant = ground_depth / cos_zenith
        x_max = m.xmax_at_1tev + m.xmax_per_decade * np.log10(self.energy) + m.xmax_sigma * rng.standard_normal(n)
        self.x_max = np.clip(x_max, 120.0, 0.9 * ground_depth_slant)
        first_depth = np.minimum(rng.exponential(m.first_interaction_length, n), 0.8 * self.x_max)
        self.h_first_int = self._height_of_depth(first_depth, cos_zenith)
        self.h_max = self._height_of_depth(self.x_max, cos_zenith)
        self.light_yield = m.pe_per_tev * np.exp(m.yield_sigma * rng.standard_normal(n) - m.yield_sigma**2 / 2)
        self.light_yield *= self.telescope.mirror_area_m2 / 100.0

    @staticmethod
    def _draw_power_law(rng: np.random.Generator, n: int, e_min: float, e_max: float, index: float) -> np.ndarray:
        u = rng.uniform(0, 1, n)
        if abs(index + 1.0) < 1e-9:
            return e_min * (e_max / e_min) ** u
        g = index + 1.0
        return (e_min**g + u * (e_max**g - e_min**g)) ** (1.0 / g)

    @staticmethod
    def _height_of_depth(slant_depth: np.ndarray, cos_zenith: np.ndarray) -> np.ndarray:
        """Height above sea level (m) where the slant depth along the axis is reached."""
        return ATMOSPHERE_SCALE_HEIGHT_M * np.log(ATMOSPHERE_SEA_LEVEL_DEPTH * cos_zenith / slant_depth)

    # -- public ----------------------------------------------------------------------------------------------

    def shower_distribution(self, n_energy_bins: int = 60, n_core_bins: int = 30) -> dict[str, np.ndarray]:
        """Histogram of all thrown showers in (log energy, core distance), as ctapipe's
        ``SimulatedShowerDistribution`` (``histogram`` has shape (n_energy_bins, n_core_bins)).
        """
        d = self.description
        bins_energy = np.geomspace(d.energy_min_tev, d.energy_max_tev, n_energy_bins + 1)
        bins_core = np.linspace(0.0, d.core_max_m, n_core_bins + 1)
        core_distance = np.hypot(self.core[:, 0], self.core[:, 1])
        histogram, _, _ = np.histogram2d(self.energy, core_distance, bins=[bins_energy, bins_core])
        return {"bins_energy": bins_energy, "bins_core_dist": bins_core, "histogram": histogram}

    def truth(self, index: int) -> ShowerTruth:
        """Simulation truth of shower ``index``."""
        return ShowerTruth(
            energy_tev=float(self.energy[index]),
            alt_deg=float(np.degrees(self.alt[index])),
            az_deg=float(np.degrees(self.az[index])),
            core_x_m=float(self.core[index, 0]),
            core_y_m=float(self.core[index, 1]),
            h_first_int_m=float(self.h_first_int[index]),
            x_max_gcm2=float(self.x_max[index]),
            shower_primary_id=self.description.particle.corsika_id,
        )

    def events(self) -> Iterator[SimulatedEvent]:
        """Triggered events, in shower order; ``event_id`` is ``100 * (shower index + 1)`` as sim_telarray."""
        for index in range(self.description.n_showers):
            telescopes = self.simulate_shower(index)
            if len(telescopes) >= self.description.min_telescopes:
                yield SimulatedEvent(100 * (index + 1), index, self.truth(index), telescopes)

    # -- one shower ------------------------------------------------------------------------------------------

    def impact_distances(self, index: int) -> np.ndarray:
        """Distance of each telescope to the axis of shower ``index``, m."""
        relative = self.tel_positions - self.core[index]
        along = relative @ self.direction[index]
        return np.linalg.norm(relative - along[:, None] * self.direction[index], axis=-1)

    def _light_pool(self, distance: np.ndarray) -> np.ndarray:
        m = self.model
        rim = 1.0 + m.pool_rim * np.exp(-0.5 * ((distance - m.pool_radius_m) / 25.0) ** 2)
        outside = np.exp(-np.clip(distance - m.pool_radius_m, 0, None) / m.pool_falloff_m)
        return rim * outside

    def simulate_shower(self, index: int) -> dict[int, TelescopeEvent]:
        """Images of shower ``index`` in the telescopes that trigger (possibly none)."""
        direction = self.direction[index]
        core = self.core[index]
        impact = self.impact_distances(index)
        expected_pe = self.light_yield[index] * self.energy[index] * self._light_pool(impact)
        candidates = np.flatnonzero(expected_pe > _TRIGGER_N_PIXELS * _TRIGGER_PIXEL_PE)
        if len(candidates) < self.description.min_telescopes:
            return {}

        rng = np.random.default_rng([self.description.seed, index])
        points, along = self._emission_points(rng, index)
        result: dict[int, TelescopeEvent] = {}
        for k in candidates:
            tel_position = self.tel_positions[k]
            image = self._telescope_image(rng, points, along, tel_position, expected_pe[k])
            if image is None:
                continue
            expected, times = image
            if np.count_nonzero(expected >= _TRIGGER_PIXEL_PE) < _TRIGGER_N_PIXELS:
                continue
            true_image = rng.poisson(expected).astype(np.int32)
            waveform = self._waveform(rng, true_image, times)
            # plane shower front: later for telescopes further down the axis
            time_offset = -float((tel_position - core) @ direction) / SPEED_OF_LIGHT_M_PER_NS
            tel_id = int(self.tel_ids[k])
            result[tel_id] = TelescopeEvent(tel_id, waveform, true_image, float(impact[k]), time_offset)
        return result

    def _emission_points(
        self, rng: np.random.Generator, index: int, n_points: int = 300
    ) -> tuple[np.ndarray, np.ndarray]:
        """3D emission points (n, 3) and their distance along the axis from the core (n,)."""
        m = self.model
        direction = self.direction[index]
        cos_zenith = direction[2]
        height_above_ground = self.h_max[index] - self.site.height_m
        s_max = height_above_ground / cos_zenith
        sigma_s = m.longitudinal_sigma * ATMOSPHERE_SCALE_HEIGHT_M / (self.x_max[index] * cos_zenith)
        first, second = _perpendicular_basis(direction)

        n_sub = 1 + (rng.poisson(m.mean_subshowers) if m.mean_subshowers > 0 else 0)
        weights = rng.dirichlet(np.full(n_sub, 1.5)) if n_sub > 1 else np.ones(1)
        counts = np.maximum(rng.multinomial(n_points, weights), 0)
        offsets = np.zeros((n_sub, 2))
        shifts = np.zeros(n_sub)
        if n_sub > 1:
            offsets[1:] = rng.normal(0, m.subshower_offset_m, (n_sub - 1, 2))
            shifts[1:] = rng.normal(0, 0.5 * sigma_s, n_sub - 1)
        parts = []
        for count, offset, shift in zip(counts, offsets, shifts, strict=True):
            along = s_max + shift + sigma_s * rng.standard_normal(count)
            lateral = offset + m.lateral_sigma_m * rng.standard_normal((count, 2))
            parts.append((along, lateral))
        along = np.concatenate([p[0] for p in parts])
        lateral = np.concatenate([p[1] for p in parts])
        along = np.clip(along, 300.0, None)
        points = self.core[index] + along[:, None] * direction + lateral[:, :1] * first + lateral[:, 1:] * second
        return points, along

    def _telescope_image(
        self,
        rng: np.random.Generator,
        points: np.ndarray,
        along: np.ndarray,
        tel_position: np.ndarray,
        total_pe: float,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Expected photoelectrons and arrival times (ns) per pixel, or None if the image misses the camera."""
        line_of_sight = points - tel_position
        lon, lat = ground_to_fov(line_of_sight, self.pointing_alt, self.pointing_az)
        sigma = _PSF_DEG
        lon = lon + rng.normal(0, self.model.angular_sigma_deg, lon.shape)
        lat = lat + rng.normal(0, self.model.angular_sigma_deg, lat.shape)
        if np.median(np.hypot(lon, lat)) > self.camera_radius_deg + 1.0:
            return None
        margin = 4 * sigma
        near = (
            (self.pix_lon > lon.min() - margin)
            & (self.pix_lon < lon.max() + margin)
            & (self.pix_lat > lat.min() - margin)
            & (self.pix_lat < lat.max() + margin)
        )
        if not near.any():
            return None
        dx = self.pix_lon[near, None] - lon[None, :]
        dy = self.pix_lat[near, None] - lat[None, :]
        kernel = np.exp(-0.5 * (dx**2 + dy**2) / sigma**2) / (2 * np.pi * sigma**2)
        arrival = (np.linalg.norm(line_of_sight, axis=-1) - along) / SPEED_OF_LIGHT_M_PER_NS
        light = kernel.sum(axis=1)
        expected = np.zeros(len(self.pix_lon))
        expected[near] = total_pe * light * self.pix_area_deg2 / len(lon)
        times = np.full(len(self.pix_lon), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            times[near] = (kernel @ arrival) / light
        return expected, times

    def _waveform(self, rng: np.random.Generator, true_image: np.ndarray, times: np.ndarray) -> np.ndarray:
        camera = self.camera
        weights = true_image.astype(float)
        valid = np.isfinite(times) & (weights > 0)
        reference = np.average(times[valid], weights=weights[valid]) if valid.any() else 0.0
        peak = np.where(np.isfinite(times), times - reference, 0.0) * camera.sampling_rate_ghz + _REFERENCE_SAMPLE
        peak = np.clip(peak, 2.0, camera.n_samples - 3.0) / camera.sampling_rate_ghz
        charge = weights + rng.normal(0, 1, weights.shape) * np.sqrt(0.1 * weights)
        sigma = camera.pulse_sigma_ns
        sample_width = 1.0 / camera.sampling_rate_ghz
        pulses = np.exp(-0.5 * ((self._sample_times[None, :] - peak[:, None]) / sigma) ** 2)
        pulses *= sample_width / (np.sqrt(2 * np.pi) * sigma)
        waveform = charge[:, None] * pulses + rng.normal(0, camera.noise_pe_per_sample, pulses.shape)
        return waveform[np.newaxis].astype(np.float32)
