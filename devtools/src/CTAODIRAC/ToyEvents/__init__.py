"""Toy DL0: simulated showers for offline end-to-end tests of the ctapipe chain (not physics).

ctapipe's tools need event files, none is packaged and ctapipe's dataset download needs the internet. This
package is a ctapipe I/O plugin that simulates toy showers from a tiny JSON input description, so the
unmodified ``ctapipe-process``, ``ctapipe-merge``, ``ctapipe-train-*`` and ``ctapipe-apply-models`` run on
it offline, as the payloads of a production. See ``docs/toy-events.md``.

Why here and not under ``CTAODIRAC.Core``: this is a payload-side plugin that runs in the ctapipe environment
(ctapipe 0.32 needs Python >= 3.12, DIRAC 9.1 runs on 3.11), not part of the production system's pure core;
and ``CTAODIRAC.Core`` is imported module by module in the DIRAC environment by the boundary test, where
ctapipe is absent. Like the core it never imports DIRAC.

- :mod:`.description`: the input description (pydantic + standard library; no ctapipe, no numpy);
- :mod:`.make_inputs`: write descriptions for the four particles and three splits (command line);
- :mod:`.layouts`: sites, toy array layouts and telescope, as plain data;
- :mod:`.shower`: the toy shower model (numpy);
- :mod:`.instrument`, :mod:`.source`: ctapipe's instrument description and the ``EventSource`` (need ctapipe;
  only imported through the ``ctapipe_io`` entry point or explicitly).

Importing this package imports neither ctapipe nor numpy.
"""

from __future__ import annotations

from .description import (
    FORMAT_VERSION,
    SUFFIX,
    Particle,
    Site,
    Split,
    ToyDescriptionError,
    ToyRunDescription,
    default_description,
    read_description,
    write_description,
)

__all__ = [
    "FORMAT_VERSION",
    "SUFFIX",
    "Particle",
    "Site",
    "Split",
    "ToyDescriptionError",
    "ToyRunDescription",
    "default_description",
    "read_description",
    "write_description",
]
