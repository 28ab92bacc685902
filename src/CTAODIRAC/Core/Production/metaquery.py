"""Catalog meta-queries as the Transformation System stores them, and DIRAC's link rules.

Encoding (why every condition is in operator form)
--------------------------------------------------
DIRAC 9.1's ``TransformationDB.__addMetaQuery`` stores a query row by row and skips every falsy value
(``if not parameterValue: continue``): ``phiP: 0``, ``merged: 0`` or ``sct: False`` silently vanish, so a
South-pointing query (phiP 0) would match both pointings. Plain values also come back altered: floats as
strings, a one-element list as a scalar, and a list of floats cannot be stored at all (``";;;".join``).
A dict value, however, is stored as ``str(dict)`` with type ``Dict`` and read back with ``saferEval``
(``ast.literal_eval``), so it survives exactly, zero and float included. The file catalog
(``DirectoryMetadata.__createMetaSelection``), ``MetaQuery.applyQuery`` (used by the TS filter on new
files) and ``ProdValidator.checkformatQuery`` all understand ``{"=": v}`` and ``{"in": [...]}``.

So every condition of every query built here is a one-key dict: ``{"=": value}`` for one value,
``{"in": [v1, v2, ...]}`` for several (plus the comparison operators for top-level inputs only).
``saferEval`` refuses strings longer than 2048 characters, hence :data:`MAX_STORED_VALUE_LENGTH`.

Nothing here imports DIRAC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ALL_OPERATORS",
    "LINK_OPERATORS",
    "MAX_STORED_VALUE_LENGTH",
    "MetaQuery",
    "MetaScalar",
    "check_link",
    "condition",
    "condition_values",
    "normalize_query",
    "output_condition",
    "union_queries",
]

#: A metadata value: the catalog knows varchar, int and float fields.
MetaScalar = str | int | float
#: An encoded query: metadata name -> one-key operator dict.
MetaQuery = dict[str, dict[str, Any]]

#: Operators DIRAC's file catalog understands in a meta-query.
ALL_OPERATORS = ("=", "in", "!=", "nin", ">", ">=", "<", "<=")
#: Operators DIRAC's ProdValidator accepts in a child's input query (``checkformatQuery``).
LINK_OPERATORS = ("=", "in")
#: ``saferEval`` (used by ``getTransformationMetaQuery`` to read a Dict value back) refuses longer strings.
MAX_STORED_VALUE_LENGTH = 2048


def _dedupe(values: Iterable[MetaScalar]) -> list[MetaScalar]:
    seen: list[MetaScalar] = []
    for value in values:
        if not any(value == other and type(value) is type(other) for other in seen):
            seen.append(value)
    return seen


def condition(value: Any) -> dict[str, Any]:
    """Encode one user value: a scalar gives ``{"=": v}``, a list gives ``{"in": [...]}`` (``{"=": v}`` when it
    holds one distinct value), an operator dict is kept (its list de-duplicated)."""
    if isinstance(value, Mapping):
        ((operator, operand),) = value.items()
        if isinstance(operand, list | tuple):
            operand = _dedupe(operand)
            if operator == "in" and len(operand) == 1:
                return {"=": operand[0]}
            if operator == "=":
                operator = "in" if len(operand) > 1 else "="
                operand = operand if len(operand) > 1 else operand[0]
        return {operator: operand}
    if isinstance(value, list | tuple):
        values = _dedupe(value)
        return {"=": values[0]} if len(values) == 1 else {"in": values}
    return {"=": value}


def output_condition(values: Iterable[MetaScalar]) -> dict[str, Any]:
    """Encode the value set of an output metadata field."""
    return condition(list(values))


def normalize_query(query: Mapping[str, Any] | None) -> MetaQuery:
    """Encode a whole user query (see the module docstring)."""
    return {key: condition(value) for key, value in (query or {}).items()}


def condition_values(cond: Mapping[str, Any]) -> list[MetaScalar] | None:
    """The value set of an ``=``/``in`` condition, ``None`` for any other operator."""
    ((operator, operand),) = cond.items()
    if operator not in LINK_OPERATORS:
        return None
    return list(operand) if isinstance(operand, list | tuple) else [operand]


def union_queries(queries: list[MetaQuery]) -> MetaQuery:
    """The narrowest query that every file matching one of ``queries`` matches, restricted to ``=``/``in``.

    Keys not present in every query are dropped (DIRAC's validator only accepts a child key that each
    parent's output query has); the value sets of the others are united, in order of first appearance.
    """
    if not queries:
        return {}
    result: MetaQuery = {}
    for key in queries[0]:
        values: list[MetaScalar] = []
        for query in queries:
            cond = query.get(key)
            found = condition_values(cond) if cond is not None else None
            if found is None:
                break
            values.extend(found)
        else:
            result[key] = output_condition(values)
    return result


def _as_set(values: list[MetaScalar]) -> set[tuple[str, MetaScalar]]:
    # 20 and 20.0 are the same catalog value (DIRAC compares Python sets too); "1" and 1 are not.
    return {("num" if isinstance(v, int | float) else "str", v) for v in values}


def check_link(child_input: MetaQuery, parent_output: MetaQuery) -> list[str]:
    """Check a child's input query against one parent's output query by DIRAC's ProdValidator rules.

    Rules (``DIRAC.ProductionSystem.Utilities.ProdValidator``): both queries must be non-empty; the child
    may use only the operators ``=`` and ``in``; every child key must be present in the parent's output
    query; for each key, the child's value set must be a subset or a superset of the parent's.
    The catalog-type rule (fields must exist as varchar/int/float) needs the catalog and is checked at
    submission. Returns the list of problems (empty when the link is valid).
    """
    problems: list[str] = []
    if not child_input:
        problems.append("the child has an empty input query (DIRAC needs one to link it to a parent)")
    if not parent_output:
        problems.append("the parent has an empty output query (DIRAC needs one to link a child to it)")
    for key, cond in child_input.items():
        values = condition_values(cond)
        if values is None:
            problems.append(f"'{key}' uses operator '{next(iter(cond))}'; a linked step may only use '=' or 'in'")
            continue
        if key not in parent_output:
            allowed = ", ".join(sorted(parent_output)) or "none"
            problems.append(f"'{key}' is not in the parent's output query (its keys: {allowed})")
            continue
        parent_values = condition_values(parent_output[key])
        if parent_values is None:
            problems.append(f"'{key}' of the parent's output query uses operator '{next(iter(parent_output[key]))}'")
            continue
        mine, theirs = _as_set(values), _as_set(parent_values)
        if not (mine <= theirs or theirs <= mine):
            problems.append(
                f"'{key}' selects {_show(values)} but the parent produces {_show(parent_values)}"
                " (one value set must contain the other)"
            )
    return problems


def _show(values: list[MetaScalar]) -> str:
    return repr(values[0]) if len(values) == 1 else "[" + ", ".join(repr(v) for v in values) + "]"


def stored_length_problems(query: MetaQuery) -> list[str]:
    """Conditions too long for DIRAC to read back (``saferEval`` limit)."""
    return [
        f"'{key}' is {len(str(cond))} characters long once stored; DIRAC reads back at most {MAX_STORED_VALUE_LENGTH}"
        for key, cond in query.items()
        if len(str(cond)) > MAX_STORED_VALUE_LENGTH
    ]
