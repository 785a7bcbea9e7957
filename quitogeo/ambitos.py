"""Which ámbito of the COD applies to each lot: the PUOS → PUGS comparison (Anexo 01 §2.1–2.3).

The COD a lot owes depends on what the current plan (PUGS) gave it compared with the previous one (PUOS):

- **transformación de clasificación** — rural in the PUOS, urbano in the PUGS (§2.1);
- **modificación de uso** — the PUOS use and the PUGS use differ after the use-code homologation of the rules
  file, or the PUGS use is the Tabla 2/3 equivalent of the PUOS use (§2.1 a–b, priced at the tables' IR);
- **cambio de lote mínimo** — the new lote mínimo is smaller, and the §2.2.2 preconditions hold (COS PB and
  floors equal or larger, the lot divisible into lots of the new size); a lot that fails them is reported in
  ``lote_minimo_motivo``, not charged;
- **incremento de edificabilidad** — the PUGS COS total máximo exceeds the PUOS baseline; Ae from the
  difference (normativa §2).

Combinations follow §2.3: edificabilidad + uso → ``edificabilidad-uso`` (§2.3.1), edificabilidad + lote mínimo
→ ``edificabilidad-lote-minimo`` (§2.3.2), lote mínimo + uso → the larger of both (§2.3.3). Lots inside a plan
parcial / UAU get the beneficio (the same formulas without β, §5).

Every figure comes from the calc core (:func:`quitogeo.calc.cod_frame`), so each equals ``quitogeo calc`` with
the same inputs. Every reading of the norm is a parameter of the rules file's ``[ambitos]`` table.

The core, :func:`detect_ambitos`, works on a plain DataFrame aligned to the lots' index; :func:`join_puos` is
the spatial step that brings the PUOS attributes to each lot by largest overlap; :func:`ambitos_stage` is the
optional stage of :func:`quitogeo.pipeline.run`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quitogeo.categories import labelled, labelled_arrow
from quitogeo.rules import Rules

if TYPE_CHECKING:  # the run imports this module; these are only for annotations
    from quitogeo.pipeline import Context
    from quitogeo.spatial import LotIndex

#: PUOS attributes a lot carries after :func:`join_puos` (``puos_`` + the layer's column).
PUOS_COLUMNS: tuple[str, ...] = (
    "puos_uso",
    "puos_clasificacion",
    "puos_lote_minimo",
    "puos_pisos",
    "puos_cos_pb",
    "puos_cos_total",
)

#: Single ámbitos detected per lot: column suffix → words used in ``ambitos``.
AMBITO_WORDS: dict[str, str] = {
    "clasificacion": "transformación de clasificación",
    "uso": "modificación de uso",
    "lote_minimo": "cambio de lote mínimo",
    "edificabilidad": "incremento de edificabilidad",
}

#: Calc-core ámbitos this module computes, with the column that holds each one's COD.
COD_COLUMNS: dict[str, str] = {
    "uso": "cod_uso",
    "edificabilidad": "cod_edificabilidad",
    "lote-minimo": "cod_lote_minimo",
    "edificabilidad-uso": "cod_edificabilidad_uso",
    "edificabilidad-lote-minimo": "cod_edificabilidad_lote_minimo",
}

#: ``ambito_aplicado`` of a lot where the PUGS changed nothing that the COD prices.
SIN_AMBITO = "ninguno"

#: Columns :func:`detect_ambitos` returns, in order.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "puos_cobertura",
    "ambito_clasificacion",
    "clasificacion_anterior",
    "clasificacion_nueva",
    "ambito_uso",
    "uso_anterior",
    "uso_nuevo",
    "uso_equivalencia",
    "ambito_lote_minimo",
    "lote_minimo_anterior",
    "lote_minimo_nuevo",
    "lote_minimo_precondiciones",
    "lote_minimo_motivo",
    "ambito_edificabilidad",
    "cos_total_anterior",
    "cos_total_nuevo",
    "ae_ambito_m2",
    "ir_cu",
    "ir_cu_fuente",
    "ir_lm",
    "ir_lm_fuente",
    "ir",
    "ir_fuente",
    "ambitos",
    "ambito_aplicado",
    "beneficio",
    *COD_COLUMNS.values(),
    "cod",
    "cod_centavos",
    "estado",
)

_OK = "ok"

#: Float columns of the module, as numpy arrays.
_F64 = npt.NDArray[np.float64]
_Bool = npt.NDArray[np.bool_]
_Codes = npt.NDArray[np.intp]


# ---------------------------------------------------------------------------------------------------------
# small vectorised helpers: numbers as float64 arrays, texts as integer codes into a table of distinct texts
# (every per-lot text is built once per distinct value or combination and taken per lot through its code)


class _Coded(NamedTuple):
    """A text per lot as ``labels[codes]`` (``-1``: null); the labels are distinct.

    The codes are the categorical's own (int8/int16, no copy) or 32-bit: one array per text column lives
    through the whole stage, and fresh memory costs more than the arithmetic here.
    """

    codes: npt.NDArray[np.integer[Any]]
    labels: npt.NDArray[np.object_]

    def isna(self) -> _Bool:
        """Lots without a text."""
        return self.codes < 0

    def per_label(self, func: Callable[[str], Any], null: Any, dtype: Any = object) -> npt.NDArray[Any]:
        """``func`` of each lot's text, called once per label (``null`` where the text is null)."""
        table = np.empty(len(self.labels) + 1, dtype=dtype)
        table[:-1] = [func(label) for label in self.labels]
        table[-1] = null
        return table[self.codes]  # type: ignore[no-any-return]

    def recode(self, func: Callable[[str], str | None]) -> _Coded:
        """Map each text through ``func`` (None: null), equal results merged: per label, not per lot."""
        mapped = np.empty(len(self.labels), dtype=object)
        mapped[:] = [func(label) for label in self.labels]
        code, labels = pd.factorize(mapped, use_na_sentinel=True)
        return _Coded(np.r_[code, -1].astype(np.int32)[self.codes], np.asarray(labels, dtype=object))

    def in_labels_of(self, other: _Coded) -> _Codes:
        """Each lot's text as a code into ``other.labels`` (-1: null here, -2: not among them)."""
        pos = {label: i for i, label in enumerate(other.labels)}
        table = np.array([*(pos.get(label, -2) for label in self.labels), -1], dtype=np.intp)
        return table[self.codes]  # type: ignore[no-any-return]

    def equals(self, other: _Coded) -> _Bool:
        """Both texts known and equal (what ``==`` of two ``string`` columns gives, nulls False)."""
        return (self.codes >= 0) & (other.in_labels_of(self) == self.codes)

    def categorical(self) -> pd.Categorical | npt.NDArray[np.object_]:
        """Return the texts as the run stores them (:func:`quitogeo.categories.labelled`)."""
        return labelled(self.codes, self.labels)


def _coded(frame: pd.DataFrame, column: str) -> _Coded:
    """Column as stripped texts, null where absent or empty (each distinct value stripped once)."""
    if column not in frame:
        return _Coded(np.full(len(frame), -1, dtype=np.intp), np.empty(0, dtype=object))
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):  # the run's texts: codes already there
        raw = series.cat.codes.to_numpy()
        uniques = np.asarray(series.cat.categories, dtype=object)
    else:
        raw, found = pd.factorize(series, use_na_sentinel=True)
        uniques = np.asarray(found, dtype=object)
    return _Coded(raw, uniques).recode(lambda u: str(u).strip() or None)


