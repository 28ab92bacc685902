"""DIRAC's transformation plugins, holding back the tasks of steps whose models do not exist yet.

An apply-models step (and the energy apply of the classifier chain) needs, besides its input files, the model
files that other transformations train. The Production System links them as parents but creates tasks as soon
as input files arrive, so an apply job could start before its models exist and fail. Pointing the
TransformationAgent's ``PluginLocation`` at this module (our ``TransformationSystem/ConfigTemplate.cfg`` does)
keeps every DIRAC plugin (``Standard``, ``BySize``...) and adds one rule: a transformation whose jobs run
``dirac-ctao-run-step`` with models to fetch gets no new task until each model query finds a file in the
catalog. Its files stay Unused meanwhile. See docs/job-side.md, "Models".

It also enforces a step's ``input_limit`` (carried in the same job configuration): the transformation is handed
at most that many files in all. Each run counts the files already taken (one ``getCounters`` call, see
``CTAODIRAC.Core.Failures.inputlimit``), gives DIRAC's plugin only as many of the Unused files as are left
(files already tried first, then by LFN), and makes no task once the limit is reached. When the files on offer
use up what is left, they are the last ones: DIRAC's plugin groups them as in Flush, so that a last group
smaller than the group size is made now instead of waiting for files that can never join it. The failure agent
sets the Unused files beyond a reached limit ``Removed`` (docs/failure-management.md, "Input limits").
"""

from __future__ import annotations

import threading
from typing import Any

from DIRAC import S_OK, gLogger
from DIRAC.TransformationSystem.Agent.TransformationPlugin import TransformationPlugin as DIRACTransformationPlugin

from CTAODIRAC.Core.Failures.inputlimit import pick_within_limit, remaining_files
from CTAODIRAC.Core.JobSide import StepConfig, config_in_body

__all__ = ["TransformationPlugin"]

#: Transformations whose models were all found once (models are never removed while a production runs).
_READY: set[int] = set()
_LOCK = threading.Lock()


class TransformationPlugin(DIRACTransformationPlugin):
    """DIRAC's TransformationPlugin whose ``run`` first checks that the step's models exist."""

    def run(self) -> Any:
        config = config_in_body(str(self.params.get("Body") or ""))
        missing = self._missing_models(config)
        if missing:
            gLogger.info(
                "CTAODIRAC: no task until the models exist",
                f"transformation {self.params.get('TransformationID')}: no model of {', '.join(missing)} yet",
            )
            return S_OK([])
        if config is None or config.input_limit is None:
            return super().run()
        return self._run_within_limit(config.input_limit)

    def _transformation_id(self) -> int:
        try:
            return int(self.params.get("TransformationID") or 0)
        except (TypeError, ValueError):
            return 0

    def _run_within_limit(self, limit: int) -> Any:
        """DIRAC's plugin on at most the files the transformation's ``input_limit`` leaves."""
        transformation_id = self._transformation_id()
        result = self.util.transClient.getCounters(
            "TransformationFiles", ["Status"], {"TransformationID": transformation_id}
        )
        if not result["OK"]:
            gLogger.warn("CTAODIRAC: cannot count the files taken, no task this cycle", result["Message"])
            return S_OK([])
        counts: dict[str, int] = {}
        for attrs, count in result["Value"]:
            counts[str(attrs["Status"])] = counts.get(str(attrs["Status"]), 0) + int(count)
        remaining = remaining_files(limit, counts)
        assert remaining is not None
        if remaining == 0:
            gLogger.info(
                "CTAODIRAC: input_limit reached, no new task",
                f"transformation {transformation_id}: {limit} files taken",
            )
            return S_OK([])
        errors = {str(f.get("LFN")): int(f.get("ErrorCount") or 0) for f in (self.files or []) if isinstance(f, dict)}
        offered = self.data
        picked = pick_within_limit(((lfn, errors.get(lfn, 0)) for lfn in offered), remaining)
        last = len(offered) >= remaining
        params = self.params
        self.data = {lfn: offered[lfn] for lfn in picked}
        if last and params.get("Status") != "Flush":
            self.setParameters({**params, "Status": "Flush"})  # a copy: the agent's own dict keeps its status
        if len(picked) < len(offered) or last:
            gLogger.info(
                "CTAODIRAC: input_limit",
                f"transformation {transformation_id}: {remaining} of {limit} files left, {len(picked)} of "
                f"{len(offered)} offered" + (", the last ones (grouped as in Flush)" if last else ""),
            )
        try:
            return super().run()
        finally:
            self.data = offered
            if self.params is not params:
                self.setParameters(params)

    def _missing_models(self, config: StepConfig | None) -> list[str]:
        """The model steps whose model file the catalog does not hold yet (empty: none needed, or all there)."""
        transformation_id = self._transformation_id()
        with _LOCK:
            if transformation_id in _READY:
                return []
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
