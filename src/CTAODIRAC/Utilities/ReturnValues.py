"""DIRAC's ``S_OK``/``S_ERROR`` values at this extension's edge: one helper, so that a failed call always
becomes the same kind of error, saying which call failed and where."""

from __future__ import annotations

from typing import Any

from CTAODIRAC.Core.errors import DiracCallError

__all__ = ["value_or_raise"]


def value_or_raise(result: Any, call: str, error: type[DiracCallError] = DiracCallError, **where: Any) -> Any:
    """The ``Value`` of a DIRAC return value; an ``S_ERROR`` (or something that is not a return value) raises
    ``error(call, message, **where)`` — where: ``production``, ``step``, ``transformation``, ``lfn``."""
    if isinstance(result, dict) and result.get("OK") is True:
        return result.get("Value")
    message = result.get("Message", "no message") if isinstance(result, dict) else f"not a DIRAC result: {result!r}"
    raise error(call, str(message), **where)
