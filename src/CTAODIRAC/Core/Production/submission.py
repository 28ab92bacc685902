"""The pure decisions of a submission: what identifies a production, which catalog fields and output
directories it needs, and whether what DIRAC stored is what was planned.

The DIRAC-facing half is :mod:`CTAODIRAC.ProductionSystem.Client.ProductionSubmitter`; nothing here
imports DIRAC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .metaquery import MetaQuery, condition_values
from .plan import Plan, PlannedProduction

#: Version of the request ``submission_request`` writes; a server reading another version refuses the request
#: (the client and the server would not plan, name or digest the same way).
REQUEST_FORMAT = 1

__all__ = [
    "DIGEST_MARK",
    "FILE_LEVEL_FIELDS",
    "OutputDirectory",
    "catalog_fields",
    "digest_from_text",
    "dirac_step_name",
    "output_directories",
    "production_digest",
    "query_differences",
    "read_request",
    "registered_query",
    "returned_problems",
    "submission_request",
]

#: Metadata that varies from file to file inside one output directory: declared as *file* metadata in the
#: DIRAC file catalog (the others are directory metadata, set once on each step's output directory).
FILE_LEVEL_FIELDS = frozenset({"nsb", "div_ang", "split", "run_number", "run", "obs_id"})

#: Written into each step's long description so that a re-run recognises what it submitted before.
DIGEST_MARK = "ctaodirac-digest:"


def production_digest(production: PlannedProduction) -> str:
    """A digest of everything the submission sends for ``production`` (steps, queries, job settings)."""
    payload = production.model_dump(mode="json", exclude={"description"})
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def digest_from_text(text: str | None) -> str | None:
    """The digest a long description carries, if any."""
    if not text or DIGEST_MARK not in text:
        return None
    return text.split(DIGEST_MARK, 1)[1].split()[0]


def dirac_step_name(index: int, name: str) -> str:
    """The name DIRAC's ProductionClient gives the ``index``-th step it adds (``Step<N>_<name>``, N from 1)."""
    return f"Step{index}_{name}"


def _field_type(values: list[Any]) -> str:
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    return "str"


def catalog_fields(plan: Plan) -> dict[str, str]:
    """Every metadata field the plan's queries use, with its catalog type (``int``, ``float`` or ``str``), and
    ``run_number`` (``int``), which the jobs set on their outputs (a simulation job: its task ID)."""
    seen: dict[str, list[Any]] = {}
    for step in plan.steps:
        for query in (step.input_query or {}, step.output_query):
            for key, cond in query.items():
                ((_, operand),) = cond.items()
                values = list(operand) if isinstance(operand, list | tuple) else [operand]
                seen.setdefault(key, []).extend(values)
    return {"run_number": "int", **{key: _field_type(values) for key, values in seen.items()}}


@dataclass(frozen=True)
class OutputDirectory:
    """A step's output directory in the file catalog and the directory metadata set on it."""

    step: str
    path: str
    metadata: dict[str, Any]


def output_directories(plan: Plan, base_path: str, file_level: frozenset[str] = FILE_LEVEL_FIELDS) -> list[OutputDirectory]:
    """``<base_path>/<production>/<step>`` for each step, with the single-valued output metadata that is not
    file-level (files inherit directory metadata; several values or file-level fields are set per file)."""
    base = "/" + base_path.strip("/")
    dirs = []
    for production in plan.productions:
        for step in production.steps:
            metadata = {}
            for key, cond in step.output_query.items():
                values = condition_values(cond)
                if key not in file_level and values is not None and len(values) == 1:
                    metadata[key] = values[0]
            dirs.append(OutputDirectory(step.name, f"{base}/{production.name}/{step.name}", metadata))
    return dirs


