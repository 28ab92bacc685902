"""ctapipe instrument description of the toy arrays (needs ctapipe).

ctapipe's wheel ships no instrument data (its ``CameraGeometry.from_name`` downloads), so the toy camera, readout
and optics are built here from :mod:`CTAODIRAC.ToyEvents.layouts`.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation
from ctapipe.coordinates import CameraFrame, TelescopeFrame
from ctapipe.instrument import (
    CameraDescription,
    CameraGeometry,
    CameraReadout,
    OpticsDescription,
    ReflectorShape,
    SizeType,
    SubarrayDescription,
    TelescopeDescription,
)
from ctapipe.instrument.camera.geometry import PixelShape

from .description import Site
from .layouts import LAYOUTS, SITES, TOY_CAMERA, TOY_TELESCOPE, ToyCamera, ToyTelescope
from .shower import hexagonal_pixel_grid

__all__ = ["build_subarray", "build_telescope", "pixel_fov_positions"]


def _reference_pulse(camera: ToyCamera, sample_width_ns: float = 0.1) -> np.ndarray:
    t = np.arange(0.0, 20.0, sample_width_ns)
    pulse = np.exp(-0.5 * ((t - 10.0) / camera.pulse_sigma_ns) ** 2)
    return (pulse / (pulse.sum() * sample_width_ns))[np.newaxis]


def build_telescope(camera: ToyCamera = TOY_CAMERA, telescope: ToyTelescope = TOY_TELESCOPE) -> TelescopeDescription:
    """The toy MST-like telescope with its hexagonal camera (type string ``MST_ToyMST_ToyCam``)."""
    focal_length = telescope.effective_focal_length_m * u.m
    pix_x, pix_y = hexagonal_pixel_grid(camera.n_rings, camera.pixel_pitch_m)
    geometry = CameraGeometry(
        name=camera.name,
        pix_id=np.arange(len(pix_x)),
        pix_x=pix_x * u.m,
        pix_y=pix_y * u.m,
        pix_area=np.full(len(pix_x), np.sqrt(3.0) / 2.0 * camera.pixel_pitch_m**2) * u.m**2,
        pix_type=PixelShape.HEXAGON,
        pix_rotation=30 * u.deg,
        cam_rotation=0 * u.deg,
        frame=CameraFrame(focal_length=focal_length),
    )
    sample_width = 0.1
    readout = CameraReadout(
        name=camera.name,
        sampling_rate=camera.sampling_rate_ghz * u.GHz,
        reference_pulse_shape=_reference_pulse(camera, sample_width),
        reference_pulse_sample_width=sample_width * u.ns,
        n_channels=1,
        n_pixels=len(pix_x),
        n_samples=camera.n_samples,
    )
    optics = OpticsDescription(
        name=telescope.name,
        size_type=SizeType(telescope.size_type),
        n_mirrors=1,
        equivalent_focal_length=telescope.equivalent_focal_length_m * u.m,
        effective_focal_length=focal_length,
        mirror_area=telescope.mirror_area_m2 * u.m**2,
        n_mirror_tiles=telescope.n_mirror_tiles,
        reflector_shape=ReflectorShape.DAVIES_COTTON,
    )
    return TelescopeDescription(
        name=telescope.name,
        optics=optics,
        camera=CameraDescription(name=camera.name, geometry=geometry, readout=readout),
    )


def build_subarray(site: Site, array_layout: str) -> SubarrayDescription:
    """The subarray of a toy layout, with the site as reference location."""
    positions = LAYOUTS[(site, array_layout)]
    location = SITES[site]
    telescope = build_telescope()
    return SubarrayDescription(
        name=f"{array_layout}-{site.value}",
        tel_positions={tel_id: list(xyz) * u.m for tel_id, xyz in positions.items()},
        tel_descriptions=dict.fromkeys(positions, telescope),
        reference_location=EarthLocation(
            lat=location.latitude_deg * u.deg, lon=location.longitude_deg * u.deg, height=location.height_m * u.m
        ),
    )


def pixel_fov_positions(telescope: TelescopeDescription) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres in ctapipe's ``TelescopeFrame`` (fov_lon, fov_lat), deg, by ctapipe's own transformation."""
    geometry = telescope.camera.geometry.transform_to(TelescopeFrame())
    return geometry.pix_x.to_value(u.deg), geometry.pix_y.to_value(u.deg)
