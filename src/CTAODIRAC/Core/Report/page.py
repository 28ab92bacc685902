"""The report on disk: the pictures (PNG), the data they were drawn from (``report.json``) and one HTML page that
shows them with the tables."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from CTAODIRAC.Core.Report import graph, plots, timeline
from CTAODIRAC.Core.Report.data import CampaignData
from CTAODIRAC.Core.Report.tables import production_rows, ratios, time_rows, transformation_rows

__all__ = ["Report", "write_report", "PICTURES"]

#: The pictures, by file name, with their captions.
PICTURES = {
    "timeline.png": "The jobs on the pilots: one row per pilot; the thick lane is the job the pilot runs (job "
                    "wrapper, payload, upload), the thin lanes above it the waits of its jobs before it had them "
                    "(DIRAC's task hold, then the queue).",
    "graph.png": "The production graph: transformations coloured by final status, outlined by production; parent "
                 "links solid, model links dashed.",
    "energy.png": "Energy resolution and bias of the gammas against true energy (toy events).",
    "roc.png": "The gamma/hadron classifier's ROC curve (toy events).",
    "events.png": "Faults injected and the failure agent's decisions over time.",
}  # fmt: skip


@dataclass
class Report:
    directory: Path
    page: Path
    pictures: list[Path] = field(default_factory=list)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(data: CampaignData, directory: Path, dl2_metrics: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None) -> Report:
    """Draw the pictures ``data`` allows (the DL2 ones with ``dl2_metrics``, the events one when there are
    events), save ``report.json`` and write ``index.html``."""
    directory.mkdir(parents=True, exist_ok=True)
    report = Report(directory, directory / "index.html")
    lay = timeline.layout(data.jobs)
    if data.jobs:
        report.pictures.append(plots.timeline(lay, directory / "timeline.png"))
    if data.transformations:
        report.pictures.append(plots.production_graph(graph.layout(data), directory / "graph.png"))
    if dl2_metrics:
        report.pictures.append(plots.energy(dl2_metrics, directory / "energy.png"))
        report.pictures.append(plots.roc(dl2_metrics, directory / "roc.png"))
    if data.events:
        report.pictures.append(plots.events(data.events, lay.start if data.jobs else min(e.time for e in data.events),
                                            directory / "events.png"))
    (directory / "report.json").write_text(json.dumps({"data": data.to_json(), "dl2": dl2_metrics, **(extra or {})},
                                                      indent=1, default=str))
    parts = [f"<h1>{html.escape(data.title)}</h1>"]
    facts = [f"{len(data.productions)} productions, {len(data.transformations)} transformations, {len(data.jobs)} jobs"]
    if data.wall_seconds:
        facts.append(f"wall time {data.wall_seconds:.0f} s" + (f" on {data.pilots} pilots" if data.pilots else ""))
    parts.append("<p>" + html.escape("; ".join(facts)) + " &middot; <a href=\"report.json\">report.json</a></p>")
    parts += [f"<p class=note>{html.escape(n)}</p>" for n in data.notes]
    for picture in report.pictures:
        caption = PICTURES.get(picture.name, "")
        parts.append(f"<figure><img src=\"{picture.name}\" alt=\"{html.escape(caption)}\">"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    header = ["production", "ID", "name", "status", "files", "processed", "failed jobs", "given up", "other files"]
    parts.append("<h2>Productions</h2>" + _table(header, [list(vars(r).values()) for r in production_rows(data)]))
    parts.append("<h2>Transformations</h2>" + _table(header, [list(vars(r).values())
                                                              for r in transformation_rows(data)]))
    rows = [[r.label, f"{r.sum_s:.0f}", "-" if r.median_s is None else f"{r.median_s:.1f}", f"{r.share:.0%}"]
            for r in time_rows(data.jobs)]  # fmt: skip
    found = ratios(data.jobs, data.wall_seconds, data.pilots)
    rows += [[name, "", "", f"{value:.0%}"] for name, value in found.items()]
    parts.append("<h2>Where the jobs' time went</h2>" + _table(["part", "sum [s]", "median [s]", "share"], rows))
    outputs = [["model", lfn] for lfn in data.models] + [["DL2", lfn] for lfn in data.dl2]
    if outputs:
        parts.append("<h2>Models and DL2 files</h2>" + _table(["what", "LFN"], outputs))
    style = ("body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}img{max-width:100%}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px}"
             "figcaption{color:#555;font-size:13px}.note{color:#a33}")
    report.page.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(data.title)}"
                           f"</title><style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    return report
