"""`quitogeo calc AMBITO`: one COD computation without GIS, for a technician at the counter (cli.md).

Every number is read as an exact Decimal from the text typed (a decimal point, no thousands separator).
Invalid input — a negative area, α outside the rules' range, a parameter missing for the ámbito, a failed
§2.2.2 precondition, "1,5" — exits with code 2 and one line on stderr naming the parameter and the rule.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from quitogeo.calc.cod import CodResult, compute_cod
from quitogeo.calc.money import format_money, to_decimal
from quitogeo.calc.params import AMBITOS
from quitogeo.cli.options import handle_errors, rules_option
from quitogeo.errors import CalcInputError
from quitogeo.rules import load_rules

# (option, help) — values are parsed here, not by click, so that a bad number is one clear line (exit 2).
_NUMBER_OPTIONS: tuple[tuple[str, str], ...] = (
    (
        "--alfa",
        "α, participación del suelo en el costo de construcción; dentro de [alfa_min, alfa_max] de las "
        "reglas.",
    ),
    ("--vc", "Costo de construcción Vc, $/m² (Vs = α·Vc·Fu)."),
    ("--fu", "Factor de uso Fu."),
    ("--vcc", "Vcc, $/m², para el ámbito uso (o los componentes del avalúo)."),
    ("--avaluo-cubiertas", "Avalúo de construcciones cubiertas, $ (Vcc, Gráf. 10–11)."),
    ("--area-cubiertas", "Área de construcciones cubiertas, m²."),
    ("--avaluo-instalaciones-especiales", "Avalúo de instalaciones especiales, $ (unipropiedad)."),
    ("--avaluo-abiertas", "Avalúo de construcciones abiertas, $."),
    ("--area-abiertas", "Área de construcciones abiertas, m²."),
    ("--avaluo-adicionales", "Avalúo de adicionales constructivos, $."),
    ("--area-adicionales", "Área de adicionales constructivos, m²."),
    (
        "--avaluo-comunal",
        "Avalúos comunales prorrateados por alícuota + comunal especial, $ (propiedad horizontal).",
    ),
    ("--avaluo-terreno", "Avalúo del terreno, $ (uso en predio sin construcción: Vs_c = avalúo / área)."),
    ("--ae", "Área útil excedente Ae, m²."),
    ("--area-terreno", "Área del terreno según escritura, m² (IC = Ae / área)."),
    ("--aiva", "AIVA más alto del predio, $/m² (β)."),
    ("--ir", "IRcu o IRlm, según el ámbito."),
    ("--auv", "Área bruta AUV, m²."),
    ("--vsa", "Valor total del suelo según el avalúo, $ (lote-minimo)."),
    ("--lote-minimo-anterior", "Lote mínimo de la norma anterior, m² (§2.2.2)."),
    ("--lote-minimo-nuevo", "Lote mínimo de la norma nueva, m² (§2.2.2)."),
    ("--lote-resultante-menor", "Área del menor lote resultante del fraccionamiento, m² (§2.2.2)."),
    ("--cos-pb-anterior", "COS PB de la norma anterior (§2.2.2)."),
    ("--cos-pb-nuevo", "COS PB de la norma nueva (§2.2.2)."),
    ("--pisos-anterior", "Pisos de la norma anterior (§2.2.2)."),
    ("--pisos-nuevo", "Pisos de la norma nueva (§2.2.2)."),
    ("--vis", "Área útil de vivienda de interés social, m² (exoneración §4)."),
    ("--area-util-proyecto", "Área útil total del proyecto, m² (exoneración §4)."),
)

_BAND_ROWS = {1: "AIVA ≤ {lo}", 2: "{lo} < AIVA < {hi}", 3: "AIVA ≥ {hi}"}
_BAND_COLS = {1: "IC < {lo}", 2: "{lo} ≤ IC ≤ {hi}", 3: "IC > {hi}"}

# Spanish labels of the quantities in the readable breakdown (parameter name → label).
_LABELS: dict[str, str] = {
    "alfa": "α",
    "vc": "Vc ($/m²)",
    "fu": "Fu",
    "vcc": "Vcc ($/m²)",
    "avaluo_terreno": "Avalúo del terreno ($)",
    "vs_c": "Vs_c ($/m²)",
    "vs": "Vs ($/m²)",
    "ae": "Ae, área útil excedente (m²)",
    "area_terreno": "Área del terreno (m²)",
    "aiva": "AIVA ($/m²)",
    "ir": "IR",
    "auv": "AUV, área bruta (m²)",
    "vsa": "Vsa, valor del suelo ($)",
}


def _decimal_options(func: Any) -> Any:
    for opt, help_text in reversed(_NUMBER_OPTIONS):
        func = click.option(opt, type=str, default=None, metavar="NUM", help=help_text)(func)
    return func


def _fmt(value: Decimal, places: int | None = None) -> str:
    """Format a number for the breakdown: exact as given, or rounded for display only."""
    if places is not None:
        return f"{value:.{places}f}"
    return format(value, "f")


def _readable(result: CodResult, rules_meta: dict[str, Any]) -> str:
    p = result.parametros
    lines = [
        f"Ámbito: {result.ambito}",
        f"Fórmula: {result.formula}",
        f"Fuente: {result.fuente} — {result.estado}",
    ]
    for name in ("alfa", "vc", "fu", "vcc", "avaluo_terreno", "ae", "area_terreno", "ir", "auv", "vsa"):
        if name in p:
            lines.append(f"{_LABELS[name]}: {_fmt(p[name])}")
    if result.vs is not None:
        label = _LABELS["vs_c"] if result.ambito == "uso" else _LABELS["vs"]
        lines.append(f"{label}: {_fmt(result.vs, 4)}")
    lines.append(f"IC: {_fmt(result.ic, 4)}")
    if "aiva" in p:
        lines.append(f"{_LABELS['aiva']}: {_fmt(p['aiva'])}")
    if result.beta_fila is not None and result.beta_columna is not None:
        b = rules_meta["beta"]
        fila = _BAND_ROWS[result.beta_fila].format(
            lo=f"{b['aiva_limites'][0]:g}", hi=f"{b['aiva_limites'][1]:g}"
        )
        col = _BAND_COLS[result.beta_columna].format(
            lo=f"{b['ic_limites'][0]:g}", hi=f"{b['ic_limites'][1]:g}"
        )
        celda = f" (fila {result.beta_fila}: {fila}; columna {result.beta_columna}: {col})"
    else:
        celda = ""
    if result.beneficio:
        lines.append(f"β: no se aplica (beneficios en planes parciales y UAU, Anexo 01 §5.1){celda}")
    else:
        lines.append(f"β: {result.beta}{celda}")
    lines.append(f"{'Beneficio B' if result.beneficio else 'COD'}: $ {format_money(result.cod)}")
    exo = result.exoneracion
    lines.append(f"Exoneración VIS: {float(exo.fraccion) * 100:.2f} % ({exo.motivo})")
    lines.append(
        f"{'B' if result.beneficio else 'COD'} a pagar tras exoneración: $ "
        f"{format_money(result.cod_exonerado)}"
    )
    if result.precondiciones is not None:
        estado = {True: "cumple", None: "NO VERIFICADA (dato no indicado)"}
        for key, val in result.precondiciones.items():
            lines.append(f"Precondición §2.2.2 {key.replace('_', ' ')}: {estado[val]}")
    for nota in result.notas:
        if not nota.startswith("REGLAS NO VERIFICADAS"):
            lines.append(f"Nota: {nota}")
    lines.append(f"Reglas: {result.reglas_version} ({result.reglas_origen})")
    if not result.verificado:
        lines.append(
            "REGLAS NO VERIFICADAS: α, Vc, Fu e IR de estas reglas son ilustrativos; no use este valor para "
            "liquidar sin reglas verificadas (--rules)"
        )
    return "\n".join(lines)


def _parse_fu_usos(values: tuple[str, ...]) -> list[tuple[Decimal, Decimal]] | None:
    if not values:
        return None
    out = []
    for text in values:
        if text.count(":") != 1:
            raise CalcInputError(
                f"fu-uso (--fu-uso) = {text!r}: use FU:AREA_UTIL, p. ej. 1.2:300 (Anexo 01 §2.2.1, Gráf. 16)",
                parameter="fu_usos",
            )
        fu, area = text.split(":")
        out.append((to_decimal(fu, "fu (--fu-uso)"), to_decimal(area, "área útil (--fu-uso)")))
    return out


@click.command(name="calc")
@click.argument("ambito", metavar="AMBITO", type=str)
@_decimal_options
@click.option(
    "--fu-uso",
    "fu_uso",
    multiple=True,
    metavar="FU:AREA",
    help="Varios usos: Fu y área útil de cada uno (repetible); Fu ponderado por área útil (en vez de --fu).",
)
@click.option(
    "--regimen",
    type=str,
    default=None,
    metavar="REGIMEN",
    help="Régimen para Vcc por componentes: unipropiedad | propiedad-horizontal.",
)
@click.option(
    "--beneficio", is_flag=True, default=False, help="Beneficios en planes parciales y UAU: sin β (§5.1)."
)
@click.option("--json", "as_json", is_flag=True, default=False, help="Imprimir un objeto JSON (cli.md).")
@rules_option
@handle_errors
def command(
    ambito: str,
    fu_uso: tuple[str, ...],
    regimen: str | None,
    beneficio: bool,
    as_json: bool,
    rules_path: Path | None,
    **numbers: str | None,
) -> None:
    """Calcula la concesión onerosa de derechos (COD) de un predio para un ámbito.

    AMBITO: uso, edificabilidad, lote-minimo, edificabilidad-uso o edificabilidad-lote-minimo
    (Anexo 01 §2). Cada número se escribe con punto decimal y sin separador de miles.

    \b
    Ejemplo:
      quitogeo calc edificabilidad --alfa 0.12 --vc 500 --fu 1.0 --ae 300 --area-terreno 400 --aiva 450
    """
    if ambito not in AMBITOS:
        raise CalcInputError(
            f"ámbito {ambito!r} desconocido; use uno de: {', '.join(AMBITOS)} (Anexo 01 §2)",
            parameter="ambito",
        )
    rules = load_rules(rules_path)
    parsed: dict[str, Any] = {}
    for name, text in numbers.items():
        if text is not None:
            parsed[name] = to_decimal(text, f"{name} (--{name.replace('_', '-')})")
    fu_usos = _parse_fu_usos(fu_uso)
    if fu_usos is not None:
        parsed["fu_usos"] = fu_usos
    if regimen is not None:
        parsed["regimen"] = regimen
    result = compute_cod(ambito, rules=rules, beneficio=beneficio, **parsed)
    if as_json:
        click.echo(json.dumps(result.to_json_dict(), ensure_ascii=False))
    else:
        click.echo(_readable(result, dict(rules)))