def _num(frame: pd.DataFrame, column: str) -> _F64:
    """Column as float64 (NaN where absent or not a number); a float64 column's own values, read-only."""
    if column not in frame:
        return np.full(len(frame), np.nan)
    series = frame[column]
    if series.dtype == np.float64:  # already numbers with NaN for null: no parsing, no copy
        return series.to_numpy()
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _flag(frame: pd.DataFrame, column: str) -> _Bool:
    """Boolean column (False where absent or null)."""
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].fillna(False).astype(bool).to_numpy(dtype=bool)


def _fill(values: _F64, fill: _F64 | float) -> _F64:
    """``values`` with NaN replaced by ``fill`` (pandas' ``fillna``)."""
    return np.where(np.isnan(values), fill, values)


def _where(values: _F64, keep: _Bool) -> _F64:
    """``values`` where ``keep``, NaN elsewhere (pandas' ``where``)."""
    return np.where(keep, values, np.nan)


def _boolean(values: _Bool, null: _Bool) -> pd.arrays.BooleanArray:
    """Return a nullable boolean column: ``values``, null where ``null``."""
    return pd.arrays.BooleanArray(values & ~null, null.copy())


def _dollars(cents: pd.arrays.IntegerArray) -> Any:
    """COD in USD from the exact cents (nullable: null where the cents are)."""
    # the cents as floats divided by 100, as ``cents.astype("Float64") / 100`` (without pandas' dispatch)
    values = cents.to_numpy(dtype=np.float64, na_value=0.0) / 100
    return pd.arrays.FloatingArray(values, np.asarray(cents.isna(), dtype=bool))


def _fmt(value: float) -> str:
    """Format a rules figure as the norm prints it (0.2 → ``0.20``, 1.18 → ``1.18``)."""
    return f"{value:.2f}"


def _groups(keys: Sequence[tuple[npt.NDArray[np.integer[Any]], int | None]]) -> tuple[_Codes, _Codes]:
    """Group the rows by their combination of integer keys.

    Each key is ``(values, radix)`` with values in ``[0, radix)``, or ``radix`` None for any integers (then
    factorized). The combination is a mixed-radix number, re-factorized before it could overflow.

    Returns
    -------
    group : numpy.ndarray of int
        Per row, its group (numbered in order of first appearance).
    first : numpy.ndarray of int
        Per group, its first row.
    """
    n = len(keys[0][0]) if keys else 0
    combined = np.zeros(n, dtype=np.int64)
    size = 1
    for values, radix in keys:
        if radix is None:
            values, uniques = pd.factorize(values)
            radix = len(uniques)
        if radix <= 1:
            continue  # one value for every row: it splits no group
        if size * radix >= 2**62:
            combined, uniques = pd.factorize(combined)
            combined = combined.astype(np.int64)
            size = len(uniques)
        combined = combined * radix + np.asarray(values, dtype=np.int64)
        size *= radix
    group, _ = pd.factorize(combined)
    group = group.astype(np.intp)
    # groups are numbered in order of first appearance: a row opens one when it exceeds every earlier group
    opens = np.ones(n, dtype=bool)
    if n > 1:
        opens[1:] = group[1:] > np.maximum.accumulate(group)[:-1]
    return group, np.flatnonzero(opens)


