"""`quitogeo run [PROJECT]`: the main job (cli.md).

Reads the project (the embedded sample when none is given), runs joins → eligibility → scenario → COD, writes
``resultados.gpkg``, ``resumen.csv`` and ``mapa_recaudacion.html`` into ``--out`` and prints a short summary.
``--formato parquet`` writes the results as ``resultados.parquet`` (GeoParquet), ``resumen.parquet``,
``problemas.parquet`` and ``metadatos.json`` instead of the GeoPackage (several times faster to write at
district scale; :func:`quitogeo.export.gpkg.write_results`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from quitogeo.cli.options import handle_errors, overwrite_option, rules_option, show_progress
from quitogeo.errors import OutputExistsError
from quitogeo.formatting import format_money
from quitogeo.rules import load_rules

MAP_FILE = "mapa_recaudacion.html"


def _count(series) -> str:
    s = series.astype("boolean")
    text = f"{int(s.fillna(False).sum())}"
    unknown = int(s.isna().sum())
    return text + (f" (+{unknown} sin dato)" if unknown else "")


@click.command(name="run")
@click.argument("project", required=False, type=click.Path(path_type=Path))
@rules_option
@click.option(
    "--escenario", default=None, help="Escenario de las reglas ([escenarios]); por defecto el predeterminado."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("salida"),
    show_default=True,
    help="Carpeta de salida.",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Dónde se ejecuta la corrida.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="DIRECCION",
    help="Scheduler dask.distributed (p. ej. tcp://host:8786) para --backend dask; por defecto, un clúster "
    "local.",
)
@click.option(
    "--formato",
    type=click.Choice(["gpkg", "parquet"]),
    default="gpkg",
    show_default=True,
    help="Formato de los resultados: gpkg (resultados.gpkg, un archivo) o parquet (resultados.parquet "
    "GeoParquet + resumen.parquet + problemas.parquet + metadatos.json; mucho más rápido de escribir a "
    "escala de distrito; QGIS/GDAL ≥ 3.5 lo abren).",
)
@overwrite_option
@handle_errors
def command(project, rules_path, escenario, out_dir, backend, scheduler, formato, overwrite):
    """Elegibilidad y COD potencial de cada predio del PROYECTO (por defecto, el proyecto de muestra).

    Escribe resultados.gpkg (o, con --formato parquet, resultados.parquet, resumen.parquet,
    problemas.parquet y metadatos.json), resumen.csv y mapa_recaudacion.html en --out e imprime un resumen.
    """
    from quitogeo.export.gpkg import PARQUET_FILES, RESULTS_FILE, SUMMARY_FILE, write_results
    from quitogeo.pipeline import run

    files = [RESULTS_FILE] if formato == "gpkg" else list(PARQUET_FILES.values())
    targets = [*(out_dir / f for f in files), out_dir / SUMMARY_FILE, out_dir / MAP_FILE]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"ya existe {', '.join(existing)}; use --overwrite para reemplazar o elija otra carpeta con --out"
        )
    rules = load_rules(rules_path)
    if scheduler and backend != "dask":
        raise click.UsageError("--scheduler solo tiene sentido con --backend dask")
    result = run(
        project,
        rules=rules,
        escenario=escenario,
        backend=backend,
        progress=show_progress(),
        scheduler=scheduler,
    )
    paths = write_results(result, out_dir, overwrite=overwrite, formato=formato)
    map_note = _write_map(result, out_dir / MAP_FILE, rules=rules, overwrite=overwrite)

    p = result.predios
    meta = result.meta()
    click.echo(f"quitogeo run — proyecto: {meta.get('proyecto', '')}")
    click.echo(f"Reglas {rules.version} ({rules.source}), verificado = {str(rules.verificado).lower()}")
    if not rules.verificado:
        click.echo(
            "NOTA: reglas NO verificadas (verificado = false): valores PARAM ilustrativos; "
            "los montos de COD no son oficiales."
        )
    sc = rules.scenario(escenario)
    click.echo(f"Escenario: {sc['nombre']} — {sc.get('descripcion', sc['tipo'])}")
    click.echo(f"Predios leídos: {len(p)} (corrida en {float(meta.get('duracion_s', 0)):.1f} s)")
    click.echo(
        f"Elegibles: ZUAE {_count(p['elegible_zuae'])} · COS PB {_count(p['elegible_cos_pb'])} · "
        f"eco-eficiencia {_count(p['elegible_ecoeficiencia'])}"
    )
    res = result.resumen
    adz = res[res["agrupacion"] == "administracion_zonal"]
    click.echo("COD potencial por administración zonal:")
    width = max([len(str(g)) for g in adz["grupo"]] + [5])
    adz_rows = zip(
        adz["grupo"].astype(str), adz["cod_potencial"].astype(float), adz["n_con_cod"], strict=True
    )
    for grupo, monto, n_cod in adz_rows:
        click.echo(f"  {grupo:<{width}}  {format_money(monto):>20}  ({n_cod} predios)")
    total = res[res["agrupacion"] == "total"]
    if len(total):
        click.echo(f"  {'Total':<{width}}  {format_money(float(total['cod_potencial'].iloc[0])):>20}")
    # --- ámbitos PUOS → PUGS (quitogeo.ambitos, issue 6): only when the project has a `puos` layer ---
    amb = res[res["agrupacion"] == "ambito"]
    if len(amb) and "cod_ambito_potencial" in res.columns:
        click.echo("COD por ámbito PUOS → PUGS (Anexo 01 §2; columna cod_ambito):")
        w_amb = max(len(str(g)) for g in amb["grupo"])
        amb_rows = zip(
            amb["grupo"].astype(str), amb["cod_ambito_potencial"].astype(float), amb["n_predios"], strict=True
        )
        for grupo, monto, n_amb in amb_rows:
            click.echo(f"  {grupo:<{w_amb}}  {format_money(monto):>20}  ({n_amb} predios)")
    # --- end ámbitos ---
    n_prob = len(result.problemas)
    n_lots = int((p["estado"] != "ok").sum())
    click.echo(f"Problemas de datos: {n_prob} ({n_lots} predios sin COD; ver la capa 'problemas')")
    outs = [str(paths["resultados"]), str(paths["resumen"])]
    if map_note is None:
        outs.append(str(out_dir / MAP_FILE))
    click.echo("Salidas: " + ", ".join(outs))
    if map_note:
        click.echo(map_note)


def _write_map(result, out: Path, *, rules, overwrite: bool) -> str | None:
    """Write the web map when quitogeo.export.map is available; return a note when it is not."""
    try:
        module = importlib.import_module("quitogeo.export.map")
    except ImportError as exc:  # the map is another module's; until it is installed, say so
        return f"NOTA: no se generó {out.name}: el módulo del mapa no está disponible ({exc})."
    make_map = getattr(module, "make_map", None)
    if make_map is None:
        return f"NOTA: no se generó {out.name}: quitogeo.export.map no define make_map."
    make_map(result, out=out, project=result.project, rules=rules, overwrite=overwrite)
    return None
