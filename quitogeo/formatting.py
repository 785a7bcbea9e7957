"""Money, numbers and dates as quitogeo prints them for people (documents, map, CLI), for Ecuador.

Convention (one, everywhere: the IPRUS, the liquidación, the web map and the CLI summary):

* **Money**: Ecuador's currency is the US dollar. Amounts print as ``USD 1.234,56`` — the ISO code, a
  non-breaking space, a dot between thousands and a comma before exactly two decimals (the separators of the
  Spanish-language norm texts and of INEC's publications). Negative amounts print ``-USD 1.234,56``.
* **Other numbers**: the same separators (``1.234,5`` m², ``0,23``).
* **Dates**: ``dd/mm/aaaa`` (``05/03/2025``).

Machine outputs (the JSON of the liquidación) never use these: money there is a string with a dot and exactly
two decimals (``"1234.56"``), as ``quitogeo calc --json`` prints it, and dates are ISO ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: Printed in a field whose value the results do not carry (never an invented value).
SIN_DATO = "sin dato"

_NBSP = "\u00a0"
_CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal | None:
    """Return ``value`` as a :class:`~decimal.Decimal`, or None when it is missing (None, NaN, empty).

    Parameters
    ----------
    value : object
        A number (int, float, Decimal, numpy scalar) or a numeric string with a dot as decimal separator.

    Returns
    -------
    Decimal or None
    """
    if value is None:
        return None
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    # repr of a float is its shortest round-trip form: 0.1 → "0.1", not 0.1000000000000000055…
    return Decimal(repr(number))


def _group(integer_digits: str) -> str:
    """Insert a dot every three digits from the right: ``"1234567"`` → ``"1.234.567"``."""
    head = len(integer_digits) % 3 or 3
    parts = [integer_digits[:head]] + [integer_digits[i : i + 3] for i in range(head, len(integer_digits), 3)]
    return ".".join(parts)


def format_number(value: object, decimals: int = 2, *, missing: str = SIN_DATO) -> str:
    """Format a number with Ecuadorian separators, rounded half-up to ``decimals``.

    Parameters
    ----------
    value : object
        The number; None/NaN print ``missing``.
    decimals : int, optional
        Digits after the decimal comma (0 prints an integer).
    missing : str, optional
        Text for a missing value.

    Returns
    -------
    str
        E.g. ``format_number(1234.5, 1)`` → ``"1.234,5"``.
    """
    number = to_decimal(value)
    if number is None:
        return missing
    quant = Decimal(1).scaleb(-decimals)
    rounded = number.quantize(quant, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    text = f"{abs(rounded):.{decimals}f}"
    integer, _, fraction = text.partition(".")
    out = _group(integer)
    if decimals > 0:
        out += "," + fraction
    return sign + out


def format_money(value: object, *, missing: str = SIN_DATO) -> str:
    """Format an amount in US dollars: ``USD 1.234,56`` (rounded half-up to the cent).

    Parameters
    ----------
    value : object
        The amount in dollars (Decimal, number or numeric string); None/NaN print ``missing``.
    missing : str, optional
        Text for a missing value.

    Returns
    -------
    str
    """
    number = to_decimal(value)
    if number is None:
        return missing
    body = format_number(abs(number), 2)
    sign = "-" if number.quantize(_CENT, rounding=ROUND_HALF_UP) < 0 else ""
    return f"{sign}USD{_NBSP}{body}"


def format_cents(cents: int) -> str:
    """Format an integer number of cents as money (``123456`` → ``USD 1.234,56``)."""
    return format_money(Decimal(cents).scaleb(-2))


def cents_to_str(cents: int) -> str:
    """Machine form of an amount in cents: ``123456`` → ``"1234.56"`` (JSON, like ``quitogeo calc``)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"


def to_cents(value: object, *, name: str = "monto") -> int:
    """Convert an amount in dollars to integer cents, rounded half-up.

    Parameters
    ----------
    value : object
        The amount (Decimal, number, or string with a dot as decimal separator).
    name : str, optional
        The quantity's name for the error message.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        When ``value`` is missing or not a finite number.
    """
    number = to_decimal(value)
    if number is None or not number.is_finite():
        raise ValueError(
            f"{name} = {value!r} no es un monto válido (use un número con punto decimal, p. ej. 1234.56)"
        )
    return int((number * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_date(value: dt.date | dt.datetime | str | None, *, missing: str = SIN_DATO) -> str:
    """Format a date as ``dd/mm/aaaa``.

    Parameters
    ----------
    value : date, datetime or str
        A date, or an ISO string (``2025-03-05`` or ``2025-03-05T10:00:00``).
    missing : str, optional
        Text for a missing value.

    Returns
    -------
    str
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return missing
    if isinstance(value, str):
        try:
            parsed: dt.date = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        parsed = value
    return f"{parsed.day:02d}/{parsed.month:02d}/{parsed.year:04d}"


def format_bool(value: object, *, missing: str = SIN_DATO) -> str:
    """``Sí`` / ``No`` for a boolean, ``missing`` for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    try:
        import pandas as pd

        if pd.isna(value):  # type: ignore[call-overload]
            return missing
    except (TypeError, ValueError):
        pass
    return "Sí" if bool(value) else "No"


__all__ = [
    "SIN_DATO",
    "cents_to_str",
    "format_bool",
    "format_cents",
    "format_date",
    "format_money",
    "format_number",
    "to_cents",
    "to_decimal",
]
