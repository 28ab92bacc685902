"""Run DIRAC's web portal (WebAppDIRAC 6.0.8) with PyPI's tornado 5.1.1: ``python -m CTAODIRAC.WebApp.portal CFG``.

WebAppDIRAC's own ``dirac-webapp-run`` expects DIRACGrid's tornado fork (M2Crypto streams); with PyPI's tornado
this launcher does, in this process only and without touching the installed packages (docs/portal.md):

1. restores the ``collections`` aliases of ``collections.abc`` that tornado 5.1.1 uses on Python >= 3.10;
2. serves HTTPS with the standard ``ssl`` module (no ``SSLIOStream.configure``), the configuration giving
   ``/WebApp/SSLProtocol = PROTOCOL_TLS_SERVER``;
3. gives DIRAC's SSL authentication what the fork's request gives it: the browser's certificate as an M2Crypto
   X509 (from the DER the ``ssl`` module returns) and an empty chain (browser user certificates, not proxies);
4. serves static files from the directories of the installed extensions wherever they are (WebAppDIRAC's handler
   refuses every file outside DIRAC's root path), refusing any path that leaves the directory it was looked up in;
   an app without a Sencha Cmd build (``<App>/build/<App>.js``, what the portal's production mode loads) is served
   its class file (``<App>/classes/<App>.js``).

The remaining arguments are DIRAC's usual command line (configuration files, ``-o`` options).
"""

from __future__ import annotations

import collections
import collections.abc
import os
import sys
from typing import Any

#: The aliases Python 3.10 removed from ``collections`` (tornado 5.1.1's httputil uses MutableMapping).
_ABC_ALIASES = ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Set", "MutableSet", "Callable",
                "Iterable", "Hashable")  # fmt: skip


def _restore_collections_aliases() -> None:
    for name in _ABC_ALIASES:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def _peer_certificate(request: Any) -> Any:
    """The client's certificate as an M2Crypto X509 (None without one)."""
    from M2Crypto import X509

    der = request.connection.stream.socket.getpeercert(binary_form=True)
    return X509.load_cert_der_string(der) if der else None


def _adapt_tornado() -> None:
    from tornado.httputil import HTTPServerRequest

    HTTPServerRequest.get_ssl_certificate = _peer_certificate  # type: ignore[method-assign]
    HTTPServerRequest.get_ssl_certificate_chain = lambda request: []  # type: ignore[attr-defined]


BUILD_DIR, CLASSES_DIR = "/build/", "/classes/"


def _adapt_static_handler() -> None:
    from tornado.web import HTTPError
    from WebAppDIRAC.Core.StaticHandler import StaticHandler

    original_initialize = StaticHandler.initialize

    def initialize(self: Any, pathList: list[str], default_filename: str | None = None) -> None:
        original_initialize(self, pathList, default_filename)
        # tornado checks each file is under self.root: the common parent of the directories served
        self.root = os.path.commonpath([os.path.abspath(p) for p in self.pathList]) if self.pathList else "/"

    def find(self: Any, url_path: str) -> str | None:
        for base in self.pathList:
            candidate = os.path.abspath(os.path.join(base, url_path))
            if not candidate.startswith(base):
                continue
            if self.default_filename and os.path.isdir(candidate):
                candidate = os.path.join(candidate, self.default_filename)
            if os.path.isfile(candidate):
                return candidate
        return None

    def parse_url_path(self: Any, url_path: str) -> str:
        found = find(self, url_path)
        if found is None and BUILD_DIR in url_path:
            # an app never compiled by Sencha Cmd: its class as written (the portal's production mode loads
            # <Ext>/<App>/build/<App>.js)
            found = find(self, url_path.replace(BUILD_DIR, CLASSES_DIR, 1))
        if found is None:
            raise HTTPError(404)
        return found

    StaticHandler.initialize = initialize  # type: ignore[method-assign]
    StaticHandler.parse_url_path = parse_url_path  # type: ignore[method-assign]


def main() -> int:
    _restore_collections_aliases()
    _adapt_tornado()
    from DIRAC import gConfig, gLogger
    from DIRAC.ConfigurationSystem.Client.LocalConfiguration import LocalConfiguration

    local_cfg = LocalConfiguration()
    local_cfg.setConfigurationForWeb("WebApp")
    local_cfg.addDefaultEntry("/DIRAC/Security/UseServerCertificate", "yes")
    local_cfg.addDefaultEntry("LogLevel", "INFO")
    result = local_cfg.loadUserData()
    if not result["OK"]:
        gLogger.fatal("There were errors when loading the configuration", result["Message"])
        return 1
    if not gConfig.getValue("/WebApp/SSLProtocol", ""):
        gConfig.setOptionValue("/WebApp/SSLProtocol", "PROTOCOL_TLS_SERVER")
    _adapt_static_handler()
    from WebAppDIRAC.Core.App import App

    app = App(handlersLoc="WebApp.handler")
    result = app.bootstrap()
    if not result["OK"]:
        gLogger.fatal(result["Message"])
        return 1
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
