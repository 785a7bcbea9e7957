"""The parameters of the calc core, read from a :class:`~quitogeo.rules.Rules` object.

Nothing in :mod:`quitogeo.calc` is a constant of the norm: the β table and its band limits, the α range, the
IR reading and the VIS threshold all come from the rules file the caller passes (normativa.md §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from quitogeo.calc.money import rule_decimal
from quitogeo.rules import Rules

#: The ámbitos of Anexo 01 §2 as the CLI names them (cli.md).
AMBITOS: tuple[str, ...] = (
    "uso",
    "edificabilidad",
    "lote-minimo",
    "edificabilidad-uso",
    "edificabilidad-lote-minimo",
)

#: Ámbitos whose formula contains Ae (the others take IC = ``beta.ic_sin_ae``, normativa §1).
AMBITOS_CON_AE = frozenset({"edificabilidad", "edificabilidad-uso", "edificabilidad-lote-minimo"})

#: Ámbitos subject to the §2.2.2 lote-mínimo preconditions.
AMBITOS_LOTE_MINIMO = frozenset({"lote-minimo", "edificabilidad-lote-minimo"})


@dataclass(frozen=True)
class CalcParams:
    """The rules values the calc core uses, as exact Decimals (and floats for the vectorised form)."""

    beta_tabla: tuple[tuple[Decimal, ...], ...]
    aiva_limites: tuple[Decimal, Decimal]
    ic_limites: tuple[Decimal, Decimal]
    ic_sin_ae: Decimal
    alfa_min: Decimal
    alfa_max: Decimal
    ir_interpretacion: str
    vis_fraccion_min: Decimal
    vis_ambitos: frozenset[str]
    version: str
    fuente: str
    verificado: bool
    source: str

    @property
    def alfa_rango(self) -> str:
        """The legal α range as text for messages: ``[0.07, 0.20]``."""
        return f"[{self.alfa_min}, {self.alfa_max}]"


def calc_params(rules: Rules) -> CalcParams:
    """Extract the calc core's parameters from validated rules.

    Parameters
    ----------
    rules : Rules
        A rules object from :func:`quitogeo.rules.load_rules` (already validated).

    Returns
    -------
    CalcParams
    """
    if not isinstance(rules, Rules):
        raise TypeError(
            f"rules debe ser un objeto Rules (quitogeo.rules.load_rules()), no {type(rules).__name__}"
        )
    beta = rules["beta"]
    vs = rules["valor_suelo"]
    aiva = tuple(rule_decimal(x) for x in beta["aiva_limites"])
    ic = tuple(rule_decimal(x) for x in beta["ic_limites"])
    return CalcParams(
        beta_tabla=tuple(tuple(rule_decimal(b) for b in row) for row in beta["tabla"]),
        aiva_limites=(aiva[0], aiva[1]),
        ic_limites=(ic[0], ic[1]),
        ic_sin_ae=rule_decimal(beta["ic_sin_ae"]),
        alfa_min=rule_decimal(vs["alfa_min"]),
        alfa_max=rule_decimal(vs["alfa_max"]),
        ir_interpretacion=str(rules["ir"]["interpretacion"]),
        vis_fraccion_min=rule_decimal(rules["umbrales"]["vis_fraccion_min"]),
        vis_ambitos=frozenset(rules["exoneracion"]["ambitos"]),
        version=rules.version,
        fuente=rules.fuente,
        verificado=rules.verificado,
        source=rules.source,
    )


__all__ = ["AMBITOS", "AMBITOS_CON_AE", "AMBITOS_LOTE_MINIMO", "CalcParams", "calc_params"]
