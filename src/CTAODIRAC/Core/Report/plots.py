"""The report's pictures, drawn with matplotlib (object-oriented: a ``Figure`` of its own per picture, no pyplot
state), saved as PNG at :data:`DPI`, so that a picture of ``figsize`` (w, h) inches is ``w*DPI`` × ``h*DPI``
pixels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from CTAODIRAC.Core.Report.data import Event
from CTAODIRAC.Core.Report.graph import GraphLayout
from CTAODIRAC.Core.Report.tables import PART_LABELS
from CTAODIRAC.Core.Report.timeline import SEGMENT_KINDS, Timeline

__all__ = ["DPI", "timeline", "production_graph", "energy", "roc", "events", "figure_size"]

DPI = 100
COLOURS = {"hold": "#b0b0b0", "queue": "#f2c14e", "wrapper": "#5b8def", "payload": "#2ca25f", "upload": "#9467bd"}
LABELS = {"hold": PART_LABELS["to_job"], "queue": PART_LABELS["queued"], "wrapper": PART_LABELS["wrapper"],
          "payload": PART_LABELS["payload"], "upload": PART_LABELS["upload"]}  # fmt: skip
STATUS_COLOURS = {"Completed": "#74c476", "Archived": "#74c476", "Active": "#6baed6", "Flush": "#9ecae1",
                  "Idle": "#fdd0a2", "New": "#d9d9d9", "Completing": "#c7e9c0", "Stopped": "#fb6a4a",
                  "Cleaning": "#bdbdbd", "Cleaned": "#bdbdbd", "Deleted": "#969696"}  # fmt: skip
TOY = "a test of the processing chain, not CTAO's performance"


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def _save(fig: Any, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI)
    return path


def figure_size(kind: str, **shape: int) -> tuple[float, float]:
    """The size in inches of a picture (its pixels: times :data:`DPI`)."""
    if kind == "timeline":
        lanes = shape.get("lanes", 1)
        return 13.0, min(2.0 + 0.28 * lanes, 30.0)
    if kind == "graph":
        return max(6.0, 2.9 * shape.get("width", 1) + 1.0), max(3.0, 0.62 * shape.get("height", 1) + 1.6)
    if kind == "events":
        return 12.0, min(1.6 + 0.32 * shape.get("lanes", 1), 12.0)
    return {"energy": (11.0, 4.5), "roc": (5.5, 5.0)}[kind]


def timeline(layout: Timeline, path: Path, title: str = "") -> Path:
    """One row per pilot: the running job (job wrapper, payload, upload) on a thick lane, the waits of its jobs
    (task hold, queue) on thin lanes above it. Failed jobs are outlined in red."""
    lanes = sum(1 + len(row.waiting) for row in layout.rows) or 1
    fig = _figure(*figure_size("timeline", lanes=lanes))
    ax = fig.add_subplot()
    y, ticks, names = 0.0, [], []
    for row in reversed(layout.rows):  # the first pilot at the top
        for s in row.running:
            ax.broken_barh([(s.start, s.end - s.start)], (y, 0.8), facecolors=COLOURS[s.kind],
                           edgecolors="#d62728" if s.failed else "none", linewidth=1.2)
        ticks.append(y + 0.4)
        names.append(f"{row.pilot}\n{row.jobs} jobs")
        y += 1.0
        for lane in row.waiting:
            for s in lane:
                ax.broken_barh([(s.start, s.end - s.start)], (y, 0.35), facecolors=COLOURS[s.kind],
                               edgecolors="#d62728" if s.failed else "none", linewidth=0.8)
            y += 0.45
        ax.axhline(y + 0.05, color="#e0e0e0", linewidth=0.8)
        y += 0.25
    ax.set_yticks(ticks, names, fontsize=8)
    ax.set_ylim(-0.2, max(y, 1.0))
    ax.set_xlim(0, max(layout.end, 1.0) * 1.01)
    ax.set_xlabel("seconds since the first task was created")
    from matplotlib.patches import Patch

    handles = [Patch(color=COLOURS[k], label=LABELS[k]) for k in SEGMENT_KINDS]
    handles.append(Patch(facecolor="white", edgecolor="#d62728", label="failed job"))
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
    ax.set_title(title or "the jobs on the pilots (thick: running; thin, above: waiting for a pilot)", fontsize=10)
    fig.tight_layout(rect=(0, 0.28 / fig.get_figheight(), 1, 1))
    return _save(fig, path)


def production_graph(layout: GraphLayout, path: Path, title: str = "") -> Path:
    """Transformations as boxes coloured by status, in layers left to right; parent links solid, model links
    dashed; each box's outline and first line say its production."""
    fig = _figure(*figure_size("graph", width=layout.width, height=layout.height))
    ax = fig.add_subplot()
    ax.set_axis_off()
    x_step, y_step = 3.0, 1.0
    where = {n.id: (n.layer * x_step, -n.row * y_step) for n in layout.nodes}
    import matplotlib

    cycle = matplotlib.colormaps["tab10"]
    prod_colour = {p: cycle(i % 10) for i, p in enumerate(layout.productions)}
    boxes = {}
    for n in layout.nodes:
        x, y = where[n.id]
        boxes[n.id] = ax.text(x, y, f"{n.name}\n#{n.id} {n.status}", ha="center", va="center", fontsize=6.5,
                              bbox={"boxstyle": "round,pad=0.3", "facecolor": STATUS_COLOURS.get(n.status, "#ffffff"),
                                    "edgecolor": prod_colour.get(n.production, "black"), "linewidth": 1.6},
                              zorder=3)  # fmt: skip
    for e in layout.edges:  # from the right side of the parent's box to the left side of the child's
        ax.annotate("", xy=(0, 0.5), xycoords=boxes[e.child], xytext=(1, 0.5), textcoords=boxes[e.parent],
                    arrowprops={"arrowstyle": "-|>", "color": "#e6550d" if e.kind == "model" else "#555555",
                                "linestyle": "--" if e.kind == "model" else "-", "linewidth": 0.9,
                                "shrinkA": 4, "shrinkB": 4}, zorder=2)  # fmt: skip
    ax.set_xlim(-1.4, max(layout.width - 1, 0) * x_step + 1.4)
    ax.set_ylim(-(max(layout.height, 1) - 1) * y_step - 0.7, 0.7)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    statuses = sorted({n.status for n in layout.nodes})
    handles = [Patch(facecolor=STATUS_COLOURS.get(s, "#ffffff"), edgecolor="black", label=s) for s in statuses]
    handles += [Patch(facecolor="white", edgecolor=prod_colour[p], linewidth=1.6, label=p) for p in layout.productions]
    handles += [Line2D([], [], color="#555555", label="parent link"),
                Line2D([], [], color="#e6550d", linestyle="--", label="model link")]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=7, frameon=False)
    ax.set_title(title or "the production graph (fill: final status; outline: production)", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return _save(fig, path)


def energy(metrics: dict[str, Any], path: Path, title: str = "") -> Path:
    """Energy resolution and bias of the gammas against their true energy."""
    fig = _figure(*figure_size("energy"))
    m = metrics["energy"]
    pts = [(c, r, b, n) for c, r, b, n in zip(m["centers"], m["resolution"], m["bias"], m["counts"]) if r is not None]
    edges = m["edges"]
    for i, (key, label) in enumerate((("resolution", "energy resolution (68 %, half 16-84 % width)"),
                                      ("bias", "energy bias (median)"))):  # fmt: skip
        ax = fig.add_subplot(1, 2, i + 1)
        xs = [p[0] for p in pts]
        ys = [p[1] if key == "resolution" else p[2] for p in pts]
        if pts:
            lo = [x - edges[j] for j, x in enumerate(m["centers"]) if m["resolution"][j] is not None]
            hi = [edges[j + 1] - x for j, x in enumerate(m["centers"]) if m["resolution"][j] is not None]
            ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", color="#3182bd", capsize=0)
            for x, y, n in zip(xs, ys, [p[3] for p in pts]):
                ax.annotate(f"{n}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7,
                            color="#555555")
        else:
            ax.text(0.5, 0.5, "no gamma bin with enough events", ha="center", transform=ax.transAxes)
        if key == "bias":
            ax.axhline(0, color="#999999", linewidth=0.8)
            ax.margins(y=0.2)
        else:
            ax.set_ylim(bottom=0, top=max([y for y in ys if y is not None] + [0.1]) * 1.25)
        ax.set_xscale("log")
        ax.set_xlabel(f"true energy [{metrics.get('energy_unit', 'TeV')}]")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    gammas = m.get("events", 0)
    fig.text(0.5, 0.985, f"TOY EVENTS ({TOY})", fontsize=10, color="#d62728", fontweight="bold", va="top",
             ha="center")
    fig.text(0.5, 0.93, title or f"gammas: {gammas} events (number above each point: events in its bin), "
                                 f"reconstructed energy '{metrics.get('energy_column')}'", fontsize=9, va="top",
             ha="center")
    fig.tight_layout(rect=(0, 0, 1, 0.88))
    return _save(fig, path)


def roc(metrics: dict[str, Any], path: Path, title: str = "") -> Path:
    """The classifier's ROC curve: gamma efficiency against proton efficiency."""
    fig = _figure(*figure_size("roc"))
    ax = fig.add_subplot()
    r = metrics["roc"]
    if r["auc"] is not None:
        ax.plot(r["background_efficiency"], r["signal_efficiency"], color="#3182bd",
                label=f"{metrics.get('score_column')}: AUC {r['auc']:.3f}")
    else:
        ax.text(0.5, 0.5, "no gamma or no proton events", ha="center", transform=ax.transAxes)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", label="chance")
    ax.set_xlabel(f"proton efficiency ({r['background']} protons)")
    ax.set_ylabel(f"gamma efficiency ({r['signal']} gammas)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "gamma/hadron ROC curve", fontsize=10, pad=14)
    fig.text(0.5, 0.985, "TOY EVENTS", fontsize=10, color="#d62728", fontweight="bold", va="top", ha="center")
    fig.text(0.5, 0.945, TOY, fontsize=7, color="#d62728", va="top", ha="center")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return _save(fig, path)


def events(found: Sequence[Event], t0: float, path: Path, title: str = "") -> Path:
    """Faults injected and the failure agent's decisions over time, one lane per kind."""
    lanes = sorted({(e.lane, e.kind) for e in found}, key=lambda k: (k[0] != "fault", k[1]))
    fig = _figure(*figure_size("events", lanes=len(lanes)))
    ax = fig.add_subplot()
    index = {lane: i for i, lane in enumerate(reversed(lanes))}
    for (lane, kind), i in index.items():
        xs = [e.time - t0 for e in found if (e.lane, e.kind) == (lane, kind)]
        ax.scatter(xs, [i] * len(xs), marker="x" if lane == "fault" else "o", s=28,
                   color="#d62728" if lane == "fault" else "#3182bd")
    ax.set_yticks(list(index.values()), [f"{lane}: {kind}" for lane, kind in index], fontsize=8)
    ax.set_ylim(-0.7, max(len(lanes), 1) - 0.3)
    ax.set_xlabel("seconds since the first task was created")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or "faults injected (red x) and the failure agent's decisions (blue o)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
