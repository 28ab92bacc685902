"""Small graph helpers shared by the native builder and the legacy reader."""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

__all__ = ["find_cycle", "topological_order"]

N = TypeVar("N", bound=Hashable)


def find_cycle(nodes: Iterable[N], edges: Mapping[N, Iterable[N]]) -> list[N] | None:
    """A cycle ``[a, b, ..., a]`` following ``edges`` (node -> nodes it depends on), or ``None``."""
    white, grey, black = 0, 1, 2
    colour: dict[N, int] = {}
    for start in nodes:
        if colour.get(start, white) != white:
            continue
        stack: list[tuple[N, list[N]]] = [(start, list(edges.get(start, ())))]
        path = [start]
        colour[start] = grey
        while stack:
            node, pending = stack[-1]
            if not pending:
                colour[node] = black
                stack.pop()
                path.pop()
                continue
            nxt = pending.pop(0)
            state = colour.get(nxt, white)
            if state == grey:
                return path[path.index(nxt) :] + [nxt]
            if state == white:
                colour[nxt] = grey
                path.append(nxt)
                stack.append((nxt, list(edges.get(nxt, ()))))
    return None


def topological_order(nodes: list[N], edges: Mapping[N, Iterable[N]]) -> list[N]:
    """``nodes`` ordered so that each comes after what it depends on; ties keep the given order.

    ``edges`` (node -> nodes it depends on) must be acyclic (check with :func:`find_cycle` first).
    """
    position = {node: index for index, node in enumerate(nodes)}
    waiting = {node: len({dep for dep in edges.get(node, ()) if dep in position}) for node in nodes}
    dependants: dict[N, list[N]] = {node: [] for node in nodes}
    for node in nodes:
        for dep in {dep for dep in edges.get(node, ()) if dep in position}:
            dependants[dep].append(node)
    ready = [position[node] for node in nodes if waiting[node] == 0]
    heapq.heapify(ready)
    order: list[N] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for child in dependants[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    if len(order) != len(nodes):  # pragma: no cover - callers reject cycles first
        raise ValueError("the dependencies contain a cycle")
    return order
