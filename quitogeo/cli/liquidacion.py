"""`quitogeo liquidacion`: the COD liquidación of one lot with its payment plan (Anexo 01 §2–§4).

Two ways in: one lot of a results file (``--resultados RESULTS.gpkg --clave CLAVE``), or the inputs of
``quitogeo calc`` (``AMBITO --alfa … --ae …``). The calc options are reused from :mod:`quitogeo.cli.calc`
(same names, same exact parsing), never redefined here. Output as HTML, PDF or JSON. A payment plan that
breaks Anexo 01 §3 (upfront below 20 %, a mixto split that does not add up) exits 2 with one line in Spanish.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from quitogeo.calc.money import to_decimal
from quitogeo.calc.params import AMBITOS
from quitogeo.cli.calc import _decimal_options, _parse_fu_usos
from quitogeo.cli.options import fail, handle_errors, overwrite_option, rules_option
from quitogeo.errors import CalcInputError, PaymentPlanError
from quitogeo.rules import load_rules


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise CalcInputError(f"{option} = {value!r} no es una fecha AAAA-MM-DD (p. ej. 2025-03-31)") from None


def _money(value: str | None, option: str) -> Any:
    return None if value is None else to_decimal(value, f"{option.lstrip('-')} ({option})")


@click.command(name="liquidacion")
@click.argument("ambito", metavar="[AMBITO]", required=False, type=str)
@click.option(
    "--resultados",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Archivo de resultados de 'quitogeo run' (resultados.gpkg).",
)
@click.option("--clave", type=str, default=None, help="Clave catastral del predio (con --resultados).")
@_decimal_options
@click.option(
    "--fu-uso",
    "fu_uso",
    multiple=True,
    metavar="FU:AREA",
    help="Varios usos: Fu y área útil de cada uno (repetible), como en 'quitogeo calc'.",
)
@click.option(
    "--regimen",
    type=str,
    default=None,
    metavar="REGIMEN",
    help="Régimen para Vcc por componentes: unipropiedad | propiedad-horizontal.",
)
@click.option("--beneficio", is_flag=True, default=False, help="Beneficios en planes parciales y UAU: sin β.")
@click.option(
    "--modalidad",
    type=click.Choice(["contado", "cronograma", "especie", "mixto"]),
    default="contado",
    show_default=True,
    help="Modalidad de pago (Anexo 01 §3).",
)
@click.option(
    "--combinacion",
    type=click.Choice(["contado", "cronograma"]),
    default=None,
    help="Pago mixto: especie + contado (por defecto) o especie + cronograma (§3.5).",
)
@click.option(
    "--contado-inicial",
    type=str,
    default=None,
    metavar="USD",
    help="Cronograma: pago inicial (≥ 20 %; por defecto el mínimo). Mixto: el monto de contado.",
)
@click.option("--especie", type=str, default=None, metavar="USD", help="Valor de las obras en especie.")
@click.option(
    "--inicio",
    type=str,
    default=None,
    metavar="AAAA-MM-DD",
    help="Fecha del pago inicial; las cuotas siguen cada periodo de las reglas (por defecto --fecha).",
)
@click.option("--fecha", type=str, default=None, metavar="AAAA-MM-DD", help="Fecha del documento (hoy).")
@click.option("--formato", type=click.Choice(["html", "pdf", "json"]), default="html", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Archivo de salida (JSON sin --out se imprime; HTML/PDF: liquidacion_<clave>.<formato>).",
)
@overwrite_option
@rules_option
@handle_errors
def command(
    ambito: str | None,
    resultados: Path | None,
    clave: str | None,
    fu_uso: tuple[str, ...],
    regimen: str | None,
    beneficio: bool,
    modalidad: str,
    combinacion: str | None,
    contado_inicial: str | None,
    especie: str | None,
    inicio: str | None,
    fecha: str | None,
    formato: str,
    out: Path | None,
    overwrite: bool,
    rules_path: Path | None,
    **numbers: str | None,
) -> None:
    """Liquidación de la concesión onerosa de derechos (COD) con su modalidad de pago.

    Desde resultados de 'quitogeo run' (--resultados y --clave) o desde los datos de 'quitogeo calc'
    (AMBITO y las mismas opciones). Modalidades del Anexo 01 §3: contado, cronograma (≥ 20 % de contado y
    el saldo en cuotas según las reglas), especie, mixto (especie + contado o especie + cronograma).
    Montos en USD con formato 1.234,56 en HTML/PDF; "1234.56" en JSON; fechas dd/mm/aaaa.

    \b
    Ejemplos:
      quitogeo liquidacion --resultados salida/resultados.gpkg --clave 1234567 --formato pdf
      quitogeo liquidacion edificabilidad --alfa 0.12 --vc 500 --fu 1.0 --ae 300 \\
          --area-terreno 400 --aiva 450 --modalidad cronograma --inicio 2025-04-01
      quitogeo liquidacion edificabilidad ... --modalidad mixto --especie 2000 --contado-inicial 1960
    """
    from quitogeo.export.documents.liquidacion import (
        liquidacion_desde_calc,
        liquidacion_desde_resultados,
        write_liquidacion,
    )

    rules = load_rules(rules_path)
    fecha_doc = _date(fecha, "--fecha") or dt.date.today()
    start = _date(inicio, "--inicio")
    parsed: dict[str, Any] = {
        name: to_decimal(text, f"{name} (--{name.replace('_', '-')})")
        for name, text in numbers.items()
        if text is not None
    }
    fu_usos = _parse_fu_usos(fu_uso)
    pay = {
        "modalidad": modalidad,
        "combinacion": combinacion,
        "contado_inicial": _money(contado_inicial, "--contado-inicial"),
        "especie": _money(especie, "--especie"),
        "inicio": start,
    }
    try:
        if resultados is not None:
            if ambito is not None:
                raise click.UsageError("con --resultados no indique AMBITO: viene de los resultados")
            if not clave:
                raise click.UsageError("con --resultados indique --clave CLAVE_CATASTRAL")
            if fu_usos is not None or regimen is not None or beneficio:
                raise click.UsageError("--fu-uso, --regimen y --beneficio solo se usan con AMBITO")
            vis = parsed.pop("vis", None)
            area_util = parsed.pop("area_util_proyecto", None)
            liq = liquidacion_desde_resultados(
                resultados,
                clave,
                rules=rules,
                fecha=fecha_doc,
                vis=vis,
                area_util_proyecto=area_util,
                overrides=parsed,
                **pay,
            )
        else:
            if ambito is None:
                raise click.UsageError(
                    "indique AMBITO con los datos de 'quitogeo calc', o --resultados y --clave"
                )
            if ambito not in AMBITOS:
                raise CalcInputError(
                    f"ámbito {ambito!r} desconocido; use uno de: {', '.join(AMBITOS)} (Anexo 01 §2)"
                )
            calc = dict(parsed)
            if fu_usos is not None:
                calc["fu_usos"] = fu_usos
            if regimen is not None:
                calc["regimen"] = regimen
            if beneficio:
                calc["beneficio"] = True
            liq = liquidacion_desde_calc(
                ambito, rules=rules, fecha=fecha_doc, calc=calc, clave_catastral=clave, **pay
            )
    except PaymentPlanError as exc:
        fail(str(exc), 2)
        return
    if formato == "json" and out is None:
        click.echo(json.dumps(liq.to_json_dict(), ensure_ascii=False, indent=2))
        return
    if out is None:
        name = liq.clave_catastral or liq.resultado.ambito
        out = Path(f"liquidacion_{name}.{formato}")
    path = write_liquidacion(liq, out=out, formato=formato, overwrite=overwrite)
    click.echo(
        f"Liquidación escrita en {path}: total a pagar USD {liq.to_json_dict()['total_a_pagar']} "
        f"({modalidad}){'' if liq.resultado.verificado else ' — REGLAS NO VERIFICADAS'}"
    )
