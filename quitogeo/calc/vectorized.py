"""The COD over a DataFrame of lots: the cents of :func:`~quitogeo.calc.cod.compute_cod`, ≥ 1 M lots/s.

How the cents stay exact (normativa §2 "Money"): the formulas (the same ``formula_*`` functions as the scalar
form) run in float64, whose relative error on these few products is ~1e-15. Rounding half-up to cents can only
differ from the exact Decimal result when the unrounded cents lie within that error of a ``.5`` boundary, or
when a band edge (IC = 1 or 2, VIS = 20 %) is within it. Those rows are recomputed exactly on
``Decimal(repr(x))`` of their float inputs, which is the contract of the scalar form for floats. The flagging
window is a relative 1e-12 (hundreds of times the float error).

They are not rare: with Ae stated in cm² and prices with few decimals, a product often lands exactly on half a
cent (~0.8 % of a district's lots). So the exact recomputation is vectorised too (:func:`_exact_cents`): each
input read as the exact decimal of its ``repr`` (an integer numerator over a power of ten, found without
``repr`` for the figures with up to 12 decimals), the same shared ``formula_*`` applied to Python integers
(object arrays: exact, like the scalar path's 200-digit Decimals), half-up to cents. Only rows asking for the
VIS exoneration take the whole scalar path, one by one. A Python loop per row cost 27 µs, 0.05 s per 200 000
lots.

The run's COD stage calls :func:`cod_arrays` (the same computation on arrays, only the columns it needs):
fresh memory costs more than the arithmetic here (a new page is a fault, ~2 µs in the run's VM, once the run
has handed freed memory back between stages), so the computation keeps few full-size temporaries alive.

Invalid rows are never silently zero: a row with a missing (NaN), negative or non-finite needed value, α
outside the rules' range, a zero lot area, etc. gets ``valido = False``, ``motivo_calc`` saying which
parameter and rule, and NaN/<NA> in every money column. ``estricto=True`` raises.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quitogeo.calc.beta import beta_bands
from quitogeo.calc.cod import (
    compute_cod_params,
    formula_edificabilidad,
    formula_edificabilidad_lote_minimo,
    formula_edificabilidad_uso,
    formula_lote_minimo,
    formula_uso,
    ir_efectivo,
)
from quitogeo.calc.params import AMBITOS, AMBITOS_CON_AE, CalcParams, calc_params
from quitogeo.errors import CalcInputError
from quitogeo.rules import Rules

F64 = npt.NDArray[np.float64]

#: Input columns the vectorised form understands (float64, NaN where not applicable).
INPUT_COLUMNS = (
    "alfa",
    "vc",
    "fu",
    "ae",
    "area_terreno",
    "aiva",
    "ir",
    "auv",
    "vsa",
    "vs_c",
    "vis",
    "area_util_proyecto",
)

#: Output columns, in order.
OUTPUT_COLUMNS = (
    "valido",
    "motivo_calc",
    "ic",
    "beta",
    "beta_fila",
    "beta_columna",
    "vs",
    "cod",
    "cod_centavos",
    "exoneracion",
    "cod_exonerado",
    "cod_exonerado_centavos",
)

#: Relative window around a rounding boundary or band edge inside which a row is recomputed exactly.
EXACT_WINDOW = 1e-12


def needed_columns(ambito: str, *, beneficio: bool = False) -> tuple[str, ...]:
    """List the input columns an ámbito needs (normativa §2), in the order they are checked.

    Parameters
    ----------
    ambito : str
        One of :data:`~quitogeo.calc.params.AMBITOS`.
    beneficio : bool, default False
        Beneficios do not need ``aiva`` (no β).

    Returns
    -------
    tuple of str
    """
    cols: list[str] = []
    if ambito == "uso":
        cols += ["vs_c", "ir", "auv"]
    elif ambito == "lote-minimo":
        cols += ["vsa", "ir"]
    else:
        cols += ["alfa", "vc", "fu", "ae", "area_terreno"]
        if ambito != "edificabilidad":
            cols += ["ir", "auv"]
    if not beneficio:
        cols.append("aiva")
    return tuple(cols)


def _column(frame: pd.DataFrame, name: str) -> F64:
    series = frame[name]
    if series.dtype == np.float64:
        return series.to_numpy()  # already float64 with NaN for null: no copy (the core only reads it)
    try:
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise CalcInputError(
            f"la columna '{name}' no es numérica ({exc}); conviértala a float64", parameter=name
        ) from exc


def cod_frame(
    frame: pd.DataFrame,
    *,
    ambito: str,
    rules: Rules,
    beneficio: bool = False,
    estricto: bool = False,
) -> pd.DataFrame:
    """Compute the COD of every row of ``frame`` (vectorised ``compute_cod``; Anexo 01 §1–2, §4–5).

    Formulas and statuses as in :func:`~quitogeo.calc.cod.compute_cod` (one ``formula_*`` function per ámbito,
    shared). For ``uso`` the land value comes in column ``vs_c`` (α × Vcc or avalúo / área, from upstream).
    The VIS exoneration (§4.1) is applied on rows where ``vis`` is not NaN (then ``area_util_proyecto`` is
    required); ``vis`` must be NaN for ámbitos without Ae.

    Parameters
    ----------
    frame : DataFrame
        One row per lot, float64 columns among ``alfa, vc, fu, ae, area_terreno, aiva, ir, auv, vsa, vs_c,
        vis, area_util_proyecto``; only those the ámbito needs must be present (see :func:`needed_columns`).
        Other columns are ignored.
    ambito : str
        ``uso``, ``edificabilidad``, ``lote-minimo``, ``edificabilidad-uso``, ``edificabilidad-lote-minimo``.
    rules : Rules
        Rules in force (β table, α range, IR switch, VIS threshold).
    beneficio : bool, default False
        Planes parciales / UAU: β = 1 (§5.1).
    estricto : bool, default False
        Raise :class:`~quitogeo.errors.CalcInputError` on the first invalid row instead of marking it.

    Returns
    -------
    DataFrame
        Aligned to ``frame.index``: ``valido`` (bool), ``motivo_calc`` (categorical, "" when valid), ``ic``,
        ``beta`` (float64), ``beta_fila``/``beta_columna`` (Int64), ``vs`` (NaN for ``lote-minimo``),
        ``cod`` (float64 = cents / 100), ``cod_centavos`` (Int64), ``exoneracion`` (min(Ex, 1); 0 if no VIS),
        ``cod_exonerado`` and ``cod_exonerado_centavos``. Invalid rows have NaN / <NA> money.

    Raises
    ------
    CalcInputError
        Unknown ámbito, a needed column absent, or (``estricto``) an invalid row.

    Examples
    --------
    >>> import pandas as pd
    >>> from quitogeo.rules import load_rules
    >>> lots = pd.DataFrame({"alfa": [0.12], "vc": [500.0], "fu": [1.0], "ae": [300.0],
    ...                      "area_terreno": [400.0], "aiva": [450.0]})
    >>> cod_frame(lots, ambito="edificabilidad", rules=load_rules())["cod_centavos"].tolist()
    [396000]
    """
    _check_columns(frame.columns, ambito=ambito, beneficio=beneficio)
    needed = needed_columns(ambito, beneficio=beneficio)
    wanted = (
        [*needed, "aiva", "vis", "area_util_proyecto"]
        if beneficio
        else [*needed, "vis", "area_util_proyecto"]
    )
    columns = {name: _column(frame, name) for name in dict.fromkeys(wanted) if name in frame.columns}
    out = cod_arrays(
        columns,
        n=len(frame),
        ambito=ambito,
        rules=rules,
        beneficio=beneficio,
        estricto=estricto,
        index=frame.index,
    )
    return pd.DataFrame(out, index=frame.index, copy=False)


def _check_columns(names: Any, *, ambito: str, beneficio: bool) -> None:
    """Refuse an unknown ámbito, a needed column absent, or ``vis`` without ``area_util_proyecto``."""
    if ambito not in AMBITOS:
        raise CalcInputError(
            f"ámbito {ambito!r} desconocido; use uno de: {', '.join(AMBITOS)}", parameter="ambito"
        )
    needed = needed_columns(ambito, beneficio=beneficio)
    for name in needed:
        if name not in names:
            raise CalcInputError(
                f"falta la columna '{name}' para el ámbito {ambito} (necesarias: {', '.join(needed)})",
                parameter=name,
            )
    if "vis" in names and "area_util_proyecto" not in names:
        raise CalcInputError(
            "la columna 'vis' requiere 'area_util_proyecto' (Anexo 01 §4.1: VIS ≥ 20 % del área útil del "
            "proyecto)",
            parameter="area_util_proyecto",
        )


def cod_arrays(
    columns: Mapping[str, F64],
    *,
    n: int,
    ambito: str,
    rules: Rules,
    beneficio: bool = False,
    estricto: bool = False,
    index: pd.Index | None = None,
    outputs: Collection[str] | None = None,
) -> dict[str, Any]:
    """Compute :func:`cod_frame`'s columns from float64 arrays, without building a DataFrame.

    The run's COD stage calls this on its own arrays (no input or output frame to copy through).

    Parameters
    ----------
    columns : mapping of str to ndarray of float64
        The input columns of :func:`cod_frame` (at least :func:`needed_columns`), each of length ``n``; they
        are only read.
    n : int
        Number of rows.
    ambito, rules, beneficio, estricto
        As in :func:`cod_frame`.
    index : pandas.Index, optional
        Row labels, only to name the first invalid row when ``estricto`` (positions otherwise).
    outputs : collection of str, optional
        The columns of :data:`OUTPUT_COLUMNS` wanted (all by default; ``valido`` always comes): the others are
        not computed.

    Returns
    -------
    dict of str to array
        The wanted :data:`OUTPUT_COLUMNS` in that order, as :func:`cod_frame` returns them (numpy arrays,
        ``IntegerArray`` and a ``Categorical``), each its own new array.

    Raises
    ------
    CalcInputError
        As :func:`cod_frame`.
    """
    _check_columns(columns, ambito=ambito, beneficio=beneficio)
    params = calc_params(rules)
    needed = needed_columns(ambito, beneficio=beneficio)
    has_vis = "vis" in columns
    cols: dict[str, F64] = {name: np.asarray(columns[name], dtype=np.float64) for name in needed}
    if beneficio and "aiva" in columns:
        cols["aiva"] = np.asarray(columns["aiva"], dtype=np.float64)
    vis = np.asarray(columns["vis"], dtype=np.float64) if has_vis else np.full(n, np.nan)
    total = np.asarray(columns["area_util_proyecto"], dtype=np.float64) if has_vis else np.full(n, np.nan)
    has_ae = ambito in AMBITOS_CON_AE
    asks_vis = ~np.isnan(vis)
    any_vis = bool(asks_vis.any())

    # --- validity: the first failing check names the row's motivo ---------------------------------------
    reasons: list[str] = [""]
    reason_param: list[str | None] = [None]
    masks: list[tuple[int, npt.NDArray[np.bool_]]] = []

    def flag(mask: npt.NDArray[np.bool_] | None, text: str, param: str) -> None:
        # every check is a category of ``motivo_calc`` (in this order), whether or not a row fails it; None:
        # no row can fail it (its mask is not even computed)
        reasons.append(text)
        reason_param.append(param)
        if mask is not None:
            masks.append((len(reasons) - 1, mask))

    with np.errstate(invalid="ignore"):
        for name in needed:
            x = cols[name]
            # two reductions over a column that is all finite and ≥ 0 (the usual case) instead of three masks
            clean = bool((x >= 0).all()) and not np.isinf(x).any()
            flag(None if clean else np.isnan(x), f"falta {name} (NaN) para el ámbito {ambito}", name)
            flag(None if clean else np.isinf(x), f"{name} no es un número finito", name)
            flag(None if clean else x < 0, f"{name} negativo: debe ser ≥ 0", name)
        if "alfa" in cols:
            lo, hi = float(params.alfa_min), float(params.alfa_max)
            flag(
                (cols["alfa"] < lo) | (cols["alfa"] > hi),
                f"alfa fuera de {params.alfa_rango} (Anexo 01 §2.1 y §2.2.1)",
                "alfa",
            )
        if has_ae:
            flag(
                cols["area_terreno"] == 0,
                "area_terreno = 0: IC = Ae / área no está definido (Anexo 01 §1)",
                "area_terreno",
            )
        if "ir" in cols and params.ir_interpretacion == "multiplicador":
            flag(cols["ir"] < 1, "ir < 1 con ir.interpretacion = 'multiplicador' (IR − 1 negativo)", "ir")
        if beneficio and "aiva" in cols:
            flag(np.isinf(cols["aiva"]) | (cols["aiva"] < 0), "aiva negativo o no finito", "aiva")
        # without a VIS figure in any row, no VIS check can fail: their masks are not computed
        if not has_ae or ambito not in params.vis_ambitos:
            flag(
                asks_vis if any_vis else None,
                f"exoneración VIS no aplica al ámbito {ambito} (Ex = VIS / Ae, Anexo 01 §4.1)",
                "vis",
            )
        flag(asks_vis & (np.isinf(vis) | (vis < 0)) if any_vis else None, "vis negativo o no finito", "vis")
        flag(
            asks_vis & np.isnan(total) if any_vis else None,
            "falta area_util_proyecto para la exoneración VIS (Anexo 01 §4.1)",
            "area_util_proyecto",
        )
        flag(
            asks_vis & (np.isinf(total) | (total < 0)) if any_vis else None,
            "area_util_proyecto negativo o no finito",
            "area_util_proyecto",
        )
        flag(
            asks_vis & (total == 0) if any_vis else None,
            "area_util_proyecto = 0 (Anexo 01 §4.1)",
            "area_util_proyecto",
        )
        flag(
            asks_vis & (vis > total) if any_vis else None,
            "vis mayor que area_util_proyecto (Anexo 01 §4.1)",
            "vis",
        )
    # the first failing check of a row is its motivo: the checks written last to first, the first one wins
    code = np.zeros(n, dtype=np.int16)
    for k, mask in reversed(masks):
        np.putmask(code, mask, k)
    masks.clear()  # the masks are freed before the float computation
    valid = code == 0
    if estricto and not valid.all():
        first = int(np.flatnonzero(~valid)[0])
        label = index[first] if index is not None else first
        raise CalcInputError(
            f"fila {label!r} ({int((~valid).sum())} filas inválidas): {reasons[code[first]]}",
            parameter=reason_param[code[first]],
        )

    # --- the float computation -----------------------------------------------------------------------------
    with np.errstate(all="ignore"):
        aiva = cols["aiva"] if "aiva" in cols else np.full(n, np.nan)
        ae = cols.get("ae")
        area = cols.get("area_terreno")
        fila, columna, near_ic = beta_bands(aiva, ae if has_ae else None, area if has_ae else None, params)
        tabla = np.array([[float(b) for b in row] for row in params.beta_tabla])
        fi = np.clip(fila, 1, 3) - 1
        co = np.clip(columna, 1, 3) - 1
        beta = np.ones(n) if beneficio else tabla[fi, co]
        ir = ir_efectivo(cols["ir"], params.ir_interpretacion) if "ir" in cols else None
        vs: F64
        if ambito == "uso":
            assert ir is not None
            vs = cols["vs_c"]
            cod = formula_uso(vs, ir, cols["auv"], beta)
        elif ambito == "lote-minimo":
            assert ir is not None
            vs = np.full(n, np.nan)
            cod = formula_lote_minimo(cols["vsa"], ir, beta)
        else:
            assert ae is not None
            vs = cols["alfa"] * cols["vc"] * cols["fu"]
            if ambito == "edificabilidad":
                cod = formula_edificabilidad(vs, ae, beta)
            elif ambito == "edificabilidad-uso":
                assert ir is not None
                cod = formula_edificabilidad_uso(vs, ae, ir, cols["auv"], beta)
            else:
                assert ir is not None
                cod = formula_edificabilidad_lote_minimo(vs, ae, ir, cols["auv"], beta)
        ic = (
            ae / area
            if has_ae and ae is not None and area is not None
            else np.full(n, float(params.ic_sin_ae))
        )

        # rows whose cents lie within the window of a half cent are recomputed exactly; the unrounded cents'
        # distance to the half is computed in one buffer that then holds the rounded cents (fresh pages cost
        # more than these passes: every full-size temporary avoided counts)
        cents_f = cod * 100.0
        window = EXACT_WINDOW * cents_f
        cents = np.floor(cents_f)
        np.subtract(cents_f, cents, out=cents)
        cents -= 0.5
        np.abs(cents, out=cents)
        near = cents <= window
        np.add(cents_f, 0.5, out=cents)
        np.floor(cents, out=cents)
        frac: F64 | None = None
        cents_ex: F64 | None = None
        if any_vis:
            # VIS exoneration (§4.1): threshold compared without dividing; Ex ≥ 1 (or Ae = 0) → total.
            umbral = float(params.vis_fraccion_min)
            aplica = asks_vis & (vis >= umbral * total)
            near_vis = asks_vis & (
                np.abs(vis - umbral * total) <= EXACT_WINDOW * np.maximum(vis, umbral * total)
            )
            if has_ae and ae is not None:
                total_ex = aplica & (vis >= ae)
                frac = np.where(aplica, np.where(total_ex, 1.0, vis / ae), 0.0)
                # (Ae − VIS) / Ae keeps the factor accurate when VIS is close to Ae.
                factor = np.where(aplica, np.where(total_ex, 0.0, (ae - vis) / ae), 1.0)
            else:
                frac = np.zeros(n)
                factor = np.ones(n)
            cents_ex_f = cod * factor * 100.0
            near |= np.abs(cents_ex_f - np.floor(cents_ex_f) - 0.5) <= window
            cents_ex = np.floor(cents_ex_f + 0.5)
        else:
            # no row asks for the exoneration: factor 1 and fraction 0, the exonerated cents are the cents
            near_vis = asks_vis
        del cod, cents_f, window

    exact_rows = np.flatnonzero(valid & (near | near_ic | near_vis))
    del near, near_ic
    fila = fila.astype(np.int64)
    columna = columna.astype(np.int64)
    wanted = set(OUTPUT_COLUMNS if outputs is None else outputs)
    exonerated = bool(wanted & {"exoneracion", "cod_exonerado", "cod_exonerado_centavos"})
    if exonerated and cents_ex is None:
        frac = np.zeros(n)
        cents_ex = cents.copy()
    if exact_rows.size:
        # the VIS exoneration has its own exact branch: the whole scalar path, row by row (rarer still)
        vis_rows = exact_rows[~np.isnan(vis[exact_rows])]
        if vis_rows.size:
            assert cents_ex is not None and frac is not None  # rows with VIS: computed above
            _recompute_exact(
                vis_rows,
                ambito,
                params,
                beneficio,
                cols,
                vis,
                total,
                out=(cents, cents_ex, beta, fila, columna, frac),
            )
        plain = exact_rows[np.isnan(vis[exact_rows])]
        if plain.size:
            cents[plain] = _exact_cents(plain, ambito, params, beneficio, cols, fila, columna)
            if cents_ex is not None:
                cents_ex[plain] = cents[plain]

    # --- assemble: invalid rows get NaN / <NA> (their cents and bands stored as 0) -------------------------
    invalid = ~valid
    no_band = invalid | np.isnan(aiva) if beneficio else invalid
    out: dict[str, Any] = {"valido": valid}
    if "motivo_calc" in wanted:
        out["motivo_calc"] = pd.Categorical.from_codes(code, categories=pd.Index(_unique(reasons)))
    if "ic" in wanted:
        ic[invalid] = np.nan  # a new array (Ae / área or a constant), never an input
        out["ic"] = ic
    if "beta" in wanted:
        beta[invalid] = np.nan  # a new array (the table's cells or ones)
        out["beta"] = beta
    for name, band in (("beta_fila", fila), ("beta_columna", columna)):
        if name in wanted:
            band[no_band] = 0
            out[name] = pd.arrays.IntegerArray(band, no_band.copy())
    if "vs" in wanted:
        out["vs"] = np.where(valid, vs, np.nan)  # Vs may be an input column (Vs_c): a copy
    cents[invalid] = 0
    if "cod" in wanted:
        dollars = cents / 100.0
        dollars[invalid] = np.nan
        out["cod"] = dollars
    if "cod_centavos" in wanted:
        out["cod_centavos"] = pd.arrays.IntegerArray(cents.astype(np.int64), invalid.copy())
    if exonerated:
        assert frac is not None and cents_ex is not None
        if "exoneracion" in wanted:
            frac[invalid] = np.nan
            out["exoneracion"] = frac
        cents_ex[invalid] = 0
        if "cod_exonerado" in wanted:
            dollars_ex = cents_ex / 100.0
            dollars_ex[invalid] = np.nan
            out["cod_exonerado"] = dollars_ex
        if "cod_exonerado_centavos" in wanted:
            out["cod_exonerado_centavos"] = pd.arrays.IntegerArray(cents_ex.astype(np.int64), invalid.copy())
    return {name: out[name] for name in OUTPUT_COLUMNS if name in out}


def _unique(reasons: list[str]) -> list[str]:
    """Categories must be unique: suffix repeated texts (identical checks can repeat across parameters)."""
    seen: dict[str, int] = {}
    out = []
    for r in reasons:
        k = seen.get(r, 0)
        out.append(r if k == 0 else f"{r} ({k})")
        seen[r] = k + 1
    return out


def _recompute_exact(
    rows: npt.NDArray[np.intp],
    ambito: str,
    params: CalcParams,
    beneficio: bool,
    cols: dict[str, F64],
    vis: F64,
    total: F64,
    *,
    out: tuple[npt.NDArray[Any], ...],
) -> None:
    """Recompute ``rows`` (rows with a VIS exoneration) with the whole exact scalar path, in place.

    Only VIS rows near a rounding boundary or a band edge get here (a few per million): a Python loop over
    them is cheap, and it is what makes the vectorised cents equal to the scalar cents. The other rows near a
    boundary take :func:`_exact_cents`.
    """
    cents, cents_ex, beta, fila, columna, frac = out
    for i in rows:
        given: dict[str, Any] = {name: float(arr[i]) for name, arr in cols.items() if not np.isnan(arr[i])}
        given["vis"] = float(vis[i])
        given["area_util_proyecto"] = float(total[i])
        res = compute_cod_params(ambito, params=params, given=given, beneficio=beneficio)
        cents[i] = float(res.cod * 100)
        cents_ex[i] = float(res.cod_exonerado * 100)
        beta[i] = float(res.beta)
        if res.beta_fila is not None and res.beta_columna is not None:
            fila[i] = res.beta_fila
            columna[i] = res.beta_columna
        frac[i] = float(res.exoneracion.fraccion)


#: Powers of ten as Python integers (an object array, indexed by a scale per row).
_POW10: npt.NDArray[np.object_] = np.array([10**i for i in range(512)], dtype=object)

#: Most decimals tried by scaling a float (beyond, and for big figures, its ``repr`` is read one by one).
_SCALED_DECIMALS = 12


class _Exact:
    """Exact decimals of many rows: ``m / 10**k`` with Python-integer numerators ``m`` (an object array).

    The shared ``formula_*`` functions only multiply, add and subtract, which Python integers do exactly:
    applied to these vectors they give the exact Decimal result of the scalar path (whose 200-digit context
    keeps those products exact) for every row at once, one C loop of Python-integer operations per step.
    """

    __slots__ = ("k", "m")

    def __init__(self, m: npt.NDArray[np.object_], k: npt.NDArray[np.int64]) -> None:
        self.m = m
        self.k = k

    @staticmethod
    def _of(other: _Exact | int) -> _Exact:
        if isinstance(other, _Exact):
            return other
        return _Exact(np.array(int(other), dtype=object), np.zeros(1, dtype=np.int64))

    def __mul__(self, other: _Exact | int) -> _Exact:
        o = _Exact._of(other)
        return _Exact(self.m * o.m, self.k + o.k)

    __rmul__ = __mul__

    def __add__(self, other: _Exact | int) -> _Exact:
        o = _Exact._of(other)
        k = np.maximum(self.k, o.k)
        return _Exact(self.m * _POW10[k - self.k] + o.m * _POW10[k - o.k], k)

    __radd__ = __add__

    def __sub__(self, other: _Exact | int) -> _Exact:
        return self + _Exact._of(other) * -1

    def __rsub__(self, other: _Exact | int) -> _Exact:
        return _Exact._of(other) + self * -1

    def cents(self) -> npt.NDArray[np.float64]:
        """Round to cents half-up (away from zero at a half, as :func:`.money.round_cents`), as floats."""
        m = np.broadcast_to(self.m, self.k.shape)
        shift = self.k - 2
        out = np.empty(len(shift), dtype=object)
        up = shift <= 0
        out[up] = m[up] * _POW10[-shift[up]]
        down = ~up
        d = _POW10[shift[down]]
        mag = np.abs(m[down])
        q = (2 * mag + d) // (2 * d)  # floor(|m| / d + 1/2): half-up on the magnitude
        out[down] = np.where(np.array(m[down] < 0, dtype=bool), -q, q)
        # float() of a Python integer is correctly rounded, as float() of the scalar path's Decimal cents
        return out.astype(np.float64)


def _decimal_parts(value: Decimal) -> tuple[int, int]:
    """``value`` as ``(m, k)`` with ``value == m / 10**k`` and ``k >= 0``."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite: the checks refused NaN and infinities
    m = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent >= 0:
        return m * 10**exponent, 0
    return m, -exponent


