"""Valor del suelo: Vs (edificabilidad) and Vs_c (uso), with Vcc and the weighted Fu (Anexo 01 §2.1–2.2.1).

- Vs = α × Vc × Fu (Anexo 01 §2.2.1, Gráf. 15; TEXT). Several uses → Fu averaged by área útil (TEXT).
- Vs_c = α × Vcc when the lot has construction (§2.1, Gráf. 8; READING); with no construction,
  Vs_c = avalúo del terreno / área del terreno según escritura (§2.1; TEXT).
- Vcc from the avalúo components, unipropiedad (Gráf. 10) and propiedad horizontal (Gráf. 11); TEXT. A
  component with zero area contributes 0 (normativa §2).

α must lie in the rules' range ([0.07, 0.20] in the packaged file, Anexo 01 §2.1 TEXT); there is no default α
in code.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from quitogeo.calc.beta import non_negative
from quitogeo.calc.money import Number, exact_context
from quitogeo.calc.params import CalcParams, calc_params
from quitogeo.errors import CalcInputError
from quitogeo.rules import Rules

_ALFA_RULE = "Anexo 01 §2.1 y §2.2.1: α entre 7 % y 20 %"
_VS_RULE = "Anexo 01 §2.2.1, Gráf. 15"
_VCC_UP_RULE = "Anexo 01 §2.1, Gráf. 10"
_VCC_PH_RULE = "Anexo 01 §2.1, Gráf. 11"
_VSC_RULE = "Anexo 01 §2.1, Gráf. 8"


def check_alfa(alfa: Number, params: CalcParams) -> Decimal:
    """α as Decimal, refused outside ``[alfa_min, alfa_max]`` of the rules (Anexo 01 §2.1; TEXT)."""
    a = non_negative(alfa, "alfa", rule=_ALFA_RULE)
    if not params.alfa_min <= a <= params.alfa_max:
        raise CalcInputError(
            f"alfa = {alfa} está fuera del rango {params.alfa_rango} ({_ALFA_RULE}); indique α dentro del "
            "rango",
            parameter="alfa",
            rule=_ALFA_RULE,
        )
    return a


def fu_ponderado(usos: Sequence[tuple[Number, Number]]) -> Decimal:
    """Fu of a project with several uses: the average of each use's Fu weighted by its área útil.

    Anexo 01 §2.2.1, Gráf. 16 (TEXT): Fu = Σ Fu_i × área útil_i / Σ área útil_i.

    Parameters
    ----------
    usos : sequence of (fu, area_util)
        One pair per use.

    Returns
    -------
    Decimal
        Unrounded weighted Fu.

    Raises
    ------
    CalcInputError
        When the list is empty, a value is negative, or the total área útil is zero.

    Examples
    --------
    >>> fu_ponderado([("1.0", 300), ("1.2", 100)])  # (300 + 120) / 400
    Decimal('1.05')
    """
    rule = "Anexo 01 §2.2.1, Gráf. 16"
    if not usos:
        raise CalcInputError(
            f"fu_usos está vacío ({rule}); indique al menos un par (fu, área útil)", parameter="fu"
        )
    with exact_context():
        total = Decimal(0)
        weighted = Decimal(0)
        for i, (fu, area) in enumerate(usos, 1):
            f = non_negative(fu, f"fu (uso {i})", rule=rule)
            a = non_negative(area, f"área útil (uso {i})", rule=rule)
            total += a
            weighted += f * a
        if total == 0:
            raise CalcInputError(
                f"el área útil total de los usos es 0 ({rule}); indique el área útil de cada uso",
                parameter="fu",
            )
        return weighted / total


def valor_suelo(alfa: Number, vc: Number, fu: Number, *, rules: Rules) -> Decimal:
    """Vs = α × Vc × Fu, $/m² (Anexo 01 §2.2.1, Gráf. 15; TEXT).

    Parameters
    ----------
    alfa : number
        α, share of land in the construction cost; within the rules' range.
    vc : number
        Construction cost of the predominant structure type, $/m² (PARAM).
    fu : number
        Use factor (PARAM; see :func:`fu_ponderado` for several uses).
    rules : Rules
        Source of the α range.

    Returns
    -------
    Decimal
        Unrounded Vs.

    Examples
    --------
    >>> from quitogeo.rules import load_rules
    >>> valor_suelo("0.12", 500, "1.0", rules=load_rules())
    Decimal('60.000')
    """
    params = calc_params(rules)
    a = check_alfa(alfa, params)
    with exact_context():
        return a * non_negative(vc, "vc", rule=_VS_RULE) * non_negative(fu, "fu", rule=_VS_RULE)


def _unit(avaluo: Decimal, area: Decimal) -> Decimal:
    """avalúo / área of one component; a component with zero area contributes 0 (normativa §2)."""
    return avaluo / area if area > 0 else Decimal(0)


def _vcc(
    *,
    rule: str,
    avaluo_cubiertas: Number,
    area_cubiertas: Number,
    extra_cubiertas: tuple[str, Number],
    avaluo_abiertas: Number,
    area_abiertas: Number,
    avaluo_adicionales: Number,
    area_adicionales: Number,
) -> Decimal:
    """Sum the per-component unit costs of Gráf. 10 and 11 (TEXT).

    (cubiertas + extra) / área cubierta + abiertas / área abiertas + adicionales / área adicionales, where
    ``extra_cubiertas`` is the regime's addition to the covered avalúo: instalaciones especiales in
    unipropiedad, the comunal avalúos in propiedad horizontal.
    """
    extra_name, extra_value = extra_cubiertas
    with exact_context():
        cub = non_negative(avaluo_cubiertas, "avaluo_cubiertas", rule=rule) + non_negative(
            extra_value, extra_name, rule=rule
        )
        return (
            _unit(cub, non_negative(area_cubiertas, "area_cubiertas", rule=rule))
            + _unit(
                non_negative(avaluo_abiertas, "avaluo_abiertas", rule=rule),
                non_negative(area_abiertas, "area_abiertas", rule=rule),
            )
            + _unit(
                non_negative(avaluo_adicionales, "avaluo_adicionales", rule=rule),
                non_negative(area_adicionales, "area_adicionales", rule=rule),
            )
        )


def vcc_unipropiedad(
    *,
    avaluo_cubiertas: Number,
    area_cubiertas: Number,
    avaluo_instalaciones_especiales: Number = 0,
    avaluo_abiertas: Number = 0,
    area_abiertas: Number = 0,
    avaluo_adicionales: Number = 0,
    area_adicionales: Number = 0,
) -> Decimal:
    """Vcc of a lot in unipropiedad, $/m² (Anexo 01 §2.1 num. 1, Gráf. 10; TEXT).

    Vcc = (avalúo cubiertas + avalúo instalaciones especiales) / área cubiertas
    + avalúo abiertas / área abiertas + avalúo adicionales constructivos / área adicionales.
    A component with zero area contributes 0.

    Returns
    -------
    Decimal
        Unrounded Vcc.

    Examples
    --------
    >>> vcc_unipropiedad(avaluo_cubiertas=40000, area_cubiertas=100, avaluo_instalaciones_especiales=2000,
    ...                  avaluo_abiertas=1500, area_abiertas=30)  # 42000/100 + 1500/30
    Decimal('470')
    """
    return _vcc(
        rule=_VCC_UP_RULE,
        avaluo_cubiertas=avaluo_cubiertas,
        area_cubiertas=area_cubiertas,
        extra_cubiertas=("avaluo_instalaciones_especiales", avaluo_instalaciones_especiales),
        avaluo_abiertas=avaluo_abiertas,
        area_abiertas=area_abiertas,
        avaluo_adicionales=avaluo_adicionales,
        area_adicionales=area_adicionales,
    )


def vcc_propiedad_horizontal(
    *,
    avaluo_cubiertas: Number,
    area_cubiertas: Number,
    avaluo_comunal: Number = 0,
    avaluo_abiertas: Number = 0,
    area_abiertas: Number = 0,
    avaluo_adicionales: Number = 0,
    area_adicionales: Number = 0,
) -> Decimal:
    """Vcc of a unit in propiedad horizontal, $/m² (Anexo 01 §2.1 num. 2, Gráf. 11; TEXT).

    Vcc = (avalúo cubiertas + avalúo comunal) / área cubierta + avalúo abiertas / área abiertas
    + avalúo adicionales / área adicionales, where ``avaluo_comunal`` is the sum of the common-area avalúos
    prorated by alícuota (covered, open, adicionales) plus the avalúo comunal especial. A component with zero
    area contributes 0.

    Returns
    -------
    Decimal
        Unrounded Vcc.

    Examples
    --------
    >>> vcc_propiedad_horizontal(avaluo_cubiertas=30000, area_cubiertas=80, avaluo_comunal=2000)  # 32000/80
    Decimal('400')
    """
    return _vcc(
        rule=_VCC_PH_RULE,
        avaluo_cubiertas=avaluo_cubiertas,
        area_cubiertas=area_cubiertas,
        extra_cubiertas=("avaluo_comunal", avaluo_comunal),
        avaluo_abiertas=avaluo_abiertas,
        area_abiertas=area_abiertas,
        avaluo_adicionales=avaluo_adicionales,
        area_adicionales=area_adicionales,
    )


def valor_suelo_uso(alfa: Number, vcc: Number, *, rules: Rules) -> Decimal:
    """Vs_c = α × Vcc for a lot with construction, $/m² (Anexo 01 §2.1, Gráf. 8; READING).

    Returns
    -------
    Decimal
        Unrounded Vs_c.
    """
    a = check_alfa(alfa, calc_params(rules))
    with exact_context():
        return a * non_negative(vcc, "vcc", rule=_VSC_RULE)


def valor_suelo_sin_construccion(avaluo_terreno: Number, area_terreno: Number) -> Decimal:
    """Vs_c = avalúo del terreno / área del terreno según escritura for a lot with no construction.

    Anexo 01 §2.1, after Gráf. 8 (TEXT).

    Returns
    -------
    Decimal
        Unrounded Vs_c.

    Raises
    ------
    CalcInputError
        When the area is zero or a value negative.
    """
    rule = "Anexo 01 §2.1 (predio sin construcción)"
    with exact_context():
        av = non_negative(avaluo_terreno, "avaluo_terreno", rule=rule)
        area = non_negative(area_terreno, "area_terreno", rule=rule)
        if area == 0:
            raise CalcInputError(
                f"area_terreno = 0: no se puede dividir el avalúo del terreno ({rule}); indique el área "
                "según "
                "escritura",
                parameter="area_terreno",
                rule=rule,
            )
        return av / area


__all__ = [
    "check_alfa",
    "fu_ponderado",
    "valor_suelo",
    "valor_suelo_sin_construccion",
    "valor_suelo_uso",
    "vcc_propiedad_horizontal",
    "vcc_unipropiedad",
]
