"""Several DIRAC services in one process, without losing calls: ``python -m CTAODIRAC.LocalDIRAC.service_group
System/A System/B ...``.

DIRAC's ``dirac-service`` accepts several services, but its reactor then waits on all their listening sockets in
one selector and, when two services get a connection in the same wake-up, accepts both and hands only the last
one to its service: the other client's connection is dropped (measured here: 11 % of concurrent pings to three
services of one process failed, "Connection reset by peer" or "peer did not return certificate"; none with one
service per process). This launcher runs ``dirac-service`` itself with a reactor that gives each service its
own accepting thread over its own socket, as DIRAC's clone processes do with theirs, so that a wake-up never
carries two connections. Everything else (configuration, handlers, thread pools, authorisation) is DIRAC's.

One process of ~2 s start-up CPU and ~90 MiB instead of one per service: the local DIRAC's services share a few
processes (``instance.SERVICE_GROUPS``). A data centre runs one service per process, as DIRAC's installation
tools do; this is for the single-host development instance.
"""

from __future__ import annotations

import sys
import threading
import time

_ACCEPTING = threading.local()


def _reactor_class():
    from DIRAC import S_OK, gLogger
    from DIRAC.Core.DISET.ServiceReactor import ServiceReactor

    class OneSocketPerThreadReactor(ServiceReactor):
        """DIRAC's reactor, each service's connections accepted by a thread of its own."""

        def _ServiceReactor__getListeningSelector(self, svcName=False):  # noqa: N802 - DIRAC's private name
            # DIRAC's accept loop asks for a selector over every socket after renewing the server's TLS context;
            # in a service's own thread it gets one over that service's socket only
            return super()._ServiceReactor__getListeningSelector(svcName or getattr(_ACCEPTING, "service", False))

        def serve(self):
            result = self._ServiceReactor__createListeners()
            if not result["OK"]:
                self._ServiceReactor__closeListeningConnections()
                return result
            listening = self._ServiceReactor__listeningConnections
            threads = []
            for name in listening:
                gLogger.always(f"Listening at {self._ServiceReactor__services[name].getConfig().getURL()}")
                thread = threading.Thread(target=self._accept_forever, args=(name,), name=f"accept {name}", daemon=True)
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join()
            return S_OK()

        def _accept_forever(self, name: str) -> None:
            _ACCEPTING.service = name
            while self._ServiceReactor__alive:
                try:
                    self._ServiceReactor__acceptIncomingConnection(name)
                except Exception as exc:  # noqa: BLE001 - a thread that died would leave its service deaf
                    gLogger.exception("accepting a connection failed; accepting again", name, lException=exc)
                    time.sleep(1)

    return OneSocketPerThreadReactor


def main(argv: list[str] | None = None) -> None:
    from DIRAC.Core.scripts import dirac_service

    services = list(sys.argv[1:] if argv is None else argv)
    if not services:
        sys.exit("usage: python -m CTAODIRAC.LocalDIRAC.service_group System/Service [System/Service ...]")
    dirac_service.ServiceReactor = _reactor_class()
    sys.argv = ["dirac-service", *services]
    dirac_service.main()


if __name__ == "__main__":
    main()