def _bits(values: _F64) -> npt.NDArray[np.int64]:
    """Float64 values as integers that tell them apart as their text does (-0.0 and NaN included)."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.int64)


#: A message: the lots that say it (ascending positions), each one's label code, and the labels (Python or
#: Arrow texts). Only the lots that say it are stored: most messages are rare, and a dense state per lot for
#: each of them would only add memory (fresh pages cost more than the arithmetic here).
_Message = tuple[_Codes, _Codes, npt.NDArray[np.object_] | pa.Array]


def _message(
    mask: _Bool, text: str | npt.NDArray[Any], codes: npt.NDArray[np.integer[Any]] | None = None
) -> _Message:
    """Say ``text`` where ``mask``; an array ``text`` is indexed by ``codes`` (a text per code; -1: none)."""
    labels = np.array([text], dtype=object) if isinstance(text, str) else np.asarray(text, dtype=object)
    rows = np.flatnonzero(mask)
    if codes is None:
        return rows, np.zeros(len(rows), dtype=np.intp), labels
    at = np.asarray(codes)[rows].astype(np.intp)
    keep = at >= 0
    return rows[keep], at[keep], labels


def _said(messages: Sequence[_Message], n: int) -> _Bool:
    """Lots with at least one message."""
    out = np.zeros(n, dtype=bool)
    for rows, _, _ in messages:
        out[rows] = True
    return out


def _joined(messages: Sequence[_Message], n: int, *, none: str, prefix: str = "") -> tuple[_Codes, pa.Array]:
    """Each lot's messages joined with ``"; "`` in order (``none`` without any), one text per combination.

    Returns
    -------
    codes : numpy.ndarray of int
        Per lot, its text's position in ``texts``.
    texts : pyarrow.Array of str
        ``prefix`` + the joined messages of each combination (``none``, without prefix, for no message),
        as Arrow texts: :func:`quitogeo.categories.labelled_arrow` makes them Python strings once, sorted.
    """
    # only the lots with a message are grouped (most lots say nothing: one text, ``none``, the last); per
    # message, the state of each of them (-1: not said, k: its label k)
    rows = np.flatnonzero(_said(messages, n))
    states = []
    for said_rows, at, labels in messages:
        state = np.full(len(rows), -1, dtype=np.intp)
        state[np.searchsorted(rows, said_rows)] = at
        states.append((state, labels))
    keys = [(state + 1, len(labels) + 1) for state, labels in states]
    group, first = _groups(keys or [(np.zeros(len(rows), dtype=np.intp), 1)])
    # one text per combination, assembled in Arrow's kernels: per message a token per combination ("" where
    # not said, its label alone where it is the first said, "; " + label after another), then all tokens
    # concatenated at once, one Python string per text
    tokens: list[Any] = [pa.scalar(prefix, type=_LARGE)]
    has = np.zeros(len(first), dtype=bool)
    after = pa.scalar("; ", type=_LARGE)
    for state, labels in states:
        at = state[first]
        on = at >= 0
        if not on.any():
            continue
        texts = labels if isinstance(labels, pa.Array) else pa.array(labels.tolist(), type=_LARGE)
        k = len(texts)
        table = pa.concat_arrays(
            [
                pa.array([""], type=_LARGE),
                texts,
                _call_arrow("binary_join_element_wise", after, texts, _EMPTY),
            ]
        )
        tokens.append(table.take(pa.array(np.where(on, np.where(has, 1 + k + at, 1 + at), 0))))
        has |= on
    last = pa.array([none], type=_LARGE)
    if len(tokens) > 1:
        texts = pa.concat_arrays([_call_arrow("binary_join_element_wise", *tokens, _EMPTY), last])
    else:
        texts = last
    codes = np.full(n, len(first), dtype=np.intp)
    codes[rows] = group
    return codes, texts


#: A piece of a message: literal text, or a float per lot with its format spec (``"g"``, ``".2f"``).
_Piece = str | tuple[_F64, str]


def _formatted(mask: _Bool, pieces: Sequence[_Piece], rows: _Codes) -> _Message:
    """Say the text made of ``pieces`` where ``mask`` (a mask over ``rows`` of the lots' arrays).

    Formatted once per distinct value of each figure it shows, and only for the lots in ``mask``; the pieces
    are concatenated in Arrow's kernel once per distinct combination of them (no Python call per text).
    """
    values = [piece[0] for piece in pieces if not isinstance(piece, str)]
    if not values:
        return _message(mask, "".join(str(piece) for piece in pieces))
    said = np.flatnonzero(mask)
    # each figure's distinct values (by bits) once: they group the texts and are each formatted once
    found = [pd.factorize(_bits(v[rows[said]])) for v in values]
    group, first = _groups([(codes, max(len(uniques), 1)) for codes, uniques in found])
    parts: list[Any] = []
    figure = iter(found)
    for piece in pieces:
        if isinstance(piece, str):
            parts.append(pa.scalar(piece, type=_LARGE))
        else:
            codes, uniques = next(figure)
            printed = _figures(np.asarray(uniques).view(np.float64), piece[1])
            parts.append(printed.take(pa.array(codes[first])))
    # the pieces concatenated in Arrow's kernel (Arrow texts: :func:`_joined` makes the Python strings)
    text = _call_arrow("binary_join_element_wise", *parts, _EMPTY)
    return said, group, text


def _figures(values: _F64, spec: str) -> pa.Array:
    """Return ``format(x, spec)`` of each value as Arrow texts; ``".2f"`` (areas) in Arrow's kernels.

    ``".2f"`` rounds the exact binary value half-even to cents. Below 10⁹ cents the product ``x × 100`` is
    within 10⁻⁷ of the exact one, so away from a half (by 10⁻⁶) its rounding is the exact rounding, and the
    whole cents are printed as integers; the others (a half, huge, negative, -0.0, NaN) go through ``format``.
    """
    if spec != ".2f" or not len(values):
        return pa.array([format(x, spec) for x in values.tolist()], type=_LARGE)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * 100.0
        whole = np.floor(scaled)
        fast = (scaled < 1e9) & (values >= 0) & ~np.signbit(values) & (np.abs(scaled - whole - 0.5) > 1e-6)
    cents = np.floor(scaled[fast] + 0.5).astype(np.int64)
    units = _call_arrow("cast", pa.array(cents // 100), options=pc.CastOptions(_LARGE))
    hundredths = _call_arrow("cast", pa.array(cents % 100), options=pc.CastOptions(_LARGE))
    hundredths = _call_arrow("utf8_lpad", hundredths, options=pc.PadOptions(2, "0"))
    dot = pa.scalar(".", type=_LARGE)
    printed = _call_arrow("binary_join_element_wise", units, hundredths, dot)
    slow = np.flatnonzero(~fast)
    if not len(slow):
        return printed
    rest = pa.array([format(x, spec) for x in values[slow].tolist()], type=_LARGE)
    # both back in the values' order: the fast ones first, then the others, taken by position
    position = np.empty(len(values), dtype=np.int64)
    position[np.flatnonzero(fast)] = np.arange(int(fast.sum()))
    position[slow] = int(fast.sum()) + np.arange(len(slow))
    return pa.concat_arrays([printed, rest]).take(pa.array(position))


#: Arrow's type for the texts: 64-bit offsets, never an overflow whatever the number of lots.
_LARGE = pa.large_string()
_EMPTY = pa.scalar("", type=_LARGE)


def _call_arrow(function: str, *args: Any, options: Any = None) -> Any:
    """Run an Arrow compute function by name (its Python wrappers are generated, unknown to type checkers)."""
    return pc.call_function(function, list(args), options)


# ---------------------------------------------------------------------------------------------------------
# uses and IR


def _equivalence_tables(rules: Rules) -> pd.DataFrame:
    """Tabla 2 and Tabla 3 of the rules file as rows: categories, PUOS floors range, IR and its source."""
    ir = rules["ir"]
    rows: list[dict[str, Any]] = []
    res_ir = float(ir["ircu_residencial"])
    for eq in ir["equivalencias_residenciales"]:
        rows.append(
            {
                "cat_puos": rules.homologate_use(eq["uso_puos"]),
                "cat_pugs": rules.homologate_use(eq["uso_pugs"]),
                "pisos_min": float(eq["pisos_min"]),
                "pisos_max": float(eq["pisos_max"]),
                "ir": res_ir,
                "tabla": "Tabla 2",
                "fuente": f"Tabla 2 (residencial {_fmt(res_ir)})",
                "texto": f"{eq['uso_puos']} ({eq['pisos_min']}–{eq['pisos_max']} pisos) → {eq['uso_pugs']}",
            }
        )
    ind_ir = float(ir["ircu_industrial"])
    for eq in ir["equivalencias_industriales"]:
        rows.append(
            {
                "cat_puos": rules.homologate_use(eq["uso_puos"]),
                "cat_pugs": rules.homologate_use(eq["uso_pugs"]),
                "pisos_min": -np.inf,
                "pisos_max": np.inf,
                "ir": ind_ir,
                "tabla": "Tabla 3",
                "fuente": f"Tabla 3 (industrial {_fmt(ind_ir)})",
                "texto": f"{eq['uso_puos']} → {eq['uso_pugs']}",
            }
        )
    return pd.DataFrame(
        rows, columns=["cat_puos", "cat_pugs", "pisos_min", "pisos_max", "ir", "tabla", "fuente", "texto"]
    )


def _match_equivalence(cat_old: _Coded, cat_new: _Coded, pisos_old: _F64, table: pd.DataFrame) -> _Codes:
    """Per lot, the first Tabla 2/3 row its (PUOS use, floors) → PUGS use matches (-1: none).

    Vectorised: one integer mask per table row (a handful of rows), never a loop per lot.
    """
    old_pos = {v: i for i, v in enumerate(cat_old.labels)}
    new_pos = {v: i for i, v in enumerate(cat_new.labels)}
    row_of = np.full(len(cat_old.codes), -1, dtype=np.intp)  # the table row each lot matches first
    rows = zip(
        table["cat_puos"].tolist(),
        table["cat_pugs"].tolist(),
        table["pisos_min"].to_numpy(dtype=np.float64).tolist(),
        table["pisos_max"].to_numpy(dtype=np.float64).tolist(),
        strict=True,
    )
    for k, (cat_puos, cat_pugs, pisos_min, pisos_max) in enumerate(rows):
        if cat_puos is None or cat_pugs is None:
            continue  # a table code the homologation does not know matches no lot
        if cat_puos not in old_pos or cat_pugs not in new_pos:
            continue  # no lot has this pair of categories
        with np.errstate(invalid="ignore"):
            hit = (
                (cat_old.codes == old_pos[cat_puos])
                & (cat_new.codes == new_pos[cat_pugs])
                & (pisos_old >= pisos_min)
                & (pisos_old <= pisos_max)
                & (row_of < 0)
            )
        row_of[hit] = k
    return row_of


def _az_table(rules: Rules) -> dict[str, Mapping[str, float]]:
    """IR table per Administración Zonal, keyed by the casefolded name (names match ignoring case)."""
    return {str(k).strip().casefold(): v for k, v in rules["ir"]["por_administracion_zonal"].items()}


# ---------------------------------------------------------------------------------------------------------
# calc inputs


def _vcc(lots: pd.DataFrame) -> _F64:
    """Vcc ($/m²) per lot from the avalúo components (Anexo 01 §2.1, Gráf. 10–11, TEXT; normativa §2).

    Each component's avalúo over its area; a component with zero or missing area contributes 0. Propiedad
    horizontal adds the prorated communal avalúo to the covered component. NaN when the lot has no
    construction (no component with area), where Vs_c falls back to avalúo del terreno / área.
    """
    ph = _coded(lots, "regimen").per_label(
        lambda r: r.casefold().replace(" ", "_") == "propiedad_horizontal", False, dtype=bool
    )
    # one accumulator updated in place (the same sums as ``a = a + b``): fewer fresh arrays a lot
    cubiertas = _fill(_num(lots, "avaluo_cubiertas"), 0.0)
    cubiertas += _fill(_num(lots, "avaluo_instalaciones_especiales"), 0.0)
    cubiertas += np.where(ph, _fill(_num(lots, "avaluo_comunal"), 0.0), 0.0)
    total = np.zeros(len(lots))
    has_any = np.zeros(len(lots), dtype=bool)
    for avaluo_col, area_col in (
        ("", "area_cubiertas"),
        ("avaluo_abiertas", "area_abiertas"),
        ("avaluo_adicionales", "area_adicionales"),
    ):
        avaluo = cubiertas if not avaluo_col else _fill(_num(lots, avaluo_col), 0.0)
        area = _num(lots, area_col)
        with np.errstate(invalid="ignore"):
            ok = area > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            share = avaluo / _where(area, ok)
        share[np.isnan(share)] = 0.0  # _fill(share, 0.0), in place
        total += share
        has_any |= ok
    total[~has_any] = np.nan  # _where(total, has_any), in place
    return total


# ---------------------------------------------------------------------------------------------------------
# the spatial step

#: PUOS layer column → lot column (layers.md ``puos``).
_PUOS_LAYER_COLUMNS: dict[str, str] = {
    "uso_principal": "puos_uso",
    "clasificacion": "puos_clasificacion",
    "forma_ocupacion": "puos_forma_ocupacion",
    "lote_minimo": "puos_lote_minimo",
    "pisos": "puos_pisos",
    "cos_pb": "puos_cos_pb",
    "cos_total": "puos_cos_total",
    "codigo_edificabilidad": "puos_codigo_edificabilidad",
}
_PUOS_NUMERIC = {"lote_minimo", "pisos", "cos_pb", "cos_total"}


def join_puos(
    lots: gpd.GeoDataFrame, puos: gpd.GeoDataFrame, *, rules: Rules, index: LotIndex | None = None
) -> pd.DataFrame:
    """Give each lot the attributes of the PUOS zone with the largest overlap (as the PIT join does).

    The same largest-overlap machinery as :func:`quitogeo.spatial.joins.join_pit` (one STRtree over the lots,
    exact intersections only on zone boundaries, ties to the first zone). Missing ``lote_minimo``, ``pisos``,
    ``cos_pb`` and ``cos_total`` are filled from ``codigo_edificabilidad`` (``A603-35``) with the zoning-code
    parser of :mod:`quitogeo.io.zoning_codes`; a value in the layer always wins over the code.

    Parameters
    ----------
    lots : GeoDataFrame
        Lots in TM-Quito (any index).
    puos : GeoDataFrame
        The ``puos`` layer (layers.md) in the same CRS: ``uso_principal`` and optional ``clasificacion``,
        ``forma_ocupacion``, ``lote_minimo``, ``pisos``, ``cos_pb``, ``cos_total``, ``codigo_edificabilidad``.
    rules : Rules
        ``ambitos.puos_min_fraccion``: a zone covering no larger share of the lot is not assigned.
    index : LotIndex, optional
        A spatial index already built for ``lots`` (the run shares one between its joins).

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``: ``puos_uso``, ``puos_clasificacion``, ``puos_forma_ocupacion``,
        ``puos_lote_minimo``, ``puos_pisos``, ``puos_cos_pb``, ``puos_cos_total``,
        ``puos_codigo_edificabilidad`` (null without coverage), ``puos_fraccion`` (share of the lot's area in
        the chosen zone; 0 without coverage) and ``n_puos`` (zones overlapping the lot).

    Raises
    ------
    LayerError
        When the layers' CRSs differ or ``uso_principal`` is missing.
    """
    from quitogeo.errors import LayerError
    from quitogeo.io.zoning_codes import parse_zoning_codes
    from quitogeo.spatial import largest_overlap, lot_index

    if "uso_principal" not in puos.columns:
        raise LayerError(
            "capa puos: falta la columna obligatoria 'uso_principal' (código de uso PUOS: R1, R2, M, I3…); "
            "agréguela o mapee la columna del archivo",
            layer="puos",
        )
    if lots.crs is not None and puos.crs is not None and not lots.crs.equals(puos.crs):
        raise LayerError(
            "capa puos: su CRS no es el de los predios; reproyecte a TM-Quito antes de unir", layer="puos"
        )
    idx = lot_index(lots, index)
    n = len(idx)
    # only the winner's overlap must be exact (its share is reported): see largest_overlap
    ov, winners, pairs = largest_overlap(idx, np.asarray(puos.geometry.array, dtype=object))
    lot, zone, area = ov.lot, ov.zone, ov.area
    with np.errstate(invalid="ignore", divide="ignore"):
        share = area[pairs] / idx.area[winners]
    ok = share > float(rules["ambitos"]["puos_min_fraccion"])
    winners, pairs, share = winners[ok], pairs[ok], share[ok]
    pos = np.full(n, -1, dtype=np.intp)
    pos[winners] = zone[pairs]
    has = pos >= 0

    layer = pd.DataFrame(index=puos.index)
    for col in _PUOS_LAYER_COLUMNS:
        if col in puos.columns:
            layer[col] = pd.to_numeric(puos[col], errors="coerce") if col in _PUOS_NUMERIC else puos[col]
        else:
            layer[col] = np.nan if col in _PUOS_NUMERIC else None
    # fill from the zoning code, once per PUOS zone (not per lot); the layer's own values win
    parsed = parse_zoning_codes(layer["codigo_edificabilidad"])
    for col in ("lote_minimo", "pisos", "cos_pb", "cos_total", "forma_ocupacion"):
        layer[col] = layer[col].where(layer[col].notna(), parsed[col])
    # COS total = pisos × COS PB where only those are given (normativa §5)
    layer["cos_total"] = layer["cos_total"].fillna(layer["pisos"] * layer["cos_pb"])

    columns: dict[str, Any] = {}
    for col, name in _PUOS_LAYER_COLUMNS.items():
        if col in _PUOS_NUMERIC:
            values = np.full(n, np.nan)
            values[has] = layer[col].to_numpy(dtype=np.float64)[pos[has]]
            columns[name] = values
            continue
        src = layer[col].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(src, skipna=True) in ("string", "empty"):
            # texts as the run stores them, taken per lot through the zone's position (no string per lot)
            columns[name] = labelled(pos, src)
        else:  # numbers or mixed values in a text column: left for the run to judge, as before
            texts = np.full(n, None, dtype=object)
            texts[has] = src[pos[has]]
            columns[name] = texts
    fraccion = np.zeros(n)
    fraccion[winners] = share
    columns["puos_fraccion"] = fraccion
    columns["n_puos"] = np.bincount(lot, minlength=n).astype(np.int64)
    return pd.DataFrame(columns, index=lots.index)


# ---------------------------------------------------------------------------------------------------------
# the core


def detect_ambitos(lots: pd.DataFrame, *, rules: Rules) -> pd.DataFrame:
    """Detect each lot's ámbitos, its applicable IR and the COD per ámbito and applied (Anexo 01 §2).

    Parameters
    ----------
    lots : DataFrame
        One row per lot (any index; the result is aligned to it). Columns, NaN/null where unknown:

        - PUOS (previous plan), as :func:`join_puos` gives them: ``puos_uso``, ``puos_clasificacion``,
          ``puos_lote_minimo`` (m²), ``puos_pisos``, ``puos_cos_pb`` (%), ``puos_cos_total`` (%); optional
          ``puos_fraccion`` (share of the lot covered by its PUOS zone). A lot without ``puos_uso`` (or with
          ``puos_fraccion`` not above ``ambitos.puos_min_fraccion``) is "sin cobertura PUOS".
        - PUGS (PIT): ``uso_principal``, ``clasificacion``, ``lote_minimo``, ``pisos_basicos``,
          ``pisos_maximos``, ``cos_pb``, ``cos_total_basico``, ``cos_total_maximo``.
        - The lot: ``area_m2`` (area used: deed, else geometry), ``administracion_zonal``, ``aiva_valor``
          (highest AIVA, $/m², for β), ``avaluo_terreno`` ($: Vsa, and Vs_c on a lot with no construction),
          the Vcc inputs ``regimen``, ``avaluo_cubiertas``, ``area_cubiertas``, ``avaluo_abiertas``,
          ``area_abiertas``, ``avaluo_adicionales``, ``area_adicionales``,
          ``avaluo_instalaciones_especiales``, ``avaluo_comunal``; ``en_plan_parcial`` (bool: beneficio
          without β, §5). Optional ``vc`` and ``fu`` override the rules' Vc (predominant structure) and the
          Fu of the PUGS use; optional ``clave_catastral``.
    rules : Rules
        The rules (``[ambitos]``, ``[ir]``, ``[usos]``, ``[valor_suelo]``, ``[beta]``).

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``, columns :data:`OUTPUT_COLUMNS`: one boolean per ámbito
        (``ambito_clasificacion``, ``ambito_uso``, ``ambito_lote_minimo``, ``ambito_edificabilidad``; null
        without PUOS coverage or when the data to decide it is missing — then ``ambito_aplicado`` and ``cod``
        are null too, and ``ambitos`` names what is "sin dato") with the old and new values that decided it;
        ``lote_minimo_precondiciones`` (null where the lote mínimo did not shrink) and ``lote_minimo_motivo``;
        ``ir_cu``/``ir_lm`` with their sources and the applied ``ir``/``ir_fuente``; ``ambitos`` (in words),
        ``ambito_aplicado`` (the calc ámbito charged, or ``"ninguno"``), ``beneficio``; ``cod_<ámbito>`` for
        every formula that applies to the lot (USD, cents); ``cod`` (the one applied; 0 where nothing
        changed; NaN when it cannot be computed) and ``cod_centavos``; ``estado`` (``ok`` or why a figure is
        missing — never a silent zero).

    Notes
    -----
    The readings of the norm this function makes are parameters of ``[ambitos]`` in the rules file (baseline
    of Ae, Tabla 2/3 equivalences as a change of use, the divisibility reading of §2.2.2 a, the three-ámbito
    case). β, Vs, IC and the rounding are the calc core's.
    """
    # the calc core is the only place a COD is computed
    from quitogeo.calc.vectorized import cod_arrays, mayor_frame, needed_columns

    amb = rules["ambitos"]
    idx = lots.index
    n = len(idx)
    out: dict[str, Any] = {}
    # estado: the messages of every check, in order, joined once per distinct combination at the end
    estado: list[_Message] = []

    # --- coverage ---------------------------------------------------------------------------------------
    uso_old = _coded(lots, "puos_uso")
    cubierto = ~uso_old.isna()
    if "puos_fraccion" in lots:
        with np.errstate(invalid="ignore"):
            cubierto &= _num(lots, "puos_fraccion") > float(amb["puos_min_fraccion"])
    out["puos_cobertura"] = cubierto
    estado.append(_message(~cubierto, "sin cobertura PUOS"))
    # without a PUOS the ámbitos are unknown, not "no": null, never False
    no_cubierto = ~cubierto

    # --- transformación de clasificación (rural → urbano) ------------------------------------------------
    cls_old = _coded(lots, "puos_clasificacion")
    cls_new = _coded(lots, "clasificacion")
    rural = {s.strip().casefold() for s in amb["clasificacion_rural"]}
    urbana = {s.strip().casefold() for s in amb["clasificacion_urbana"]}
    amb_cls = cls_old.per_label(lambda c: c.casefold() in rural, False, dtype=bool) & cls_new.per_label(
        lambda c: c.casefold() in urbana, False, dtype=bool
    )
    out["ambito_clasificacion"] = _boolean(amb_cls, no_cubierto)
    out["clasificacion_anterior"] = cls_old.categorical()
    out["clasificacion_nueva"] = cls_new.categorical()

    # --- modificación de uso -----------------------------------------------------------------------------
    uso_new = _coded(lots, "uso_principal")
    cat_old = uso_old.recode(rules.homologate_use)  # per distinct code, not per lot
    cat_new = uso_new.recode(rules.homologate_use)
    unknown_old = cubierto & ~uso_old.isna() & cat_old.isna()
    unknown_new = cubierto & ~uso_new.isna() & cat_new.isna()
    fix = "' sin homologación en las reglas (agréguelo a [usos.homologacion])"
    estado.append(_message(unknown_old, "uso PUOS '" + uso_old.labels + fix, uso_old.codes))
    estado.append(_message(unknown_new, "uso PUGS '" + uso_new.labels + fix, uso_new.codes))
    estado.append(_message(cubierto & uso_new.isna(), "sin uso principal PUGS"))
    pisos_old = _num(lots, "puos_pisos")
    same_code = uso_old.recode(str.casefold).equals(uso_new.recode(str.casefold))
    table = _equivalence_tables(rules)
    row_of = _match_equivalence(cat_old, cat_new, pisos_old, table)
    eq_ir = np.r_[table["ir"].to_numpy(dtype=np.float64), np.nan][row_of]  # row -1 takes the NaN
    is_eq = ~np.isnan(eq_ir) & ~same_code & bool(amb["equivalencias_cobran"])
    cat_changed = ~cat_old.isna() & ~cat_new.isna() & ~cat_old.equals(cat_new)  # both known and different
    amb_uso = cubierto & (cat_changed | is_eq)
    # unknown use on either side: the ámbito cannot be decided (estado says which code)
    undecidable_uso = cubierto & (cat_old.isna() | cat_new.isna())
    out["ambito_uso"] = _boolean(amb_uso, no_cubierto | undecidable_uso)
    out["uso_anterior"] = uso_old.categorical()
    out["uso_nuevo"] = uso_new.categorical()
    textos = [f"{t}: {x}" for t, x in zip(table["tabla"], table["texto"], strict=True)]
    out["uso_equivalencia"] = labelled(np.where(is_eq, row_of, -1), np.array(textos, dtype=object))

    # --- cambio de lote mínimo (§2.2.2) ------------------------------------------------------------------
    lm_old = _num(lots, "puos_lote_minimo")
    lm_new = _num(lots, "lote_minimo")
    area = _num(lots, "area_m2")
    with np.errstate(invalid="ignore"):
        reducido = cubierto & (lm_new < lm_old)
    cospb_old, cospb_new = _num(lots, "puos_cos_pb"), _num(lots, "cos_pb")
    pisos_new = _num(lots, "pisos_basicos")
    n_lotes = int(amb["lote_minimo_lotes_resultantes"])

    # each failing condition of a lot whose lote mínimo shrank, in order; a text with figures is formatted
    # once per distinct combination of them, and only for the lots that fail
    red = np.flatnonzero(reducido)
    with np.errstate(invalid="ignore"):
        checks: list[tuple[_Bool, Sequence[_Piece]]] = [
            (np.isnan(cospb_old) | np.isnan(cospb_new), ["sin dato de COS PB anterior o nuevo"]),
            (
                cospb_new < cospb_old,
                ["COS PB nuevo ", (cospb_new, "g"), " % < anterior ", (cospb_old, "g"), " %"],
            ),
            (np.isnan(pisos_old) | np.isnan(pisos_new), ["sin dato de pisos anterior o nuevo"]),
            (pisos_new < pisos_old, ["pisos nuevos ", (pisos_new, "g"), " < anteriores ", (pisos_old, "g")]),
        ]
        if n_lotes > 0:
            checks.append(
                (
                    ~(area >= n_lotes * lm_new),
                    [
                        "el predio (",
                        (area, ".2f"),
                        f" m²) no alcanza {n_lotes} × lote mínimo nuevo (",
                        (lm_new, "g"),
                        " m²): ningún lote resultante menor al lote mínimo anterior",
                    ],
                )
            )
    motivos = [_formatted(bad[red], pieces, red) for bad, pieces in checks]
    failed_red = _said(motivos, len(red))
    amb_lm = np.zeros(n, dtype=bool)
    amb_lm[red[~failed_red]] = True  # precondiciones cumplidas
    undecidable_lm = cubierto & (np.isnan(lm_old) | np.isnan(lm_new))
    estado.append(_message(undecidable_lm, "sin lote mínimo del PUOS o del PUGS"))
    out["ambito_lote_minimo"] = _boolean(amb_lm, no_cubierto | undecidable_lm)
    out["lote_minimo_anterior"] = lm_old.copy()  # the input's values: the output has its own
    out["lote_minimo_nuevo"] = lm_new.copy()
    out["lote_minimo_precondiciones"] = _boolean(amb_lm, ~reducido)
    group, texts = _joined(motivos, len(red), none="", prefix="§2.2.2 no se cumple, no se cobra: ")
    lm_motivo = np.zeros(n, dtype=np.intp)  # label 0: "" (no precondition failed)
    lm_motivo[red] = group + 1
    out["lote_minimo_motivo"] = labelled_arrow(lm_motivo, pa.concat_arrays([pa.array([""], _LARGE), texts]))

    # --- incremento de edificabilidad --------------------------------------------------------------------
    cos_new = _fill(_num(lots, "cos_total_maximo"), _num(lots, "pisos_maximos") * cospb_new)
    cos_old_puos = _fill(_num(lots, "puos_cos_total"), pisos_old * cospb_old)
    cos_basico = _fill(_num(lots, "cos_total_basico"), pisos_new * cospb_new)
    linea = str(amb["linea_base_edificabilidad"])
    if linea == "puos":
        base = cos_old_puos
    elif linea == "pugs_basico":
        base = cos_basico
    elif linea == "mayor":
        base = np.maximum(cos_old_puos, cos_basico)  # NaN on either side: NaN (no baseline)
    else:
        raise KeyError(linea)
    diff = cos_new - base
    with np.errstate(invalid="ignore"):
        # clip at 0 as pandas does (a -0.0 or NaN difference is kept)
        ae = _where(np.where(diff < 0, 0.0, diff) / 100.0 * area, cubierto)
        amb_edif = cubierto & (ae >= float(amb["ae_min_m2"]))
    undecidable_edif = cubierto & (np.isnan(cos_new) | np.isnan(base) | np.isnan(area))
    # the figures only these sections read, freed now: every array alive adds fresh pages to the stage
    del diff, cos_old_puos, cos_basico, cospb_old, cospb_new, pisos_old, pisos_new, checks, motivos
    out["ambito_edificabilidad"] = _boolean(amb_edif, no_cubierto | undecidable_edif)
    out["cos_total_anterior"] = base
    out["cos_total_nuevo"] = cos_new
    out["ae_ambito_m2"] = _where(ae, amb_edif)
    estado.append(
        _message(undecidable_edif, "sin COS total (o pisos × COS PB) del PUOS o del PUGS, o sin área")
    )

    # --- IR ----------------------------------------------------------------------------------------------
    usa_cu = cubierto & (amb_cls | amb_uso)
    az = _coded(lots, "administracion_zonal")
    tab = _az_table(rules)
    az_key = az.recode(str.casefold)
    ircu_az = az_key.per_label(lambda k: float(tab[k]["ircu"]) if k in tab else np.nan, np.nan, float)
    irlm_az = az_key.per_label(lambda k: float(tab[k]["irlm"]) if k in tab else np.nan, np.nan, float)
    from_table = is_eq & ~(amb_cls & bool(amb["clasificacion_usa_tabla_az"]))
    ir_cu = _where(np.where(from_table, eq_ir, ircu_az), usa_cu)
    out["ir_cu"] = ir_cu
    # sources as codes into one table: the Tabla 2/3 rows, per AZ its IRcu and IRlm texts, then fixed ones
    n_tab, n_az = len(table), len(az.labels)
    fuentes = np.array(
        [
            *(str(f) for f in table["fuente"]),
            *(f"tabla IR AZ {a} (IRcu)" for a in az.labels),
            *(f"tabla IR AZ {a} (IRlm)" for a in az.labels),
            "tabla IR AZ ? (IRcu)",
            "tabla IR AZ ? (IRlm)",
            "",
            "no aplica",
        ],
        dtype=object,
    )
    vacio, no_aplica = len(fuentes) - 2, len(fuentes) - 1
    az_cu = np.where(az.isna(), n_tab + 2 * n_az, n_tab + az.codes)
    az_lm = np.where(az.isna(), n_tab + 2 * n_az + 1, n_tab + n_az + az.codes)
    ir_cu_fuente = np.where(usa_cu, np.where(from_table, row_of, az_cu), vacio)
    ir_lm_fuente = np.where(amb_lm, az_lm, vacio)
    out["ir_cu_fuente"] = labelled(ir_cu_fuente, fuentes)
    ir_lm = _where(irlm_az, amb_lm)
    out["ir_lm"] = ir_lm
    out["ir_lm_fuente"] = labelled(ir_lm_fuente, fuentes)
    needs_az = (usa_cu & ~from_table) | amb_lm
    sin_az = needs_az & az.isna()
    sin_ir = needs_az & ~az.isna() & np.isnan(ircu_az)
    estado.append(_message(sin_az, "sin Administración Zonal: no se puede elegir la tabla IR"))
    estado.append(_message(sin_ir, "sin IR para la Administración Zonal " + az.labels, az.codes))

    # --- calc inputs -------------------------------------------------------------------------------------
    vs_rules = rules["valor_suelo"]
    alfa = float(vs_rules["alfa"])
    vc_default = float(vs_rules["vc"][vs_rules["estructura_predeterminada"]])
    fu_by_cat = {code: float(vs_rules["fu"][cat["fu"]]) for code, cat in rules["usos"]["categorias"].items()}
    avaluo = _num(lots, "avaluo_terreno")
    with np.errstate(divide="ignore", invalid="ignore"):
        # Vs_c (§2.1 Gráf. 8): α × Vcc with construction; avalúo del terreno / área según escritura without
        vs_c = _fill(alfa * _vcc(lots), avaluo / _where(area, area > 0))
    input_arrays: dict[str, _F64] = {
        "alfa": np.full(n, alfa),
        "vc": _fill(_num(lots, "vc"), vc_default),
        "fu": _fill(_num(lots, "fu"), cat_new.per_label(lambda c: fu_by_cat.get(c, np.nan), np.nan, float)),
        "ae": ae,
        "area_terreno": area,
        "aiva": _num(lots, "aiva_valor"),
        "auv": area,  # AUV = lot area (TEXT for unipropiedad; READING for PH, see [ambitos])
        "vsa": avaluo,
        "vs_c": vs_c,
    }
    beneficio = _flag(lots, "en_plan_parcial")
    out["beneficio"] = beneficio

    applies = {
        "uso": usa_cu,
        "edificabilidad": amb_edif,
        "lote-minimo": amb_lm,
        "edificabilidad-uso": amb_edif & usa_cu,
        "edificabilidad-lote-minimo": amb_edif & amb_lm,
    }
    ir_for = {  # the IR of each ámbito whose formula has one
        "uso": ir_cu,
        "lote-minimo": ir_lm,
        "edificabilidad-uso": ir_cu,
        "edificabilidad-lote-minimo": ir_lm,
    }
    # A lot whose IR is already reported missing needs no second message from the calc core.
    ir_reported = sin_az | sin_ir
    cents_of: dict[str, tuple[npt.NDArray[np.int64], _Bool]] = {}  # per ámbito: cents, null
    # per ámbito, per lot: valid for the calc core, and its motivo as a code into the labels (for §2.3.3)
    motivo_of: dict[str, tuple[_Bool, npt.NDArray[np.int32], npt.NDArray[np.object_]]] = {}
    for ambito, mask in applies.items():
        # the calc core (its array form: no frame built around the inputs or results) sees only the lots the
        # formula applies to, and only the columns it reads (aiva too for the beneficio: it sets the bands)
        rows_all = np.flatnonzero(mask)
        cents = np.zeros(n, dtype=np.int64)
        no_cents = np.ones(n, dtype=bool)
        valid = np.zeros(n, dtype=bool)
        motivo_code = np.full(n, -1, dtype=np.int32)
        motivo_labels: list[str] = []
        for ben in (False, True):
            rows = rows_all[beneficio[rows_all] == ben]
            if not len(rows):
                continue
            inputs = {
                col: (ir_for[ambito] if col == "ir" else input_arrays[col])[rows]
                for col in dict.fromkeys([*needed_columns(ambito, beneficio=ben), "aiva"])
            }
            # only the columns read here: the calc core skips the others (bands, Vs, the VIS exoneration)
            res = cod_arrays(
                inputs, n=len(rows), ambito=ambito, rules=rules, beneficio=ben, outputs=_CALC_OUTPUTS
            )
            res_cents = res["cod_centavos"]
            cents[rows] = res_cents.to_numpy(dtype=np.int64, na_value=0)
            no_cents[rows] = res_cents.isna()
            valid[rows] = res["valido"]
            motivo = res["motivo_calc"]
            motivo_code[rows] = len(motivo_labels) + motivo.codes
            motivo_labels.extend(str(m) for m in motivo.categories)
        labels = np.array(motivo_labels, dtype=object)
        cents_of[ambito] = (cents, no_cents)
        motivo_of[ambito] = (valid, motivo_code, labels)
        out[COD_COLUMNS[ambito]] = _dollars(pd.arrays.IntegerArray(cents, no_cents))
        # the calc core never returns a silent zero: an invalid row says which input is missing, and why
        invalid = mask & ~valid & ~ir_reported
        estado.append(_message(invalid, f"{ambito}: " + labels, motivo_code))
    del input_arrays  # the calc inputs (10 columns a lot) are freed before the texts are built

    # --- the ámbito applied (§2.3) -----------------------------------------------------------------------
    # numpy codes per lot (0: ninguno, k: the k-th of COD_COLUMNS, -1: null), texts taken once at the end
    applied_names = np.array([SIN_AMBITO, *COD_COLUMNS], dtype=object)
    code_of = {ambito: k for k, ambito in enumerate(COD_COLUMNS, start=1)}
    applied_code = np.zeros(n, dtype=np.intp)
    applied_cents = np.zeros(n, dtype=np.int64)
    applied_na = np.zeros(n, dtype=bool)
    u, e, lm = usa_cu, amb_edif, amb_lm
    for ambito, where in (
        ("uso", u & ~e & ~lm),
        ("edificabilidad", e & ~u & ~lm),
        ("lote-minimo", lm & ~u & ~e),
        ("edificabilidad-uso", e & u & ~lm),
        ("edificabilidad-lote-minimo", e & lm & ~u),
    ):
        applied_code[where] = code_of[ambito]
        cents, no_cents = cents_of[ambito]
        applied_cents[where] = cents[where]
        applied_na[where] = no_cents[where]
    # §2.3.3 (TEXT): lote mínimo + uso → the larger; with edificabilidad too, the larger of the combined
    # formulas (READING, [ambitos]). The calc core's larger-of rule; ties go to the first (uso).
    for first, second, where in (
        ("uso", "lote-minimo", u & lm & ~e),
        ("edificabilidad-uso", "edificabilidad-lote-minimo", u & lm & e),
    ):
        if not where.any():
            continue
        pair = np.flatnonzero(where)
        # the columns of the calc core's results the larger-of rule reads, for these lots
        sides = []
        for ambito in (first, second):
            valid, motivo_code, labels = motivo_of[ambito]
            cents, no_cents = cents_of[ambito]
            sides.append(
                pd.DataFrame(
                    {
                        "valido": valid[pair],
                        "motivo_calc": labels[motivo_code[pair]],
                        "cod_centavos": pd.arrays.IntegerArray(cents[pair], no_cents[pair]),
                    },
                    index=idx[pair],
                    copy=False,
                )
            )
        larger = mayor_frame(sides[0], sides[1])
        ganador = larger["ambito_ganador"].astype(object).to_numpy()
        winner = np.where(
            ganador == "uso", code_of[first], np.where(ganador == "lote-minimo", code_of[second], -1)
        )
        applied_code[where] = winner
        lc = larger["cod_centavos"]
        applied_cents[where] = lc.to_numpy(dtype=np.int64, na_value=0)
        applied_na[where] = lc.isna().to_numpy() | (winner < 0)
    # an ámbito that cannot be decided may change the applied one: no figure rather than a wrong one
    unknown = no_cubierto | undecidable_uso | undecidable_lm | undecidable_edif
    applied_code[unknown] = -1
    applied_na[unknown] = True
    out["ambito_aplicado"] = labelled(applied_code, applied_names)
    del motivo_of, cents_of  # the per-ámbito calc results are no longer needed

    # IR of the applied ámbito
    cu_applied = (applied_code == code_of["uso"]) | (applied_code == code_of["edificabilidad-uso"])
    lm_applied = (applied_code == code_of["lote-minimo"]) | (
        applied_code == code_of["edificabilidad-lote-minimo"]
    )
    out["ir"] = np.where(lm_applied, ir_lm, np.where(cu_applied, ir_cu, np.nan))
    ir_fuente = np.where(lm_applied, ir_lm_fuente, np.where(cu_applied, ir_cu_fuente, no_aplica))
    out["ir_fuente"] = labelled(np.where(cubierto, ir_fuente, vacio), fuentes)

    # ámbitos in words: 16 combinations of 4 flags → one precomputed text each
    code = amb_cls.astype(np.intp) + amb_uso * 2 + amb_lm * 4 + amb_edif * 8
    words: dict[int, str] = {}
    for c in range(16):
        names = [AMBITO_WORDS[k] for bit, k in enumerate(AMBITO_WORDS) if c & (1 << bit)]
        words[c] = ", ".join(names) if names else "sin cambio"
    # ámbitos that could not be decided are named, so "sin cambio" is never claimed without the data
    nd_code = undecidable_uso.astype(np.intp) + undecidable_lm * 2 + undecidable_edif * 4
    nd_names = ("uso", "lote mínimo", "edificabilidad")
    nd_words = {c: ", ".join(w for bit, w in enumerate(nd_names) if c & (1 << bit)) for c in range(1, 8)}
    # one text per (ámbitos, sin dato) combination (16 × 8), taken per lot; -1: without PUOS coverage
    texts = [words[c] + (f" (sin dato: {nd_words[d]})" if d else "") for d in range(8) for c in range(16)]
    out["ambitos"] = labelled(np.where(cubierto, code + 16 * nd_code, -1), np.array(texts, dtype=object))

    # the larger-of rule cannot pick a side when one side is missing: said, never guessed
    no_reason = cubierto & applied_na & ~_said(estado, n)
    sin_cod = np.array([*applied_names, "el ámbito"], dtype=object)  # the last: no ámbito applied
    estado.append(
        _message(
            no_reason,
            "COD no calculable para " + sin_cod,
            np.where(applied_code < 0, len(applied_names), applied_code),
        )
    )
    applied = pd.arrays.IntegerArray(applied_cents, applied_na)
    out["cod"] = _dollars(applied)
    out["cod_centavos"] = applied
    group, texts = _joined(estado, n, none=_OK)
    out["estado"] = labelled_arrow(group, texts)
    # every column its own array, none shared with another column or the input: the frame takes them as they
    # are (no copy into consolidated blocks)
    return pd.DataFrame({col: out[col] for col in OUTPUT_COLUMNS}, index=idx, copy=False)


#: The calc core's columns :func:`detect_ambitos` reads (the applied ámbito, its estado, §2.3.3).
_CALC_OUTPUTS: tuple[str, ...] = ("valido", "motivo_calc", "cod_centavos")


# ---------------------------------------------------------------------------------------------------------
# the optional stage of the run (quitogeo.pipeline)

#: Lot attributes of ``predios`` the COD per ámbito needs (Vsa, Vs_c, Vcc; layers.md), carried by
#: :func:`stage_puos` because the run's table stages see only joined columns.
LOT_INPUTS: tuple[str, ...] = (
    "regimen",
    "avaluo_terreno",
    "avaluo_cubiertas",
    "area_cubiertas",
    "avaluo_abiertas",
    "area_abiertas",
    "avaluo_adicionales",
    "area_adicionales",
    "avaluo_instalaciones_especiales",
    "avaluo_comunal",
)

#: Columns of :func:`detect_ambitos` renamed in ``predios_resultado``, where ``cod``, ``cod_centavos`` and
#: ``estado`` are the priced scenario's.
RUN_RENAMES: dict[str, str] = {
    "cod": "cod_ambito",
    "cod_centavos": "cod_ambito_centavos",
    "estado": "estado_ambito",
    "beneficio": "ambito_beneficio",
}


def stage_puos(lots: gpd.GeoDataFrame, ctx: Context, index: LotIndex) -> pd.DataFrame:
    """Spatial stage of the run: PUOS attributes by largest overlap, plan parcial membership, avalúo inputs.

    Does nothing (no columns) when the project has no ``puos`` layer.

    Parameters
    ----------
    lots : GeoDataFrame
        The lots (or a chunk of them).
    ctx : quitogeo.pipeline.Context
        The run's context (layers and rules).
    index : LotIndex
        The lots' spatial index.

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``: the columns of :func:`join_puos`, ``en_plan_parcial`` and ``plan_parcial``
        (membership in the ``ambitos.capa_beneficios`` layer; False/None when the layer is absent: no lot gets
        the beneficio) and the :data:`LOT_INPUTS` the lots have.
    """
    from quitogeo.spatial.joins import join_zones

    puos = ctx.layers.get("puos")
    if puos is None:
        return pd.DataFrame(index=lots.index)
    out = join_puos(lots, puos, rules=ctx.rules, index=index)
    capa = str(ctx.rules["ambitos"]["capa_beneficios"])
    planes = ctx.layers.get(capa)
    if planes is None:
        out["en_plan_parcial"] = False
        out["plan_parcial"] = None
    else:
        inside, labels = join_zones(
            lots,
            planes,
            label_columns=("nombre",),
            prefix=capa,
            min_overlap_m2=float(ctx.rules["tolerancias"]["zona_min_overlap_m2"]),
            index=index,
        )
        out["en_plan_parcial"] = inside
        out["plan_parcial"] = labels
    for col in LOT_INPUTS:
        if col in lots.columns:
            out[col] = lots[col].to_numpy()
    return out


def stage_ambitos(joined: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Table stage of the run: :func:`detect_ambitos` on the joined lots, with :data:`RUN_RENAMES`.

    Does nothing (no columns) when the project has no ``puos`` layer.

    Parameters
    ----------
    joined : DataFrame
        The columns of the run's earlier stages (PIT, AIVA, administración zonal, :func:`stage_puos`).
    ctx : quitogeo.pipeline.Context
        The run's context.

    Returns
    -------
    DataFrame
        Aligned to ``joined.index``: :data:`OUTPUT_COLUMNS` with ``cod``, ``cod_centavos``, ``estado`` and
        ``beneficio`` renamed to ``cod_ambito``, ``cod_ambito_centavos``, ``estado_ambito`` and
        ``ambito_beneficio``.
    """
    if "puos" not in ctx.layers:
        return pd.DataFrame(index=joined.index)
    out = detect_ambitos(joined, rules=ctx.rules)
    return out.rename(columns=RUN_RENAMES)


__all__ = [
    "AMBITO_WORDS",
    "COD_COLUMNS",
    "LOT_INPUTS",
    "OUTPUT_COLUMNS",
    "PUOS_COLUMNS",
    "RUN_RENAMES",
    "SIN_AMBITO",
    "detect_ambitos",
    "join_puos",
    "stage_ambitos",
    "stage_puos",
]
