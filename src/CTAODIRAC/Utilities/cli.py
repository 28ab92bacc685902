"""What this extension's commands share: the app, the consoles, the last-resort handler
(:func:`failures_reported`, :func:`run_command`) and the exit codes (:mod:`CTAODIRAC.Core.exitcodes`).

Imports no DIRAC (nor anything that does): the commands' dry runs work without DIRAC's configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

from CTAODIRAC.Core.errors import CTAODIRACError
from CTAODIRAC.Core.exitcodes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from CTAODIRAC.Core.Production.errors import ProductionSpecError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "command_app",
    "error_console",
    "failures_reported",
    "output_console",
    "report_spec_errors",
    "run_command",
]



def command_app() -> typer.Typer:
    """The typer app of a one-command script: no shell completion, no pretty tracebacks (the command itself says
    what broke), ``-h`` as well as ``--help``."""
    return typer.Typer(
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def error_console() -> Console:
    """Where the command talks to the user: stderr, no highlighting, long lines not cut."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def output_console() -> Console:
    """Where a dry run shows its tables: stdout, no highlighting, 160 columns when not a terminal."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def report_spec_errors(error: ProductionSpecError, errors: Console) -> None:
    """Each located issue of a bad input as ``error: <issue>``, then how many there are."""
    for issue in error.issues:
        errors.print(Text.assemble(("error: ", "bold red"), str(issue)))
    errors.print(f"{len(error.issues)} error(s); nothing was sent to DIRAC.")


@contextmanager
def failures_reported(errors: Console) -> Iterator[None]:
    """A command's body: never a traceback for the user (the last-resort handler of every command). Ctrl-C says
    ``interrupted`` (exit 130); an error of this extension (:class:`~CTAODIRAC.Core.errors.CTAODIRACError`) says
    ``error: <message>`` (exit 2 for a bad production file, else 1); any other exception says ``internal error:
    <type>: <message>`` (exit 1); a ``typer.Exit`` or ``SystemExit`` goes through unchanged. Exit codes:
    :mod:`CTAODIRAC.Core.exitcodes`."""
    try:
        yield
    except (typer.Exit, SystemExit):
        raise
    except KeyboardInterrupt:
        errors.print("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except ProductionSpecError as exc:
        report_spec_errors(exc, errors)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except CTAODIRACError as exc:
        errors.print(Text.assemble(("error: ", "bold red"), str(exc)))
        raise typer.Exit(EXIT_FAILED) from None
    except Exception as exc:
        errors.print(f"internal error: {type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_FAILED) from None


def run_command(body: Callable[[], None], errors: Console | None = None) -> None:
    """Run a command's ``body`` that is not a typer app (DIRAC ``Script`` commands) under the same last-resort
    handler; exits the process with its code."""
    try:
        with failures_reported(errors or error_console()):
            body()
    except typer.Exit as done:
        sys.exit(done.exit_code)
