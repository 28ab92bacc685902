"""What the DL2 files say: the energy resolution and bias against true energy for gammas, and the gamma/hadron
ROC curve of the classifier.

The metrics are plain numpy on columns; :func:`main` reads DL2 files with ctapipe's ``TableLoader`` and writes
the metrics as JSON. It runs where ctapipe is (the payload environment, ``.venv-ctapipe`` here: ctapipe 0.32
needs Python 3.12, DIRAC 9.1 runs on 3.11):

    python -m CTAODIRAC.Core.Report.dl2 --output metrics.json FILE.dl2.h5 ...

Definitions (as pyirf's): relative error ``(E_reco - E_true) / E_true``; per bin of true energy the *bias* is its
median and the *resolution* half the distance between its 16th and 84th percentiles (68 % of the events). The
ROC curve: gammas (``true_shower_primary_id`` 0) are the signal, protons (101) the background, and each
threshold on the classifier's score (gammaness) gives the fraction of each kept.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from CTAODIRAC.Core.errors import CTAODIRACError

__all__ = ["energy_metrics", "roc_curve", "pick_columns", "metrics", "read_metrics", "ctapipe_python", "DL2ReadError",
           "GAMMA", "PROTON", "ELECTRON"]

GAMMA, ELECTRON, PROTON = 0, 1, 101
#: Bins with fewer gammas than this get no bias or resolution.
MIN_EVENTS = 10


def energy_metrics(true_energy: Any, reco_energy: Any, bins: int = 6, min_events: int = MIN_EVENTS) -> dict[str, Any]:
    """Bias and resolution per bin of true energy (log bins spanning the events with a finite, positive
    reconstructed energy), in the units given."""
    true = np.asarray(true_energy, dtype=float)
    reco = np.asarray(reco_energy, dtype=float)
    good = np.isfinite(true) & np.isfinite(reco) & (true > 0) & (reco > 0)
    true, reco = true[good], reco[good]
    if true.size == 0:
        return {"edges": [], "centers": [], "counts": [], "bias": [], "resolution": [], "events": 0}
    lo, hi = np.log10(true.min()), np.log10(true.max())
    if hi <= lo:
        hi = lo + 1e-3
    edges = np.logspace(lo, hi, bins + 1)
    rel = (reco - true) / true
    which = np.clip(np.digitize(true, edges) - 1, 0, bins - 1)
    counts, bias, resolution = [], [], []
    for i in range(bins):
        values = rel[which == i]
        counts.append(int(values.size))
        if values.size >= min_events:
            q16, q50, q84 = np.percentile(values, [16, 50, 84])
            bias.append(float(q50))
            resolution.append(float((q84 - q16) / 2))
        else:
            bias.append(None)
            resolution.append(None)
    centers = np.sqrt(edges[:-1] * edges[1:])
    return {"edges": edges.tolist(), "centers": centers.tolist(), "counts": counts, "bias": bias,
            "resolution": resolution, "events": int(true.size)}  # fmt: skip


def roc_curve(signal_scores: Any, background_scores: Any) -> dict[str, Any]:
    """Signal and background efficiencies for every threshold on the score (keep ``score >= threshold``), from
    (0, 0) to (1, 1), and the area under the curve."""
    sig = np.asarray(signal_scores, dtype=float)
    bkg = np.asarray(background_scores, dtype=float)
    sig, bkg = sig[np.isfinite(sig)], bkg[np.isfinite(bkg)]
    if sig.size == 0 or bkg.size == 0:
        return {"background_efficiency": [], "signal_efficiency": [], "thresholds": [], "auc": None,
                "signal": int(sig.size), "background": int(bkg.size)}  # fmt: skip
    thresholds = np.unique(np.concatenate([sig, bkg]))[::-1]
    tpr = np.array([0.0] + [(sig >= t).mean() for t in thresholds])
    fpr = np.array([0.0] + [(bkg >= t).mean() for t in thresholds])
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    return {"background_efficiency": fpr.tolist(), "signal_efficiency": tpr.tolist(),
            "thresholds": [None, *thresholds.tolist()], "auc": auc, "signal": int(sig.size),
            "background": int(bkg.size)}  # fmt: skip


def pick_columns(columns: Sequence[str]) -> tuple[str | None, str | None]:
    """The reconstructed energy and the classifier score among a DL2 table's columns: ``<name>_energy`` (not
    ``true_energy``, not an uncertainty) and ``<name>_prediction``; the first in sorted order when several."""
    energy = sorted(c for c in columns if c.endswith("_energy") and not c.startswith("true_"))
    score = sorted(c for c in columns if c.endswith("_prediction"))
    return (energy[0] if energy else None), (score[0] if score else None)


def metrics(tables: Sequence[dict[str, Any]], bins: int = 6) -> dict[str, Any]:
    """The report's DL2 numbers from tables given as ``{"name", "columns": {column: values}}`` (one per file):
    every file's events pooled, particles told by ``true_shower_primary_id``."""
    energy_col = score_col = None
    true_e, reco_e, scores, ids, files = [], [], [], [], []
    for table in tables:
        cols = table["columns"]
        e_col, s_col = pick_columns(list(cols))
        energy_col, score_col = energy_col or e_col, score_col or s_col
        n = len(cols.get("true_shower_primary_id", []))
        particles = np.asarray(cols.get("true_shower_primary_id", []), dtype=int)
        files.append({"name": table["name"], "events": n,
                      "particles": {str(k): int(v) for k, v in zip(*np.unique(particles, return_counts=True))}})
        ids.append(particles)
        true_e.append(np.asarray(cols.get("true_energy", [np.nan] * n), dtype=float))
        reco_e.append(np.asarray(cols.get(e_col, [np.nan] * n) if e_col else [np.nan] * n, dtype=float))
        scores.append(np.asarray(cols.get(s_col, [np.nan] * n) if s_col else [np.nan] * n, dtype=float))
    pid = np.concatenate(ids) if ids else np.array([], dtype=int)
    true = np.concatenate(true_e) if true_e else np.array([])
    reco = np.concatenate(reco_e) if reco_e else np.array([])
    score = np.concatenate(scores) if scores else np.array([])
    gamma = pid == GAMMA
    return {
        "files": files,
        "energy_column": energy_col,
        "score_column": score_col,
        "energy_unit": "TeV",
        "energy": energy_metrics(true[gamma], reco[gamma], bins=bins),
        "roc": roc_curve(score[gamma], score[pid == PROTON]),
    }


