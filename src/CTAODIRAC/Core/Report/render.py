"""The report's tables for a terminal (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from CTAODIRAC.Core.Report.data import CampaignData
from CTAODIRAC.Core.Report.tables import production_rows, ratios, time_rows, transformation_rows

__all__ = ["tables", "show"]

STATUS_STYLE = {"Completed": "green", "Active": "cyan", "Flush": "cyan", "Idle": "yellow", "Stopped": "red"}


def _status(status: str) -> str:
    style = STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def _files_table(title: str, rows: list[Any], first: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for name, justify in ((first, "left"), ("ID", "right"), ("name", "left"), ("status", "left"), ("files", "right"),
                          ("processed", "right"), ("failed jobs", "right"), ("given up", "right"),
                          ("other files", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    last = None
    for r in rows:
        shown = r.production if r.production != last else ""
        last = r.production
        table.add_row(shown, str(r.id if r.id is not None else ""), r.name, _status(r.status), str(r.files),
                      str(r.processed), f"[red]{r.failed}[/]" if r.failed else "0",
                      f"[yellow]{r.given_up}[/]" if r.given_up else "0", r.other)  # fmt: skip
    return table


def tables(data: CampaignData, dl2_metrics: dict[str, Any] | None = None) -> list[Table]:
    """The summary's tables: productions, transformations, models and DL2 files, the time split."""
    found = [_files_table("productions", production_rows(data), "production"),
             _files_table("transformations", transformation_rows(data), "production")]  # fmt: skip
    outputs = Table(title="models and DL2 files", title_justify="left", header_style="bold")
    outputs.add_column("what")
    outputs.add_column("LFN", overflow="fold")
    for lfn in data.models:
        outputs.add_row("model", lfn)
    for lfn in data.dl2:
        outputs.add_row("DL2", lfn)
    if dl2_metrics:
        r = dl2_metrics.get("roc", {})
        auc = f"{r['auc']:.3f}" if r.get("auc") is not None else "-"
        outputs.add_row("DL2 (toy events)", f"{dl2_metrics['energy'].get('events', 0)} gammas with an energy; ROC AUC "
                        f"{auc} on {r.get('signal', 0)} gammas against {r.get('background', 0)} protons")
    found.append(outputs)
    split = Table(title=f"where the jobs' time went ({len(data.jobs)} jobs)", title_justify="left",
                  header_style="bold")
    for name, justify in (("part", "left"), ("sum \\[s]", "right"), ("median \\[s]", "right"), ("share", "right")):
        split.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in time_rows(data.jobs):
        median = f"{row.median_s:.1f}" if row.median_s is not None else "-"
        split.add_row(row.label, f"{row.sum_s:.0f}", median, f"{row.share:.0%}")
    for name, value in ratios(data.jobs, data.wall_seconds, data.pilots).items():
        split.add_row(f"[dim]{name}[/]", "", "", f"[dim]{value:.0%}[/]")
    found.append(split)
    return found


def show(data: CampaignData, console: Console | None = None, dl2_metrics: dict[str, Any] | None = None) -> None:
    console = console or Console()
    for table in tables(data, dl2_metrics):
        console.print(table)
