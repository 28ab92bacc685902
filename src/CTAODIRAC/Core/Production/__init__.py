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
from .plan import JobDescription, Plan, PlannedProduction, PlannedStep

#: Names of :mod:`.loader`, imported when first used: the loader reads CWL files too (``Core.CWL``), and
#: ``Core.CWL`` uses this package's models, so importing the loader here would make the two packages' imports a
#: circle (checked by tests/unit/test_boundary.py).
_LOADER_NAMES = ("load_plan", "load_spec", "translate_legacy")


def __getattr__(name: str) -> object:
    if name in _LOADER_NAMES:
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