def read_tables(paths: Sequence[str]) -> list[dict[str, Any]]:
    """The DL2 subarray events of each file (ctapipe's TableLoader), the columns the metrics use, in TeV."""
    from ctapipe.io import TableLoader

    tables = []
    for path in paths:
        with TableLoader(path, dl2=True, simulated=True) as loader:
            events = loader.read_subarray_events()
        energy, score = pick_columns(events.colnames)
        columns: dict[str, list[float]] = {}
        for name in ("true_energy", "true_shower_primary_id", energy, score):
            if name is None or name not in events.colnames:
                continue
            columns[name] = _values(events[name], "TeV" if name.endswith("_energy") else None).tolist()
        tables.append({"name": Path(path).name, "columns": columns})
    return tables


def _values(column: Any, unit: str | None) -> Any:
    """A table column as floats (masked values NaN), in ``unit`` when it has one."""
    import astropy.units as u

    if hasattr(column, "filled") and getattr(column, "mask", None) is not None:
        column = column.filled(np.nan) if column.dtype.kind == "f" else column.filled(-1)
    if unit is not None and getattr(column, "unit", None) not in (None, u.dimensionless_unscaled):
        return np.asarray(u.Quantity(column).to_value(unit), dtype=float)
    return np.asarray(getattr(column, "value", column), dtype=float)


class DL2ReadError(CTAODIRACError):
    """The DL2 files could not be read (no ctapipe where asked, or the reader failed)."""


def ctapipe_python(given: str | None = None) -> str:
    """The Python that reads DL2 files: ``given``, else this one when it has ctapipe."""
    if given:
        return given
    if importlib.util.find_spec("ctapipe") is not None:
        return sys.executable
    raise DL2ReadError("ctapipe is not installed in this Python: give one that has it (--ctapipe-python), e.g. the "
                       "payload environment's")


def read_metrics(paths: Sequence[str | Path], python: str, bins: int = 6, timeout: float = 900) -> dict[str, Any]:
    """The metrics of DL2 files, computed by :func:`main` run by ``python`` (a Python with ctapipe)."""
    with tempfile.TemporaryDirectory(prefix="ctao-dl2-") as tmp:
        out = Path(tmp) / "metrics.json"
        run = subprocess.run([python, "-m", "CTAODIRAC.Core.Report.dl2", "--output", str(out), "--bins", str(bins),
                              *map(str, paths)], capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if run.returncode != 0 or not out.exists():
            raise DL2ReadError(f"reading the DL2 files with {python} failed (exit {run.returncode}): "
                               f"{run.stderr.strip()[-2000:]}")
        return json.loads(out.read_text())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The report's DL2 numbers (energy resolution, bias, ROC) as JSON.")
    parser.add_argument("files", nargs="+", help="DL2 files (HDF5 written by ctapipe)")
    parser.add_argument("--output", required=True, help="the JSON file to write")
    parser.add_argument("--bins", type=int, default=6, help="bins of true energy")
    args = parser.parse_args(argv)
    try:
        found = metrics(read_tables(args.files), bins=args.bins)
    except (OSError, KeyError, ValueError) as exc:
        print(f"cannot read the DL2 files: {exc}", file=sys.stderr)
        return 1
    Path(args.output).write_text(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