def _exact_floats(x: F64) -> _Exact:
    """Read the floats ``x`` as the exact decimals of their ``repr`` (the calc core's reading of a float).

    ``m / 10**k`` (float division, correctly rounded) equal to ``x`` means that decimal reads back as ``x``;
    the smallest such ``k`` is the decimals of ``repr(x)`` (the shortest spelling that reads back; no other
    ``k``-decimal number does while ``|m| < 2**50``, the floats' spacing being far below ``10**-k``). Figures
    with more decimals, or larger, are read through ``repr`` one by one as the scalar path does.
    """
    n = len(x)
    m = np.zeros(n, dtype=object)
    k = np.zeros(n, dtype=np.int64)
    left = np.arange(n)
    with np.errstate(all="ignore"):
        for decimals in range(_SCALED_DECIMALS + 1):
            if not len(left):
                break
            scale = 10.0**decimals
            xs = x[left]
            scaled = np.round(xs * scale)
            hit = (np.abs(scaled) < 2.0**50) & (scaled / scale == xs)
            rows = left[hit]
            m[rows] = scaled[hit].astype(np.int64).tolist()
            k[rows] = decimals
            left = left[~hit]
    for i in left.tolist():
        m[i], k[i] = _decimal_parts(Decimal(repr(float(x[i]))))
    return _Exact(m, k)


