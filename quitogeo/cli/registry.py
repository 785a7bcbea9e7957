"""`quitogeo registry`: build or check the PPCCAAMM registry package (norma técnica 0005-CTUGS-2020)."""

from __future__ import annotations

from pathlib import Path

import click

from quitogeo.cli.options import fail, handle_errors, overwrite_option, rules_option


@click.command(name="registry")
@click.argument("project", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--fecha", default=None, help="Mes de entrega AAAA-MM (p. ej. 2026-11 → carpeta 17012611).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Carpeta donde se escribe el paquete PPCCAAMM.",
)
@click.option("--zip", "make_zip", is_flag=True, default=False, help="Escribir también PPCCAAMM.zip.")
@click.option(
    "--ordenanza",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PDF de la ordenanza de aprobación, copiado en ORD/.",
)
@click.option(
    "--check",
    "check_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Validar un paquete existente (lista todos los problemas; código 1 si alguno bloquea).",
)
@overwrite_option
@rules_option
@handle_errors
def command(project, fecha, out_dir, make_zip, ordenanza, check_dir, overwrite, rules_path):
    """Construye el paquete de registro PPCCAAMM (DIAG, PUGS, ORD, PUC) de PROJECT o lo valida (--check)."""
    from quitogeo.export.registry import build_registry, check_registry
    from quitogeo.rules import load_rules

    rules = load_rules(rules_path)
    if check_dir is not None:
        if project is not None or fecha is not None:
            fail("--check valida un paquete existente: no acepta PROJECT ni --fecha", 2)
        problems = check_registry(check_dir, rules=rules)
        blocking = problems[problems["bloqueante"]]
        for row in problems.itertuples(index=False):
            kind = "ERROR" if row.bloqueante else "AVISO"
            click.echo(f"{kind}: {row.ruta}: {row.problema} → {row.correccion}")
        if len(blocking):
            click.echo(f"{len(blocking)} problema(s) bloqueante(s) en {check_dir}", err=True)
            raise SystemExit(1)
        click.echo(f"Paquete válido: {check_dir} ({len(problems)} aviso(s))")
        return
    if project is None or fecha is None:
        fail(
            "indique PROJECT y --fecha AAAA-MM para construir el paquete, o --check CARPETA para validarlo", 2
        )
    package = build_registry(
        project,
        fecha=fecha,
        out_dir=out_dir,
        zip=make_zip,
        ordenanza_pdf=ordenanza,
        overwrite=overwrite,
        rules=rules,
    )
    click.echo(f"Paquete de registro escrito en {package}")
    if make_zip:
        click.echo(f"Archivo comprimido: {package.with_suffix('.zip')}")
