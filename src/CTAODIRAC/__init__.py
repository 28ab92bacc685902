"""CTAODIRAC: the DIRAC extension for the data processing of the Cherenkov Telescope Array Observatory.

Importing this package has no side effects and does not import DIRAC (a test checks it).
DIRAC finds the extension through the ``dirac`` entry point group, which points at
:func:`extension_metadata`.
"""

from __future__ import annotations

import importlib.metadata as _metadata
from pathlib import Path as _Path

__all__ = ["extension_metadata", "__version__", "version"]

try:
    __version__ = _metadata.version("CTAODIRAC")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
#: DIRAC reads ``<extension>.version`` (a string) for the version it reports, e.g. in each job's parameters.
version = __version__


def extension_metadata() -> dict:
    """Describe this extension to DIRAC (entry point ``dirac = metadata``).

    A priority above DIRAC's own (0) makes DIRAC's ObjectLoader and ``@Script``
    prefer a module of this extension over DIRAC's module of the same path.
    """
    return {
        "primary_extension": True,
        "priority": 100,
        # the web portal's static files of this extension's apps (WebAppDIRAC; docs/portal.md)
        "web_resources": {"static": [str(_Path(__file__).parent / "WebApp" / "static")]},
    }
