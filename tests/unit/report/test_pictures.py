"""The report's pictures and page: every PNG decodes, has the size its figure asks for and is not blank; the HTML
page shows every picture; the rich tables show the campaign."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from rich.console import Console

from CTAODIRAC.Core.Report import graph, plots, render, timeline
from CTAODIRAC.Core.Report.dl2 import metrics
from CTAODIRAC.Core.Report.page import PICTURES, write_report

from ._data import campaign

pytest.importorskip("matplotlib")


def dl2_metrics() -> dict:
    rng = np.random.default_rng(3)
    n = 400
    true = 10 ** rng.uniform(-1, 2, n)
    tables = [{"name": name, "columns": {"true_energy": true.tolist(), "true_shower_primary_id": [pid] * n,
                                         "R_energy": (true * (1 + rng.normal(0, 0.25, n))).tolist(),
                                         "C_prediction": rng.beta(*shape, n).tolist()}}
              for name, pid, shape in (("g.h5", 0, (5, 2)), ("p.h5", 101, (2, 5)))]  # fmt: skip
    return metrics(tables)


def check_png(path, size_inches) -> None:
    """Decodes, has the expected pixels, and is not blank (its pixels vary)."""
    import matplotlib.image

    image = matplotlib.image.imread(path)
    width, height = (round(v * plots.DPI) for v in size_inches)
    assert image.shape[:2] == (height, width), (path.name, image.shape)
    rgb = image[..., :3]
    assert rgb.std() > 0.02, f"{path.name} looks blank"
    # more than the background colour: at least a few percent of the pixels are not white
    assert (rgb.mean(axis=2) < 0.95).mean() > 0.01, f"{path.name} is nearly all white"


def test_every_picture_is_a_sound_png_of_its_size_and_the_page_shows_them_all(tmp_path):
    data = campaign()
    found = dl2_metrics()
    report = write_report(data, tmp_path / "report", found)
    names = sorted(p.name for p in report.pictures)
    assert names == sorted(PICTURES)  # timeline, graph, energy, roc, events
    lay, glay = timeline.layout(data.jobs), graph.layout(data)
    sizes = {
        "timeline.png": plots.figure_size("timeline", lanes=sum(1 + len(r.waiting) for r in lay.rows)),
        "graph.png": plots.figure_size("graph", width=glay.width, height=glay.height),
        "energy.png": plots.figure_size("energy"),
        "roc.png": plots.figure_size("roc"),
        "events.png": plots.figure_size("events", lanes=len({(e.lane, e.kind) for e in data.events})),
    }
    for picture in report.pictures:
        check_png(picture, sizes[picture.name])
    page = report.page.read_text()
    shown = set(re.findall(r'<img src="([^"]+)"', page))
    assert shown == {p.name for p in (tmp_path / "report").glob("*.png")} == set(names)
    assert "campaign Toytest" in page and "apply-gamma" in page and "toy events" in page.lower()
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["dl2"]["roc"]["auc"] == found["roc"]["auc"] and len(saved["data"]["jobs"]) == len(data.jobs)


def test_without_dl2_or_events_only_the_timeline_and_graph(tmp_path):
    data = campaign()
    data.events = []
    report = write_report(data, tmp_path, None)
    assert sorted(p.name for p in report.pictures) == ["graph.png", "timeline.png"]
    assert "energy.png" not in report.page.read_text()


def test_an_empty_campaign_still_gets_a_page(tmp_path):
    data = campaign()
    data.jobs, data.events, data.transformations = [], [], []
    report = write_report(data, tmp_path, None)
    assert report.pictures == [] and report.page.exists()


def test_the_rich_tables_show_productions_transformations_outputs_and_time():
    console = Console(record=True, width=200)
    render.show(campaign(), console, dl2_metrics())
    text = console.export_text()
    for expected in ("productions", "transformations", "process-x", "merge-gamma", "1 MaxReset", "/m/energy.pkl",
                     "/d/gamma.dl2.h5", "task hold", "payload / (pilots x wall time)", "ROC AUC"):
        assert expected in text, expected
