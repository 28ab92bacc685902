"""Which transformations feed which, from their stored queries: the parents DIRAC does not link.

DIRAC's Production System links a step only to parents *in the same production*; a campaign made of several
productions (the example one: process and merge, then merge again, then train, then apply) has children whose
parents are in another production. The failure agent must not flush or complete such a child while a parent still
produces, so it also counts as a parent every transformation whose files the child's input query would select:
each key of the child's input query is in the transformation's output query, with value sets that share a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from CTAODIRAC.Core.Production.metaquery import condition, condition_values

__all__ = ["feeds", "implicit_parents"]


def _values(cond: Any) -> set[tuple[str, Any]] | None:
    values = condition_values(condition(cond))
    if values is None:
        return None
    # 20 and 20.0 are one catalog value; "1" and 1 are not (as DIRAC's link check compares them)
    return {("num" if isinstance(v, int | float) and not isinstance(v, bool) else "str", v) for v in values}


def feeds(parent_output: Mapping[str, Any], child_input: Mapping[str, Any]) -> bool:
    """Whether a file registered with ``parent_output`` can match ``child_input`` (both non-empty)."""
    if not parent_output or not child_input:
        return False
    for key, cond in child_input.items():
        if key not in parent_output:
            return False
        mine, theirs = _values(cond), _values(parent_output[key])
        if mine is None or theirs is None:  # another operator than = / in: cannot tell, assume not
            return False
        if not mine & theirs:
            return False
    return True


def implicit_parents(queries: Mapping[int, tuple[Mapping[str, Any], Mapping[str, Any]]]) -> dict[int, set[int]]:
    """``{child: parents}`` among ``queries`` (``{transformation: (input query, output query)}``). Two
    transformations feeding each other are no parents of each other (their queries are too loose to tell which
    comes first, and waiting on each other would hold both for ever)."""
    found: dict[int, set[int]] = {}
    for child, (child_input, _) in queries.items():
        for parent, (_, parent_output) in queries.items():
            if parent != child and feeds(parent_output, child_input):
                found.setdefault(child, set()).add(parent)
    mutual = {(child, parent) for child, parents in found.items() for parent in parents
              if child in found.get(parent, set())}  # fmt: skip
    for child, parent in mutual:
        found[child].discard(parent)
    return {child: parents for child, parents in found.items() if parents}
