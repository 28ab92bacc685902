"""Client of the FailureManagement service (``Transformation/FailureManagement``)."""

from __future__ import annotations

from typing import Any

from DIRAC.Core.Base.Client import Client

__all__ = ["FailureManagementClient"]


class FailureManagementClient(Client):
    """``getDecisions(filters, limit)``, ``getSummary(filters)`` and ``getSiteBans(transformation_id)`` (forwarded
    as RPCs), returning S_OK/S_ERROR."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.setServer("Transformation/FailureManagement")
