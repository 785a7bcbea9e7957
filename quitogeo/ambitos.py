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

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

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

#: Text dtype of the intermediate columns: pandas' string semantics (``<NA>``, ``.str``) over Python objects.
#: Arrow-backed strings copied every text into Arrow buffers a lot at a time, and Arrow's memory pool kept
#: the freed buffers (+1.1 GB of RSS at 1 M lots); here the distinct strings are shared Python objects.
_STR = pd.StringDtype("python")


# ---------------------------------------------------------------------------------------------------------
# small vectorised helpers


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    """Column as float64 (NaN where absent or not a number)."""
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Column as stripped text, ``<NA>`` where absent or empty."""
    if column not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype=_STR)
    # stripped once per distinct value (the lots share a few), then taken for every lot
    codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = [str(u).strip() or None for u in uniques]
    table[-1] = None  # code -1 (null) takes the last entry
    return pd.Series(table[codes], index=frame.index, dtype=_STR)


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    """Boolean column (False where absent or null)."""
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return frame[column].fillna(False).astype(bool)


#: A message of :func:`_append`: one text, a text per lot, or a function of the masked rows' positions
#: that formats the text only for them.
_Message = pd.Series | str | Callable[[npt.NDArray[np.intp]], Any]


def _append(estado: pd.Series, mask: pd.Series, message: _Message) -> pd.Series:
    """Add ``message`` to ``estado`` where ``mask`` (replacing ``ok``; other messages kept, ``; ``-joined).

    Only the masked rows are touched, so a message that concerns a few lots costs little on a large run:
    ``estado`` is an object column whose untouched rows keep their (shared) string objects. A Series message
    is either aligned to all lots or already restricted to the masked rows, in order.
    """
    rows = np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool))
    if not len(rows):
        return estado
    msg: Any
    if callable(message):
        msg = np.asarray(message(rows), dtype=object)
    elif isinstance(message, pd.Series):
        sub = message.iloc[rows] if len(message) == len(estado) else message
        msg = sub.astype(object).to_numpy(dtype=object)
    else:
        msg = message
    values = estado.to_numpy(dtype=object).copy()
    current = values[rows]
    missing = pd.isna(msg)
    safe = np.where(missing, "", msg) if np.ndim(msg) else ("" if missing else msg)
    new = np.asarray(np.where(current == _OK, safe, current + "; " + safe), dtype=object)
    if np.any(missing):
        new[np.broadcast_to(missing, new.shape)] = None  # a null message makes the state null, as before
    values[rows] = new
    return pd.Series(values, index=estado.index, dtype=object)


def _per_text(series: pd.Series, func: Callable[[str], Any], null: Any) -> pd.Series:
    """``func`` of each text, called once per distinct value (``null`` where the text is null)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = [func(u) for u in uniques]
    table[-1] = null
    return pd.Series(table[codes], index=series.index, dtype=object)


def _calc_reason(ambito: str, motivo: pd.Series) -> Callable[[npt.NDArray[np.intp]], pd.Series]:
    """Give the calc core's reason for the given rows, prefixed by the ámbito (formatted for them only)."""
    return lambda rows: f"{ambito}: " + motivo.iloc[rows].astype(_STR).fillna("")


