"""Exact numbers for the calc core: parsing inputs to :class:`~decimal.Decimal` and rounding money.

normativa.md §2 "Money" (TEXT of our spec): compute in ``decimal.Decimal``, round only the final COD to cents
with ROUND_HALF_UP, keep intermediates unrounded; negative or non-finite inputs are errors, never zero.

Floats are converted through ``repr`` (``Decimal(repr(0.1)) == Decimal("0.1")``): a float typed by a person or
read from a layer means its shortest decimal spelling, not its binary expansion. The vectorised form
(:mod:`quitogeo.calc.vectorized`) promises the same cents as this convention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from typing import Union

from quitogeo.errors import CalcInputError

#: What the public functions accept as a number.
Number = Union[Decimal, int, float, str]  # noqa: UP007  (a runtime alias: `|` needs 3.10 objects)

#: Working precision (significant digits). Products of the formulas (at most ~6 factors of ≤ 17 digits)
#: stay exact, so the only inexact steps are the divisions (IC, Vcc, weighted Fu, VIS/Ae), whose error at
#: this precision is far below a cent.
PRECISION = 200

CENT = Decimal("0.01")

# A plain number: optional sign, digits, optional decimal point. No thousands separator, no exponent, no
# comma as decimal mark (cli.md: "a plain number (a decimal point, no thousands separator)").
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@contextmanager
def exact_context() -> Iterator[None]:
    """Decimal context of the calc core: :data:`PRECISION` digits, half-even for intermediate results.

    Rounding to cents is explicit (:func:`round_cents`, half-up); this context only governs the
    (practically exact) intermediate arithmetic.
    """
    with localcontext() as ctx:
        ctx.prec = PRECISION
        ctx.rounding = ROUND_HALF_EVEN
        yield


def to_decimal(value: object, name: str, *, rule: str | None = None) -> Decimal:
    """Convert one input to an exact, finite :class:`~decimal.Decimal`.

    Parameters
    ----------
    value : Decimal, int, float or str
        The input. A float is read through ``repr`` (its shortest decimal spelling); a str must be a plain
        number with a decimal point (``"1.5"``; ``"1,5"``, ``"1 000"`` and ``"1e3"`` are refused).
    name : str
        The parameter's name, used in the error message (as the CLI spells it without ``--``).
    rule : str, optional
        Article that the parameter belongs to, added to the error.

    Returns
    -------
    Decimal

    Raises
    ------
    CalcInputError
        When the value is not a number, not finite, or a badly spelled string.
    """
    where = f" ({rule})" if rule else ""
    if isinstance(value, bool):
        raise CalcInputError(f"{name} = {value!r} no es un número{where}", parameter=name, rule=rule)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CalcInputError(
                f"{name} = {value!r} no es un número finito{where}; indique un valor numérico",
                parameter=name,
                rule=rule,
            )
        result = Decimal(repr(float(value)))  # float(): numpy 2 spells repr(np.float64) "np.float64(…)"
    elif isinstance(value, str):
        text = value.strip()
        if "," in text:
            raise CalcInputError(
                f"{name} = {value!r}: use punto decimal y sin separador de miles (p. ej. 1.5 o 1500.25)",
                parameter=name,
                rule=rule,
            )
        if not _PLAIN.match(text):
            raise CalcInputError(
                f"{name} = {value!r} no es un número simple (dígitos y punto decimal, p. ej. 450 o 0.12)",
                parameter=name,
                rule=rule,
            )
        result = Decimal(text)
    elif hasattr(value, "item") and callable(value.item):
        # numpy scalars (np.float32, np.int64 …): their Python value, then the rules above
        return to_decimal(value.item(), name, rule=rule)
    else:
        raise CalcInputError(f"{name} = {value!r} no es un número{where}", parameter=name, rule=rule)
    if not result.is_finite():
        raise CalcInputError(
            f"{name} = {value!r} no es un número finito{where}; indique un valor numérico",
            parameter=name,
            rule=rule,
        )
    return result


def rule_decimal(value: float | int) -> Decimal:
    """Convert a rules-file number to Decimal (through ``repr`` for floats, like every input)."""
    return Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)


def round_cents(value: Decimal) -> Decimal:
    """Round money to cents, ROUND_HALF_UP (normativa §2 "Money"): ``2.345 → 2.35``, ``2.344999 → 2.34``."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal) -> str:
    """Money as a string with exactly two decimals and no separators (the JSON of cli.md): ``"3960.00"``."""
    return f"{round_cents(value):.2f}"


__all__ = [
    "CENT",
    "PRECISION",
    "Number",
    "exact_context",
    "format_money",
    "round_cents",
    "rule_decimal",
    "to_decimal",
]
