"""`quitogeo validate PROJECT`: the problems table of a project (cli.md).

Exit 1 only when a run cannot proceed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from quitogeo.cli.options import fail, handle_errors, rules_option


@click.command(name="validate")
@click.argument("project", type=click.Path(path_type=Path), required=False)
@rules_option
@click.option(
    "--json", "as_json", is_flag=True, help="Imprimir los problemas como JSON (una lista de objetos)."
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Guardar además la tabla de problemas en este CSV (UTF-8).",
)
@handle_errors
def command(project: Path | None, rules_path: Path | None, as_json: bool, csv_path: Path | None) -> None:
    """Revisa las capas de PROJECT contra el contrato (layers.md) y lista cada problema.

    PROJECT es un GeoPackage, una carpeta de capas o un quitogeo.toml; sin él, la muestra embebida.
    """
    from quitogeo.validate import validate_project

    problems = validate_project(project, rules=rules_path)
    blocking = int(problems["bloqueante"].sum())
    if csv_path is not None:
        problems.to_csv(csv_path, index=False, encoding="utf-8")
    if as_json:
        click.echo(problems.to_json(orient="records", force_ascii=False))
    elif problems.empty:
        click.echo("Sin problemas: el proyecto cumple el contrato de capas.")
    else:
        for row in problems.itertuples(index=False):
            flag = "BLOQUEANTE" if row.bloqueante else "aviso"
            click.echo(
                f"[{flag}] {row.capa} · {row.id}: {row.problema} → {row.accion}. Corrección: {row.correccion}"
            )
        click.echo(f"{len(problems)} problemas, {blocking} bloqueantes.")
    if blocking:
        fail(f"{blocking} problemas bloqueantes: el proyecto no se puede ejecutar hasta corregirlos", 1)
    sys.exit(0)
