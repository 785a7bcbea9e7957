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
    out = pd.DataFrame(index=lots.index)
    for col in ("codigo_pit", "uso_principal", *PIT_COLUMNS):
        numeric = col in _PIT_NUMERIC
        values = np.full(n, np.nan if numeric else None, dtype=np.float64 if numeric else object)
        if col in pugs.columns:
            src = pugs[col].to_numpy()
            if numeric:
                src = pd.to_numeric(pugs[col], errors="coerce").to_numpy(dtype=np.float64)
            values[has] = src[pos[has]]
        out[col] = values
    fraccion = np.full(n, np.nan)
    fraccion[winners] = share[ok]
    out["pit_fraccion"] = fraccion
    out["n_pit"] = np.bincount(lot, minlength=n).astype(np.int64)
    return out


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
    out = pd.DataFrame(index=lots.index)
    out["aiva_valor"] = best
    out["aiva_codigos"] = concat_by_lot(lot[order], codes[zone[order]], n)
    out["n_aiva"] = np.bincount(lot, minlength=n).astype(np.int64)
    return out


def join_zones(
    lots: gpd.GeoDataFrame,
    layer: gpd.GeoDataFrame,
    *,
    label_columns: tuple[str, ...],
    prefix: str,
    min_overlap_m2: float,
    index: LotIndex | None = None,
) -> tuple[np.ndarray, np.ndarray]:
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
    labels : numpy.ndarray of object
        The zones' ids, largest overlap first (None when outside).
    """
    idx = lot_index(lots, index)
    n = len(idx)
    ov = overlaps(idx, _geoms(layer))
    ov = ov.take(ov.above(min_overlap_m2))
    ov.settle_shared()  # labels go largest overlap first: lots in several zones need their exact areas
    lot, zone, area = ov.lot, ov.zone, np.where(ov.exact, ov.area, 0.0)
    order = np.lexsort((zone, -area, lot))
    labels = concat_by_lot(lot[order], feature_labels(layer, label_columns, prefix)[zone[order]], n)
    inside = np.zeros(n, dtype=bool)
    inside[lot] = True
    return inside, labels


def join_largest(
    lots: gpd.GeoDataFrame, layer: gpd.GeoDataFrame, column: str, *, index: LotIndex | None = None
) -> np.ndarray:
    """Return ``column`` of the feature of ``layer`` overlapping each lot the most (None when none)."""
    idx = lot_index(lots, index)
    n = len(idx)
    ov, winners, pairs = largest_overlap(idx, _geoms(layer), exact_winner=False)
    out = np.full(n, None, dtype=object)
    out[winners] = layer[column].to_numpy(dtype=object)[ov.zone[pairs]]
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
        out["riesgo_categoria"] = np.where(in_nm, "no_mitigable", np.where(in_any, "mitigable", "ninguno"))
        out["riesgo_ids"] = ids_nm
    adz = layers.get("administraciones_zonales")
    own = (
        lots["administracion_zonal"].to_numpy(dtype=object)
        if "administracion_zonal" in lots.columns
        else None
    )
    if adz is not None and "nombre" in adz.columns:
        joined = join_largest(lots, adz, "nombre", index=idx)
        if own is not None:
            joined = np.where(pd.isna(joined), own, joined)
        out["administracion_zonal"] = joined
    else:
        out["administracion_zonal"] = own if own is not None else np.full(n, None, dtype=object)
    return out


__all__ = ["PIT_COLUMNS", "join_aiva", "join_largest", "join_membership", "join_pit", "join_zones"]
