"""Liquidación of the concesión onerosa de derechos (COD) for one lot, with its payment plan.

The amounts are :func:`quitogeo.calc.cod.compute_cod`'s, to the cent: the document never recomputes a
formula, it prints the calc core's result line by line — each variable with its value, its source (the option
typed, the results column, or the rules file) and its article — then the β band (row and column of Anexo 01
Tabla 1), IC, the VIS exoneration when requested, and the payment plan of Anexo 01 §3
(:mod:`quitogeo.export.documents.payments`). Output as HTML (A4), PDF (headless Chromium) or JSON.

Two ways in:

* :func:`liquidacion_desde_calc` — the inputs of ``quitogeo calc`` (a technician at the counter);
* :func:`liquidacion_desde_resultados` — one lot of a ``quitogeo run`` results file: the lot's Ae, area
  and AIVA come from ``predios_resultado``; α, Vc and Fu from the results when they carry them, else from
  the rules (the document says which). The recomputed COD must equal the results' ``cod`` to the cent, else
  it is refused (the results were produced with other parameters).

Money prints as ``USD 1.234,56`` and dates as ``dd/mm/aaaa`` in HTML/PDF; JSON uses ``"1234.56"`` strings and
ISO dates (see :mod:`quitogeo.formatting`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from quitogeo._version import __version__
from quitogeo.calc.cod import CodResult, compute_cod
from quitogeo.errors import DataIntegrityError, DocumentError
from quitogeo.export.documents.iprus import _metadata, _position, _predios, load_results, results_source
from quitogeo.export.documents.payments import PaymentPlan, build_plan, describe_plan
from quitogeo.export.documents.render import check_writable, html_to_pdf, render_html
from quitogeo.formatting import (
    SIN_DATO,
    cents_to_str,
    format_cents,
    format_money,
    format_number,
    to_cents,
    to_decimal,
)
from quitogeo.rules import Rules

#: Output formats of the document.
FORMATOS = ("html", "pdf", "json")

# name → (symbol and meaning, unit kind, article). Unit kinds: money, money_m2, m2, m, ratio, pct, int, text.
_VARIABLES: dict[str, tuple[str, str, str]] = {
    "alfa": ("α — participación del suelo en el costo de construcción", "ratio", "Anexo 01 §2.2.1"),
    "vc": ("Vc — costo de construcción por m² (tipo de estructura)", "money_m2", "Anexo 01 §2.2.1, Gráf. 15"),
    "fu": ("Fu — factor de uso constructivo", "ratio", "Anexo 01 §2.2.1, Gráf. 15–16"),
    "vs": ("Vs — valor del suelo = α × Vc × Fu", "money_m2", "Anexo 01 §2.2.1, Gráf. 14"),
    "vcc": ("Vcc — valor de las construcciones por m²", "money_m2", "Anexo 01 §2.1, Gráf. 10–11"),
    "vs_c": ("Vs_c — valor del suelo del predio", "money_m2", "Anexo 01 §2.1, Gráf. 8"),
    "avaluo_terreno": ("Avalúo del terreno", "money", "Anexo 01 §2.1"),
    "avaluo_cubiertas": ("Avalúo de áreas cubiertas", "money", "Anexo 01 §2.1, Gráf. 10–11"),
    "area_cubiertas": ("Área cubierta", "m2", "Anexo 01 §2.1, Gráf. 10–11"),
    "avaluo_instalaciones_especiales": ("Avalúo de instalaciones especiales", "money", "Anexo 01 §2.1"),
    "avaluo_abiertas": ("Avalúo de áreas abiertas", "money", "Anexo 01 §2.1"),
    "area_abiertas": ("Área abierta", "m2", "Anexo 01 §2.1"),
    "avaluo_adicionales": ("Avalúo de adicionales constructivos", "money", "Anexo 01 §2.1"),
    "area_adicionales": ("Área de adicionales constructivos", "m2", "Anexo 01 §2.1"),
    "avaluo_comunal": ("Avalúo comunal prorrateado", "money", "Anexo 01 §2.1, Gráf. 11"),
    "ae": ("Ae — área útil excedente", "m2", "Anexo 01 §2.2.1, Gráf. 13"),
    "area_terreno": ("Área del terreno (según escritura)", "m2", "Anexo 01 §1 (IC)"),
    "aiva": ("AIVA — valor más alto del área de intervención valorativa", "money_m2", "Anexo 01 §1, Tabla 1"),
    "ir": ("IR — índice de revalorización (IRcu / IRlm)", "ratio", "Anexo 01 §2.1 / §2.2.2"),
    "auv": ("AUV — área bruta", "m2", "Anexo 01 §2.1"),
    "vsa": ("Vsa — valor del suelo según avalúo catastral", "money", "Anexo 01 §2.2.2"),
    "vis": ("VIS — área útil de vivienda de interés social", "m2", "Anexo 01 §4.1"),
    "area_util_proyecto": ("Área útil total del proyecto", "m2", "Anexo 01 §4.1"),
    "lote_minimo_anterior": ("Lote mínimo anterior", "m2", "Anexo 01 §2.2.2"),
    "lote_minimo_nuevo": ("Lote mínimo nuevo", "m2", "Anexo 01 §2.2.2"),
    "lote_resultante_menor": ("Lote resultante menor", "m2", "Anexo 01 §2.2.2"),
    "cos_pb_anterior": ("COS PB anterior", "pct", "Anexo 01 §2.2.2"),
    "cos_pb_nuevo": ("COS PB nuevo", "pct", "Anexo 01 §2.2.2"),
    "pisos_anterior": ("Pisos anteriores", "int", "Anexo 01 §2.2.2"),
    "pisos_nuevo": ("Pisos nuevos", "int", "Anexo 01 §2.2.2"),
}


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return SIN_DATO
    if kind == "money":
        return format_money(value)
    if kind == "money_m2":
        return format_money(value) + "/m²"
    if kind == "m2":
        return format_number(value, 2) + " m²"
    if kind == "pct":
        return format_number(value, 2) + " %"
    if kind == "int":
        return format_number(value, 0)
    if kind == "ratio":
        return format_number(value, 4)
    return str(value)


@dataclass(frozen=True)
class Linea:
    """One line of the breakdown.

    Parameters
    ----------
    clave : str
        Machine name (``alfa``, ``ae``, ``beta`` …).
    variable : str
        Symbol and meaning as printed.
    valor : str
        Value as printed (Ecuadorian format).
    valor_json : str, float, int or None
        Value for the JSON (money as a string with two decimals).
    fuente : str
        Where the value comes from.
    articulo : str
        The article / section of the norm.
    """

    clave: str
    variable: str
    valor: str
    valor_json: Any
    fuente: str
    articulo: str

    def to_json_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "variable": self.clave,
            "descripcion": self.variable,
            "valor": self.valor_json,
            "fuente": self.fuente,
            "articulo": self.articulo,
        }


@dataclass(frozen=True)
class Liquidacion:
    """A COD liquidación: the calc result, its line-by-line breakdown and the payment plan.

    Parameters
    ----------
    resultado : CodResult
        The calc core's result (amounts come from here, unchanged).
    lineas : tuple of Linea
        The breakdown.
    plan : PaymentPlan
        The payment plan; its total is ``resultado.cod_exonerado`` in cents.
    fecha : date
        Date of issue.
    origen : str
        Where the inputs come from.
    clave_catastral : str or None
        The lot, when known.
    beta_tabla : list of list of float
        Anexo 01 Tabla 1 of the rules (to print with the used cell highlighted).
    beta_filas, beta_columnas : list of str
        Band labels of the table's rows (AIVA) and columns (IC).
    notas : tuple of str
        Remarks (calc notes, data sources).
    """

    resultado: CodResult
    lineas: tuple[Linea, ...]
    plan: PaymentPlan
    fecha: dt.date
    origen: str
    clave_catastral: str | None = None
    beta_tabla: list[list[float]] = field(default_factory=list)
    beta_filas: list[str] = field(default_factory=list)
    beta_columnas: list[str] = field(default_factory=list)
    notas: tuple[str, ...] = ()

    @property
    def total_centavos(self) -> int:
        """The amount to pay (COD after the VIS exoneration), in cents."""
        return to_cents(self.resultado.cod_exonerado)

    def to_json_dict(self) -> dict[str, Any]:
        """Return the JSON document for other systems (money as strings with two decimals, dates ISO)."""
        r = self.resultado
        return {
            "documento": "liquidacion_cod",
            "clave_catastral": self.clave_catastral,
            "fecha": self.fecha.isoformat(),
            "origen": self.origen,
            "ambito": r.ambito,
            "reglas": {"version": r.reglas_version, "origen": r.reglas_origen, "verificado": r.verificado},
            "cod": cents_to_str(to_cents(r.cod)),
            "exoneracion_vis": {
                "aplica": r.exoneracion.aplica,
                "fraccion": float(r.exoneracion.fraccion),
                "monto": cents_to_str(to_cents(r.cod) - self.total_centavos),
                "motivo": r.exoneracion.motivo,
            },
            "total_a_pagar": cents_to_str(self.total_centavos),
            "lineas": [linea.to_json_dict() for linea in self.lineas],
            "calculo": r.to_json_dict(),
            "pago": self.plan.to_json_dict(),
            "notas": list(self.notas),
            "quitogeo_version": __version__,
        }


def _band_labels(rules: Rules) -> tuple[list[str], list[str]]:
    a0, a1 = (format_number(x, 0) for x in rules["beta"]["aiva_limites"])
    c0, c1 = (format_number(x, 0) for x in rules["beta"]["ic_limites"])
    return (
        [f"AIVA ≤ {a0}", f"{a0} < AIVA < {a1}", f"AIVA ≥ {a1}"],
        [f"IC < {c0}", f"{c0} ≤ IC ≤ {c1}", f"IC > {c1}"],
    )


def build_liquidacion(
    resultado: CodResult,
    *,
    rules: Rules,
    fuentes: dict[str, str],
    origen: str,
    fecha: dt.date,
    modalidad: str = "contado",
    contado_inicial: object | None = None,
    especie: object | None = None,
    combinacion: str | None = None,
    inicio: dt.date | None = None,
    clave_catastral: str | None = None,
    notas: tuple[str, ...] = (),
    entradas: dict[str, Any] | None = None,
) -> Liquidacion:
    """Assemble the liquidación of a calc result with its payment plan.

    Parameters
    ----------
    resultado : CodResult
        From :func:`~quitogeo.calc.cod.compute_cod`.
    rules : Rules
        The rules used for the calc (β table labels) and the payment plan (``[pagos]``).
    fuentes : dict
        Input name → where it came from (printed in the "fuente" column).
    origen : str
        Where the inputs come from, as a sentence.
    fecha : date
        Date of issue.
    modalidad, contado_inicial, especie, combinacion, inicio
        The payment plan (see :func:`~quitogeo.export.documents.payments.build_plan`).
    clave_catastral : str, optional
        The lot.
    notas : tuple of str, optional
        Extra remarks.
    entradas : dict, optional
        The inputs given to the calc core; those it does not report in ``parametros`` (VIS areas) are
        printed as given.

    Returns
    -------
    Liquidacion
    """
    plan = build_plan(
        modalidad,
        resultado.cod_exonerado,
        rules=rules,
        contado_inicial=contado_inicial,
        especie=especie,
        combinacion=combinacion,
        inicio=inicio if inicio is not None else (fecha if modalidad != "especie" else None),
    )
    filas, columnas = _band_labels(rules)
    lineas: list[Linea] = []
    calc = "cálculo (quitogeo calc)"
    for name, value in resultado.parametros.items():
        label, kind, article = _VARIABLES.get(name, (name, "ratio", resultado.fuente))
        if name == "vs" and resultado.ambito == "uso":
            label, kind, article = _VARIABLES["vs_c"]
        source = calc if name == "vs" else fuentes.get(name, "dato ingresado")
        lineas.append(Linea(name, label, _fmt(value, kind), float(value), source, article))
    for name, value in (entradas or {}).items():
        # inputs the calc core does not list among its parameters (e.g. VIS areas): printed as given
        if name in resultado.parametros or value is None or name in ("fu_usos", "regimen", "beneficio"):
            continue
        label, kind, article = _VARIABLES.get(name, (name, "ratio", resultado.fuente))
        number = to_decimal(value)
        shown = _fmt(number, kind) if number is not None else str(value)
        lineas.append(
            Linea(
                name,
                label,
                shown,
                float(number) if number is not None else str(value),
                fuentes.get(name, "dato ingresado"),
                article,
            )
        )
    if "vs" not in resultado.parametros and resultado.vs is not None:
        label, kind, article = _VARIABLES["vs_c" if resultado.ambito == "uso" else "vs"]
        lineas.append(Linea("vs", label, _fmt(resultado.vs, kind), float(resultado.vs), calc, article))
    ic_text = format_number(resultado.ic, 4)
    lineas.append(
        Linea(
            "ic",
            "IC — índice de construcción = Ae / área del terreno",
            ic_text,
            round(float(resultado.ic), 4),
            calc,
            "Anexo 01 §1, Tabla 1",
        )
    )
    if resultado.beneficio:
        beta_text = "no aplica (beneficio en plan parcial / UAU)"
    elif resultado.beta_fila and resultado.beta_columna:
        beta_text = (
            f"{format_number(resultado.beta, 2)} (fila {resultado.beta_fila}: "
            f"{filas[resultado.beta_fila - 1]}; columna {resultado.beta_columna}: "
            f"{columnas[resultado.beta_columna - 1]})"
        )
    else:
        beta_text = format_number(resultado.beta, 2)
    lineas.append(
        Linea(
            "beta",
            "β — coeficiente de ponderación de pago",
            beta_text,
            float(resultado.beta),
            f"reglas {resultado.reglas_version} (beta.tabla)",
            "Anexo 01 §1, Tabla 1",
        )
    )
    cod_cents = to_cents(resultado.cod)
    lineas.append(
        Linea(
            "cod",
            f"COD — {resultado.formula}",
            format_cents(cod_cents),
            cents_to_str(cod_cents),
            calc,
            resultado.fuente,
        )
    )
    exo = resultado.exoneracion
    exo_cents = cod_cents - to_cents(resultado.cod_exonerado)
    lineas.append(
        Linea(
            "exoneracion_vis",
            "Exoneración VIS",
            f"{format_cents(exo_cents)} — {exo.motivo}",
            cents_to_str(exo_cents),
            calc if exo.aplica else "no solicitada o no aplica",
            "Anexo 01 §4.1",
        )
    )
    total_cents = to_cents(resultado.cod_exonerado)
    lineas.append(
        Linea(
            "total_a_pagar",
            "Total a pagar (COD menos exoneración)",
            format_cents(total_cents),
            cents_to_str(total_cents),
            calc,
            resultado.fuente,
        )
    )
    return Liquidacion(
        resultado=resultado,
        lineas=tuple(lineas),
        plan=plan,
        fecha=fecha,
        origen=origen,
        clave_catastral=clave_catastral,
        beta_tabla=[[float(b) for b in row] for row in rules["beta"]["tabla"]],
        beta_filas=filas,
        beta_columnas=columnas,
        notas=tuple(resultado.notas) + tuple(notas),
    )


def liquidacion_desde_calc(
    ambito: str,
    *,
    rules: Rules,
    fecha: dt.date,
    calc: dict[str, Any],
    modalidad: str = "contado",
    contado_inicial: object | None = None,
    especie: object | None = None,
    combinacion: str | None = None,
    inicio: dt.date | None = None,
    clave_catastral: str | None = None,
) -> Liquidacion:
    """Liquidación from the inputs of ``quitogeo calc`` (no GIS).

    Parameters
    ----------
    ambito : str
        The ámbito (``edificabilidad``, ``uso`` …).
    rules : Rules
        Rules in force.
    fecha : date
        Date of issue (and start of a cronograma unless ``inicio``).
    calc : dict
        Keyword arguments of :func:`~quitogeo.calc.cod.compute_cod` (``alfa``, ``vc``, ``ae`` …; None =
        absent).
    modalidad, contado_inicial, especie, combinacion, inicio
        The payment plan.
    clave_catastral : str, optional
        The lot, printed when given.

    Returns
    -------
    Liquidacion
    """
    given = {k: v for k, v in calc.items() if v is not None}
    resultado = compute_cod(ambito, rules=rules, **given)
    fuentes = {k: f"dato ingresado (--{k.replace('_', '-')})" for k in given}
    return build_liquidacion(
        resultado,
        rules=rules,
        fuentes=fuentes,
        origen="datos ingresados (quitogeo calc)",
        fecha=fecha,
        modalidad=modalidad,
        contado_inicial=contado_inicial,
        especie=especie,
        combinacion=combinacion,
        inicio=inicio,
        clave_catastral=clave_catastral,
        entradas=given,
    )


# results column(s) per compute_cod input, first present wins
_RESULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "alfa": ("alfa",),
    "vc": ("vc",),
    "fu": ("fu",),
    "ae": ("ae_m2", "ae"),
    "area_terreno": ("area_terreno", "area_m2"),
    "aiva": ("aiva_valor", "aiva"),
    "ir": ("ir",),
    "auv": ("auv",),
    "vsa": ("vsa",),
    "vs_c": ("vs_c",),
}
_NEEDS: dict[str, tuple[str, ...]] = {
    "edificabilidad": ("alfa", "vc", "fu", "ae", "area_terreno", "aiva"),
    "edificabilidad-uso": ("alfa", "vc", "fu", "ae", "area_terreno", "aiva", "ir", "auv"),
    "edificabilidad-lote-minimo": ("alfa", "vc", "fu", "ae", "area_terreno", "aiva", "ir", "auv"),
    "uso": ("vs_c", "ir", "auv", "aiva"),
    "lote-minimo": ("vsa", "ir", "aiva"),
}


def _cell(row: pd.Series, columns: tuple[str, ...]) -> tuple[Any, str | None]:
    for col in columns:
        if col in row.index and not pd.isna(row[col]):
            return row[col], col
    return None, None


def _rules_default(name: str, row: pd.Series, rules: Rules) -> tuple[Any, str] | None:
    vs = rules["valor_suelo"]
    if name == "alfa":
        return vs["alfa"], f"reglas {rules.version} (valor_suelo.alfa)"
    if name == "vc":
        estructura, _ = _cell(row, ("estructura",))
        key = str(estructura) if estructura is not None and str(estructura) in vs["vc"] else None
        key = key or vs["estructura_predeterminada"]
        return vs["vc"][key], f"reglas {rules.version} (valor_suelo.vc.{key})"
    if name == "fu":
        code, _ = _cell(row, ("uso_principal",))
        cat = rules.homologate_use(code)
        if cat is None:
            return None
        fu_key = rules["usos"]["categorias"][cat]["fu"]
        return vs["fu"][fu_key], f"reglas {rules.version} (valor_suelo.fu.{fu_key}, uso {code})"
    return None


def liquidacion_desde_resultados(
    results: Any,
    clave: str,
    *,
    rules: Rules,
    fecha: dt.date,
    modalidad: str = "contado",
    contado_inicial: object | None = None,
    especie: object | None = None,
    combinacion: str | None = None,
    inicio: dt.date | None = None,
    vis: object | None = None,
    area_util_proyecto: object | None = None,
    overrides: dict[str, Any] | None = None,
) -> Liquidacion:
    """Liquidación of one lot of a ``quitogeo run`` results file.

    Parameters
    ----------
    results : RunResult, str or Path
        Results of ``quitogeo run`` (or the GeoPackage path).
    clave : str
        Clave catastral.
    rules : Rules
        Rules in force (defaults for α, Vc, Fu the results do not carry; payment parameters).
    fecha : date
        Date of issue.
    modalidad, contado_inicial, especie, combinacion, inicio
        The payment plan.
    vis, area_util_proyecto : number, optional
        The project's VIS área útil and total área útil (exoneration, Anexo 01 §4.1).
    overrides : dict, optional
        compute_cod inputs that replace the results' values (e.g. ``{"alfa": "0.10"}``).

    Returns
    -------
    Liquidacion

    Raises
    ------
    DocumentError
        When the lot is missing, has no COD (not priced, data problem) or lacks an input.
    DataIntegrityError
        When the recomputed COD differs from the results' ``cod`` (the results used other parameters).
    """
    results = load_results(results)
    predios = _predios(results)
    source = results_source(results)
    row = predios.iloc[_position(predios, clave, source)]
    estado = row.get("estado")
    ambito_value, _ = _cell(row, ("ambito",))
    ambito = str(ambito_value) if ambito_value is not None else "edificabilidad"
    if ambito not in _NEEDS:
        raise DocumentError(f"{source}, predio {clave}: ámbito {ambito!r} desconocido en los resultados")
    if "cod" in row.index and pd.isna(row["cod"]):
        why = f" (estado: {estado})" if estado is not None and str(estado) != "ok" else ""
        raise DocumentError(
            f"{source}, predio {clave}: los resultados no tienen COD para este predio{why}; corrija los "
            "datos y vuelva a ejecutar 'quitogeo run', o liquide con AMBITO y los datos de 'quitogeo calc'"
        )
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    calc: dict[str, Any] = {}
    fuentes: dict[str, str] = {}
    for name in _NEEDS[ambito]:
        if name in overrides:
            calc[name], fuentes[name] = overrides[name], f"dato ingresado (--{name.replace('_', '-')})"
            continue
        value, col = _cell(row, _RESULT_COLUMNS.get(name, (name,)))
        if value is not None:
            calc[name], fuentes[name] = value, f"resultados (columna {col})"
            continue
        default = _rules_default(name, row, rules)
        if default is None or default[0] is None:
            problem = f"; estado: {estado}" if estado is not None and str(estado) != "ok" else ""
            raise DocumentError(
                f"{source}, predio {clave}: falta {name} para liquidar el ámbito {ambito}{problem}; "
                f"corrija los datos o indíquelo con --{name.replace('_', '-')}"
            )
        calc[name], fuentes[name] = default
    if float(calc.get("ae", 1) or 0) <= 0 and ambito.startswith("edificabilidad"):
        raise DocumentError(
            f"{source}, predio {clave}: el área útil excedente (ae_m2) es 0 en el escenario de los "
            "resultados: no hay concesión onerosa que liquidar"
        )
    if vis is not None or area_util_proyecto is not None:
        calc["vis"], calc["area_util_proyecto"] = vis, area_util_proyecto
        fuentes["vis"] = fuentes["area_util_proyecto"] = "dato ingresado (proyecto)"
    resultado = compute_cod(ambito, rules=rules, **{k: v for k, v in calc.items() if v is not None})
    stored, stored_col = _cell(row, ("cod_centavos", "cod"))
    if stored is not None and not overrides:
        # cod_centavos is exact (int); cod is a float of dollars
        stored_cents = int(stored) if stored_col == "cod_centavos" else to_cents(stored)
        if stored_cents != to_cents(resultado.cod):
            used = ", ".join(f"{k}={calc[k]} ({fuentes[k]})" for k in calc)
            raise DataIntegrityError(
                f"{source}, predio {clave}: el COD de los resultados ({format_cents(stored_cents)}) no "
                f"coincide con el recalculado ({format_money(resultado.cod)}) con {used}; los resultados se "
                "generaron con otros parámetros: vuelva a ejecutar 'quitogeo run' con estas reglas o indique "
                "--alfa/--vc/--fu"
            )
    escenario = _metadata_value(results, "escenario")
    origen = f"resultados {source}, predio {clave}" + (f", escenario {escenario}" if escenario else "")
    problem_note = estado is not None and str(estado) != "ok"
    notas = (f"Estado de los datos del predio: {estado}.",) if problem_note else ()
    return build_liquidacion(
        resultado,
        rules=rules,
        fuentes=fuentes,
        origen=origen,
        fecha=fecha,
        modalidad=modalidad,
        contado_inicial=contado_inicial,
        especie=especie,
        combinacion=combinacion,
        inicio=inicio,
        clave_catastral=str(row["clave_catastral"]),
        notas=notas,
        entradas=calc,
    )


def _metadata_value(results: Any, key: str) -> Any:
    return _metadata(results).get(key)


def liquidacion_context(liq: Liquidacion) -> dict[str, Any]:
    """Template variables of ``liquidacion.html``."""
    r = liq.resultado
    plan = liq.plan
    return {
        "titulo": "Liquidación de la concesión onerosa de derechos (COD)",
        "liq": liq,
        "r": r,
        "fecha": liq.fecha,
        "clave": liq.clave_catastral,
        "lineas": liq.lineas,
        "total": format_cents(liq.total_centavos),
        "especie": format_cents(plan.especie_centavos),
        "plan": plan,
        "plan_resumen": describe_plan(plan),
        "pagos": [
            {"numero": c.numero, "fecha": c.fecha, "concepto": c.concepto, "monto": format_cents(c.centavos)}
            for c in plan.pagos
        ],
        "suma_pagos": format_cents(sum(c.centavos for c in plan.pagos)),
        "beta_tabla": liq.beta_tabla,
        "beta_filas": liq.beta_filas,
        "beta_columnas": liq.beta_columnas,
        "reglas_version": r.reglas_version,
        "reglas_verificado": r.verificado,
        "notas": liq.notas,
        "quitogeo_version": __version__,
    }


def render_liquidacion(liq: Liquidacion) -> str:
    """Render the liquidación as a self-contained HTML document (A4 print CSS)."""
    return render_html("liquidacion.html", liquidacion_context(liq))


def write_liquidacion(
    liq: Liquidacion,
    *,
    out: str | Path,
    formato: str = "html",
    overwrite: bool = False,
    chromium: str | Path | None = None,
) -> Path:
    """Write the liquidación as HTML, PDF or JSON.

    Parameters
    ----------
    liq : Liquidacion
        The document.
    out : str or Path
        Output file.
    formato : {"html", "pdf", "json"}
        Format.
    overwrite : bool, optional
        Replace an existing file.
    chromium : str or Path, optional
        Chromium executable for the PDF.

    Returns
    -------
    Path
    """
    import json

    if formato not in FORMATOS:
        raise DocumentError(f"formato {formato!r} no existe; use uno de: {', '.join(FORMATOS)}")
    path = Path(out)
    check_writable(path, overwrite=overwrite)
    if formato == "json":
        path.write_text(json.dumps(liq.to_json_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    elif formato == "html":
        path.write_text(render_liquidacion(liq), encoding="utf-8")
    else:
        html_to_pdf([render_liquidacion(liq)], [path], chromium=chromium, overwrite=True)
    return path


__all__ = [
    "FORMATOS",
    "Linea",
    "Liquidacion",
    "build_liquidacion",
    "liquidacion_context",
    "liquidacion_desde_calc",
    "liquidacion_desde_resultados",
    "render_liquidacion",
    "write_liquidacion",
]