class _ExactInputs(dict[str, _Exact]):
    """The formula inputs of some rows as :class:`_Exact`, each read from its float column when asked."""

    def __init__(self, cols: dict[str, F64], rows: npt.NDArray[np.intp]) -> None:
        super().__init__()
        self.cols = cols
        self.rows = rows

    def __missing__(self, name: str) -> _Exact:
        value = _exact_floats(self.cols[name][self.rows])
        self[name] = value
        return value


def _exact_cents(
    rows: npt.NDArray[np.intp],
    ambito: str,
    params: CalcParams,
    beneficio: bool,
    cols: dict[str, F64],
    fila: npt.NDArray[np.integer[Any]],
    columna: npt.NDArray[np.integer[Any]],
) -> npt.NDArray[np.float64]:
    """Exact cents of ``rows`` (valid rows without VIS), as the scalar path computes them, vectorised.

    Every input as the Decimal of its ``repr``, the same shared formula, half-up to cents
    (:class:`_Exact`). β is the Tabla 1 cell of the row's band: :func:`.beta.beta_bands` already decided the
    AIVA row and the IC column exactly (AIVA by float comparison, which orders as the reprs do; IC near an
    edge by the scalar form's Decimal comparison), so the bands, β as a float and the VIS fraction (0) the
    vectorised path computed are the scalar path's: only the cents change here.
    """
    d = _ExactInputs(cols, rows)
    if beneficio:
        b = _Exact._of(1)
    else:
        parts = [[_decimal_parts(cell) for cell in row] for row in params.beta_tabla]
        b_m = np.array([[mk[0] for mk in row] for row in parts], dtype=object)
        b_k = np.array([[mk[1] for mk in row] for row in parts], dtype=np.int64)
        fi = fila[rows] - 1
        co = columna[rows] - 1
        b = _Exact(b_m[fi, co], b_k[fi, co])
    if "ir" in cols:
        d["ir"] = ir_efectivo(d["ir"], params.ir_interpretacion)  # type: ignore[type-var, assignment]
    value: _Exact = _EXACT_FORMULAS[ambito](d, b)  # type: ignore[arg-type, assignment]
    return value.cents()


