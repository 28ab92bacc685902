"""YAML -> production: the pure core (never imports DIRAC).

- :mod:`.models`: the native format (pydantic v2, the single schema; JSON Schema in :mod:`.schema`);
- :mod:`.legacy`: the legacy CTADIRAC format, translated into the native one (CTADIRAC's rules);
- :mod:`.loader`: text/file -> checked :class:`~.plan.Plan`, errors located at file:line:column;
- :mod:`.builder`: native model -> plan (matrix expansion, parent links, queries): every format's one builder;
- :mod:`.metaquery`: query encoding that survives the Transformation System, DIRAC's link rules;
- :mod:`.adapter`: plan -> dictionaries in DIRAC ProductionStep terms (still pure).
"""

from __future__ import annotations

from .errors import (
    Issue,
    ProductionError,
    ProductionSpecError,
    SpecLinkError,
    SpecSyntaxError,
    SpecValidationError,
)
from .loader import load_plan, load_spec, translate_legacy
from .plan import JobDescription, Plan, PlannedProduction, PlannedStep

__all__ = [
    "Issue",
    "JobDescription",
    "Plan",
    "PlannedProduction",
    "PlannedStep",
    "ProductionError",
    "ProductionSpecError",
    "SpecLinkError",
    "SpecSyntaxError",
    "SpecValidationError",
    "load_plan",
    "load_spec",
    "translate_legacy",
]
