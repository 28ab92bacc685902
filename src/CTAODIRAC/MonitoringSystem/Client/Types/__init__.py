"""Monitoring types of this extension: DIRAC's ``TypeLoader`` finds every ``<Name>.py`` here holding a ``BaseType``
subclass ``<Name>`` (through ``ObjectLoader``, over DIRAC and its extensions)."""
