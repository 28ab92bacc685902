"""The toy shower model alone (numpy only): reproducible, spectra and geometry as described."""

from __future__ import annotations

import numpy as np
import pytest

from CTAODIRAC.ToyEvents import default_description
from CTAODIRAC.ToyEvents.layouts import TOY_CAMERA, TOY_TELESCOPE
from CTAODIRAC.ToyEvents.shower import ToyShowerSimulator, altaz_to_ground, ground_to_fov, hexagonal_pixel_grid


def _simulator(particle: str, n_showers: int = 400, **overrides: object) -> ToyShowerSimulator:
    x, y = hexagonal_pixel_grid(TOY_CAMERA.n_rings, TOY_CAMERA.pixel_pitch_m)
    # small-angle camera -> field of view; the event source uses ctapipe's exact transformation instead
    scale = np.degrees(1.0 / TOY_TELESCOPE.effective_focal_length_m)
    description = default_description(particle, "performance", 5, n_showers, **overrides)
    return ToyShowerSimulator(description, -y * scale, -x * scale)


def test_hexagonal_grid_size() -> None:
    x, y = hexagonal_pixel_grid(15, 1.0)
    assert len(x) == TOY_CAMERA.n_pixels == 721
    distances = np.hypot(x[:, None] - x[None], y[:, None] - y[None])
    assert np.isclose(np.sort(distances[0])[1], 1.0)


def test_pointing_direction_projects_to_camera_centre() -> None:
    alt, az = np.radians(70.0), np.radians(30.0)
    lon, lat = ground_to_fov(altaz_to_ground(alt, az), alt, az)
    assert abs(lon) < 1e-9 and abs(lat) < 1e-9
    lon, lat = ground_to_fov(altaz_to_ground(alt + np.radians(1.0), az), alt, az)
    assert abs(lon) < 1e-9 and np.isclose(lat, 1.0)


def test_reproducible_and_independent_of_reading_order() -> None:
    first = list(_simulator("gamma").events())
    second = list(_simulator("gamma").events())
    assert [e.event_id for e in first] == [e.event_id for e in second]
    assert first, "no triggered events"
    a, b = first[-1], second[-1]
    assert a.shower == b.shower
    for tel_id in a.telescopes:
        np.testing.assert_array_equal(a.telescopes[tel_id].waveform, b.telescopes[tel_id].waveform)
    # one shower alone gives the same images as within the run
    again = _simulator("gamma").simulate_shower(a.shower_index)
    np.testing.assert_array_equal(again[min(again)].true_image, a.telescopes[min(again)].true_image)


@pytest.mark.parametrize("particle", ["gamma", "gamma-diffuse", "proton", "electron"])
def test_truth_within_the_described_ranges(particle: str) -> None:
    simulator = _simulator(particle, n_showers=300)
    d = simulator.description
    assert d.energy_min_tev <= simulator.energy.min() and simulator.energy.max() <= d.energy_max_tev
    assert np.hypot(simulator.core[:, 0], simulator.core[:, 1]).max() <= d.core_max_m
    offsets = np.degrees(np.arccos(np.clip(simulator.direction @ simulator.pointing, -1, 1)))
    assert offsets.max() <= d.viewcone_deg[1] + 1e-6
    events = list(simulator.events())
    assert all(len(e.telescopes) >= d.min_telescopes for e in events)
    assert all(e.shower.shower_primary_id == d.particle.corsika_id for e in events)
    hist = simulator.shower_distribution()
    assert hist["histogram"].sum() == d.n_showers


def test_power_law_index() -> None:
    simulator = _simulator("gamma", n_showers=20000)
    e = simulator.energy
    # maximum likelihood estimate of the index of a power law above e_min (upper cut far away)
    index = -1 - len(e) / np.sum(np.log(e / e.min()))
    assert index == pytest.approx(-2.0, abs=0.1)


def test_brighter_images_for_more_energy_and_protons_are_dimmer_and_wider() -> None:
    gammas = list(_simulator("gamma", n_showers=600).events())
    protons = list(_simulator("proton", n_showers=1500).events())

    def size_per_tev(events: list) -> float:
        return float(
            np.median([t.true_image.sum() / e.shower.energy_tev for e in events for t in e.telescopes.values()])
        )

    def width(events: list) -> float:
        widths = []
        for event in events:
            for tel in event.telescopes.values():
                if tel.true_image.sum() > 200:
                    widths.append(np.count_nonzero(tel.true_image >= 3) / np.sqrt(tel.true_image.sum()))
        return float(np.median(widths))

    assert size_per_tev(protons) < 0.6 * size_per_tev(gammas)
    assert width(protons) > width(gammas)