def _vs(d: dict[str, Decimal]) -> Decimal:
    return d["alfa"] * d["vc"] * d["fu"]


#: The shared formulas over a row's Decimal inputs (``ir`` already effective) and β, per ámbito.
_EXACT_FORMULAS: dict[str, Callable[[dict[str, Decimal], Decimal], Decimal]] = {
    "uso": lambda d, b: formula_uso(d["vs_c"], d["ir"], d["auv"], b),
    "edificabilidad": lambda d, b: formula_edificabilidad(_vs(d), d["ae"], b),
    "lote-minimo": lambda d, b: formula_lote_minimo(d["vsa"], d["ir"], b),
    "edificabilidad-uso": lambda d, b: formula_edificabilidad_uso(_vs(d), d["ae"], d["ir"], d["auv"], b),
    "edificabilidad-lote-minimo": lambda d, b: formula_edificabilidad_lote_minimo(
        _vs(d), d["ae"], d["ir"], d["auv"], b
    ),
}


def mayor_frame(uso: pd.DataFrame, lote_minimo: pd.DataFrame) -> pd.DataFrame:
    """Apply the larger-of rule (Anexo 01 §2.3.3; TEXT) row by row to two :func:`cod_frame` results.

    Parameters
    ----------
    uso, lote_minimo : DataFrame
        ``cod_frame(..., ambito="uso")`` and ``cod_frame(..., ambito="lote-minimo")`` of the same lots (same
        index).

    Returns
    -------
    DataFrame
        The winning row's columns plus ``ambito_ganador`` (``"uso"``/``"lote-minimo"``; ties in cents go to
        ``uso``, as :func:`~quitogeo.calc.cod.cod_mayor`). A row is valid only if both computations are.
    """
    if not uso.index.equals(lote_minimo.index):
        raise CalcInputError(
            "la regla del mayor (Anexo 01 §2.3.3) necesita los mismos predios en ambos ámbitos"
        )
    both = uso["valido"].to_numpy(bool) & lote_minimo["valido"].to_numpy(bool)
    lm_wins = both & (
        lote_minimo["cod_centavos"].fillna(0).to_numpy(np.int64)
        > uso["cod_centavos"].fillna(0).to_numpy(np.int64)
    )
    out = uso.copy()
    for col in uso.columns:
        if col in ("valido", "motivo_calc"):
            continue
        out[col] = uso[col].where(~lm_wins, lote_minimo[col])
    out["valido"] = both
    motivo = uso["motivo_calc"].astype(str).where(~uso["valido"], lote_minimo["motivo_calc"].astype(str))
    out["motivo_calc"] = motivo
    out["ambito_ganador"] = np.where(lm_wins, "lote-minimo", "uso")
    out.loc[~both, "ambito_ganador"] = None
    return out


__all__ = [
    "EXACT_WINDOW",
    "INPUT_COLUMNS",
    "OUTPUT_COLUMNS",
    "cod_arrays",
    "cod_frame",
    "mayor_frame",
    "needed_columns",
]
