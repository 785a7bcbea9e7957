"""Text encoding of vector sources, so that accents and ñ survive.

layers.md: `.cpg`, else UTF-8, else cp1252.

GeoPackage, GeoJSON and GeoParquet are UTF-8 by specification; only shapefiles (dBase files) carry text in a
code page that the file may or may not declare. The municipal geodatabase exports are cp1252 (Windows) and
often
come without their ``.cpg``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# .cpg contents as ArcGIS and GDAL write them → Python codec names.
_CPG_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "65001": "utf-8",
    "1252": "cp1252",
    "ansi 1252": "cp1252",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "iso-8859-1": "latin-1",
    "iso88591": "latin-1",
    "8859_1": "latin-1",
    "latin1": "latin-1",
}

#: UTF-8 text decoded as cp1252/latin-1 leaves these sequences ("Sáenz" → "SÃ¡enz", "ñ" → "Ã±").
_MOJIBAKE = re.compile(
    "Ã[\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc]|Â[\u00a0-\u00bf]"
)


@dataclass(frozen=True)
class EncodingChoice:
    """The encoding chosen for a source and why.

    Attributes
    ----------
    encoding : str or None
        Python codec name to pass to pyogrio, or None to let the format decide (UTF-8 formats).
    declared : bool
        Whether the file declared it (a ``.cpg``); False when it was inferred.
    reason : str
        How it was chosen, in Spanish, for the problems table.
    """

    encoding: str | None
    declared: bool
    reason: str


def _normalise_cpg(text: str) -> str | None:
    key = text.strip().lower()
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def detect_encoding(path: str | Path) -> EncodingChoice:
    """Choose the text encoding of a vector file.

    Parameters
    ----------
    path : str or Path
        The file (for a shapefile, the ``.shp``; its ``.cpg`` and ``.dbf`` are looked up beside it).

    Returns
    -------
    EncodingChoice
        For a shapefile: the ``.cpg`` when present and known; else UTF-8 when the ``.dbf`` decodes as UTF-8;
        else cp1252. For other formats: None (they are UTF-8 by specification).
    """
    p = Path(path)
    if p.suffix.lower() not in {".shp", ".dbf"}:
        return EncodingChoice(None, True, "formato UTF-8 por especificación")
    cpg = p.with_suffix(".cpg")
    if not cpg.exists():
        cpg = p.with_suffix(".CPG")
    if cpg.exists():
        codec = _normalise_cpg(cpg.read_text(encoding="ascii", errors="replace"))
        if codec is not None:
            return EncodingChoice(codec, True, f"declarada en {cpg.name}")
    dbf = p.with_suffix(".dbf")
    if not dbf.exists():
        dbf = p.with_suffix(".DBF")
    if not dbf.exists():
        return EncodingChoice(None, False, "sin .dbf")
    data = dbf.read_bytes()
    header_len = int.from_bytes(data[8:10], "little") if len(data) >= 10 else 0
    body = data[header_len:]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return EncodingChoice("cp1252", False, "sin .cpg y el .dbf no es UTF-8: se leyó como cp1252")
    if max(body, default=0) < 0x80:
        return EncodingChoice("utf-8", False, "sin .cpg; el texto es ASCII")
    return EncodingChoice("utf-8", False, "sin .cpg; el .dbf es UTF-8 válido")


def mojibake_mask(values: pd.Series) -> np.ndarray:
    """Flag text that shows UTF-8 read with the wrong code page (``"SÃ¡enz"``).

    Parameters
    ----------
    values : Series
        A text column (non-text values are ignored).

    Returns
    -------
    numpy.ndarray of bool
        True where the text contains a mojibake sequence.
    """
    if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
        return np.zeros(len(values), dtype=bool)
    text = values.astype("string")
    # Mojibake needs "Ã" or "Â": a column of pure ASCII (codes, most names) is settled by one fast pass.
    if bool(text.str.isascii().fillna(True).all()):
        return np.zeros(len(values), dtype=bool)
    return text.str.contains(_MOJIBAKE, regex=True).fillna(False).to_numpy(dtype=bool)


__all__ = ["EncodingChoice", "detect_encoding", "mojibake_mask"]
