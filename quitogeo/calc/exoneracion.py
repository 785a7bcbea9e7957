"""Exoneración VIS (Anexo 01 §4.1, Gráf. 23–24; normativa.md §2 "Exoneración VIS").

- Applies only if the VIS área útil is at least ``umbrales.vis_fraccion_min`` (20 %) of the project's total
  área útil (TEXT); below it, no exoneration at all.
- Ex = VIS / Ae; COD_Ex = COD × (1 − min(Ex, 1)) (READING). Total when Ex ≥ 1 or Ae = VIS (TEXT).
- Ex needs Ae, so it applies to the ámbitos of ``exoneracion.ambitos`` in the rules (READING, see the rules
  file).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from quitogeo.calc.beta import non_negative
from quitogeo.calc.money import Number, exact_context
from quitogeo.calc.params import CalcParams, calc_params
from quitogeo.errors import CalcInputError
from quitogeo.rules import Rules

RULE = "Anexo 01 §4.1, Gráf. 23–24"


@dataclass(frozen=True)
class Exoneracion:
    """The VIS exoneration of one project.

    Attributes
    ----------
    aplica : bool
        Whether VIS reaches the threshold share of the project's área útil.
    ex : Decimal or None
        Ex = VIS / Ae unrounded; None when Ae = 0 (then the exoneration is total) or when VIS was not given.
    fraccion : Decimal
        The share of the COD exonerated, min(Ex, 1); 0 when it does not apply.
    total : bool
        Ex ≥ 1 or Ae = VIS (TEXT).
    motivo : str
        One sentence in Spanish explaining the outcome.
    """

    aplica: bool
    ex: Decimal | None
    fraccion: Decimal
    total: bool
    motivo: str


NINGUNA = Exoneracion(aplica=False, ex=None, fraccion=Decimal(0), total=False, motivo="sin VIS: no aplica")


def exoneracion_vis(*, vis: Number, ae: Number, area_util_proyecto: Number, rules: Rules) -> Exoneracion:
    """Share of the COD exonerated for a project with vivienda de interés social (Anexo 01 §4.1).

    Status: threshold and total cases TEXT; Ex = VIS / Ae and COD_Ex = COD × (1 − min(Ex, 1)) READING.

    Parameters
    ----------
    vis : number
        Área útil built for VIS, m².
    ae : number
        Área útil excedente, m².
    area_util_proyecto : number
        The project's total área útil, m² (> 0, ≥ VIS).
    rules : Rules
        Source of the threshold (``umbrales.vis_fraccion_min``).

    Returns
    -------
    Exoneracion

    Raises
    ------
    CalcInputError
        Negative values, a zero project área útil, or VIS larger than the project's área útil.

    Examples
    --------
    >>> from quitogeo.rules import load_rules
    >>> exoneracion_vis(vis=150, ae=300, area_util_proyecto=600, rules=load_rules()).fraccion  # 150/300
    Decimal('0.5')
    """
    return exoneracion_params(
        vis=vis, ae=ae, area_util_proyecto=area_util_proyecto, params=calc_params(rules)
    )


def exoneracion_params(
    *, vis: Number, ae: Number, area_util_proyecto: Number, params: CalcParams
) -> Exoneracion:
    """:func:`exoneracion_vis` with the rules already extracted (used by the calc core)."""
    v = non_negative(vis, "vis", rule=RULE)
    a = non_negative(ae, "ae", rule=RULE)
    p = non_negative(area_util_proyecto, "area_util_proyecto", rule=RULE)
    if p == 0:
        raise CalcInputError(
            f"area_util_proyecto = 0: no se puede medir la proporción de VIS ({RULE}); indique el área útil "
            "total "
            "del proyecto",
            parameter="area_util_proyecto",
            rule=RULE,
        )
    if v > p:
        raise CalcInputError(
            f"vis = {vis} m² es mayor que area_util_proyecto = {area_util_proyecto} m² ({RULE}): el área VIS "
            "es "
            "parte del área útil del proyecto; corrija uno de los dos",
            parameter="vis",
            rule=RULE,
        )
    umbral = params.vis_fraccion_min
    with exact_context():
        # VIS / proyecto ≥ umbral compared without dividing, so "at 20 %" is exact.
        if v < umbral * p:
            share = v / p
            return Exoneracion(
                aplica=False,
                ex=None,
                fraccion=Decimal(0),
                total=False,
                motivo=f"VIS = {share * 100:.2f} % del área útil del proyecto, menor que el "
                f"{umbral * 100:g} %: no hay exoneración (Anexo 01 §4.1)",
            )
        if a == 0:
            # Ex = VIS / 0: nothing to charge above; TEXT a) (Ex ≥ 1) taken as total.
            return Exoneracion(
                aplica=True, ex=None, fraccion=Decimal(1), total=True, motivo="Ae = 0: exoneración total"
            )
        ex = v / a
        if v >= a:
            motivo = "Ae = VIS: exoneración total" if v == a else "Ex = VIS / Ae ≥ 1: exoneración total"
            return Exoneracion(aplica=True, ex=ex, fraccion=Decimal(1), total=True, motivo=motivo)
        return Exoneracion(
            aplica=True, ex=ex, fraccion=ex, total=False, motivo="exoneración parcial: Ex = VIS / Ae"
        )


def cod_exonerado(cod: Decimal, exoneracion: Exoneracion) -> Decimal:
    """COD_Ex = COD × (1 − min(Ex, 1)), unrounded (Anexo 01 §4.1, Gráf. 23; READING)."""
    with exact_context():
        return cod * (1 - exoneracion.fraccion)


__all__ = ["NINGUNA", "RULE", "Exoneracion", "cod_exonerado", "exoneracion_params", "exoneracion_vis"]
