"""The failure classes a failed job is sorted into."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FailureClass"]


class FailureClass(StrEnum):
    """Why a job failed, as far as its Status, MinorStatus and ApplicationStatus tell.

    The values are the exact strings used in the CS (``Class`` of a rule, ``SiteBanClasses``), in recorded
    decisions and in the ``--json`` output of ``dirac-ctao-failure-classify``.
    """

    INFRASTRUCTURE = "infrastructure"
    """The site or the pilot: stalled or lost pilot, CPU or wall-clock limit, disk space, kill signal."""
    SOFTWARE = "software"
    """The software environment: software setup, CVMFS, container (apptainer/singularity)."""
    INPUT_DATA = "input-data"
    """Input data could not be resolved or downloaded, or the input sandbox could not be downloaded."""
    OUTPUT_UPLOAD = "output-upload"
    """Outputs could not be uploaded, or the failover requests could not be sent."""
    APPLICATION = "application"
    """The payload itself failed (non-zero exit, application errors)."""
    UNKNOWN = "unknown"
    """No rule matched."""
