"""CTAODIRAC: the DIRAC extension for the data processing of the Cherenkov Telescope Array Observatory.

Importing this package has no side effects and does not import DIRAC (a test checks it).
DIRAC finds the extension through the ``dirac`` entry point group, which points at
:func:`extension_metadata`.

The package spans every ``CTAODIRAC`` directory on ``sys.path`` (:func:`pkgutil.extend_path`): the development
tooling of the repository, the distribution CTAODIRAC-devtools (``devtools/``: ``CTAODIRAC.LocalDIRAC``,
``CTAODIRAC.ToyEvents``), has its modules in ``devtools/src/CTAODIRAC``, which has no ``__init__.py``. Installed
from wheels, both are in the same ``site-packages/CTAODIRAC``; a data centre installs this distribution alone.
"""

from __future__ import annotations

import importlib.metadata as _metadata
import pkgutil as _pkgutil
from pathlib import Path as _Path

__path__ = _pkgutil.extend_path(__path__, __name__)

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
