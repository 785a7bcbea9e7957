"""Spatial joins of lots to the planning layers: PIT, AIVA, zones, influence areas and fronting roads.

Every function here is vectorised over the lots: one :class:`shapely.STRtree` over the lot geometries is
queried
with the (far fewer) zone, road and station geometries, and the resulting index pairs are reduced with numpy.
No function loops in Python over lots, and each takes the lots (a whole project or one chunk of it) and
returns
a DataFrame aligned to their index, so a backend may call them per partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from quitogeo import parallel


@dataclass(frozen=True)
class LotIndex:
    """The lots' geometries with their spatial index, built once and shared by every join.

    Attributes
    ----------
    geoms : numpy.ndarray
        Lot geometries (object array, ``None`` for a lot without geometry).
    area : numpy.ndarray
        Geometric area of each lot in m² (NaN without geometry).
    tree : shapely.STRtree
        Spatial index over :attr:`geoms` (a lot without geometry is never returned by a query).
    index : pandas.Index
        The lots' index, to align results.
    """

    geoms: npt.NDArray[np.object_]
    area: npt.NDArray[np.float64]
    tree: shapely.STRtree
    index: pd.Index

    @classmethod
    def from_lots(cls, lots: gpd.GeoDataFrame) -> LotIndex:
        """Index ``lots`` (a GeoDataFrame in TM-Quito)."""
        geoms = np.asarray(lots.geometry.array, dtype=object).copy()  # the lots are never modified
        geoms[shapely.is_empty(geoms)] = None
        area = shapely.area(geoms).astype(np.float64)
        return cls(geoms=geoms, area=area, tree=shapely.STRtree(geoms), index=lots.index)

    def __len__(self) -> int:
        return len(self.geoms)


def lot_index(lots: gpd.GeoDataFrame, index: LotIndex | None = None) -> LotIndex:
    """Return ``index`` when given (built for these lots), else build one for ``lots``."""
    if index is not None:
        if len(index) != len(lots):
            raise ValueError("el índice espacial no corresponde a los predios dados")
        return index
    return LotIndex.from_lots(lots)


def _overlap_area(a: npt.NDArray[np.object_], b: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    return np.asarray(shapely.area(shapely.intersection(a, b)), dtype=np.float64)


def overlap_pairs(
    idx: LotIndex, zones: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Lot–zone pairs that intersect, with their overlap area.

    The exact intersection is computed only where the zone does not cover the lot (lots on a zone boundary or
    partly outside every zone); a covered lot's overlap is its own area. Pairs are sorted by lot.

    Parameters
    ----------
    idx : LotIndex
        The lots.
    zones : numpy.ndarray
        Zone geometries (polygons).

    Returns
    -------
    lot, zone : numpy.ndarray of int
        Positions of the lot in ``idx`` and of the zone in ``zones``.
    area : numpy.ndarray of float
        Overlap area in m² (0 for a lot that only touches the zone along an edge or at a point).
    """
    zones = np.asarray(zones, dtype=object)
    if len(zones) == 0 or len(idx) == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty.copy(), np.empty(0, dtype=np.float64)
    zone_pos, lot_pos = parallel.query(idx.tree, zones, predicate="intersects", min_chunk=64)
    order = np.lexsort((zone_pos, lot_pos))
    lot_pos, zone_pos = lot_pos[order], zone_pos[order]
    shapely.prepare(zones)
    # one call, not chunked in threads: GEOS builds a prepared zone's internal index lazily on first use, and
    # two threads using the same prepared zone for the first time would race
    covered = shapely.covers(zones[zone_pos], idx.geoms[lot_pos])
    area = np.where(covered, idx.area[lot_pos], np.nan)
    partial = ~covered
    if partial.any():
        area[partial] = parallel.elementwise(
            _overlap_area, idx.geoms[lot_pos[partial]], zones[zone_pos[partial]], min_chunk=2_000
        )
    return lot_pos.astype(np.intp), zone_pos.astype(np.intp), area.astype(np.float64)


def best_per_lot(
    lot: npt.NDArray[np.intp], key: npt.NDArray[np.float64], n: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """For pairs grouped by lot, the pair with the largest ``key`` per lot.

    Ties keep the earliest pair (the lowest zone position, since pairs come sorted by lot then zone), so the
    result does not depend on the machine.

    Returns
    -------
    lots : numpy.ndarray of int
        The lots that have at least one pair.
    pairs : numpy.ndarray of int
        For each of them, the position of its best pair.
    """
    if len(lot) == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty.copy()
    order = np.lexsort((np.arange(len(lot)), -key, lot))
    first = np.ones(len(order), dtype=bool)
    first[1:] = lot[order][1:] != lot[order][:-1]
    pairs = order[first]
    return lot[pairs], pairs


def concat_by_lot(
    lot: npt.NDArray[np.intp], labels: npt.ArrayLike, n: int, *, sep: str = "; "
) -> npt.NDArray[np.object_]:
    """Join the labels of each lot's pairs (in the pairs' order) into one text per lot (None without pairs).

    Lots with a single pair (most of them) are assigned directly; only lots with several pairs go through a
    grouped join.
    """
    out = np.full(n, None, dtype=object)
    labels = np.asarray(labels, dtype=object)
    if len(lot) == 0:
        return out
    counts = np.bincount(lot, minlength=n)
    single = counts[lot] == 1
    out[lot[single]] = labels[single]
    multi = np.flatnonzero(~single)
    if len(multi):
        # lots with several labels: a stable sort groups them keeping the pairs' order, then the k-th label of
        # every such lot is appended at once (as many numpy passes as the largest group, no loop per lot)
        order = multi[np.argsort(lot[multi], kind="stable")]
        grouped_lot, grouped = lot[order], labels[order]
        start = np.flatnonzero(np.r_[True, grouped_lot[1:] != grouped_lot[:-1]])
        size = np.diff(np.r_[start, len(order)])
        text = grouped[start].copy()
        for k in range(1, int(size.max())):
            more = size > k
            text[more] = text[more] + sep + grouped[start[more] + k]
        out[grouped_lot[start]] = text
    return out


def feature_labels(layer: gpd.GeoDataFrame, columns: tuple[str, ...], prefix: str) -> npt.NDArray[np.object_]:
    """Return a readable id per feature: the first non-empty of ``columns``, else ``"<prefix> <row>"``."""
    labels = pd.Series([f"{prefix} {i}" for i in range(len(layer))], index=layer.index, dtype=object)
    for col in reversed(columns):
        if col in layer.columns:
            vals = layer[col]
            ok = vals.notna() & (vals.astype(str).str.strip() != "")
            labels = labels.where(~ok, vals.astype(str).str.strip())
    return labels.to_numpy(dtype=object)


def present(layer: gpd.GeoDataFrame | None) -> bool:
    """Whether a layer was given (an empty layer is given: it says "none here", not "unknown")."""
    return layer is not None


__all__ = [
    "LotIndex",
    "best_per_lot",
    "concat_by_lot",
    "feature_labels",
    "lot_index",
    "overlap_pairs",
    "present",
]
