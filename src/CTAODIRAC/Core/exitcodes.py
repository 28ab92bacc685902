"""Every exit code of this extension's programs, in one table.

Commands (``dirac-ctao-*`` run by people or scripts):

======  ==============================================================================
code    meaning
======  ==============================================================================
0       done
1       failed: DIRAC refused or could not be reached, or an internal error
2       bad input or usage (nothing was sent to DIRAC)
130     interrupted (Ctrl-C)
======  ==============================================================================

Job side (``dirac-ctao-run-step`` and ``dirac-ctao-cwl-run``, the payload of production jobs): the code tells
DIRAC's job wrapper, and through it the failure agent, what failed.

======  ==============================================================================
code    meaning
======  ==============================================================================
0       done
1       the payload (the application) failed
2       input data not available
3       output upload failed (and no failover)
4       software not found on the worker
======  ==============================================================================
"""

from __future__ import annotations

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INPUT", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PAYLOAD",
           "EXIT_SOFTWARE", "EXIT_UPLOAD"]  # fmt: skip

#: Commands: done; failed (DIRAC refused, or an internal error); bad input or usage; Ctrl-C.
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Job side: the application failed; input data not available; upload failed; software not found.
EXIT_PAYLOAD, EXIT_INPUT, EXIT_UPLOAD, EXIT_SOFTWARE = 1, 2, 3, 4
