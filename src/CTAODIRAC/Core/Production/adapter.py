"""The pure half of the DIRAC adapter: a :class:`~.plan.Plan` as dictionaries in DIRAC ProductionStep terms.

The DIRAC-facing half (in ``CTAODIRAC.ProductionSystem``) turns each dictionary into a
``DIRAC.ProductionSystem.Client.ProductionStep.ProductionStep`` (same attribute names), builds the workflow
``Body`` from ``Job`` and calls ``ProductionClient``. What is decided here:

- ``ParentStep`` holds only the data parents *in the same production*: DIRAC links and validates parents
  within one production only, and a model parent (training step) could never pass DIRAC's link check
  against an apply-models input query (``outputType`` Model vs Data). Parents in other productions become
  the production's ``DependsOn`` (create those first).
- ``AgentType`` is ``Automatic`` so that the TS creates and submits tasks by itself.
- ``MaxNumberOfTasks``: for simulation the number of jobs; with ``input_limit`` the tasks needed for that many
  files (``ceil(input_limit / group_size)``); else 0 (no limit). Descriptive only: DIRAC's ProductionStep has no
  such attribute, and its TransformationAgent would not enforce it. The ``input_limit`` reaches DIRAC in the
  step's job configuration (``Core.JobSide.StepConfig``), read back by our TransformationAgent plugin and the
  failure agent (docs/failure-management.md, "Input limits").
"""

from __future__ import annotations

import math
from typing import Any

from .plan import Plan, PlannedStep

__all__ = ["production_step_dicts", "step_dict"]


def _max_tasks(step: PlannedStep) -> int:
    if step.job.jobs is not None:
        return step.job.jobs
    if step.job.input_limit is not None:
        return math.ceil(step.job.input_limit / step.group_size)
    return 0


def step_dict(step: PlannedStep, same_production: set[str]) -> dict[str, Any]:
    """One step in ProductionStep attribute terms (plus ``MaxNumberOfTasks`` and ``Job``)."""
    return {
        "Name": step.name,
        "Description": step.description or f"{step.kind} {step.name}",
        "LongDescription": f"{step.kind} step '{step.name}' of production '{step.production}'",
        "Type": step.type,
        "Plugin": step.plugin,
        "AgentType": "Automatic",
        "FileMask": "",
        "ParentStep": [parent for parent in step.data_parents if parent in same_production],
        "Inputquery": None if step.input_query is None else dict(step.input_query),
        "Outputquery": dict(step.output_query),
        "GroupSize": step.group_size,
        "MaxNumberOfTasks": _max_tasks(step),
        "Job": step.job.model_dump(),
    }


def production_step_dicts(plan: Plan) -> list[dict[str, Any]]:
    """Every production of the plan, in creation order: ``{"Name", "DependsOn", "Steps": [step dicts]}``."""
    productions = []
    for production in plan.productions:
        names = {step.name for step in production.steps}
        productions.append(
            {
                "Name": production.name,
                "Description": production.description,
                "DependsOn": list(production.after),
                "Steps": [step_dict(step, names) for step in production.steps],
            }
        )
    return productions
