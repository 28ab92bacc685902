"""CWL -> DIRAC: the pure core (never imports DIRAC).

CWL is the second way to describe work, on the same production model as the YAML format:

- :mod:`.hints`: the ``dirac:`` hints (pydantic models; JSON Schema in :mod:`.schema`);
- :mod:`.document`: CWL files with positions, their hints and alternative spellings;
- :mod:`.validate`: validation by cwltool, its errors as located issues;
- :mod:`.workflow`: a Workflow -> native production model -> :class:`~CTAODIRAC.Core.Production.plan.Plan`
  through the production builder;
- :mod:`.job`: a CommandLineTool or Workflow + inputs -> :class:`~.job.CWLJobDescription` (one DIRAC job);
- :mod:`.pack`: a CWL document packed into one self-contained file (cwltool's ``--pack``) for the sandbox;
- :mod:`.loader`: the entry points (:func:`load_cwl_plan`, :func:`load_cwl_job`, :func:`is_cwl`).

``docs/cwl.md`` is the user documentation.
"""

from __future__ import annotations

from .hints import DIRAC_NAMESPACE, JobHint, ProductionHint, StepHint
from .job import CWLJobDescription
from .loader import is_cwl, load_cwl_job, load_cwl_plan

__all__ = [
    "DIRAC_NAMESPACE",
    "CWLJobDescription",
    "JobHint",
    "ProductionHint",
    "StepHint",
    "is_cwl",
    "load_cwl_job",
    "load_cwl_plan",
]
