"""The ``quitogeo`` command group. Each subcommand lives in its own module of this package."""

from __future__ import annotations

import importlib
import logging

import click

from quitogeo._version import __version__

#: subcommand name → module in quitogeo.cli that defines a click command called ``command``.
COMMANDS: dict[str, str] = {
    "run": "run",
    "validate": "validate",
    "calc": "calc",
    "map": "map",
    "registry": "registry",
    "sample": "sample",
    "iprus": "iprus",
    "liquidacion": "liquidacion",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it is used (keeps ``--help`` and calc fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Names of every subcommand, sorted."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the subcommand's module and return its ``command`` (None for an unknown name)."""
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"quitogeo.cli.{module_name}")
        command: click.Command = module.command
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="quitogeo")
@click.option("-v", "--verbose", count=True, help="Más detalle en el registro (repetible).")
@click.option("-q", "--quiet", count=True, help="Menos detalle en el registro (repetible).")
def cli(verbose: int, quiet: int) -> None:
    """Quitogeo: elegibilidad por predio y concesión onerosa de derechos (COD) en el DMQ."""
    level = logging.WARNING - 10 * verbose + 10 * quiet
    level = max(logging.DEBUG, min(level, logging.CRITICAL))
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    logging.getLogger("quitogeo").setLevel(level)


if __name__ == "__main__":  # pragma: no cover
    cli()