def _per_value(series: pd.Series, func: Callable[[Any], float], index: pd.Index) -> pd.Series:
    """``func`` of each value as float64, called once per distinct value (NaN where the value is null)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.array([*(func(u) for u in uniques), np.nan], dtype=np.float64)
    return pd.Series(table[codes], index=index)


def _casefold(series: pd.Series) -> pd.Series:
    """``str.casefold`` per distinct text (pandas runs it once per lot, in Python), as ``string``."""
    return _per_text(series, str.casefold, pd.NA).astype(_STR)


def _fmt(value: float) -> str:
    """Format a rules figure as the norm prints it (0.2 → ``0.20``, 1.18 → ``1.18``)."""
    return f"{value:.2f}"


# ---------------------------------------------------------------------------------------------------------
# uses and IR


def _categories(codes: pd.Series, rules: Rules) -> pd.Series:
    """Canonical use category of each code (``<NA>`` when the code is missing or not homologated)."""
    # per distinct code, not per lot
    return _per_text(codes, rules.homologate_use, pd.NA).astype(_STR)


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
    return pd.DataFrame(rows)


def _match_equivalence(
    cat_old: pd.Series, cat_new: pd.Series, pisos_old: pd.Series, rules: Rules
) -> pd.DataFrame:
    """Per lot, the Tabla 2/3 row its (PUOS use, floors) → PUGS use matches: ``ir``, ``fuente``, ``texto``.

    Vectorised: one boolean mask per table row (a handful of rows), never a loop per lot.
    """
    n = len(cat_old)
    # categories as integer codes (one hash pass each), so each table row costs integer comparisons
    old_codes, old_uniques = pd.factorize(cat_old, use_na_sentinel=True)
    new_codes, new_uniques = pd.factorize(cat_new, use_na_sentinel=True)
    old_pos = {v: i for i, v in enumerate(old_uniques)}
    new_pos = {v: i for i, v in enumerate(new_uniques)}
    pisos = pisos_old.to_numpy(dtype=np.float64, na_value=np.nan)
    row_of = np.full(n, -1, dtype=np.int64)  # the table row each lot matches first (-1: none)
    table = _equivalence_tables(rules)
    for k, row in enumerate(table.itertuples(index=False)):
        if row.cat_puos is None or row.cat_pugs is None:
            continue  # a table code the homologation does not know matches no lot
        if row.cat_puos not in old_pos or row.cat_pugs not in new_pos:
            continue  # no lot has this pair of categories
        with np.errstate(invalid="ignore"):
            hit = (
                (old_codes == old_pos[row.cat_puos])
                & (new_codes == new_pos[row.cat_pugs])
                & (pisos >= row.pisos_min)
                & (pisos <= row.pisos_max)
                & (row_of < 0)
            )
        row_of[hit] = k
    has = row_of >= 0
    take = np.where(has, row_of, 0)
    ir = np.full(n, np.nan)
    fuente = np.full(n, None, dtype=object)
    texto = np.full(n, None, dtype=object)
    if len(table):
        ir[has] = table["ir"].to_numpy(dtype=np.float64)[take[has]]
        fuente[has] = np.asarray([str(f) for f in table["fuente"]], dtype=object)[take[has]]
        texto[has] = np.asarray(
            [f"{t}: {x}" for t, x in zip(table["tabla"], table["texto"], strict=True)], dtype=object
        )[take[has]]
    out = pd.DataFrame(
        {
            "ir": ir,
            "fuente": pd.Series(fuente, index=cat_old.index, dtype=_STR),
            "texto": pd.Series(texto, index=cat_old.index, dtype=_STR),
        },
        index=cat_old.index,
    )
    return out


def _az_table(rules: Rules) -> dict[str, Mapping[str, float]]:
    """IR table per Administración Zonal, keyed by the casefolded name (names match ignoring case)."""
    return {str(k).strip().casefold(): v for k, v in rules["ir"]["por_administracion_zonal"].items()}


# ---------------------------------------------------------------------------------------------------------
# calc inputs


def _vcc(lots: pd.DataFrame) -> pd.Series:
    """Vcc ($/m²) per lot from the avalúo components (Anexo 01 §2.1, Gráf. 10–11, TEXT; normativa §2).

    Each component's avalúo over its area; a component with zero or missing area contributes 0. Propiedad
    horizontal adds the prorated communal avalúo to the covered component. NaN when the lot has no
    construction (no component with area), where Vs_c falls back to avalúo del terreno / área.
    """
    ph = _per_text(
        _text(lots, "regimen"), lambda r: r.casefold().replace(" ", "_") == "propiedad_horizontal", pd.NA
    ).astype("boolean")
    cubiertas = _num(lots, "avaluo_cubiertas").fillna(0.0)
    cubiertas = cubiertas + _num(lots, "avaluo_instalaciones_especiales").fillna(0.0)
    cubiertas = cubiertas + _num(lots, "avaluo_comunal").fillna(0.0).where(ph.fillna(False), 0.0)
    total = pd.Series(0.0, index=lots.index)
    has_any = pd.Series(False, index=lots.index)
    for avaluo, area in (
        (cubiertas, _num(lots, "area_cubiertas")),
        (_num(lots, "avaluo_abiertas").fillna(0.0), _num(lots, "area_abiertas")),
        (_num(lots, "avaluo_adicionales").fillna(0.0), _num(lots, "area_adicionales")),
    ):
        ok = area > 0
        total = total + (avaluo / area.where(ok)).fillna(0.0)
        has_any |= ok.fillna(False)
    return total.where(has_any)


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

    out = pd.DataFrame(index=lots.index)
    for col, name in _PUOS_LAYER_COLUMNS.items():
        numeric = col in _PUOS_NUMERIC
        values = np.full(n, np.nan if numeric else None, dtype=np.float64 if numeric else object)
        src = layer[col].to_numpy(dtype=np.float64 if numeric else object)
        values[has] = src[pos[has]]
        out[name] = values
    fraccion = np.zeros(n)
    fraccion[winners] = share
    out["puos_fraccion"] = fraccion
    out["n_puos"] = np.bincount(lot, minlength=n).astype(np.int64)
    return out


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
    from quitogeo.calc.vectorized import cod_frame, mayor_frame

    amb = rules["ambitos"]
    idx = lots.index
    out = pd.DataFrame(index=idx)
    estado = pd.Series(np.full(len(idx), _OK, dtype=object), index=idx, dtype=object)

    # --- coverage ---------------------------------------------------------------------------------------
    uso_old_code = _text(lots, "puos_uso")
    cubierto = uso_old_code.notna()
    if "puos_fraccion" in lots:
        cubierto &= (_num(lots, "puos_fraccion") > float(amb["puos_min_fraccion"])).fillna(False)
    cubierto = cubierto.astype(bool)
    out["puos_cobertura"] = cubierto
    estado = _append(estado, ~cubierto, "sin cobertura PUOS")

    def _on_coverage(flag: pd.Series) -> pd.Series:
        # without a PUOS the ámbito is unknown, not "no": null, never False
        return flag.astype("boolean").where(cubierto, pd.NA)

    # --- transformación de clasificación (rural → urbano) ------------------------------------------------
    cls_old = _text(lots, "puos_clasificacion")
    cls_new = _text(lots, "clasificacion")
    rural = {s.strip().casefold() for s in amb["clasificacion_rural"]}
    urbana = {s.strip().casefold() for s in amb["clasificacion_urbana"]}
    amb_cls = (_casefold(cls_old).isin(rural) & _casefold(cls_new).isin(urbana)).fillna(False)
    out["ambito_clasificacion"] = _on_coverage(amb_cls)
    out["clasificacion_anterior"] = cls_old
    out["clasificacion_nueva"] = cls_new

    # --- modificación de uso -----------------------------------------------------------------------------
    uso_new_code = _text(lots, "uso_principal")
    cat_old = _categories(uso_old_code, rules)
    cat_new = _categories(uso_new_code, rules)
    unknown_old = cubierto & uso_old_code.notna() & cat_old.isna()
    unknown_new = cubierto & uso_new_code.notna() & cat_new.isna()
    fix = "' sin homologación en las reglas (agréguelo a [usos.homologacion])"
    estado = _append(estado, unknown_old, lambda r: "uso PUOS '" + uso_old_code.iloc[r].fillna("") + fix)
    estado = _append(estado, unknown_new, lambda r: "uso PUGS '" + uso_new_code.iloc[r].fillna("") + fix)
    estado = _append(estado, cubierto & uso_new_code.isna(), "sin uso principal PUGS")
    pisos_old = _num(lots, "puos_pisos")
    same_code = (_casefold(uso_old_code) == _casefold(uso_new_code)).fillna(False)
    eq = _match_equivalence(cat_old, cat_new, pisos_old, rules)
    is_eq = eq["ir"].notna() & ~same_code & bool(amb["equivalencias_cobran"])
    cat_changed = (cat_old != cat_new).fillna(False)  # both known and different
    amb_uso = cubierto & (cat_changed | is_eq)
    # unknown use on either side: the ámbito cannot be decided (estado says which code)
    undecidable_uso = cubierto & (cat_old.isna() | cat_new.isna())
    out["ambito_uso"] = _on_coverage(amb_uso).mask(undecidable_uso, None)
    out["uso_anterior"] = uso_old_code
    out["uso_nuevo"] = uso_new_code
    out["uso_equivalencia"] = eq["texto"].where(is_eq, pd.NA)

    # --- cambio de lote mínimo (§2.2.2) ------------------------------------------------------------------
    lm_old = _num(lots, "puos_lote_minimo")
    lm_new = _num(lots, "lote_minimo")
    area = _num(lots, "area_m2")
    reducido = cubierto & (lm_new < lm_old).fillna(False)
    cospb_old, cospb_new = _num(lots, "puos_cos_pb"), _num(lots, "cos_pb")
    pisos_new = _num(lots, "pisos_basicos")
    motivo = pd.Series(np.full(len(idx), _OK, dtype=object), index=idx, dtype=object)  # reset to "" below
    n_lotes = int(amb["lote_minimo_lotes_resultantes"])

    def _g(x: pd.Series, fmt: str = "{:g}") -> pd.Series:
        # formatted once per distinct value; values told apart by their bits (-0.0, NaN print differently)
        bits = np.ascontiguousarray(x.to_numpy(dtype=np.float64, na_value=np.nan)).view(np.int64)
        codes, uniques = pd.factorize(bits)
        table = np.array([fmt.format(v) for v in uniques.view(np.float64).tolist()] + [""], dtype=object)
        return pd.Series(table[codes], index=x.index, dtype=_STR)

    # (failing rows, their text): the text is built only for the lots that fail (few), never for all
    checks: list[tuple[pd.Series, Callable[[pd.Series], pd.Series | str]]] = [
        (cospb_old.isna() | cospb_new.isna(), lambda m: "sin dato de COS PB anterior o nuevo"),
        (
            (cospb_new < cospb_old).fillna(False),
            lambda m: (
                "COS PB nuevo " + _g(cospb_new[m], "{:g} %") + " < anterior " + _g(cospb_old[m], "{:g} %")
            ),
        ),
        (pisos_old.isna() | pisos_new.isna(), lambda m: "sin dato de pisos anterior o nuevo"),
        (
            (pisos_new < pisos_old).fillna(False),
            lambda m: "pisos nuevos " + _g(pisos_new[m]) + " < anteriores " + _g(pisos_old[m]),
        ),
    ]
    if n_lotes > 0:
        checks.append(
            (
                ~(area >= n_lotes * lm_new).fillna(False),
                lambda m: (
                    "el predio (" + _g(area[m], "{:.2f} m²") + f") no alcanza {n_lotes} × lote mínimo "
                    "nuevo ("
                    + _g(lm_new[m], "{:g} m²")
                    + "): ningún lote resultante menor al lote mínimo anterior"
                ),
            )
        )
    fails = pd.Series(False, index=idx)
    for bad, text in checks:
        rows = bad & reducido
        if rows.any():
            motivo = _append(motivo, rows, text(rows))  # a Series over the failing rows, or one text
            fails |= rows
    precond_ok = reducido & ~fails
    amb_lm = precond_ok
    undecidable_lm = cubierto & (lm_old.isna() | lm_new.isna())
    estado = _append(estado, undecidable_lm, "sin lote mínimo del PUOS o del PUGS")
    out["ambito_lote_minimo"] = _on_coverage(amb_lm).mask(undecidable_lm, None)
    out["lote_minimo_anterior"] = lm_old
    out["lote_minimo_nuevo"] = lm_new
    out["lote_minimo_precondiciones"] = precond_ok.astype("boolean").mask(~reducido, None)
    lm_motivo = np.full(len(idx), "", dtype=object)
    failed = np.flatnonzero(fails.to_numpy(dtype=bool))
    lm_motivo[failed] = "§2.2.2 no se cumple, no se cobra: " + motivo.to_numpy(dtype=object)[failed]
    out["lote_minimo_motivo"] = pd.Series(lm_motivo, index=idx, dtype=_STR)

    # --- incremento de edificabilidad --------------------------------------------------------------------
    cos_new = _num(lots, "cos_total_maximo").fillna(_num(lots, "pisos_maximos") * cospb_new)
    cos_old_puos = _num(lots, "puos_cos_total").fillna(pisos_old * cospb_old)
    cos_basico = _num(lots, "cos_total_basico").fillna(pisos_new * cospb_new)
    base = {
        "puos": cos_old_puos,
        "pugs_basico": cos_basico,
        "mayor": pd.concat([cos_old_puos, cos_basico], axis=1).max(axis=1, skipna=False),
    }[str(amb["linea_base_edificabilidad"])]
    ae = ((cos_new - base).clip(lower=0.0) / 100.0 * area).where(cubierto)
    amb_edif = cubierto & (ae >= float(amb["ae_min_m2"])).fillna(False)
    undecidable_edif = cubierto & (cos_new.isna() | base.isna() | area.isna())
    out["ambito_edificabilidad"] = _on_coverage(amb_edif).mask(undecidable_edif, None)
    out["cos_total_anterior"] = base
    out["cos_total_nuevo"] = cos_new
    out["ae_ambito_m2"] = ae.where(amb_edif)
    estado = _append(
        estado, undecidable_edif, "sin COS total (o pisos × COS PB) del PUOS o del PUGS, o sin área"
    )

    # --- IR ----------------------------------------------------------------------------------------------
    usa_cu = cubierto & (amb_cls | amb_uso)
    az = _text(lots, "administracion_zonal")
    table = _az_table(rules)
    az_key = _casefold(az)
    ircu_az = _per_value(az_key, lambda k: float(table[k]["ircu"]) if k in table else np.nan, idx)
    irlm_az = _per_value(az_key, lambda k: float(table[k]["irlm"]) if k in table else np.nan, idx)
    from_table = is_eq & ~(amb_cls & bool(amb["clasificacion_usa_tabla_az"]))
    ir_cu = eq["ir"].where(from_table, ircu_az).where(usa_cu)
    ir_cu_fuente = eq["fuente"].where(
        from_table,
        _per_text(az, lambda a: f"tabla IR AZ {a} (IRcu)", "tabla IR AZ ? (IRcu)").astype(_STR),
    )
    out["ir_cu"] = ir_cu
    out["ir_cu_fuente"] = ir_cu_fuente.where(usa_cu, "")
    ir_lm = irlm_az.where(amb_lm)
    out["ir_lm"] = ir_lm
    out["ir_lm_fuente"] = (
        _per_text(az, lambda a: f"tabla IR AZ {a} (IRlm)", "tabla IR AZ ? (IRlm)")
        .astype(_STR)
        .where(amb_lm, "")
    )
    needs_az = (usa_cu & ~from_table) | amb_lm
    sin_az = needs_az & az.isna()
    sin_ir = needs_az & az.notna() & ircu_az.isna()
    estado = _append(estado, sin_az, "sin Administración Zonal: no se puede elegir la tabla IR")
    estado = _append(estado, sin_ir, lambda r: "sin IR para la Administración Zonal " + az.iloc[r].fillna(""))

    # --- calc inputs -------------------------------------------------------------------------------------
    vs_rules = rules["valor_suelo"]
    alfa = float(vs_rules["alfa"])
    vc_default = float(vs_rules["vc"][vs_rules["estructura_predeterminada"]])
    vc = _num(lots, "vc").fillna(vc_default)
    fu_by_cat = {code: float(vs_rules["fu"][cat["fu"]]) for code, cat in rules["usos"]["categorias"].items()}
    fu = _num(lots, "fu").fillna(_per_value(cat_new, lambda c: fu_by_cat.get(c, np.nan), idx))
    vcc = _vcc(lots)
    avaluo = _num(lots, "avaluo_terreno")
    # Vs_c (§2.1 Gráf. 8): α × Vcc with construction; avalúo del terreno / área según escritura without (TEXT)
    vs_c = (alfa * vcc).fillna(avaluo / area.where(area > 0))
    base_inputs = pd.DataFrame(
        {
            "alfa": alfa,
            "vc": vc,
            "fu": fu,
            "ae": ae,
            "area_terreno": area,
            "aiva": _num(lots, "aiva_valor"),
            "ir": np.nan,
            "auv": area,  # AUV = lot area (TEXT for unipropiedad; READING for PH, see [ambitos])
            "vsa": avaluo,
            "vs_c": vs_c,
            "vis": np.nan,
            "area_util_proyecto": np.nan,
        },
        index=idx,
    )
    beneficio = _flag(lots, "en_plan_parcial")
    out["beneficio"] = beneficio

    applies = {
        "uso": usa_cu,
        "edificabilidad": amb_edif,
        "lote-minimo": amb_lm,
        "edificabilidad-uso": amb_edif & usa_cu,
        "edificabilidad-lote-minimo": amb_edif & amb_lm,
    }
    ir_for = {
        "uso": ir_cu,
        "edificabilidad": pd.Series(np.nan, index=idx),
        "lote-minimo": ir_lm,
        "edificabilidad-uso": ir_cu,
        "edificabilidad-lote-minimo": ir_lm,
    }
    # A lot whose IR is already reported missing needs no second message from the calc core.
    ir_reported = sin_az | sin_ir
    results: dict[str, pd.DataFrame] = {}
    cents_of: dict[str, pd.Series] = {}  # per ámbito, the COD in cents of every lot (null: not computed)
    n = len(idx)
    ben_np = beneficio.to_numpy(dtype=bool)
    input_arrays = {
        col: np.broadcast_to(np.asarray(base_inputs[col].to_numpy(dtype=np.float64)), (n,))
        for col in base_inputs.columns
    }
    for ambito, mask in applies.items():
        # the calc core sees only the lots the formula applies to: no full-table copies or reindexing
        rows_all = np.flatnonzero(mask.to_numpy(dtype=bool))
        ir_np = ir_for[ambito].to_numpy(dtype=np.float64, na_value=np.nan)
        parts = []
        for ben in (False, True):
            rows = rows_all[ben_np[rows_all] == ben]
            if not len(rows):
                continue
            inputs = pd.DataFrame({col: arr[rows] for col, arr in input_arrays.items()}, index=idx[rows])
            inputs["ir"] = ir_np[rows]
            parts.append(cod_frame(inputs, ambito=ambito, rules=rules, beneficio=ben))
        computed = (
            pd.concat(parts)
            if parts
            else cod_frame(base_inputs.iloc[:0], ambito=ambito, rules=rules)
        )
        results[ambito] = computed  # only the lots the formula applies to, dtypes intact
        pos = np.concatenate(
            [rows_all[ben_np[rows_all] == ben] for ben in (False, True) if (ben_np[rows_all] == ben).any()]
        ) if len(rows_all) else rows_all
        cents = np.zeros(n, dtype=np.int64)
        no_cents = np.ones(n, dtype=bool)
        valid = np.zeros(n, dtype=bool)
        motivo_np = np.full(n, None, dtype=object)
        if len(pos):
            res_cents = computed["cod_centavos"]
            cents[pos] = res_cents.to_numpy(dtype=np.int64, na_value=0)
            no_cents[pos] = res_cents.isna().to_numpy()
            valid[pos] = computed["valido"].fillna(False).to_numpy(dtype=bool)
            motivo_np[pos] = computed["motivo_calc"].to_numpy(dtype=object)
        cents_of[ambito] = pd.Series(pd.arrays.IntegerArray(cents, no_cents), index=idx)
        out[COD_COLUMNS[ambito]] = cents_of[ambito].astype("Float64") / 100
        # the calc core never returns a silent zero: an invalid row says which input is missing, and why
        invalid = mask & ~valid & ~ir_reported
        estado = _append(estado, invalid, _calc_reason(ambito, pd.Series(motivo_np, index=idx, dtype=object)))
    del input_arrays, base_inputs  # the calc inputs (12 columns a lot) are freed before the texts are built

    # --- the ámbito applied (§2.3) -----------------------------------------------------------------------
    # numpy codes per lot (0: ninguno, k: the k-th of COD_COLUMNS, -1: null), texts taken once at the end
    applied_names = np.array([SIN_AMBITO, *COD_COLUMNS, None], dtype=object)  # code -1 takes the last
    code_of = {ambito: k for k, ambito in enumerate(COD_COLUMNS, start=1)}
    applied_code = np.zeros(n, dtype=np.int64)
    applied_cents_np = np.zeros(n, dtype=np.int64)
    applied_na = np.zeros(n, dtype=bool)
    u = usa_cu.to_numpy(dtype=bool)
    e = amb_edif.to_numpy(dtype=bool)
    lm = amb_lm.to_numpy(dtype=bool)
    for ambito, where in (
        ("uso", u & ~e & ~lm),
        ("edificabilidad", e & ~u & ~lm),
        ("lote-minimo", lm & ~u & ~e),
        ("edificabilidad-uso", e & u & ~lm),
        ("edificabilidad-lote-minimo", e & lm & ~u),
    ):
        applied_code[where] = code_of[ambito]
        src = cents_of[ambito]
        applied_cents_np[where] = src.to_numpy(dtype=np.int64, na_value=0)[where]
        applied_na[where] = src.isna().to_numpy()[where]
    # §2.3.3 (TEXT): lote mínimo + uso → the larger; with edificabilidad too, the larger of the combined
    # formulas (READING, [ambitos]). The calc core's larger-of rule; ties go to the first (uso).
    for first, second, where in (
        ("uso", "lote-minimo", u & lm & ~e),
        ("edificabilidad-uso", "edificabilidad-lote-minimo", u & lm & e),
    ):
        if not where.any():
            continue
        pair = idx[where]
        larger = mayor_frame(results[first].loc[pair], results[second].loc[pair])
        ganador = larger["ambito_ganador"].astype(object).to_numpy()
        winner = np.where(
            ganador == "uso", code_of[first], np.where(ganador == "lote-minimo", code_of[second], -1)
        )
        applied_code[where] = winner
        lc = larger["cod_centavos"]
        applied_cents_np[where] = lc.to_numpy(dtype=np.int64, na_value=0)
        applied_na[where] = lc.isna().to_numpy() | (winner < 0)
    # an ámbito that cannot be decided may change the applied one: no figure rather than a wrong one
    unknown = (~cubierto | undecidable_uso | undecidable_lm | undecidable_edif).to_numpy(dtype=bool)
    applied_code[unknown] = -1
    applied_na[unknown] = True
    applied = pd.Series(applied_names[applied_code], index=idx, dtype=_STR)
    applied_cents = pd.Series(pd.arrays.IntegerArray(applied_cents_np, applied_na), index=idx)
    out["ambito_aplicado"] = applied
    del results, cents_of  # the per-ámbito calc results are no longer needed

    # IR of the applied ámbito
    cu_applied = (applied_code == code_of["uso"]) | (applied_code == code_of["edificabilidad-uso"])
    lm_applied = (applied_code == code_of["lote-minimo"]) | (
        applied_code == code_of["edificabilidad-lote-minimo"]
    )
    ir_cu_np = ir_cu.to_numpy(dtype=np.float64, na_value=np.nan)
    ir_lm_np = ir_lm.to_numpy(dtype=np.float64, na_value=np.nan)
    out["ir"] = pd.Series(np.where(lm_applied, ir_lm_np, np.where(cu_applied, ir_cu_np, np.nan)), index=idx)
    fuente_np = np.full(n, "no aplica", dtype=object)
    fuente_np[cu_applied] = out["ir_cu_fuente"].to_numpy(dtype=object)[cu_applied]
    fuente_np[lm_applied] = out["ir_lm_fuente"].to_numpy(dtype=object)[lm_applied]
    fuente_np[~cubierto.to_numpy(dtype=bool)] = ""
    out["ir_fuente"] = pd.Series(fuente_np, index=idx, dtype=_STR)

    # ámbitos in words: 16 combinations of 4 flags → one precomputed text each
    code = amb_cls.astype(int) + amb_uso.astype(int) * 2 + amb_lm.astype(int) * 4 + amb_edif.astype(int) * 8
    words: dict[int, str] = {}
    for c in range(16):
        names = [AMBITO_WORDS[k] for bit, k in enumerate(AMBITO_WORDS) if c & (1 << bit)]
        words[c] = ", ".join(names) if names else "sin cambio"
    # ámbitos that could not be decided are named, so "sin cambio" is never claimed without the data
    nd_code = undecidable_uso.astype(int) + undecidable_lm.astype(int) * 2 + undecidable_edif.astype(int) * 4
    nd_names = ("uso", "lote mínimo", "edificabilidad")
    nd_words = {c: ", ".join(w for bit, w in enumerate(nd_names) if c & (1 << bit)) for c in range(1, 8)}
    # one text per (ámbitos, sin dato) combination (16 × 8), taken per lot; index 128: without PUOS coverage
    texts = [words[c] + (f" (sin dato: {nd_words[d]})" if d else "") for d in range(8) for c in range(16)]
    table_txt = np.array([*texts, None], dtype=object)
    key = code.to_numpy() + 16 * nd_code.to_numpy()
    key[~cubierto.to_numpy(dtype=bool)] = len(texts)
    out["ambitos"] = pd.Series(table_txt[key], index=idx, dtype=_STR)

    # the larger-of rule cannot pick a side when one side is missing: said, never guessed
    uncomputed = cubierto & applied_cents.isna()
    no_reason = uncomputed & (estado == _OK)
    estado = _append(
        estado, no_reason, lambda r: "COD no calculable para " + applied.iloc[r].fillna("el ámbito")
    )
    out["cod"] = applied_cents.astype("Float64") / 100
    out["cod_centavos"] = applied_cents
    out["estado"] = estado.astype(_STR)
    return out[list(OUTPUT_COLUMNS)]


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
