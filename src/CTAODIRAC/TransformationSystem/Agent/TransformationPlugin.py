"""DIRAC's transformation plugins, holding back the tasks of steps whose models do not exist yet.

An apply-models step (and the energy apply of the classifier chain) needs, besides its input files, the model
files that other transformations train. The Production System links them as parents but creates tasks as soon
as input files arrive, so an apply job could start before its models exist and fail. Pointing the
TransformationAgent's ``PluginLocation`` at this module (our ``TransformationSystem/ConfigTemplate.cfg`` does)
keeps every DIRAC plugin (``Standard``, ``BySize``...) and adds one rule: a transformation whose jobs run
``dirac-ctao-run-step`` with models to fetch gets no new task until each model query finds a file in the
catalog. Its files stay Unused meanwhile; nothing else changes. See docs/job-side.md, "Models".
"""

from __future__ import annotations

import threading
from typing import Any

from DIRAC import S_OK, gLogger
from DIRAC.TransformationSystem.Agent.TransformationPlugin import TransformationPlugin as DIRACTransformationPlugin

from CTAODIRAC.Core.JobSide import config_in_body

__all__ = ["TransformationPlugin"]

#: Transformations whose models were all found once (models are never removed while a production runs).
_READY: set[int] = set()
_LOCK = threading.Lock()


class TransformationPlugin(DIRACTransformationPlugin):
    """DIRAC's TransformationPlugin whose ``run`` first checks that the step's models exist."""

    def run(self) -> Any:
        missing = self._missing_models()
        if missing:
            gLogger.info(
                "CTAODIRAC: no task until the models exist",
                f"transformation {self.params.get('TransformationID')}: no model of {', '.join(missing)} yet",
            )
            return S_OK([])
        return super().run()

    def _missing_models(self) -> list[str]:
        """The model steps whose model file the catalog does not hold yet (empty: none needed, or all there)."""
        try:
            transformation_id = int(self.params.get("TransformationID") or 0)
        except (TypeError, ValueError):
            transformation_id = 0
        with _LOCK:
            if transformation_id in _READY:
                return []
        config = config_in_body(str(self.params.get("Body") or ""))
        if config is None or not config.models:
            return []
        from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogError, CatalogMetadata

        catalog = CatalogMetadata()
        missing = []
        for step, query in config.models.items():
            try:
                found = catalog.find_files(query)
            except CatalogError as exc:
                gLogger.warn("CTAODIRAC: cannot look for the models", f"{step}: {exc}")
                found = []
            if not found:
                missing.append(step)
        if not missing and transformation_id:
            with _LOCK:
                _READY.add(transformation_id)
        return missing
