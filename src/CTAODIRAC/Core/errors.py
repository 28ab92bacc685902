"""The root of this extension's own errors.

Every exception this package raises on purpose derives from :class:`CTAODIRACError`: a caller (a command, an
agent, the portal) catches them all with one ``except``, and reads where the error happened from its attributes
instead of its message. Nothing here imports DIRAC.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CTAODIRACError", "DiracCallError"]


class CTAODIRACError(Exception):
    """An error of this extension. ``production``, ``step``, ``transformation`` and ``lfn`` say where, when known
    (``None`` otherwise); :meth:`where` renders them."""

    production: str | None = None
    step: str | None = None
    transformation: int | None = None
    lfn: str | None = None

    def located(self, **where: Any) -> CTAODIRACError:
        """This error with the given ``production``, ``step``, ``transformation`` or ``lfn`` set (those not
        ``None``); returns itself, to be raised."""
        for key, value in where.items():
            if key not in ("production", "step", "transformation", "lfn"):
                raise TypeError(f"unknown location {key!r}")
            if value is not None:
                setattr(self, key, value)
        return self

    def where(self) -> str:
        """``production P, step S, transformation T, LFN L`` (the parts that are known), or ``""``."""
        parts = [f"{name} {value}" for name, value in (("production", self.production), ("step", self.step),
                 ("transformation", self.transformation), ("LFN", self.lfn)) if value is not None]  # fmt: skip
        return ", ".join(parts)


class DiracCallError(CTAODIRACError, RuntimeError):
    """A DIRAC call answered ``S_ERROR``: ``call`` says which, ``message`` what DIRAC said."""

    def __init__(self, call: str, message: str, **where: Any) -> None:
        self.call = call
        self.message = message
        self.located(**where)
        place = self.where()
        super().__init__(f"{place}: {call}: {message}" if place else f"{call}: {message}")
