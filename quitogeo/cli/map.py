"""`quitogeo map`: the recaudación web map (one self-contained HTML file) from a results GeoPackage."""

from __future__ import annotations

from pathlib import Path

import click

from quitogeo.cli.options import handle_errors, overwrite_option, rules_option


@click.command(name="map")
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Archivo HTML a escribir (por defecto mapa_recaudacion.html junto a RESULTS).",
)
@click.option(
    "--project",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Proyecto de entrada, para dibujar áreas de influencia, estaciones, ZUAE y AIVA.",
)
@click.option(
    "--max-lotes",
    type=click.IntRange(min=1),
    default=None,
    help="Sobre este número de predios se agregan en celdas (por defecto 30000).",
)
@click.option(
    "--celda",
    "celda_m",
    type=click.FloatRange(min=1.0),
    default=None,
    help="Lado de la celda de agregación en metros (por defecto 250).",
)
@click.option(
    "--tiles",
    default=None,
    help="Mapa base de internet (p. ej. OpenStreetMap); por defecto ninguno: funciona sin red.",
)
@overwrite_option
@rules_option
@handle_errors
def command(results, out, project, max_lotes, celda_m, tiles, overwrite, rules_path):
    """Escribe el mapa web de recaudación (HTML autocontenido) a partir de RESULTS (resultados.gpkg)."""
    from quitogeo.export.map import CELDA_M, MAX_LOTES, make_map
    from quitogeo.rules import load_rules

    out = out if out is not None else results.with_name("mapa_recaudacion.html")
    path = make_map(
        results,
        out=out,
        project=project,
        rules=load_rules(rules_path),
        max_lotes=max_lotes if max_lotes is not None else MAX_LOTES,
        celda_m=celda_m if celda_m is not None else CELDA_M,
        tiles=tiles,
        overwrite=overwrite,
    )
    size = Path(str(path)).stat().st_size / 1e6
    click.echo(f"Mapa escrito en {path} ({size:.1f} MB)")
