"""`quitogeo iprus`: the Informe Predial de Regulaciones de Uso del Suelo of a lot, or of many.

One lot: ``quitogeo iprus RESULTS.gpkg CLAVE [--out FILE] [--pdf]``. A batch: ``--claves FILE`` (one clave per
line; blank lines and ``#`` comments ignored) or ``--zona NAME`` (every lot of an administración zonal) with
``--out DIR``: one file per lot. Existing files are never replaced without ``--overwrite``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from quitogeo.cli.options import handle_errors, overwrite_option, rules_option
from quitogeo.errors import CalcInputError, DocumentError
from quitogeo.rules import load_rules


def _read_claves(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    claves = [ln.split("#", 1)[0].strip() for ln in lines]
    claves = [c for c in claves if c]
    if not claves:
        raise DocumentError(f"{path}: no contiene claves catastrales (una por línea)")
    return claves


@click.command(name="iprus")
@click.argument("resultados", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("clave", required=False, type=str)
@click.option(
    "--claves",
    "claves_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Lote: archivo con una clave catastral por línea.",
)
@click.option("--zona", type=str, default=None, help="Lote: todos los predios de esta administración zonal.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Archivo (un predio; por defecto IPRUS_<clave>.html|pdf) o carpeta (lote).",
)
@click.option("--pdf", is_flag=True, default=False, help="PDF A4 (Chromium sin interfaz) en vez de HTML.")
@click.option(
    "--proyecto",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Proyecto de entrada (para dibujar las vías en el mapa).",
)
@click.option(
    "--fecha", type=str, default=None, metavar="AAAA-MM-DD", help="Fecha de emisión (por defecto hoy)."
)
@overwrite_option
@rules_option
@handle_errors
def command(
    resultados: Path,
    clave: str | None,
    claves_file: Path | None,
    zona: str | None,
    out: Path | None,
    pdf: bool,
    proyecto: Path | None,
    fecha: str | None,
    overwrite: bool,
    rules_path: Path | None,
) -> None:
    """Informe Predial de Regulaciones de Uso del Suelo (IPRUS, norma técnica 0005-CTUGS-2020 Art. 37).

    \b
    Un predio:  quitogeo iprus salida/resultados.gpkg 1234567 --pdf
    Un lote:    quitogeo iprus salida/resultados.gpkg --zona "Eugenio Espejo" --out iprus/
    """
    from quitogeo.export.documents.iprus import load_results, write_iprus, write_iprus_batch

    modes = sum(x is not None for x in (clave, claves_file, zona))
    if modes != 1:
        raise click.UsageError("indique una CLAVE, o --claves ARCHIVO, o --zona NOMBRE (solo una de ellas)")
    try:
        fecha_doc = dt.date.fromisoformat(fecha) if fecha else dt.date.today()
    except ValueError:
        raise CalcInputError(f"--fecha = {fecha!r} no es una fecha AAAA-MM-DD") from None
    rules = load_rules(rules_path)
    project = None
    if proyecto is not None:
        from quitogeo.io import read_project

        project = read_project(proyecto, rules=rules)
    results = load_results(resultados)
    if clave is not None:
        target = out or Path(f"IPRUS_{clave}.{'pdf' if pdf else 'html'}")
        path = write_iprus(
            results,
            clave,
            out=target,
            pdf=pdf,
            overwrite=overwrite,
            project=project,
            rules=rules,
            fecha=fecha_doc,
        )
        click.echo(f"IPRUS escrito en {path}")
        return
    if out is None:
        raise click.UsageError("en lote indique la carpeta de salida con --out DIR")
    if out.exists() and not out.is_dir():
        raise click.UsageError(f"--out {out} es un archivo; en lote indique una carpeta")
    claves = _read_claves(claves_file) if claves_file is not None else None
    paths = write_iprus_batch(
        results,
        out_dir=out,
        claves=claves,
        zona=zona,
        pdf=pdf,
        overwrite=overwrite,
        project=project,
        rules=rules,
        fecha=fecha_doc,
    )
    click.echo(f"{len(paths)} IPRUS escritos en {out}")
