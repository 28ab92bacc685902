"""The production graph's layout: transformations in layers (each after every transformation it needs), its
parent links (data) and model links, its productions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from CTAODIRAC.Core.Report.data import CampaignData, Transformation

__all__ = ["Node", "Edge", "GraphLayout", "layers", "layout", "short_name"]

#: The prefix DIRAC's Production System gives a step's transformation: ``<production ID>_Step<N>_``.
_PS_PREFIX = re.compile(r"^\d{8}_Step\d+_")


def short_name(name: str) -> str:
    """A transformation's name without the Production System's ``00000012_Step3_`` prefix."""
    return _PS_PREFIX.sub("", name)


@dataclass(frozen=True)
class Node:
    id: int
    name: str
    production: str
    status: str
    layer: int
    row: int
    """Position in its layer (0 at the top)."""


@dataclass(frozen=True)
class Edge:
    parent: int
    child: int
    kind: str
    """``data`` (parent link) or ``model``."""


@dataclass(frozen=True)
class GraphLayout:
    nodes: list[Node]
    edges: list[Edge]
    productions: list[str]
    """In the report's order."""
    width: int
    """Layers."""
    height: int
    """Rows of the fullest layer."""


def _needs(t: Transformation, known: set[int]) -> set[int]:
    return {p for p in (*t.parents, *t.model_parents) if p in known and p != t.id}


def layers(transformations: Sequence[Transformation]) -> dict[int, int]:
    """``{transformation: layer}``: 0 for those that need none of the others, else one more than the deepest it
    needs (links that close a cycle are ignored)."""
    known = {t.id for t in transformations}
    needs = {t.id: _needs(t, known) for t in transformations}
    layer: dict[int, int] = {}
    visiting: set[int] = set()

    def depth(tid: int) -> int:
        if tid in layer:
            return layer[tid]
        visiting.add(tid)
        deepest = -1
        for parent in sorted(needs[tid]):
            if parent not in visiting:
                deepest = max(deepest, depth(parent))
        visiting.discard(tid)
        layer[tid] = deepest + 1
        return layer[tid]

    for t in sorted(known):
        depth(t)
    return layer


def layout(data: CampaignData) -> GraphLayout:
    """Layers left to right; within a layer, transformations ordered by the mean row of what they need (then by
    production and name), so that links mostly run straight."""
    ts = {t.id: t for t in data.transformations}
    layer = layers(list(ts.values()))
    order = {p.name: i for i, p in enumerate(data.productions)}
    width = max(layer.values(), default=-1) + 1
    row: dict[int, float] = {}
    by_layer: dict[int, list[int]] = {}
    for tid, n in layer.items():
        by_layer.setdefault(n, []).append(tid)
    for n in range(width):
        def key(tid: int) -> tuple[float, int, str]:
            needs = _needs(ts[tid], set(ts))
            placed = [row[p] for p in needs if p in row]
            mean = sum(placed) / len(placed) if placed else -1.0
            return mean, order.get(ts[tid].production, len(order)), ts[tid].name

        for i, tid in enumerate(sorted(by_layer.get(n, []), key=key)):
            row[tid] = i
    nodes = [Node(t.id, short_name(t.name), t.production, t.status, layer[t.id], int(row[t.id]))
             for t in sorted(ts.values(), key=lambda t: (layer[t.id], row[t.id]))]  # fmt: skip
    edges = [Edge(p, t.id, "data") for t in ts.values() for p in sorted(set(t.parents)) if p in ts and p != t.id]
    edges += [Edge(p, t.id, "model") for t in ts.values() for p in sorted(set(t.model_parents)) if p in ts]
    productions = [p.name for p in data.productions] + sorted({t.production for t in ts.values()} - set(order))
    height = max((len(v) for v in by_layer.values()), default=0)
    return GraphLayout(nodes, edges, productions, width, height)
