"""This extension's part of DIRAC's web portal (WebAppDIRAC): handlers in ``handler/``, ExtJS apps in ``static/``.

``portal`` runs the portal with PyPI's tornado (docs/portal.md).
"""
