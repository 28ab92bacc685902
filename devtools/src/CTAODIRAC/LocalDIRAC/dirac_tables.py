"""Create, once and one after the other, the tables that DIRAC's DB classes make on first use.

Run by ``dirac-ctao-local up`` as ``python -m CTAODIRAC.LocalDIRAC.dirac_tables`` in the instance's
environment (host certificate), before the services start: two services creating the same tables at the
same time race and fail. This module imports DIRAC; nothing else in ``CTAODIRAC.LocalDIRAC`` does.
"""

from __future__ import annotations

import importlib
import sys

#: (module, class) of each self-creating DB, in creation order.
DB_CLASSES = (
    ("DIRAC.WorkloadManagementSystem.DB.TaskQueueDB", "TaskQueueDB"),
    ("DIRAC.WorkloadManagementSystem.DB.SandboxMetadataDB", "SandboxMetadataDB"),
    ("DIRAC.FrameworkSystem.DB.ProxyDB", "ProxyDB"),
    ("DIRAC.RequestManagementSystem.DB.RequestDB", "RequestDB"),
    ("DIRAC.ResourceStatusSystem.DB.ResourceStatusDB", "ResourceStatusDB"),
    ("DIRAC.ResourceStatusSystem.DB.ResourceManagementDB", "ResourceManagementDB"),
    ("DIRAC.FrameworkSystem.DB.UserProfileDB", "UserProfileDB"),  # its constructor creates them
)


def main() -> int:
    from DIRAC.Core.Base.Script import Script

    Script.localCfg.addDefaultEntry("/DIRAC/Security/UseServerCertificate", "yes")
    Script.parseCommandLine(ignoreErrors=True)
    for module, name in DB_CLASSES:
        db = getattr(importlib.import_module(module), name)()
        create = getattr(db, "createTables", None)
        if create is not None:
            result = create()
            if isinstance(result, dict) and not result.get("OK", True):
                print(f"{name}: {result['Message']}", file=sys.stderr)
                return 1
        print(f"{name}: tables ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
