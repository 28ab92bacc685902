"""The pure core of CTAODIRAC.

Admission rule: nothing under ``CTAODIRAC.Core`` imports DIRAC (directly or through another module),
reads DIRAC's configuration or logs through gLogger. The YAML/CWL models, the production plan builder
and the failure policy live here so that they are tested fast and read alone; only the
``<X>System/{Agent,Client,DB,Service,scripts}`` modules talk to DIRAC. ``tests/unit/test_boundary.py``
checks the rule in a fresh interpreter.
"""
