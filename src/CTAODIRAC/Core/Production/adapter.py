"""The pure half of the one DIRAC adapter: a :class:`~.plan.Plan` as the DIRAC production steps to create.

:class:`DiracStep` has exactly the ``DIRAC.ProductionSystem.Client.ProductionStep.ProductionStep`` attributes
this extension sets, under their DIRAC names; the DIRAC-facing half (``ProductionSystem.Client.
ProductionSubmitter``) sets every field on a ``ProductionStep`` (and refuses to run if DIRAC's class lacks one),
adds the workflow ``Body`` of the step's jobs and the parents' step objects. Nothing of a step stays behind: its
job settings travel in the ``Body``, the number of simulation jobs by ``extendTransformation`` and the input limit
in the job configuration of the ``Body`` (docs/failure-management.md, "Input limits"). What is decided here:

- ``ParentStep`` holds only the data parents *in the same production*: DIRAC links and validates parents
  within one production only, and a model parent (training step) could never pass DIRAC's link check
  against an apply-models input query (``outputType`` Model vs Data). Parents in other productions become
  the production's ``depends_on`` (create those first).
- ``AgentType`` is ``Automatic`` so that the TS creates and submits tasks by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .metaquery import MetaQuery
from .plan import Plan, PlannedStep

__all__ = ["DiracProduction", "DiracStep", "dirac_productions", "dirac_step"]


@dataclass(frozen=True)
class DiracStep:
    """One DIRAC ``ProductionStep``, its attributes by DIRAC's names (``ParentStep``: the parents' step names)."""

    Name: str
    Description: str
    LongDescription: str
    Type: str
    Plugin: str
    AgentType: str
    GroupSize: int
    Inputquery: MetaQuery | None
    Outputquery: MetaQuery
    ParentStep: list[str]

    def attributes(self) -> dict[str, Any]:
        """``{DIRAC attribute: value}`` for every field."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class DiracProduction:
    """One DIRAC production: its name, description, the productions to create before it, its steps."""

    name: str
    description: str
    depends_on: list[str]
    steps: list[DiracStep]


def dirac_step(step: PlannedStep, same_production: set[str]) -> DiracStep:
    """The DIRAC production step of a planned step; ``same_production``: the step names of its production."""
    return DiracStep(
        Name=step.name,
        Description=step.description or f"{step.kind} {step.name}",
        LongDescription=f"{step.kind} step '{step.name}' of production '{step.production}'",
        Type=step.type,
        Plugin=step.plugin,
        AgentType="Automatic",
        GroupSize=step.group_size,
        Inputquery=None if step.input_query is None else dict(step.input_query),
        Outputquery=dict(step.output_query),
        ParentStep=[parent for parent in step.data_parents if parent in same_production],
    )


def dirac_productions(plan: Plan) -> list[DiracProduction]:
    """Every production of the plan, in creation order."""
    productions = []
    for production in plan.productions:
        names = {step.name for step in production.steps}
        productions.append(DiracProduction(
            name=production.name,
            description=production.description,
            depends_on=list(production.after),
            steps=[dirac_step(step, names) for step in production.steps],
        ))  # fmt: skip
    return productions