def registered_query(output_query: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a step's output query that its outputs carry in the catalog: the conditions with a single
    value (set on the output directory or on each file). A condition with several values (e.g. a classifier
    trained on ``particle in [gamma-diffuse, proton]``) describes the step but is on no output file, so a query
    that must find the outputs (an apply step looking for its model) leaves it out."""
    kept = {}
    for key, cond in output_query.items():
        values = condition_values(cond)
        if values is not None and len(values) == 1:
            kept[key] = cond
    return kept


def _canonical(query: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, cond in (query or {}).items():
        if isinstance(cond, Mapping) and len(cond) == 1:
            ((operator, operand),) = cond.items()
            if isinstance(operand, list | tuple):
                operand = sorted(operand, key=repr)
            out[key] = (operator, operand)
        else:
            out[key] = ("raw", cond)
    return out


def query_differences(planned: MetaQuery | None, stored: Mapping[str, Any] | None) -> list[str]:
    """What differs between a planned query and the one DIRAC stored (empty when they are the same)."""
    want, have = _canonical(planned), _canonical(stored)
    problems = []
    for key in sorted(set(want) | set(have)):
        if key not in have:
            problems.append(f"'{key}' was not stored (planned {want[key][0]} {want[key][1]!r})")
        elif key not in want:
            problems.append(f"'{key}' was stored but not planned ({have[key][0]} {have[key][1]!r})")
        elif want[key] != have[key]:
            problems.append(f"'{key}': planned {want[key][0]} {want[key][1]!r}, stored {have[key][0]} {have[key][1]!r}")
    return problems


# -- the request a client sends to the server-side submission (one call for the whole plan) -----------------
def submission_request(plan: Plan, base_path: str, output_se: str = "", failover_ses: list[str] | None = None,
                       software: Mapping[str, Any] | None = None) -> str:
    """The whole submission as one JSON text: the plan (every field, as the models hold it), the catalog base
    path and the job-side settings. :func:`read_request` gives them back unchanged."""
    return json.dumps({
        "format": REQUEST_FORMAT,
        "plan": plan.model_dump(mode="json"),
        "base_path": base_path,
        "output_se": output_se,
        "failover_ses": list(failover_ses or []),
        "software": dict(software or {}),
    }, sort_keys=True)  # fmt: skip


def read_request(text: str) -> tuple[Plan, str, dict[str, Any]]:
    """``(plan, base_path, job-side settings)`` of a request; ``ValueError`` says what is wrong with it."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the submission request is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != REQUEST_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ValueError(f"submission request format {found!r}, this server reads {REQUEST_FORMAT}: the client's "
                         "and the server's CTAODIRAC differ (install the same version on both)")  # fmt: skip
    try:
        plan = Plan.model_validate(data["plan"])
        base_path = str(data["base_path"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"the submission request holds no valid plan: {exc}") from None
    settings = {"output_se": str(data.get("output_se", "")), "failover_ses": list(data.get("failover_ses", [])),
                "software": dict(data.get("software") or {})}
    return plan, base_path, settings


def returned_problems(plan: Plan, returned: list[Mapping[str, Any]]) -> list[str]:
    """What does not match between the plan and the productions a server says it created or found: names,
    digests (the server computes them on the plan it received: equal digests mean it submitted this plan)
    and the steps of each production. Empty when everything matches."""
    problems = []
    by_name = {str(p.get("name")): p for p in returned}
    for production in plan.productions:
        got = by_name.pop(production.name, None)
        if got is None:
            problems.append(f"production {production.name}: not in the server's answer")
            continue
        if got.get("digest") != production_digest(production):
            problems.append(f"production {production.name}: digest {got.get('digest')!r}, planned "
                            f"{production_digest(production)!r}")  # fmt: skip
        steps = [str(t.get("name")) for t in got.get("transformations", [])]
        if steps != [s.name for s in production.steps]:
            problems.append(f"production {production.name}: steps {steps}, planned {[s.name for s in production.steps]}")
        if any(not isinstance(t.get("transformation_id"), int) or t["transformation_id"] <= 0
               for t in got.get("transformations", [])):
            problems.append(f"production {production.name}: a transformation without an ID")
    problems.extend(f"production {name}: in the server's answer but not planned" for name in by_name)
    return problems
