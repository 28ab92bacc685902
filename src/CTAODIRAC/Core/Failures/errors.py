"""Exceptions of the failure-management core.

Each carries what identifies the failure, so that the agent or a command can report it without parsing the
message.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import CTAODIRACError

__all__ = ["FailureError", "OptionsError", "RuleConfigError"]


class FailureError(CTAODIRACError):
    """Base class of the errors raised by ``CTAODIRAC.Core.Failures``."""


class RuleConfigError(FailureError):
    """The rule table given (e.g. by the CS) is invalid.

    Attributes
    ----------
    problems:
        One ``(rule name, message)`` pair per problem found; all problems are reported at once.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        lines = [f"Rules/{rule}: {message}" if rule else message for rule, message in self.problems]
        count = len(self.problems)
        super().__init__(
            f"invalid failure rule table ({count} problem{'s' if count != 1 else ''}):\n  " + "\n  ".join(lines)
        )

    @property
    def rules(self) -> tuple[str, ...]:
        """Names of the rules that have a problem, in order, without repetition."""
        return tuple(dict.fromkeys(rule for rule, _ in self.problems if rule))


class OptionsError(FailureError):
    """The agent options (e.g. from the CS) are invalid.

    Attributes
    ----------
    problems:
        One ``(option name, message)`` pair per problem found.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        lines = [f"{option}: {message}" for option, message in self.problems]
        super().__init__("invalid failure-management options:\n  " + "\n  ".join(lines))

    @property
    def options(self) -> tuple[str, ...]:
        """Names of the options that have a problem."""
        return tuple(dict.fromkeys(option for option, _ in self.problems))
