"""Parsing of Quito's zoning (edificabilidad) codes, normativa §5 (PUOS convention, READING).

``A603-35`` = forma de ocupación A (aislada; B pareada, C continua con retiro, D sobre línea de fábrica), lote
mínimo 6 × 100 = 600 m², 03 floors, COS PB 35 %, and COS total = floors × COS PB = 105 %. The digits before
the
last two are the lot in hundreds of m² (``A1002-35`` = 1000 m², 2 floors). Zone labels may wrap the code
(``A10 (A604-50)``); the code in the label is used.

The parser is public: the PUOS → PUGS comparison (ámbitos) reads the same codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: One code: forma letter, lot (hundreds of m²), two-digit floors, dash, COS PB (%).
ZONING_CODE_PATTERN = r"(?<![A-Za-z0-9])([A-Da-d])\s?(\d{1,3})(\d{2})\s?-\s?(\d{1,3})(?!\d)"
_CODE_RE = re.compile(ZONING_CODE_PATTERN)

#: Output columns of :func:`parse_zoning_codes`.
PARSED_COLUMNS = ("forma_ocupacion", "lote_minimo", "pisos", "cos_pb", "cos_total", "codigo")


@dataclass(frozen=True)
class ZoningCode:
    """A parsed zoning code.

    Attributes
    ----------
    codigo : str
        The code as normalised (``A603-35``).
    forma_ocupacion : str
        ``A``, ``B``, ``C`` or ``D``.
    lote_minimo : float
        Minimum lot, m².
    pisos : int
        Floors.
    cos_pb : float
        COS PB, %.
    cos_total : float
        COS total = pisos × COS PB, %.
    """

    codigo: str
    forma_ocupacion: str
    lote_minimo: float
    pisos: int
    cos_pb: float
    cos_total: float


def parse_zoning_code(code: object) -> ZoningCode | None:
    """Parse one zoning code or a label wrapping one.

    Parameters
    ----------
    code : object
        ``"A603-35"``, ``"A10 (A604-50)"``, … Anything else (None, NaN, ``"ZR"``) gives None.

    Returns
    -------
    ZoningCode or None
        The parsed code; when a label holds several, the last one (the one in parentheses).

    Examples
    --------
    >>> z = parse_zoning_code("A603-35")
    >>> z.forma_ocupacion, z.lote_minimo, z.pisos, z.cos_pb, z.cos_total
    ('A', 600.0, 3, 35.0, 105.0)
    >>> parse_zoning_code("A1002-35").lote_minimo, parse_zoning_code("A1002-35").pisos
    (1000.0, 2)
    >>> parse_zoning_code("A10 (A604-50)").codigo
    'A604-50'
    >>> parse_zoning_code("sin zonificación") is None
    True
    """
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return None
    matches = _CODE_RE.findall(str(code))
    if not matches:
        return None
    forma, lote, pisos, cos = matches[-1]
    n_pisos = int(pisos)
    cos_pb = float(cos)
    if n_pisos == 0 or int(lote) == 0:
        return None
    forma = forma.upper()
    return ZoningCode(
        codigo=f"{forma}{lote}{pisos}-{cos}",
        forma_ocupacion=forma,
        lote_minimo=float(int(lote) * 100),
        pisos=n_pisos,
        cos_pb=cos_pb,
        cos_total=float(n_pisos * cos_pb),
    )


def parse_zoning_codes(codes: Iterable[object] | pd.Series) -> pd.DataFrame:
    """Parse a column of zoning codes at once (vectorised with pandas' regex extraction).

    Parameters
    ----------
    codes : Series or iterable
        Codes or labels; non-text and unparseable values give NaN rows.

    Returns
    -------
    DataFrame
        Aligned to ``codes`` (its index when a Series), columns :data:`PARSED_COLUMNS`: ``forma_ocupacion``
        (str or None), ``lote_minimo``, ``pisos``, ``cos_pb``, ``cos_total`` (float, NaN when unparseable) and
        ``codigo`` (the normalised code or None).

    Examples
    --------
    >>> parse_zoning_codes(["A603-35", "x", "B304-50"])["cos_total"].tolist()
    [105.0, nan, 200.0]
    """
    series = codes if isinstance(codes, pd.Series) else pd.Series(list(codes), dtype=object)
    text = series.astype("string")
    # The last code of a label wins (``A10 (A604-50)``): the greedy prefix makes extract find it.
    found = text.str.extract(r"^.*" + ZONING_CODE_PATTERN, expand=True)
    forma = found[0].str.upper()
    lote = pd.to_numeric(found[1], errors="coerce") * 100.0
    pisos = pd.to_numeric(found[2], errors="coerce")
    cos = pd.to_numeric(found[3], errors="coerce")
    bad = (lote <= 0) | (pisos <= 0)
    lote = lote.mask(bad)
    pisos = pisos.mask(bad)
    cos = cos.mask(bad)
    forma = forma.mask(bad)
    codigo = (forma + found[1] + found[2] + "-" + found[3]).mask(bad)
    out = pd.DataFrame(
        {
            "forma_ocupacion": forma.astype(object).where(forma.notna(), None),
            "lote_minimo": lote.astype(float),
            "pisos": pisos.astype(float),
            "cos_pb": cos.astype(float),
            "cos_total": (pisos * cos).astype(float),
            "codigo": codigo.astype(object).where(codigo.notna(), None),
        },
        index=series.index,
    )
    return out


__all__ = ["PARSED_COLUMNS", "ZONING_CODE_PATTERN", "ZoningCode", "parse_zoning_code", "parse_zoning_codes"]
