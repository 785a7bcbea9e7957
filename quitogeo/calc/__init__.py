"""The COD calc core (Anexo 01; normativa.md §1–2): pure functions, exact money, a vectorised form.

Imports only the standard library, numpy, pandas, :mod:`quitogeo.errors` and :mod:`quitogeo.rules`: no GIS,
no I/O. Every parameter of the norm comes from the :class:`~quitogeo.rules.Rules` passed as ``rules=``.
"""

from quitogeo.calc.beta import BetaResult, beta_lookup
from quitogeo.calc.cod import (
    CodMayorResult,
    CodResult,
    check_preconditions,
    cod_mayor,
    compute_cod,
    compute_cod_mayor,
)
from quitogeo.calc.exoneracion import Exoneracion, exoneracion_vis
from quitogeo.calc.money import format_money, round_cents, to_decimal
from quitogeo.calc.params import AMBITOS
from quitogeo.calc.valor_suelo import (
    fu_ponderado,
    valor_suelo,
    valor_suelo_sin_construccion,
    valor_suelo_uso,
    vcc_propiedad_horizontal,
    vcc_unipropiedad,
)
from quitogeo.calc.vectorized import cod_frame, mayor_frame, needed_columns

__all__ = [
    "AMBITOS",
    "BetaResult",
    "CodMayorResult",
    "CodResult",
    "Exoneracion",
    "beta_lookup",
    "check_preconditions",
    "cod_frame",
    "cod_mayor",
    "compute_cod",
    "compute_cod_mayor",
    "exoneracion_vis",
    "format_money",
    "fu_ponderado",
    "mayor_frame",
    "needed_columns",
    "round_cents",
    "to_decimal",
    "valor_suelo",
    "valor_suelo_sin_construccion",
    "valor_suelo_uso",
    "vcc_propiedad_horizontal",
    "vcc_unipropiedad",
]
