"""COD by ámbito — the scalar, exact form (Anexo 01 §2, §4, §5; normativa.md §1–2).

One function per ámbito holds its formula (``formula_*``); they are plain arithmetic, so the vectorised form
(:mod:`quitogeo.calc.vectorized`) calls the very same functions on numpy arrays. :func:`compute_cod` validates
the inputs, looks β up, applies the VIS exoneration and rounds to cents (half-up) only at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from quitogeo.calc.beta import (
    BetaResult,
    aiva_row,
    beta_cell,
    ic_column,
    ic_column_from_ae,
    non_negative,
)
from quitogeo.calc.exoneracion import NINGUNA, Exoneracion, cod_exonerado, exoneracion_params
from quitogeo.calc.exoneracion import RULE as VIS_RULE
from quitogeo.calc.money import Number, exact_context, format_money, round_cents
from quitogeo.calc.params import AMBITOS, AMBITOS_CON_AE, AMBITOS_LOTE_MINIMO, CalcParams, calc_params
from quitogeo.calc.valor_suelo import (
    check_alfa,
    fu_ponderado,
    vcc_propiedad_horizontal,
    vcc_unipropiedad,
)
from quitogeo.errors import CalcInputError, PreconditionError
from quitogeo.rules import Rules

_T = TypeVar("_T", Decimal, npt.NDArray[np.float64])

#: Where each ámbito's formula is, and its status (normativa §2).
FUENTES: dict[str, tuple[str, str]] = {
    "uso": ("Anexo 01 §2.1", "READING (Gráf. 7–8)"),
    "edificabilidad": ("Anexo 01 §2.2.1", "Vs TEXT, COD READING (Gráf. 14–15)"),
    "lote-minimo": ("Anexo 01 §2.2.2", "READING (Gráf. 18)"),
    "edificabilidad-uso": ("Anexo 01 §2.3.1", "READING (Gráf. 19–20)"),
    "edificabilidad-lote-minimo": ("Anexo 01 §2.3.2", "READING (Gráf. 21–22)"),
}


# --------------------------------------------------------------------------------------------------------
# The formulas, one per ámbito. ``ir`` is already the effective index (see :func:`ir_efectivo`); ``beta`` is 1
# for beneficios (§5.1).
def formula_uso(vs_c: _T, ir: _T, auv: _T, beta: _T) -> _T:
    """COD = Vs_c × IRcu × AUV × β (Anexo 01 §2.1, Gráf. 7; READING)."""
    return vs_c * ir * auv * beta


def formula_edificabilidad(vs: _T, ae: _T, beta: _T) -> _T:
    """COD = Vs × Ae × β (Anexo 01 §2.2.1, Gráf. 14; READING — Vs = α × Vc × Fu is TEXT, Gráf. 15)."""
    return vs * ae * beta


def formula_lote_minimo(vsa: _T, ir: _T, beta: _T) -> _T:
    """COD = Vsa × IRlm × β (Anexo 01 §2.2.2, Gráf. 18; READING)."""
    return vsa * ir * beta


def formula_edificabilidad_uso(vs: _T, ae: _T, ir: _T, auv: _T, beta: _T) -> _T:
    """COD = Vs × (Ae + IRcu × AUV) × β (Anexo 01 §2.3.1, Gráf. 19–20; READING)."""
    return vs * (ae + ir * auv) * beta


def formula_edificabilidad_lote_minimo(vs: _T, ae: _T, ir: _T, auv: _T, beta: _T) -> _T:
    """COD = Vs × (Ae + IRlm × AUV) × β (Anexo 01 §2.3.2, Gráf. 21–22; READING)."""
    return vs * (ae + ir * auv) * beta


def ir_efectivo(ir: _T, interpretacion: str) -> _T:
    """Return the index the formulas use: IR itself (``"indice"``) or IR − 1 (``"multiplicador"``).

    normativa §2 (READING, second reading exposed as the rules switch ``ir.interpretacion``).
    """
    if interpretacion == "multiplicador":
        return ir - 1
    return ir


def formula_text(ambito: str, *, beneficio: bool, interpretacion: str, vs_fuente: str = "") -> str:
    """Write the formula in words as the CLI prints it (cli.md): ``"COD = Vs × Ae × β; Vs = α × Vc × Fu"``."""
    ir_cu = "(IRcu − 1)" if interpretacion == "multiplicador" else "IRcu"
    ir_lm = "(IRlm − 1)" if interpretacion == "multiplicador" else "IRlm"
    beta = "" if beneficio else " × β"
    lhs = "B" if beneficio else "COD"
    vs = "Vs = α × Vc × Fu"
    text = {
        "uso": f"{lhs} = Vs_c × {ir_cu} × AUV{beta}; {vs_fuente or 'Vs_c = α × Vcc'}",
        "edificabilidad": f"{lhs} = Vs × Ae{beta}; {vs}",
        "lote-minimo": f"{lhs} = Vsa × {ir_lm}{beta}",
        "edificabilidad-uso": f"{lhs} = Vs × (Ae + {ir_cu} × AUV){beta}; {vs}",
        "edificabilidad-lote-minimo": f"{lhs} = Vs × (Ae + {ir_lm} × AUV){beta}; {vs}",
    }[ambito]
    if vs_fuente and ambito != "uso":
        text += f"; {vs_fuente}"
    return text


# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CodResult:
    """One COD computation with everything needed to explain it.

    Attributes
    ----------
    ambito : str
        CLI name of the ámbito.
    cod_exacto, cod : Decimal
        The COD unrounded and rounded to cents (half-up). For ``beneficio`` this is B (§5.1).
    beta : Decimal
        β used (1 for beneficios).
    beta_fila, beta_columna : int or None
        Cell of Tabla 1 (None only for beneficios without AIVA).
    ic : Decimal
        IC = Ae / área del terreno, or ``beta.ic_sin_ae`` for ámbitos without Ae.
    vs : Decimal or None
        Vs (or Vs_c for ``uso``); None for ``lote-minimo``, whose formula has no Vs.
    exoneracion : Exoneracion
        VIS exoneration (``NINGUNA`` when not requested).
    cod_exonerado_exacto, cod_exonerado : Decimal
        COD × (1 − min(Ex, 1)) unrounded and in cents.
    formula, fuente, estado : str
        Formula in words, article, and status (TEXT/READING).
    verificado, reglas_version, reglas_origen : bool, str, str
        Identity of the rules used.
    beneficio : bool
        Planes parciales / UAU (§5.1): β excluded.
    precondiciones : dict or None
        For the lote-mínimo ámbitos, each §2.2.2 condition → True (checked and met) or None (not given).
    parametros : dict
        Every input and derived quantity used (α, Vc, Fu, Vcc, Ae, …), unrounded.
    notas : tuple of str
        Remarks for the technician (unverified preconditions, unverified rules, …).
    """

    ambito: str
    cod_exacto: Decimal
    cod: Decimal
    beta: Decimal
    beta_fila: int | None
    beta_columna: int | None
    ic: Decimal
    vs: Decimal | None
    exoneracion: Exoneracion
    cod_exonerado_exacto: Decimal
    cod_exonerado: Decimal
    formula: str
    fuente: str
    estado: str
    verificado: bool
    reglas_version: str
    reglas_origen: str
    beneficio: bool
    precondiciones: dict[str, bool | None] | None
    parametros: dict[str, Decimal] = field(default_factory=dict)
    notas: tuple[str, ...] = ()

    @property
    def precondiciones_verificadas(self) -> bool | None:
        """True when every §2.2.2 precondition was given and met; None for other ámbitos."""
        if self.precondiciones is None:
            return None
        return all(v is True for v in self.precondiciones.values())

    def to_json_dict(self) -> dict[str, Any]:
        """Return the JSON object of cli.md (plus a few explanatory keys).

        ``cod`` and ``cod_exonerado`` are strings with two decimals; ``beta``, ``ic`` (4 places), ``vs`` and
        ``exoneracion`` floats; ``beta_fila``/``beta_columna`` ints (null only for a beneficio without AIVA);
        ``vs`` is null for ``lote-minimo``.
        """
        return {
            "ambito": self.ambito,
            "cod": format_money(self.cod),
            "beta": float(self.beta),
            "beta_fila": self.beta_fila,
            "beta_columna": self.beta_columna,
            "ic": round(float(self.ic), 4),
            "vs": None if self.vs is None else float(self.vs),
            "exoneracion": float(self.exoneracion.fraccion),
            "cod_exonerado": format_money(self.cod_exonerado),
            "formula": self.formula,
            "fuente": self.fuente,
            "verificado": self.verificado,
            "estado": self.estado,
            "beneficio": self.beneficio,
            "exoneracion_motivo": self.exoneracion.motivo,
            "precondiciones": self.precondiciones,
            "precondiciones_verificadas": self.precondiciones_verificadas,
            "parametros": {k: float(v) for k, v in self.parametros.items()},
            "reglas_version": self.reglas_version,
            "reglas_origen": self.reglas_origen,
            "notas": list(self.notas),
        }


# --------------------------------------------------------------------------------------------------------
# Which inputs each ámbito takes (besides aiva, vis, area_util_proyecto and beneficio).
_VCC_COMPONENTS = (
    "avaluo_cubiertas",
    "area_cubiertas",
    "avaluo_instalaciones_especiales",
    "avaluo_abiertas",
    "area_abiertas",
    "avaluo_adicionales",
    "area_adicionales",
    "avaluo_comunal",
    "regimen",
)
_PRECONDITIONS = (
    "lote_minimo_anterior",
    "lote_minimo_nuevo",
    "lote_resultante_menor",
    "cos_pb_anterior",
    "cos_pb_nuevo",
    "pisos_anterior",
    "pisos_nuevo",
)
_VS = ("alfa", "vc", "fu", "fu_usos")
_ALLOWED: dict[str, frozenset[str]] = {
    "uso": frozenset(
        {"alfa", "vcc", "vs_c", "avaluo_terreno", "area_terreno", "ir", "auv", *_VCC_COMPONENTS}
    ),
    "edificabilidad": frozenset({*_VS, "ae", "area_terreno"}),
    "lote-minimo": frozenset({"vsa", "ir", *_PRECONDITIONS}),
    "edificabilidad-uso": frozenset({*_VS, "ae", "area_terreno", "ir", "auv"}),
    "edificabilidad-lote-minimo": frozenset({*_VS, "ae", "area_terreno", "ir", "auv", *_PRECONDITIONS}),
}


def cli_name(name: str) -> str:
    """Spell a parameter as the user typed it: ``area_terreno (--area-terreno)``."""
    return f"{name} (--{name.replace('_', '-')})"


def _missing(name: str, ambito: str, why: str) -> CalcInputError:
    return CalcInputError(
        f"falta el parámetro {cli_name(name)} para el ámbito {ambito} ({why}); indíquelo",
        parameter=name,
        rule=why,
    )


def _need(given: Mapping[str, Any], name: str, ambito: str, why: str) -> Any:
    if name not in given:
        raise _missing(name, ambito, why)
    return given[name]


def compute_cod(
    ambito: str,
    *,
    rules: Rules,
    alfa: Number | None = None,
    vc: Number | None = None,
    fu: Number | None = None,
    fu_usos: Sequence[tuple[Number, Number]] | None = None,
    vcc: Number | None = None,
    vs_c: Number | None = None,
    avaluo_cubiertas: Number | None = None,
    area_cubiertas: Number | None = None,
    avaluo_instalaciones_especiales: Number | None = None,
    avaluo_abiertas: Number | None = None,
    area_abiertas: Number | None = None,
    avaluo_adicionales: Number | None = None,
    area_adicionales: Number | None = None,
    avaluo_comunal: Number | None = None,
    regimen: str | None = None,
    avaluo_terreno: Number | None = None,
    ae: Number | None = None,
    area_terreno: Number | None = None,
    aiva: Number | None = None,
    ir: Number | None = None,
    auv: Number | None = None,
    vsa: Number | None = None,
    lote_minimo_anterior: Number | None = None,
    lote_minimo_nuevo: Number | None = None,
    lote_resultante_menor: Number | None = None,
    cos_pb_anterior: Number | None = None,
    cos_pb_nuevo: Number | None = None,
    pisos_anterior: Number | None = None,
    pisos_nuevo: Number | None = None,
    vis: Number | None = None,
    area_util_proyecto: Number | None = None,
    beneficio: bool = False,
) -> CodResult:
    """Compute the COD of one lot for one ámbito, exactly (Anexo 01 §2, §4, §5; normativa §1–2).

    Formulas (one function per ámbito, status in brackets):

    - ``uso``: COD = Vs_c × IRcu × AUV × β; Vs_c = α × Vcc, or avalúo del terreno / área del terreno when
      the lot has no construction, or ``vs_c`` given (§2.1, Gráf. 7–8) [READING; Vs_c without
      construction TEXT].
    - ``edificabilidad``: COD = Vs × Ae × β; Vs = α × Vc × Fu (§2.2.1, Gráf. 14–15) [Vs TEXT, COD READING].
    - ``lote-minimo``: COD = Vsa × IRlm × β (§2.2.2, Gráf. 18) [READING], with the §2.2.2 preconditions.
    - ``edificabilidad-uso``: COD = Vs × (Ae + IRcu × AUV) × β (§2.3.1) [READING].
    - ``edificabilidad-lote-minimo``: COD = Vs × (Ae + IRlm × AUV) × β (§2.3.2) [READING].

    β from Tabla 1 with IC = Ae / área del terreno, or IC = ``beta.ic_sin_ae`` (0) for ``uso`` and
    ``lote-minimo`` (§1) [TEXT; band closure READING]. With ``ir.interpretacion = "multiplicador"`` the
    formulas use IR − 1 [READING switch]. With ``beneficio`` β is left out (§5.1, Gráf. 26) [TEXT]. With
    ``vis`` and ``area_util_proyecto`` the VIS exoneration of §4.1 is applied (see
    :func:`~quitogeo.calc.exoneracion.exoneracion_vis`).

    Numbers may be ``Decimal``, ``int``, ``float`` (read through ``repr``) or ``str`` (a plain number with a
    decimal point). Intermediates stay unrounded; only ``cod`` and ``cod_exonerado`` are rounded to cents,
    ROUND_HALF_UP.

    Parameters
    ----------
    ambito : str
        One of ``uso``, ``edificabilidad``, ``lote-minimo``, ``edificabilidad-uso``,
        ``edificabilidad-lote-minimo``.
    rules : Rules
        Rules in force (β table, α range, IR switch, VIS threshold).
    alfa : number, optional
        α, within the rules' [alfa_min, alfa_max]; no default.
    vc, fu : number, optional
        Construction cost $/m² and use factor (Vs = α × Vc × Fu).
    fu_usos : sequence of (fu, area_util), optional
        Several uses: Fu weighted by área útil (instead of ``fu``).
    vcc : number, optional
        Vcc for ``uso``; or give the avalúo components and ``regimen``.
    vs_c : number, optional
        Vs_c already computed (``uso``), e.g. by the spatial pipeline.
    avaluo_cubiertas, area_cubiertas, avaluo_instalaciones_especiales, avaluo_abiertas, area_abiertas, \
