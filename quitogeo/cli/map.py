"""`quitogeo map` (placeholder until its issue lands: refuses to run, exit 1)."""

from __future__ import annotations

import click

from quitogeo.cli.options import fail


@click.command(name="map")
def command() -> None:
    """Not built yet."""
    fail("'quitogeo map' todavía no está implementado en esta versión", 1)
