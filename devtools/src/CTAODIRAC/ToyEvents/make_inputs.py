"""Write toy DL0 input descriptions for a campaign: particles x splits x runs.

Usage::

    python -m CTAODIRAC.ToyEvents.make_inputs OUTDIR [--showers N] [--runs-per-sample K] [--site LaPalma]
        [--first-run 1] [--sample PARTICLE:SPLIT ...] [--phiP 180] [--thetaP 20]

By default one run of each of the 12 (particle, split) combinations. Besides the ``*.toydl0.json`` files it
writes ``manifest.json``: for each file its catalog metadata (particle, split, site, array_layout, phiP, thetaP,
run_number, n_showers), what a registration step needs. Exit codes: 0 done, 2 bad arguments.

Plain ``argparse`` (not typer) so that it runs in the ctapipe environment as well as in DIRAC's.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from .description import Particle, Site, Split, ToyDescriptionError, default_description, write_description

__all__ = ["ALL_SAMPLES", "main", "make_inputs"]

log = logging.getLogger(__name__)

#: Every (particle, split) combination.
ALL_SAMPLES: tuple[tuple[Particle, Split], ...] = tuple((p, s) for p in Particle for s in Split)


def make_inputs(
    outdir: Path | str,
    n_showers: int,
    *,
    runs_per_sample: int = 1,
    samples: Iterable[tuple[Particle | str, Split | str]] = ALL_SAMPLES,
    site: Site | str = Site.LA_PALMA,
    first_run: int = 1,
    phiP: float = 180.0,
    thetaP: float = 20.0,
) -> list[Path]:
    """Write descriptions (and ``manifest.json``) into ``outdir``; return the description paths.

    Run numbers are consecutive from ``first_run``, in the order of ``samples``; each run's seed derives
    from its run number, so the files are reproducible.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    manifest: dict[str, dict[str, str | int | float]] = {}
    run_number = first_run
    for particle, split in samples:
        for _ in range(runs_per_sample):
            description = default_description(
                particle, split, run_number, n_showers, site=Site(site), phiP=phiP, thetaP=thetaP
            )
            path = write_description(description, outdir / description.file_name())
            paths.append(path)
            manifest[path.name] = description.catalog_metadata()
            run_number += 1
    (outdir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %d toy DL0 descriptions to %s", len(paths), outdir)
    return paths


def _parse_sample(text: str) -> tuple[Particle, Split]:
    try:
        particle, split = text.split(":")
        return Particle(particle), Split(split)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected PARTICLE:SPLIT with PARTICLE in {[p.value for p in Particle]} "
            f"and SPLIT in {[s.value for s in Split]}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m CTAODIRAC.ToyEvents.make_inputs",
        description="Write toy DL0 input descriptions (*.toydl0.json) and a manifest.json of their metadata.",
    )
    parser.add_argument("outdir", type=Path, help="directory to write into (created if missing)")
    parser.add_argument("--showers", type=int, default=500, help="showers thrown per run (default 500)")
    parser.add_argument("--runs-per-sample", type=int, default=1, help="runs of each sample (default 1)")
    parser.add_argument("--first-run", type=int, default=1, help="first run number (default 1)")
    parser.add_argument("--site", choices=[s.value for s in Site], default=Site.LA_PALMA.value)
    parser.add_argument("--phiP", type=float, default=180.0, help="pointing azimuth, CORSIKA convention (180: North)")
    parser.add_argument("--thetaP", type=float, default=20.0, help="pointing zenith angle, deg (default 20)")
    parser.add_argument(
        "--sample",
        action="append",
        type=_parse_sample,
        metavar="PARTICLE:SPLIT",
        help="only this sample (repeatable); default: all 4 particles x 3 splits",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        paths = make_inputs(
            args.outdir,
            args.showers,
            runs_per_sample=args.runs_per_sample,
            samples=args.sample or ALL_SAMPLES,
            site=args.site,
            first_run=args.first_run,
            phiP=args.phiP,
            thetaP=args.thetaP,
        )
    except (ValueError, ToyDescriptionError) as exc:  # pydantic's ValidationError is a ValueError
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"error: {exc}\n")
        return 2
    for path in paths:
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
