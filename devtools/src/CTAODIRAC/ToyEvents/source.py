"""The toy DL0 event source: a ctapipe ``EventSource`` plugin (entry point group ``ctapipe_io``).

Any ctapipe tool given a ``*.toydl0.json`` input description (:mod:`CTAODIRAC.ToyEvents.description`) reads
simulated events from it, e.g.::

    ctapipe-process --input gamma_performance_run000001.toydl0.json --output gamma.dl1.h5 --write-parameters

The events carry R1 waveforms (one gain channel, photoelectrons), simulation truth, trigger information and
pointing, so ``ctapipe-process`` calibrates, cleans, parametrises and reconstructs them as it does simulations.
This module imports ctapipe: it is only imported through the entry point, never by ``CTAODIRAC.ToyEvents``.
"""

from __future__ import annotations

from collections.abc import Generator
from functools import cached_property

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle
from astropy.table import QTable
from astropy.time import Time, TimeDelta
from ctapipe.atmosphere import TableAtmosphereDensityProfile
from ctapipe.containers import (
    ArrayEventContainer,
    ArrayPointingContainer,
    CameraCalibrationContainer,
    CoordinateFrameType,
    EventIndexContainer,
    EventType,
    ObservationBlockContainer,
    ObservationBlockState,
    ObservingMode,
    PixelStatus,
    PointingMode,
    R1CameraContainer,
    SchedulingBlockContainer,
    SchedulingBlockType,
    SimulatedCameraContainer,
    SimulatedEventContainer,
    SimulatedShowerContainer,
    SimulatedShowerDistribution,
    SimulationConfigContainer,
    TelescopeImpactParameterContainer,
    TelescopePointingContainer,
    TelescopeTriggerContainer,
    TriggerContainer,
)
from ctapipe.core import Provenance
from ctapipe.exceptions import InputMissing
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import DataLevel, EventSource

from .description import ToyRunDescription, looks_like_description, read_description
from .instrument import build_subarray, pixel_fov_positions
from .layouts import SITES
from .shower import ATMOSPHERE_SCALE_HEIGHT_M, ATMOSPHERE_SEA_LEVEL_DEPTH, SimulatedEvent, ToyShowerSimulator

__all__ = ["ToyDL0EventSource"]

_GRAMMAGE = u.g / u.cm**2


