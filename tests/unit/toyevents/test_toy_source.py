"""The toy DL0 event source as ctapipe sees it (needs ctapipe; skipped without it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ctapipe = pytest.importorskip("ctapipe", reason="ctapipe is not installed (the toy DL0 source is a ctapipe plugin)")

import astropy.units as u
from astropy.coordinates import AltAz, SkyCoord
from ctapipe.containers import EventType
from ctapipe.coordinates import TelescopeFrame
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import DataLevel, EventSource

from CTAODIRAC.ToyEvents import default_description, write_description
from CTAODIRAC.ToyEvents.shower import altaz_to_ground, ground_to_fov
from CTAODIRAC.ToyEvents.source import ToyDL0EventSource


def _write(tmp_path: Path, particle: str, n_showers: int = 300, **overrides: object) -> Path:
    description = default_description(particle, "performance", 42, n_showers, **overrides)
    return write_description(description, tmp_path / description.file_name())


def test_found_through_the_entry_point(tmp_path: Path) -> None:
    from importlib.metadata import entry_points

    assert any(ep.value == "CTAODIRAC.ToyEvents.source:ToyDL0EventSource" for ep in entry_points(group="ctapipe_io"))
    source = EventSource(_write(tmp_path, "gamma"))
    assert isinstance(source, ToyDL0EventSource)
    assert source.is_simulation and source.datalevels == (DataLevel.R1,)
    assert source.obs_ids == [42]
    assert set(source.scheduling_blocks) == set(source.observation_blocks) == set(source.simulation_config) == {42}
    config = source.simulation_config[42]
    assert config.n_showers == 300 and config.energy_range_min == 0.08 * u.TeV and not config.diffuse


def test_not_compatible_with_other_files(tmp_path: Path) -> None:
    other = tmp_path / "events.json"
    other.write_text("{}")
    assert not ToyDL0EventSource.is_compatible(other)
    assert not ToyDL0EventSource.is_compatible(tmp_path / "missing.toydl0.json")


@pytest.mark.parametrize(
    ("particle", "primary_id"), [("gamma", 0), ("gamma-diffuse", 0), ("proton", 101), ("electron", 1)]
)
def test_events_have_truth_trigger_pointing_and_waveforms(tmp_path: Path, particle: str, primary_id: int) -> None:
    n_showers = 1200 if particle == "proton" else 300
    with EventSource(_write(tmp_path, particle, n_showers), max_events=5) as source:
        events = list(source)
        subarray = source.subarray
    assert len(events) == 5
    for event in events:
        shower = event.simulation.shower
        assert shower.shower_primary_id == primary_id
        assert 0.08 * u.TeV <= shower.energy <= 100 * u.TeV
        assert np.isfinite(shower.x_max.value) and shower.h_first_int > 0 * u.m
        assert event.trigger.event_type == EventType.SUBARRAY
        assert len(event.trigger.tels_with_trigger) >= 2
        assert set(event.r1.tel) == set(event.trigger.tel) == set(event.trigger.tels_with_trigger)
        for tel_id, r1 in event.r1.tel.items():
            n_pixels = subarray.tel[tel_id].camera.geometry.n_pixels
            assert r1.waveform.shape == (1, n_pixels, subarray.tel[tel_id].camera.readout.n_samples)
            assert event.simulation.tel[tel_id].true_image.shape == (n_pixels,)
            assert event.simulation.tel[tel_id].true_image_sum > 0
            assert event.simulation.tel[tel_id].impact.distance >= 0 * u.m
            assert event.monitoring.tel[tel_id].pointing.altitude == 70 * u.deg
    # event ids are unique and increasing (shower number * 100, as sim_telarray)
    ids = [e.index.event_id for e in events]
    assert ids == sorted(set(ids))


def test_allowed_tels_and_max_events(tmp_path: Path) -> None:
    with EventSource(_write(tmp_path, "gamma"), allowed_tels={1, 2}, max_events=3) as source:
        assert sorted(source.subarray.tel_ids) == [1, 2]
        events = list(source)
    assert len(events) <= 3
    assert all(set(e.r1.tel) <= {1, 2} for e in events)


def test_subarray_round_trips_through_hdf5(tmp_path: Path) -> None:
    source = EventSource(_write(tmp_path, "gamma", site="Paranal"))
    path = tmp_path / "subarray.h5"
    source.subarray.to_hdf(path)
    read = SubarrayDescription.from_hdf(path)
    assert read.name == "ToyAlpha-Paranal" and len(read) == 5
    assert str(read.tel[1]) == "MST_ToyMST_ToyCam"


def test_projection_agrees_with_ctapipe_telescope_frame() -> None:
    rng = np.random.default_rng(3)
    for pointing_alt, pointing_az in [(70.0, 0.0), (50.0, 180.0), (85.0, 300.0)]:
        alt = pointing_alt + rng.normal(0, 2, 6)
        az = pointing_az + rng.normal(0, 3, 6)
        lon, lat = ground_to_fov(
            altaz_to_ground(np.radians(alt), np.radians(az)), np.radians(pointing_alt), np.radians(pointing_az)
        )
        pointing = SkyCoord(alt=pointing_alt * u.deg, az=pointing_az * u.deg, frame=AltAz())
        expected = SkyCoord(alt=alt * u.deg, az=az * u.deg, frame=AltAz()).transform_to(
            TelescopeFrame(telescope_pointing=pointing)
        )
        np.testing.assert_allclose(lon, expected.fov_lon.deg, atol=1e-9)
        np.testing.assert_allclose(lat, expected.fov_lat.deg, atol=1e-9)
