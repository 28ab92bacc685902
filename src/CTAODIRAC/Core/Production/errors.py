"""Exceptions of the production core.

Everything that is wrong with a production file is a :class:`ProductionSpecError`: it carries one or more
:class:`Issue`, each locating the problem (file, line, column, key path) and saying what is wrong and what
is allowed. Nothing here knows about DIRAC's ``S_OK``/``S_ERROR``: the DIRAC-facing edge converts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import CTAODIRACError

__all__ = [
    "Issue",
    "KeyPath",
    "ProductionError",
    "ProductionSpecError",
    "SpecLinkError",
    "SpecSyntaxError",
    "SpecValidationError",
    "format_key_path",
]

#: A path of mapping keys and sequence indices from the document root, e.g. ``("productions", 0, "name")``.
KeyPath = tuple[str | int, ...]


def format_key_path(path: KeyPath) -> str:
    """Render a key path the way a production manager reads it: ``productions[0].steps[2].parents[1]``."""
    text = ""
    for element in path:
        if isinstance(element, int):
            text += f"[{element}]"
        else:
            text += f".{element}" if text else str(element)
    return text or "<document>"


@dataclass(frozen=True)
class Issue:
    """One located problem in a production file."""

    message: str
    """What is wrong, and what is allowed."""
    path: KeyPath = ()
    """Key path of the offending node in the document."""
    file: str | None = None
    """Name of the file (``None`` for text that did not come from a file)."""
    line: int | None = None
    """1-based line of the offending node."""
    column: int | None = None
    """1-based column of the offending node."""

    @property
    def key_path(self) -> str:
        """The key path as text."""
        return format_key_path(self.path)

    @property
    def location(self) -> str:
        """``file:line:column`` (the parts that are known)."""
        parts = [self.file or "<string>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        return f"{self.location}: {self.key_path}: {self.message}"


class ProductionError(CTAODIRACError):
    """Base class of every error raised by the production core."""


@dataclass(eq=False)
class ProductionSpecError(ProductionError):
    """A production file is wrong; nothing may be sent to DIRAC.

    The first issue is also exposed as :attr:`file`, :attr:`line`, :attr:`column` and :attr:`key_path`.
    """

    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @classmethod
    def at(cls, path: KeyPath, message: str) -> ProductionSpecError:
        """An error with a single issue at ``path`` (located later by the loader)."""
        return cls([Issue(message=message, path=tuple(path))])

    @property
    def first(self) -> Issue:
        return self.issues[0] if self.issues else Issue(message="invalid production file")

    @property
    def file(self) -> str | None:
        return self.first.file

    @property
    def line(self) -> int | None:
        return self.first.line

    @property
    def column(self) -> int | None:
        return self.first.column

    @property
    def key_path(self) -> str:
        return self.first.key_path

    def with_issues(self, issues: list[Issue]) -> ProductionSpecError:
        """A copy of this error (same class) with other issues, e.g. once located."""
        new = replace(self, issues=issues)
        new.__cause__ = self.__cause__
        return new

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues) or "invalid production file"


class SpecSyntaxError(ProductionSpecError):
    """The file is not valid YAML (or not a mapping at its top)."""


class SpecValidationError(ProductionSpecError):
    """The document does not follow the schema: unknown keys, wrong types, values not allowed."""


class SpecLinkError(ProductionSpecError):
    """Steps and productions do not fit together: dangling, duplicate or cyclic parents, matrix variables,
    incompatible child input and parent output queries."""