class ToyDL0EventSource(EventSource):
    """Simulated toy showers from a ``*.toydl0.json`` input description (offline tests of the ctapipe chain).

    Not physics: see ``docs/toy-events.md``. The source is reproducible (the description holds the seed) and
    provides the data levels R1 (waveforms in photoelectrons), simulation truth, trigger and pointing.
    """

    def __init__(self, input_url=None, config=None, parent=None, **kwargs) -> None:
        super().__init__(input_url=input_url, config=config, parent=parent, **kwargs)
        if self.input_url is None:
            raise InputMissing("ToyDL0EventSource needs an input_url (a *.toydl0.json file)")
        self.description: ToyRunDescription = read_description(self.input_url)
        Provenance().add_input_file(str(self.input_url), role="DL0/Event")
        self.metadata["is_simulation"] = True
        full_subarray = build_subarray(self.description.site, self.description.array_layout)
        self._subarray = full_subarray.select_subarray(self.allowed_tels) if self.allowed_tels else full_subarray
        telescope = next(iter(full_subarray.tel.values()))
        pix_lon, pix_lat = pixel_fov_positions(telescope)
        self.simulator = ToyShowerSimulator(self.description, pix_lon, pix_lat)
        self.obs_id = self.description.run_number
        self._start = Time(self.description.start_time, scale="utc")

    @staticmethod
    def is_compatible(file_path) -> bool:
        """A ``*.toydl0.json`` file whose first bytes hold the format tag."""
        return looks_like_description(file_path)

    @property
    def subarray(self) -> SubarrayDescription:
        """The toy array of the description's site and layout (restricted to ``allowed_tels``)."""
        return self._subarray

    @property
    def is_simulation(self) -> bool:
        """Always True."""
        return True

    @property
    def datalevels(self) -> tuple[DataLevel, ...]:
        """R1 waveforms, calibrated to photoelectrons."""
        return (DataLevel.R1,)

    @cached_property
    def simulation_config(self) -> dict[int, SimulationConfigContainer]:
        """The thrown spectrum, view cone and core range, as sim_telarray's run header."""
        d = self.description
        pointing_alt = np.radians(d.altitude_deg)
        pointing_az = np.radians(d.azimuth_deg)
        config = SimulationConfigContainer(
            run_number=np.int32(d.run_number),
            corsika_version=np.nan,
            simtel_version=np.nan,
            energy_range_min=d.energy_min_tev * u.TeV,
            energy_range_max=d.energy_max_tev * u.TeV,
            prod_site_B_total=np.nan * u.uT,
            prod_site_B_declination=Angle(np.nan, u.rad),
            prod_site_B_inclination=Angle(np.nan, u.rad),
            prod_site_alt=SITES[d.site].height_m * u.m,
            spectral_index=d.spectral_index,
            shower_prog_start=np.nan,
            shower_prog_id=np.nan,
            detector_prog_start=np.nan,
            detector_prog_id=np.nan,
            n_showers=d.n_showers,
            shower_reuse=1,
            max_alt=pointing_alt * u.rad,
            min_alt=pointing_alt * u.rad,
            max_az=pointing_az * u.rad,
            min_az=pointing_az * u.rad,
            diffuse=d.diffuse,
            max_viewcone_radius=d.viewcone_deg[1] * u.deg,
            min_viewcone_radius=d.viewcone_deg[0] * u.deg,
            max_scatter_range=d.core_max_m * u.m,
            min_scatter_range=0 * u.m,
            core_pos_mode=0,
            atmosphere=np.nan * u.m,
            corsika_wlen_min=np.nan * u.nm,
            corsika_wlen_max=np.nan * u.nm,
        )
        return {self.obs_id: config}

    @cached_property
    def scheduling_blocks(self) -> dict[int, SchedulingBlockContainer]:
        """One scheduling block per run, with the run number as id."""
        block = SchedulingBlockContainer(
            sb_id=np.uint64(self.obs_id),
            sb_type=SchedulingBlockType.OBSERVATION,
            producer_id="ctaodirac-toy-dl0",
            observing_mode=ObservingMode.UNKNOWN,
            pointing_mode=PointingMode.DRIFT,
        )
        return {self.obs_id: block}

    @cached_property
    def observation_blocks(self) -> dict[int, ObservationBlockContainer]:
        """One observation block per run, pointing fixed in alt/az."""
        d = self.description
        block = ObservationBlockContainer(
            obs_id=np.uint64(self.obs_id),
            sb_id=np.uint64(self.obs_id),
            producer_id="ctaodirac-toy-dl0",
            state=ObservationBlockState.COMPLETED_SUCCEDED,
            subarray_pointing_lat=d.altitude_deg * u.deg,
            subarray_pointing_lon=d.azimuth_deg * u.deg,
            subarray_pointing_frame=CoordinateFrameType.ALTAZ,
            actual_start_time=self._start,
            scheduled_start_time=self._start,
        )
        return {self.obs_id: block}

    @cached_property
    def atmosphere_density_profile(self) -> TableAtmosphereDensityProfile:
        """The exponential atmosphere the toy showers develop in, as a table (what ctapipe can write)."""
        height = np.linspace(0.0, 60_000.0, 121) * u.m
        scale_height = ATMOSPHERE_SCALE_HEIGHT_M * u.m
        column_density = ATMOSPHERE_SEA_LEVEL_DEPTH * np.exp(-height / scale_height) * _GRAMMAGE
        density = (column_density / scale_height).to(u.g / u.cm**3)
        table = QTable({"height": height.to(u.km), "density": density, "column_density": column_density})
        return TableAtmosphereDensityProfile(table)

    @property
    def simulated_shower_distributions(self) -> dict[int, SimulatedShowerDistribution]:
        """Histogram of every thrown shower (also those that did not trigger)."""
        hist = self.simulator.shower_distribution()
        container = SimulatedShowerDistribution(
            obs_id=self.obs_id,
            hist_id=6,
            n_entries=int(hist["histogram"].sum()),
            bins_core_dist=hist["bins_core_dist"] * u.m,
            bins_energy=hist["bins_energy"] * u.TeV,
            histogram=hist["histogram"],
        )
        return {self.obs_id: container}

    def _generator(self) -> Generator[ArrayEventContainer, None, None]:
        count = 0
        for simulated in self.simulator.events():
            event = self._make_event(count, simulated)
            if event is not None:
                yield event
                count += 1

    def _make_event(self, count: int, simulated: SimulatedEvent) -> ArrayEventContainer | None:
        d = self.description
        wanted = {t: tel for t, tel in simulated.telescopes.items() if t in self._subarray.tel}
        if not wanted:
            return None
        truth = simulated.shower
        time = self._start + TimeDelta(count / d.event_rate_hz, format="sec")
        shower = SimulatedShowerContainer(
            energy=truth.energy_tev * u.TeV,
            alt=Angle(truth.alt_deg, u.deg),
            az=Angle(truth.az_deg, u.deg),
            core_x=truth.core_x_m * u.m,
            core_y=truth.core_y_m * u.m,
            h_first_int=truth.h_first_int_m * u.m,
            x_max=truth.x_max_gcm2 * _GRAMMAGE,
            shower_primary_id=truth.shower_primary_id,
            starting_grammage=0 * _GRAMMAGE,
        )
        tel_ids = np.array(sorted(wanted), dtype=np.uint16)
        trigger = TriggerContainer(event_type=EventType.SUBARRAY, time=time, tels_with_trigger=tel_ids)
        event = ArrayEventContainer(
            index=EventIndexContainer(obs_id=self.obs_id, event_id=simulated.event_id),
            count=count,
            trigger=trigger,
            simulation=SimulatedEventContainer(shower=shower),
        )
        event.meta["origin"] = "ctaodirac-toy-dl0"
        event.meta["input_url"] = self.input_url
        event.meta["max_events"] = self.max_events
        pointing_alt = d.altitude_deg * u.deg
        pointing_az = d.azimuth_deg * u.deg
        event.monitoring.pointing = ArrayPointingContainer(
            array_altitude=pointing_alt.to(u.rad), array_azimuth=pointing_az.to(u.rad)
        )
        for tel_id in tel_ids:
            tel = wanted[int(tel_id)]
            n_pixels = tel.true_image.shape[0]
            trigger.tel[tel_id] = TelescopeTriggerContainer(
                time=time + TimeDelta(tel.time_offset_ns * 1e-9, format="sec"),
                event_type=EventType.SUBARRAY,
                n_trigger_pixels=-1,
            )
            event.simulation.tel[tel_id] = SimulatedCameraContainer(
                true_image_sum=np.int32(tel.true_image.sum()),
                true_image=tel.true_image,
                impact=TelescopeImpactParameterContainer(
                    distance=tel.impact_m * u.m, distance_uncert=0 * u.m, prefix="true_impact"
                ),
            )
            event.monitoring.tel[tel_id].pointing = TelescopePointingContainer(
                altitude=pointing_alt.to(u.rad), azimuth=pointing_az.to(u.rad)
            )
            event.monitoring.tel[tel_id].camera.coefficients = CameraCalibrationContainer(
                outlier_mask=np.zeros((1, n_pixels), dtype=bool)
            )
            event.r1.tel[tel_id] = R1CameraContainer(
                event_type=EventType.SUBARRAY,
                event_time=trigger.tel[tel_id].time,
                waveform=tel.waveform,
                selected_gain_channel=np.zeros(n_pixels, dtype=np.int8),
                pixel_status=np.full(n_pixels, np.uint8(PixelStatus.HIGH_GAIN_STORED), dtype=np.uint8),
            )
        return event
