"""Options and error handling shared by every command.

Exit codes (cli.md): 0 success; 2 bad arguments or invalid values (click's own usage errors, invalid calc
inputs, an invalid rules file); 1 data errors (a layer that cannot be read, a blocking validation problem,
an output that exists). A user mistake never prints a traceback: the message is one line on stderr.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from quitogeo.errors import CalcInputError, QuitogeoError, RulesError

F = TypeVar("F", bound=Callable[..., Any])

#: Errors meaning "bad argument or invalid value" (exit 2); any other QuitogeoError is a data error (exit 1).
USAGE_ERRORS: tuple[type[Exception], ...] = (CalcInputError, RulesError)


def fail(message: str, code: int) -> None:
    """Print ``message`` on stderr as one line and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn quitogeo's errors into one stderr line and the exit code of cli.md."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USAGE_ERRORS as exc:
            fail(str(exc), 2)
        except QuitogeoError as exc:
            fail(str(exc), 1)
        return None

    return wrapper  # type: ignore[return-value]


rules_option = click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Archivo de reglas TOML (por defecto, las reglas empaquetadas quito_2024.toml).",
)

overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    default=False,
    help="Sobrescribir salidas existentes (por defecto se rehúsa).",
)


def show_progress() -> bool:
    """Whether progress bars should be drawn: only on an interactive terminal."""
    level = logging.getLogger("quitogeo").getEffectiveLevel()
    return sys.stderr.isatty() and level <= logging.WARNING
