"""`quitogeo sample`: write a synthetic project of N lots along the Metro line (cli.md)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from quitogeo.cli.options import handle_errors, overwrite_option


@click.command(name="sample")
@click.option(
    "--lotes",
    "n_lotes",
    type=click.IntRange(min=50),
    default=4000,
    show_default=True,
    help="Número de predios.",
)
@click.option(
    "--seed",
    type=int,
    default=2024,
    show_default=True,
    help="Semilla (la misma semilla da el mismo proyecto).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="GeoPackage a escribir.",
)
@overwrite_option
@handle_errors
def command(n_lotes: int, seed: int, out: Path, overwrite: bool) -> None:
    """Genera un proyecto sintético (GeoPackage) a lo largo de la Línea 1 del Metro de Quito."""
    from quitogeo.sample import write_sample_project

    start = time.perf_counter()
    path = write_sample_project(out, n_lotes=n_lotes, seed=seed, overwrite=overwrite)
    click.echo(
        f"Proyecto de muestra con {n_lotes} predios (semilla {seed}) escrito en {path} "
        f"({time.perf_counter() - start:.1f} s)."
    )
