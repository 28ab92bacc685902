"""``python -m CTAODIRAC.Core.CWL.schema [--write]``."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":  # importing this module (e.g. walking the package) does nothing
    sys.exit(main())
