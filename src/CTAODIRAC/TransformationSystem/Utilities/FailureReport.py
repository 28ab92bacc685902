"""Summaries of failure-management decisions: the agent's log and mail digest, the report command's output.

Plain functions over plain data (decision rows as dicts, or :class:`~CTAODIRAC.Core.Failures.Decision`); no
DIRAC.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from CTAODIRAC.Core.Failures.decisions import Decision

__all__ = [
    "REPORT_COLUMNS",
    "cycle_summary_lines",
    "decisions_table",
    "summary_rows",
    "summary_table",
    "to_json_rows",
]

#: Columns of the report's decision table, in order.
REPORT_COLUMNS = (
    "CreationTime", "Kind", "Class", "Rule", "TransformationID", "TaskID", "JobID", "Site", "NumFiles", "State",
    "Reason",
)  # fmt: skip


def cycle_summary_lines(decisions: Iterable[Decision], *, report_only: bool) -> list[str]:
    """One line per transformation (and production): failures by class and site, then actions, of one cycle."""
    per_trans: dict[int | None, dict[str, Counter[str]]] = {}
    productions: list[str] = []
    for decision in decisions:
        if decision.transformation_id is None:
            productions.append(f"production {decision.production_id}: {decision.kind.value} ({decision.reason})")
            continue
        entry = per_trans.setdefault(
            decision.transformation_id, {"class": Counter(), "site": Counter(), "action": Counter()}
        )
        if decision.failure_class is not None and decision.kind.value in ("retry", "give-up", "leave"):
            entry["class"][decision.failure_class.value] += 1
            if decision.site:
                entry["site"][decision.site] += 1
        entry["action"][decision.kind.value] += 1
        if decision.file_changes:
            entry["action"]["files"] += len(decision.file_changes)
    verb = "would do" if report_only else "did"
    lines = []
    for tid, entry in sorted(per_trans.items(), key=lambda item: item[0] or 0):
        classes = ", ".join(f"{name} {count}" for name, count in sorted(entry["class"].items())) or "none"
        sites = ", ".join(f"{name} {count}" for name, count in sorted(entry["site"].items())) or "none"
        actions = ", ".join(f"{name} {count}" for name, count in sorted(entry["action"].items()))
        lines.append(f"transformation {tid}: failures by class: {classes}; by site: {sites}; {verb}: {actions}")
    return lines + productions


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], widest: int = 80) -> str:
    cells = [[cell if len(cell) <= widest else cell[: widest - 1] + "…" for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def decisions_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The decisions as a text table (columns :data:`REPORT_COLUMNS`)."""
    headers = ["Time", "Kind", "Class", "Rule", "Trans", "Task", "Job", "Site", "Files", "State", "Reason"]
    return _table(headers, [[_text(row.get(column)) for column in REPORT_COLUMNS] for row in rows])


def summary_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per transformation: failures by class and by site, decisions by kind and state (from ``summary`` rows)."""
    merged: dict[Any, dict[str, Any]] = {}
    for row in rows:
        key = row.get("TransformationID")
        entry = merged.setdefault(
            key,
            {"TransformationID": key, "ProductionID": row.get("ProductionID"), "Failures": 0, "ByClass": Counter(),
             "BySite": Counter(), "ByKind": Counter(), "ByState": Counter(), "Files": 0, "Last": None},
        )  # fmt: skip
        count = int(row.get("Decisions") or 0)
        kind = str(row.get("Kind") or "")
        if kind in ("retry", "give-up", "leave"):
            entry["Failures"] += count
            if row.get("Class"):
                entry["ByClass"][str(row["Class"])] += count
            if row.get("Site"):
                entry["BySite"][str(row["Site"])] += count
        entry["ByKind"][kind] += count
        entry["ByState"][str(row.get("State") or "")] += count
        entry["Files"] += int(row.get("Files") or 0)
        last = row.get("Last")
        if last is not None and (entry["Last"] is None or _text(last) > _text(entry["Last"])):
            entry["Last"] = last
        if entry["ProductionID"] is None:
            entry["ProductionID"] = row.get("ProductionID")
    result = []
    for key in sorted(merged, key=lambda k: (k is None, k or 0)):
        entry = merged[key]
        result.append({**entry, **{name: dict(entry[name]) for name in ("ByClass", "BySite", "ByKind", "ByState")},
                       "Last": _text(entry["Last"])})  # fmt: skip
    return result


def summary_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The per-transformation summary as a text table."""

    def counts(mapping: Mapping[str, int]) -> str:
        return ", ".join(f"{name} {count}" for name, count in sorted(mapping.items())) or "-"

    headers = ["Trans", "Prod", "Failures", "By class", "By site", "Decisions", "State", "Last"]
    body = [
        [_text(r["TransformationID"]) or "-", _text(r["ProductionID"]) or "-", str(r["Failures"]), counts(r["ByClass"]),
         counts(r["BySite"]), counts(r["ByKind"]), counts(r["ByState"]), r["Last"]]
        for r in rows
    ]  # fmt: skip
    return _table(headers, body, widest=100)


def to_json_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Decision rows as JSON-ready dicts (times as text, FileChanges and Result decoded)."""
    out = []
    for row in rows:
        item = {key: _text(value) if isinstance(value, datetime) else value for key, value in row.items()}
        for key in ("FileChanges", "Result"):
            if isinstance(item.get(key), str) and item[key]:
                try:
                    item[key] = json.loads(item[key])
                except ValueError:
                    pass  # kept as the text it is
        out.append(item)
    return out
