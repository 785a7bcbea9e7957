"""Lot → PIT (largest overlap), AIVA (highest registered value) and zone membership joins.

normativa §1: a lot registers an AIVA when their overlap exceeds ``tolerancias.aiva_min_overlap_m2`` and
takes the
highest registered value. The PIT is the one with the largest overlap; its share of the lot is recorded. Zones
(ZUAE, planes especiales, proyectos especiales, riesgo) count when the overlap exceeds
``tolerancias.zona_min_overlap_m2``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from quitogeo.categories import labelled
from quitogeo.rules import Rules
from quitogeo.spatial import LotIndex, concat_by_lot, feature_labels, largest_overlap, lot_index, overlaps

#: PIT attributes carried to the result when the layer has them (layers.md, ``pugs``).
PIT_COLUMNS: tuple[str, ...] = (
    "clasificacion",
    "subclasificacion",
    "tratamiento",
    "forma_ocupacion",
    "lote_minimo",
    "frente_minimo",
    "cos_pb",
    "pisos_basicos",
    "pisos_maximos",
    "cos_total_basico",
    "cos_total_maximo",
    "codigo_edificabilidad",
)
_PIT_NUMERIC = {
    "lote_minimo",
    "frente_minimo",
    "cos_pb",
    "pisos_basicos",
    "pisos_maximos",
    "cos_total_basico",
    "cos_total_maximo",
}


def _geoms(layer: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(layer.geometry.array, dtype=object)


def _texts(codes: np.ndarray, labels: np.ndarray) -> pd.Categorical | np.ndarray:
    """``labels[codes]`` per lot (code -1: None), as the run stores a text column.

    When every label a lot uses is text (or none is used), the categorical of
    :func:`quitogeo.categories.labelled` — what ``pipeline.compact_text`` makes of the object column, without
    a Python string per lot —; else (numbers or mixed values in a text column) the object column itself,
    which the run leaves as it is.
    """
    codes = np.asarray(codes, dtype=np.intp)
    labels = np.asarray(labels, dtype=object)
    has = codes >= 0
    used = np.zeros(len(labels), dtype=bool)
    used[codes[has]] = True
    if pd.api.types.infer_dtype(labels[used], skipna=True) in ("string", "empty"):
        return labelled(codes, labels)
    out = np.full(len(codes), None, dtype=object)
    out[has] = labels[codes[has]]
    return out


def _texts_by_lot(lot: np.ndarray, labels: np.ndarray, n: int) -> pd.Categorical | np.ndarray:
    """:func:`quitogeo.spatial.concat_by_lot` of text ``labels``, as the run stores it (see :func:`_texts`).

    Lots with a single label (most) take it through its code; the joined text is built only for lots with
    several labels, and each distinct one enters the categories once.
    """
    labels = np.asarray(labels, dtype=object)
    codes = np.full(n, -1, dtype=np.intp)
    counts = np.bincount(lot, minlength=n)
    single = counts[lot] == 1
    codes[lot[single]] = np.flatnonzero(single)
    table = labels
    if not single.all():
        joined = concat_by_lot(lot[~single], labels[~single], n)
        several = np.flatnonzero(counts > 1)
        found, distinct = pd.factorize(joined[several])
        codes[several] = len(labels) + found
        table = np.concatenate([labels, np.asarray(distinct, dtype=object)])
    return _texts(codes, table)


def join_pit(
    lots: gpd.GeoDataFrame, pugs: gpd.GeoDataFrame, *, rules: Rules, index: LotIndex | None = None
) -> pd.DataFrame:
    """Assign each lot the PIT polygon with the largest overlap.

    Parameters
    ----------
    lots : GeoDataFrame
        Lots (or a chunk of them) in TM-Quito.
    pugs : GeoDataFrame
        PIT polygons with ``codigo_pit``, ``uso_principal`` and the optional columns of layers.md.
    rules : Rules
        ``tolerancias.pit_min_share``: a PIT covering a smaller share of the lot is not assigned.
    index : LotIndex, optional
        A spatial index already built for ``lots``.

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``: ``codigo_pit``, ``uso_principal``, ``pit_fraccion`` (share of the lot's
        area
        inside the chosen PIT), ``n_pit`` (PITs overlapping the lot) and the PIT attributes of
        :data:`PIT_COLUMNS` (NaN/None when the layer lacks them or the lot has no PIT).
    """
    idx = lot_index(lots, index)
    n = len(idx)
    ov, winners, pairs = largest_overlap(idx, _geoms(pugs))
    lot, zone = ov.lot, ov.zone
    share = ov.area[pairs] / idx.area[winners]
    ok = share >= float(rules["tolerancias"]["pit_min_share"])
    winners, pairs = winners[ok], pairs[ok]
    pos = np.full(n, -1, dtype=np.intp)
    pos[winners] = zone[pairs]
    has = pos >= 0
    # the columns are gathered first and framed once; texts are taken per lot through the PIT's position
    columns: dict[str, np.ndarray | pd.Categorical] = {}
    for col in ("codigo_pit", "uso_principal", *PIT_COLUMNS):
        numeric = col in _PIT_NUMERIC
        if col in pugs.columns and not numeric:
            columns[col] = _texts(pos, pugs[col].to_numpy(dtype=object))
            continue
        values = np.full(n, np.nan if numeric else None, dtype=np.float64 if numeric else object)
        if col in pugs.columns:
            src = pd.to_numeric(pugs[col], errors="coerce").to_numpy(dtype=np.float64)
            values[has] = src[pos[has]]
        columns[col] = values
    fraccion = np.full(n, np.nan)
    fraccion[winners] = share[ok]
    columns["pit_fraccion"] = fraccion
    columns["n_pit"] = np.bincount(lot, minlength=n).astype(np.int64)
    return pd.DataFrame(columns, index=lots.index)


def join_aiva(
    lots: gpd.GeoDataFrame, aiva: gpd.GeoDataFrame, *, rules: Rules, index: LotIndex | None = None
) -> pd.DataFrame:
    """Highest AIVA value registered on each lot (normativa §1, with the sliver tolerance).

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``: ``aiva_valor`` ($/m², NaN when no AIVA registers), ``aiva_codigos`` (the
        registered AIVA codes, highest value first, ``"; "``-separated) and ``n_aiva``.
    """
    idx = lot_index(lots, index)
    n = len(idx)
    # only the sliver test needs areas: most boundary pairs clear it by a corner of the lot (Overlaps.above)
    ov = overlaps(idx, _geoms(aiva))
    keep = ov.above(float(rules["tolerancias"]["aiva_min_overlap_m2"]))
    lot, zone = ov.lot[keep], ov.zone[keep]
    values = pd.to_numeric(aiva["valor_m2"], errors="coerce").to_numpy(dtype=np.float64)
    codes = feature_labels(aiva, ("codigo_aiva",), "AIVA")
    pair_values = values[zone]
    # a zone without a positive value is reported by read_project ("no se usa para β"): it registers nothing
    valid = np.isfinite(pair_values) & (pair_values > 0)
    lot, zone, pair_values = lot[valid], zone[valid], pair_values[valid]
    best = np.full(n, -np.inf)
    np.maximum.at(best, lot, pair_values)
    best[~np.isfinite(best)] = np.nan
    # codes listed by value, highest first (stable on ties by zone order)
    order = np.lexsort((zone, -pair_values, lot))
    return pd.DataFrame(
        {
            "aiva_valor": best,
            "aiva_codigos": _texts_by_lot(lot[order], codes[zone[order]], n),
            "n_aiva": np.bincount(lot, minlength=n).astype(np.int64),
        },
        index=lots.index,
    )


def join_zones(
    lots: gpd.GeoDataFrame,
    layer: gpd.GeoDataFrame,
    *,
    label_columns: tuple[str, ...],
    prefix: str,
    min_overlap_m2: float,
    index: LotIndex | None = None,
) -> tuple[np.ndarray, pd.Categorical | np.ndarray]:
    """Membership of each lot in the zones of ``layer``.

    Parameters
    ----------
    lots : GeoDataFrame
        Lots (or a chunk).
    layer : GeoDataFrame
        Zone polygons.
    label_columns : tuple of str
        Columns giving each zone's readable id (first non-empty wins).
    prefix : str
        Label of a zone with none of those columns (``"<prefix> <row>"``).
    min_overlap_m2 : float
        Overlap a lot needs to count as inside.
    index : LotIndex, optional
        A spatial index already built for ``lots``.

    Returns
    -------
    inside : numpy.ndarray of bool
        Whether the lot is inside at least one zone.
    labels : pandas.Categorical or numpy.ndarray
        The zones' ids, largest overlap first, ``"; "``-separated (null when outside), as the run stores
        texts (:func:`quitogeo.categories.labelled`).
    """
    idx = lot_index(lots, index)
    n = len(idx)
    ov = overlaps(idx, _geoms(layer))
    ov = ov.take(ov.above(min_overlap_m2))
    # labels go largest overlap first: lots in several zones are ranked, with as few exact areas as that needs
    key = ov.settle_ranks(full=True)
    lot, zone, area = ov.lot, ov.zone, np.where(np.isnan(key), 0.0, key)
    order = np.lexsort((zone, -area, lot))
    labels = _texts_by_lot(lot[order], feature_labels(layer, label_columns, prefix)[zone[order]], n)
    inside = np.zeros(n, dtype=bool)
    inside[lot] = True
    return inside, labels


def _largest_feature(lots: gpd.GeoDataFrame, layer: gpd.GeoDataFrame, index: LotIndex | None) -> np.ndarray:
    """Position in ``layer`` of the feature overlapping each lot the most (-1 when none)."""
    idx = lot_index(lots, index)
    ov, winners, pairs = largest_overlap(idx, _geoms(layer), exact_winner=False)
    pos = np.full(len(idx), -1, dtype=np.intp)
    pos[winners] = ov.zone[pairs]
    return pos


def join_largest(
    lots: gpd.GeoDataFrame, layer: gpd.GeoDataFrame, column: str, *, index: LotIndex | None = None
) -> np.ndarray:
    """Return ``column`` of the feature of ``layer`` overlapping each lot the most (None when none)."""
    pos = _largest_feature(lots, layer, index)
    out = np.full(len(pos), None, dtype=object)
    has = pos >= 0
    out[has] = layer[column].to_numpy(dtype=object)[pos[has]]
    return out


def _boolean(values: np.ndarray, known: bool) -> pd.arrays.BooleanArray:
    arr = pd.array(values.astype(bool), dtype="boolean")
    if not known:
        arr[:] = pd.NA
    return arr


def join_membership(
    lots: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    rules: Rules,
    index: LotIndex | None = None,
) -> pd.DataFrame:
    """ZUAE, planes especiales, proyectos especiales, riesgo and administración zonal of each lot.

    A layer absent from ``layers`` gives null (``pd.NA``) membership, never False: the eligibility rules that
    need
    it then say "sin dato". Risk: a lot overlapping both categories is ``no_mitigable`` (it wins).

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``: ``en_zuae``, ``zuae_codigo``, ``en_plan_especial``, ``plan_especial``,
        ``en_proyecto_especial``, ``proyecto_especial``, ``riesgo_no_mitigable``, ``riesgo_categoria``
        (``no_mitigable``/``mitigable``/``ninguno``), ``riesgo_ids`` and ``administracion_zonal`` (largest
        overlap
        of the ``administraciones_zonales`` layer, else the lot's own attribute).
    """
    idx = lot_index(lots, index)
    n = len(idx)
    tol = float(rules["tolerancias"]["zona_min_overlap_m2"])
    out = pd.DataFrame(index=lots.index)
    specs = (
        ("zuae", "en_zuae", "zuae_codigo", ("codigo_zuae", "nombre"), "ZUAE"),
        ("planes_especiales", "en_plan_especial", "plan_especial", ("nombre",), "plan especial"),
        ("proyectos_especiales", "en_proyecto_especial", "proyecto_especial", ("nombre",), "proyecto"),
    )
    for layer_name, flag, label, cols, prefix in specs:
        layer = layers.get(layer_name)
        if layer is None:
            out[flag] = _boolean(np.zeros(n), known=False)
            out[label] = np.full(n, None, dtype=object)
            continue
        inside, labels = join_zones(
            lots, layer, label_columns=cols, prefix=prefix, min_overlap_m2=tol, index=idx
        )
        out[flag] = _boolean(inside, known=True)
        out[label] = labels
    riesgo = layers.get("riesgo")
    if riesgo is None:
        out["riesgo_no_mitigable"] = _boolean(np.zeros(n), known=False)
        out["riesgo_categoria"] = np.full(n, None, dtype=object)
        out["riesgo_ids"] = np.full(n, None, dtype=object)
    else:
        cat = riesgo["categoria"].astype(str).str.strip().str.casefold().str.replace(" ", "_")
        nm = (cat == "no_mitigable").to_numpy()
        in_nm, ids_nm = join_zones(
            lots,
            riesgo[nm],
            label_columns=("id", "codigo", "amenaza"),
            prefix="riesgo",
            min_overlap_m2=tol,
            index=idx,
        )
        in_any, _ = join_zones(
            lots, riesgo[~nm], label_columns=("id",), prefix="riesgo", min_overlap_m2=tol, index=idx
        )
        out["riesgo_no_mitigable"] = _boolean(in_nm, known=True)
        out["riesgo_categoria"] = labelled(
            np.where(in_nm, 0, np.where(in_any, 1, 2)), np.array(["no_mitigable", "mitigable", "ninguno"])
        )
        out["riesgo_ids"] = ids_nm
    adz = layers.get("administraciones_zonales")
    own = (
        lots["administracion_zonal"].to_numpy(dtype=object)
        if "administracion_zonal" in lots.columns
        else None
    )
    if adz is not None and "nombre" in adz.columns:
        pos = _largest_feature(lots, adz, idx)
        names = adz["nombre"].to_numpy(dtype=object)
        # the zone's name, else (no zone, or a zone without a name) the lot's own attribute
        has = pos >= 0
        has[has] = ~pd.isna(names[pos[has]])
        codes = np.where(has, pos, -1)
        table = names
        if own is not None:
            own_code, own_values = pd.factorize(own[~has])
            codes[~has] = np.where(own_code >= 0, len(names) + own_code, -1)
            table = np.concatenate([names, np.asarray(own_values, dtype=object)])
        if pd.api.types.infer_dtype(table[np.unique(codes[codes >= 0])], skipna=True) in ("string", "empty"):
            out["administracion_zonal"] = labelled(codes, table)
        else:  # numbers or mixed values: the object column as it always was, for the run to judge
            joined = np.full(n, None, dtype=object)
            joined[pos >= 0] = names[pos[pos >= 0]]
            out["administracion_zonal"] = joined if own is None else np.where(pd.isna(joined), own, joined)
    else:
        out["administracion_zonal"] = own if own is not None else np.full(n, None, dtype=object)
    return out


__all__ = ["PIT_COLUMNS", "join_aiva", "join_largest", "join_membership", "join_pit", "join_zones"]