avaluo_adicionales, area_adicionales, avaluo_comunal : number, optional
        Avalúo components for Vcc (Gráf. 10–11).
    regimen : {'unipropiedad', 'propiedad_horizontal'}, optional
        Which Vcc method the components follow.
    avaluo_terreno : number, optional
        Land avalúo for ``uso`` on a lot without construction (with ``area_terreno``).
    ae : number, optional
        Área útil excedente, m².
    area_terreno : number, optional
        Lot area per deed, m² (IC; Vs_c without construction).
    aiva : number, optional
        The lot's highest AIVA, $/m² (required unless ``beneficio``).
    ir : number, optional
        IRcu or IRlm as the ámbito needs.
    auv : number, optional
        Área bruta, m².
    vsa : number, optional
        Land value of the lot from the avalúo catastral, $.
    lote_minimo_anterior, lote_minimo_nuevo, lote_resultante_menor, cos_pb_anterior, cos_pb_nuevo, \
pisos_anterior, pisos_nuevo : number, optional
        §2.2.2 preconditions; each condition is checked when both its values are given.
    vis, area_util_proyecto : number, optional
        VIS área útil and the project's total área útil, m².
    beneficio : bool, default False
        Planes parciales and UAU: same formula without β.

    Returns
    -------
    CodResult

    Raises
    ------
    CalcInputError
        An unknown ámbito, a missing or superfluous parameter, a negative or non-finite value, α outside its
        range; :class:`~quitogeo.errors.PreconditionError` when a §2.2.2 condition fails. The message names
        the parameter and the rule.

    Examples
    --------
    >>> from quitogeo.rules import load_rules
    >>> r = compute_cod("edificabilidad", rules=load_rules(), alfa="0.12", vc=500, fu="1.0", ae=300,
    ...                 area_terreno=400, aiva=450)
    >>> r.to_json_dict()["cod"]  # Vs = 60; IC = 0.75, AIVA 450 → β = 0.22; 60 × 300 × 0.22
    '3960.00'
    """
    given = {
        k: v
        for k, v in dict(
            alfa=alfa,
            vc=vc,
            fu=fu,
            fu_usos=fu_usos,
            vcc=vcc,
            vs_c=vs_c,
            avaluo_cubiertas=avaluo_cubiertas,
            area_cubiertas=area_cubiertas,
            avaluo_instalaciones_especiales=avaluo_instalaciones_especiales,
            avaluo_abiertas=avaluo_abiertas,
            area_abiertas=area_abiertas,
            avaluo_adicionales=avaluo_adicionales,
            area_adicionales=area_adicionales,
            avaluo_comunal=avaluo_comunal,
            regimen=regimen,
            avaluo_terreno=avaluo_terreno,
            ae=ae,
            area_terreno=area_terreno,
            aiva=aiva,
            ir=ir,
            auv=auv,
            vsa=vsa,
            lote_minimo_anterior=lote_minimo_anterior,
            lote_minimo_nuevo=lote_minimo_nuevo,
            lote_resultante_menor=lote_resultante_menor,
            cos_pb_anterior=cos_pb_anterior,
            cos_pb_nuevo=cos_pb_nuevo,
            pisos_anterior=pisos_anterior,
            pisos_nuevo=pisos_nuevo,
            vis=vis,
            area_util_proyecto=area_util_proyecto,
        ).items()
        if v is not None
    }
    return compute_cod_params(ambito, params=calc_params(rules), given=given, beneficio=beneficio)


def compute_cod_params(
    ambito: str, *, params: CalcParams, given: Mapping[str, Any], beneficio: bool = False
) -> CodResult:
    """:func:`compute_cod` with the rules already extracted and the inputs as a mapping (None = absent).

    Used by the vectorised form to recompute single rows exactly without re-reading the rules.
    """
    given = {k: v for k, v in given.items() if v is not None}
    if ambito not in AMBITOS:
        raise CalcInputError(
            f"ámbito {ambito!r} desconocido; use uno de: {', '.join(AMBITOS)} (Anexo 01 §2)",
            parameter="ambito",
            rule="Anexo 01 §2",
        )
    fuente, estado = FUENTES[ambito]
    allowed = _ALLOWED[ambito] | {"aiva", "vis", "area_util_proyecto"}
    for name in given:
        if name not in allowed:
            raise CalcInputError(
                f"el parámetro {cli_name(name)} no interviene en el ámbito {ambito} ({fuente}); quítelo o "
                "elija "
                "otro ámbito",
                parameter=name,
                rule=fuente,
            )
    formula_why = (
        f"{fuente}: {formula_text(ambito, beneficio=beneficio, interpretacion=params.ir_interpretacion)}"
    )
    used: dict[str, Decimal] = {}
    notas: list[str] = []

    def num(name: str, rule: str = fuente) -> Decimal:
        value = non_negative(_need(given, name, ambito, formula_why), name, rule=rule)
        used[name] = value
        return value

    with exact_context():
        # --- valor del suelo -------------------------------------------------------------------------
        vs: Decimal | None = None
        vs_fuente = ""
        if ambito == "uso":
            vs, vs_fuente = _vs_c(given, params, used, ambito, formula_why)
        elif ambito != "lote-minimo":
            alfa = check_alfa(_need(given, "alfa", ambito, formula_why), params)
            used["alfa"] = alfa
            vc = num("vc", "Anexo 01 §2.2.1, Gráf. 15")
            if "fu" in given and "fu_usos" in given:
                raise CalcInputError(
                    "indique fu o fu_usos (varios usos), no ambos (Anexo 01 §2.2.1, Gráf. 16)", parameter="fu"
                )
            if "fu_usos" in given:
                fu_v = fu_ponderado(given["fu_usos"])
                used["fu"] = fu_v
                vs_fuente = "Fu = Σ Fu_i × AU_i / Σ AU_i"
            else:
                fu_v = num("fu", "Anexo 01 §2.2.1, Gráf. 15")
            vs = alfa * vc * fu_v
            used["vs"] = vs

        # --- IC and β ---------------------------------------------------------------------------------
        ae_v: Decimal | None = None
        if ambito in AMBITOS_CON_AE:
            ae_v = num("ae")
            area = num("area_terreno", "Anexo 01 §1: IC = Ae / área del terreno según escritura")
            if area == 0:
                raise CalcInputError(
                    "area_terreno (--area-terreno) = 0: IC = Ae / área del terreno no está definido (Anexo "
                    "01 "
                    "§1); indique el área según escritura",
                    parameter="area_terreno",
                    rule="Anexo 01 §1",
                )
            ic = ae_v / area
            columna = ic_column_from_ae(ae_v, area, params)
        else:
            ic = params.ic_sin_ae
            columna = ic_column(ic, params)
        beta_res: BetaResult | None = None
        if "aiva" in given:
            aiva_v = num("aiva", "Anexo 01 §1, Tabla 1")
            beta_res = beta_cell(aiva_row(aiva_v, params), columna, params)
        elif not beneficio:
            raise _missing("aiva", ambito, "Anexo 01 §1, Tabla 1: β depende del AIVA")
        beta = Decimal(1) if beneficio else beta_res.beta  # type: ignore[union-attr]  # set above

        # --- índice de revalorización -------------------------------------------------------------------
        ir_v: Decimal | None = None
        if ambito != "edificabilidad":
            ir_v = num("ir")
            if params.ir_interpretacion == "multiplicador" and ir_v < 1:
                raise CalcInputError(
                    f"ir (--ir) = {given['ir']} < 1 con ir.interpretacion = 'multiplicador' en las reglas: "
                    "IR − 1 "
                    "sería negativo (normativa §2, lectura del IR); indique IR ≥ 1 o use reglas con "
                    "interpretacion = 'indice'",
                    parameter="ir",
                    rule="normativa §2 (IR)",
                )
            ir_v = ir_efectivo(ir_v, params.ir_interpretacion)

        # --- preconditions -----------------------------------------------------------------------------
        precondiciones = None
        if ambito in AMBITOS_LOTE_MINIMO:
            precondiciones = check_preconditions(given)
            if not all(v is True for v in precondiciones.values()):
                faltan = [k for k, v in precondiciones.items() if v is None]
                notas.append(
                    "precondiciones del lote mínimo (Anexo 01 §2.2.2) NO verificadas: "
                    + ", ".join(faltan)
                    + "; verifíquelas antes de liquidar"
                )

        # --- the formula ---------------------------------------------------------------------------------
        if ambito == "uso":
            assert vs is not None and ir_v is not None
            cod = formula_uso(vs, ir_v, num("auv"), beta)
        elif ambito == "edificabilidad":
            assert vs is not None and ae_v is not None
            cod = formula_edificabilidad(vs, ae_v, beta)
        elif ambito == "lote-minimo":
            assert ir_v is not None
            cod = formula_lote_minimo(num("vsa"), ir_v, beta)
        elif ambito == "edificabilidad-uso":
            assert vs is not None and ae_v is not None and ir_v is not None
            cod = formula_edificabilidad_uso(vs, ae_v, ir_v, num("auv"), beta)
        else:
            assert vs is not None and ae_v is not None and ir_v is not None
            cod = formula_edificabilidad_lote_minimo(vs, ae_v, ir_v, num("auv"), beta)

        # --- exoneración VIS -------------------------------------------------------------------------------
        exo = _exoneracion(given, ambito, ae_v, params)
        cod_ex = cod_exonerado(cod, exo)

    formula = formula_text(
        ambito, beneficio=beneficio, interpretacion=params.ir_interpretacion, vs_fuente=vs_fuente
    )
    if beneficio:
        fuente += "; §5.1 Gráf. 26 (beneficios, sin β)"
    if "vis" in given:
        formula += "; COD_Ex = COD × (1 − min(VIS / Ae, 1))"
        fuente += "; §4.1 (exoneración VIS)"
    if not params.verificado:
        notas.append("REGLAS NO VERIFICADAS: los parámetros PARAM de las reglas son ilustrativos")
    return CodResult(
        ambito=ambito,
        cod_exacto=cod,
        cod=round_cents(cod),
        beta=beta,
        beta_fila=None if beta_res is None else beta_res.fila,
        beta_columna=None if beta_res is None else beta_res.columna,
        ic=ic,
        vs=vs,
        exoneracion=exo,
        cod_exonerado_exacto=cod_ex,
        cod_exonerado=round_cents(cod_ex),
        formula=formula,
        fuente=fuente,
        estado=estado,
        verificado=params.verificado,
        reglas_version=params.version,
        reglas_origen=params.source,
        beneficio=beneficio,
        precondiciones=precondiciones,
        parametros=used,
        notas=tuple(notas),
    )


def _vs_c(
    given: Mapping[str, Any], params: CalcParams, used: dict[str, Decimal], ambito: str, why: str
) -> tuple[Decimal, str]:
    """Vs_c for ``uso`` from exactly one source: ``vs_c``, α × Vcc (given or components), or avalúo / área."""
    components = [k for k in _VCC_COMPONENTS if k in given]
    sources = [
        name
        for name, present in (
            ("vs_c", "vs_c" in given),
            ("vcc", "vcc" in given),
            ("componentes del avalúo", bool(components)),
            ("avaluo_terreno", "avaluo_terreno" in given),
        )
        if present
    ]
    rule = "Anexo 01 §2.1, Gráf. 8"
    if len(sources) != 1:
        listed = ", ".join(sources) if sources else "ninguna"
        raise CalcInputError(
            f"para el ámbito uso indique una sola fuente de Vs_c ({rule}): --vcc con --alfa, los componentes "
            "del "
            f"avalúo (--avaluo-cubiertas --area-cubiertas … --regimen) con --alfa, o --avaluo-terreno con "
            f"--area-terreno si el predio no tiene construcción; recibidas: {listed}",
            parameter="vcc",
            rule=rule,
        )
    source = sources[0]
    if source != "avaluo_terreno" and "area_terreno" in given:
        raise CalcInputError(
            f"area_terreno (--area-terreno) solo interviene en el ámbito uso con --avaluo-terreno ({rule}); "
            "quítelo",
            parameter="area_terreno",
            rule=rule,
        )
    if source in ("vs_c", "avaluo_terreno") and "alfa" in given:
        raise CalcInputError(
            "alfa (--alfa) no interviene cuando Vs_c se da directamente o sale del avalúo del terreno "
            f"({rule}); "
            "quítelo",
            parameter="alfa",
            rule=rule,
        )
    if source == "vs_c":
        v = non_negative(given["vs_c"], "vs_c", rule=rule)
        used["vs_c"] = v
        return v, "Vs_c dado"
    if source == "avaluo_terreno":
        av = non_negative(given["avaluo_terreno"], "avaluo_terreno", rule="Anexo 01 §2.1")
        area = non_negative(
            _need(given, "area_terreno", ambito, "Anexo 01 §2.1: Vs_c = avalúo / área"),
            "area_terreno",
            rule="Anexo 01 §2.1",
        )
        if area == 0:
            raise CalcInputError(
                "area_terreno (--area-terreno) = 0: Vs_c = avalúo del terreno / área no está definido (Anexo "
                "01 "
                "§2.1); indique el área según escritura",
                parameter="area_terreno",
                rule="Anexo 01 §2.1",
            )
        used["avaluo_terreno"] = av
        used["area_terreno"] = area
        vsc = av / area
        used["vs_c"] = vsc
        return vsc, "Vs_c = avalúo del terreno / área del terreno (sin construcción)"
    alfa = check_alfa(_need(given, "alfa", ambito, why), params)
    used["alfa"] = alfa
    if source == "vcc":
        vcc = non_negative(given["vcc"], "vcc", rule=rule)
        texto = "Vs_c = α × Vcc"
    else:
        vcc, texto = _vcc_from_components(given)
    if vcc == 0:
        raise CalcInputError(
            f"Vcc = 0: el predio no tiene construcción valorada ({rule}); para un predio sin construcción "
            "use "
            "--avaluo-terreno y --area-terreno",
            parameter="vcc",
            rule=rule,
        )
    used["vcc"] = vcc
    vsc = alfa * vcc
    used["vs_c"] = vsc
    return vsc, texto


def _vcc_from_components(given: Mapping[str, Any]) -> tuple[Decimal, str]:
    regimen = given.get("regimen")
    if regimen is None:
        raise CalcInputError(
            "falta regimen (--regimen): indique 'unipropiedad' o 'propiedad_horizontal' para calcular Vcc "
            "con los "
            "componentes del avalúo (Anexo 01 §2.1, Gráf. 10–11)",
            parameter="regimen",
            rule="Anexo 01 §2.1",
        )
    reg = str(regimen).strip().lower().replace("-", "_").replace(" ", "_")
    if reg not in ("unipropiedad", "propiedad_horizontal"):
        raise CalcInputError(
            f"regimen = {regimen!r} no es válido; use 'unipropiedad' o 'propiedad_horizontal' (Anexo 01 "
            "§2.1)",
            parameter="regimen",
            rule="Anexo 01 §2.1",
        )
    # Each avalúo goes with its area; an area without avalúo (or the reverse) is a data mistake.
    pairs = [("avaluo_abiertas", "area_abiertas"), ("avaluo_adicionales", "area_adicionales")]
    for a, b in [("avaluo_cubiertas", "area_cubiertas"), *pairs]:
        if (a in given) != (b in given):
            missing = b if a in given else a
            raise CalcInputError(
                f"falta {cli_name(missing)}: cada avalúo de componente va con su área (Anexo 01 §2.1, Gráf. "
                "10–11)",
                parameter=missing,
                rule="Anexo 01 §2.1",
            )
    extra_ok = "avaluo_instalaciones_especiales" if reg == "unipropiedad" else "avaluo_comunal"
    extra_bad = "avaluo_comunal" if reg == "unipropiedad" else "avaluo_instalaciones_especiales"
    if extra_bad in given:
        raise CalcInputError(
            f"{cli_name(extra_bad)} no corresponde al régimen {reg} (Anexo 01 §2.1, Gráf. "
            f"{'10' if reg == 'unipropiedad' else '11'}); quítelo",
            parameter=extra_bad,
            rule="Anexo 01 §2.1",
        )
    if extra_ok in given and "area_cubiertas" not in given:
        raise CalcInputError(
            f"{cli_name(extra_ok)} se divide para el área cubierta: falta area_cubiertas (--area-cubiertas)",
            parameter="area_cubiertas",
            rule="Anexo 01 §2.1",
        )
    kwargs = {
        k: given[k] for k in ("avaluo_cubiertas", "area_cubiertas", extra_ok, *sum(pairs, ())) if k in given
    }
    if "avaluo_cubiertas" not in kwargs:
        kwargs["avaluo_cubiertas"] = 0
        kwargs["area_cubiertas"] = 0
    if reg == "unipropiedad":
        return vcc_unipropiedad(**kwargs), "Vs_c = α × Vcc; Vcc unipropiedad (Gráf. 10)"
    return vcc_propiedad_horizontal(**kwargs), "Vs_c = α × Vcc; Vcc propiedad horizontal (Gráf. 11)"


def _exoneracion(
    given: Mapping[str, Any], ambito: str, ae: Decimal | None, params: CalcParams
) -> Exoneracion:
    has_vis, has_total = "vis" in given, "area_util_proyecto" in given
    if not has_vis and not has_total:
        return NINGUNA
    if ambito not in params.vis_ambitos or ae is None:
        raise CalcInputError(
            f"la exoneración VIS ({VIS_RULE}: Ex = VIS / Ae) no se aplica al ámbito {ambito}, que no tiene "
            "Ae "
            f"(reglas: exoneracion.ambitos = {sorted(params.vis_ambitos)}); quite --vis y "
            "--area-util-proyecto",
            parameter="vis",
            rule=VIS_RULE,
        )
    if not has_total:
        raise _missing("area_util_proyecto", ambito, f"{VIS_RULE}: VIS ≥ 20 % del área útil del proyecto")
    if not has_vis:
        raise _missing("vis", ambito, f"{VIS_RULE}: se dio el área útil del proyecto sin el área VIS")
    return exoneracion_params(
        vis=given["vis"], ae=ae, area_util_proyecto=given["area_util_proyecto"], params=params
    )


#: The §2.2.2 conditions: key → (left parameter, relation, right parameter, literal, text).
PRECONDICIONES: dict[str, tuple[str, str, str, str]] = {
    "lote_minimo_menor": ("lote_minimo_nuevo", "<", "lote_minimo_anterior", "a)"),
    "lote_resultante_menor": ("lote_resultante_menor", "<", "lote_minimo_anterior", "a)"),
    "cos_pb_igual_o_mayor": ("cos_pb_nuevo", ">=", "cos_pb_anterior", "b)"),
    "pisos_igual_o_mayor": ("pisos_nuevo", ">=", "pisos_anterior", "b)"),
}


def check_preconditions(given: Mapping[str, Any]) -> dict[str, bool | None]:
    """Check the lote-mínimo preconditions of Anexo 01 §2.2.2 (TEXT).

    a) the new lote mínimo is smaller than the old one, and at least one resulting lot is smaller than the old
    lote mínimo; b) COS PB and floors are equal to or larger than before. A condition is checked when both of
    its values are given; with one of the two only, it is an error (half a comparison is not a check).

    Parameters
    ----------
    given : mapping
        The inputs (``lote_minimo_anterior``, ``lote_minimo_nuevo``, ``lote_resultante_menor``,
        ``cos_pb_anterior``, ``cos_pb_nuevo``, ``pisos_anterior``, ``pisos_nuevo``), absent or None when
        unknown.

    Returns
    -------
    dict
        condition → True (met) or None (not verified: values not given).

    Raises
    ------
    PreconditionError
        When a condition fails; the message names the parameter and the literal of §2.2.2.
    """
    out: dict[str, bool | None] = {}
    rule = "Anexo 01 §2.2.2"
    for key, (left, op, right, literal) in PRECONDICIONES.items():
        lv, rv = given.get(left), given.get(right)
        if lv is None and rv is None:
            out[key] = None
            continue
        if lv is None or rv is None:
            present, missing = (left, right) if lv is not None else (right, left)
            raise CalcInputError(
                f"falta {cli_name(missing)} para verificar la condición {literal} de {rule} con "
                f"{cli_name(present)}; indique ambos o ninguno",
                parameter=missing,
                rule=rule,
            )
        ld = non_negative(lv, left, rule=rule)
        rd = non_negative(rv, right, rule=rule)
        ok = ld < rd if op == "<" else ld >= rd
        if not ok:
            rel = "menor que" if op == "<" else "igual o mayor que"
            raise PreconditionError(
                f"no se cumple {rule} {literal}: {left.replace('_', ' ')} (--{left.replace('_', '-')}) = "
                f"{lv} debe "
                f"ser {rel} {right.replace('_', ' ')} = {rv}; el cambio de lote mínimo no genera COD por "
                "este ámbito",
                parameter=left,
                rule=f"{rule} {literal}",
            )
        out[key] = True
    return out


# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CodMayorResult:
    """The larger-of rule of Anexo 01 §2.3.3 (TEXT) for a lot with lote-mínimo change and uso change.

    Attributes
    ----------
    ambito_ganador : str
        ``"uso"`` or ``"lote-minimo"``: the ámbito whose COD in cents is larger (ties go to ``uso``).
    resultado : CodResult
        The winning computation (the COD to charge).
    uso, lote_minimo : CodResult
        Both computations, for the record.
    """

    ambito_ganador: str
    resultado: CodResult
    uso: CodResult
    lote_minimo: CodResult


def cod_mayor(uso: CodResult, lote_minimo: CodResult) -> CodMayorResult:
    """Pick the ámbito that yields the larger COD (Anexo 01 §2.3.3 "Particularidad"; TEXT).

    Compares the COD in cents (what is charged; no exoneration applies to these ámbitos); equal cents keep
    ``uso``, since the amount is the same. The vectorised
    :func:`~quitogeo.calc.vectorized.mayor_frame` decides identically.

    Parameters
    ----------
    uso : CodResult
        Result of ``compute_cod("uso", ...)``.
    lote_minimo : CodResult
        Result of ``compute_cod("lote-minimo", ...)`` for the same lot.

    Returns
    -------
    CodMayorResult

    Raises
    ------
    CalcInputError
        When the results are not of those two ámbitos or mix beneficio and COD.
    """
    if uso.ambito != "uso" or lote_minimo.ambito != "lote-minimo":
        raise CalcInputError(
            f"la regla del mayor (Anexo 01 §2.3.3) compara uso y lote-minimo; se recibió {uso.ambito} y "
            f"{lote_minimo.ambito}",
            parameter="ambito",
            rule="Anexo 01 §2.3.3",
        )
    if uso.beneficio != lote_minimo.beneficio:
        raise CalcInputError(
            "la regla del mayor (Anexo 01 §2.3.3) no puede comparar un beneficio (sin β) con una COD",
            parameter="beneficio",
            rule="Anexo 01 §2.3.3",
        )
    if lote_minimo.cod > uso.cod:
        return CodMayorResult("lote-minimo", lote_minimo, uso, lote_minimo)
    return CodMayorResult("uso", uso, uso, lote_minimo)


def compute_cod_mayor(
    *, rules: Rules, uso: Mapping[str, Any], lote_minimo: Mapping[str, Any], beneficio: bool = False
) -> CodMayorResult:
    """Compute ``uso`` and ``lote-minimo`` for one lot and keep the larger (Anexo 01 §2.3.3; TEXT).

    Parameters
    ----------
    rules : Rules
        Rules in force.
    uso, lote_minimo : mapping
        Keyword arguments of :func:`compute_cod` for each ámbito (``aiva`` in both).
    beneficio : bool, default False
        Compute beneficios (no β) instead.

    Returns
    -------
    CodMayorResult
    """
    params = calc_params(rules)
    a = compute_cod_params("uso", params=params, given=uso, beneficio=beneficio)
    b = compute_cod_params("lote-minimo", params=params, given=lote_minimo, beneficio=beneficio)
    return cod_mayor(a, b)


__all__ = [
    "FUENTES",
    "PRECONDICIONES",
    "CodMayorResult",
    "CodResult",
    "check_preconditions",
    "cod_mayor",
    "compute_cod",
    "compute_cod_mayor",
    "compute_cod_params",
    "formula_edificabilidad",
    "formula_edificabilidad_lote_minimo",
    "formula_edificabilidad_uso",
    "formula_lote_minimo",
    "formula_text",
    "formula_uso",
    "ir_efectivo",
]
