"""Spatial joins of lots to the planning layers: PIT, AIVA, zones, influence areas and fronting roads.

Every function here is vectorised over the lots: one :class:`shapely.STRtree` over the lot geometries is
queried
with the (far fewer) zone, road and station geometries, and the resulting index pairs are reduced with numpy.
No function loops in Python over lots, and each takes the lots (a whole project or one chunk of it) and
returns
a DataFrame aligned to their index, so a backend may call them per partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_lots(cls, lots: gpd.GeoDataFrame) -> LotIndex:
        """Index ``lots`` (a GeoDataFrame in TM-Quito)."""
        geoms = np.asarray(lots.geometry.array, dtype=object).copy()  # the lots are never modified
        geoms[shapely.is_empty(geoms)] = None
        area = shapely.area(geoms).astype(np.float64)
        return cls(geoms=geoms, area=area, tree=shapely.STRtree(geoms), index=lots.index)

    def __len__(self) -> int:
        return len(self.geoms)

    def warm(self) -> None:
        """Build now the caches the joins share (bounds, quadtree, convex quadrilaterals).

        Joins running side by side in threads would otherwise each build them the first time they need one.
        """
        _levels(self)
        _convex_quads(self)

    @property
    def bounds(self) -> npt.NDArray[np.float64]:
        """Bounding boxes (n, 4) of the lots (NaN without geometry), computed once."""
        if "bounds" not in self.cache:
            self.cache["bounds"] = shapely.bounds(self.geoms)
        return self.cache["bounds"]  # type: ignore[no-any-return]


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
    """Lot–zone pairs that overlap (positive area), with their exact overlap area.

    A lot covered by the zone overlaps it by its own area; elsewhere the area is
    ``shapely.area(shapely.intersection(lot, zone))``. Pairs are sorted by lot, then zone. Joins that only
    compare areas use :func:`overlaps`, which computes far fewer exact intersections.

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
        Overlap area in m².
    """
    ov = overlaps(idx, zones)
    ov.settle(np.ones(len(ov.lot), dtype=bool))
    ov = ov.take(ov.area > 0)
    return ov.lot, ov.zone, ov.area


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
    # most lots have one pair: only the others are sorted
    counts = np.bincount(lot)
    multi = np.flatnonzero(counts[lot] > 1)
    order = multi[np.lexsort((multi, -key[multi], lot[multi]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = lot[order][1:] != lot[order][:-1]
    pairs = np.concatenate([np.flatnonzero(counts[lot] == 1), order[first]])
    pairs = pairs[np.argsort(lot[pairs], kind="stable")]
    return lot[pairs], pairs.astype(np.intp)


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


# ------------------------------------------------------------------------------------------------------------
# lot–zone overlaps: a quadtree of cells over the lots settles most pairs wholesale (a cell inside a zone's
# interior gives all its lots that zone, covered; a cell clear of it gives none); per lot only in the cells a
# zone boundary crosses, and exact GEOS intersections only for pairs whose decision needs the exact area

#: A cell of the quadtree's finest level is about this many times a typical lot's size.
CELL_LOT_RATIO: float = 2.0

#: Zones whose boxes hold more lots than this on average (administraciones zonales, riesgo: large or
#: sprawling polygons) are matched through the quadtree; smaller ones through the lots' STRtree directly.
QUADTREE_MIN_LOTS_PER_ZONE: int = 2_000

#: Margin (m²) a lower bound must clear a threshold by to decide it without the exact intersection (GEOS's
#: intersection vertices are rounded to doubles at TM-Quito magnitudes, ~2e-9 m: the areas it gives differ
#: from the true ones by far less than this).
BOUND_MARGIN_M2: float = 1e-3


@dataclass(frozen=True)
class _Levels:
    """Quadtree cells over the lots: at every level each cell is a contiguous run of :attr:`order`."""

    order: npt.NDArray[np.intp]  # lots with geometry, in Morton order of the finest cell of their box centre
    starts: list[npt.NDArray[np.intp]]  # per level (0 = finest): first position in ``order`` of each cell
    env: list[npt.NDArray[np.float64]]  # per level: (cells, 4) envelope of the cell's lots
    parent: list[npt.NDArray[np.intp]]  # per level but the last: each cell's cell at the next coarser level


def _spread_bits(v: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Spread the low 32 bits of ``v`` to the even bit positions (for Morton keys)."""
    v = v & 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def _levels(idx: LotIndex) -> _Levels:
    """Return the lots' quadtree, built once per :class:`LotIndex` and shared by every overlap join."""
    cached = idx.cache.get("levels")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    b = idx.bounds
    valid = np.flatnonzero(np.isfinite(b).all(axis=1))
    bv = b[valid]
    cx, cy = (bv[:, 0] + bv[:, 2]) / 2, (bv[:, 1] + bv[:, 3]) / 2
    size = np.maximum(bv[:, 2] - bv[:, 0], bv[:, 3] - bv[:, 1])
    cell = float(CELL_LOT_RATIO * np.median(size)) if len(size) else 1.0
    cell = cell if cell > 0 else 1.0
    if len(valid):
        ix = np.clip(np.floor((cx - cx.min()) / cell), 0, 2**31 - 1).astype(np.int64)
        iy = np.clip(np.floor((cy - cy.min()) / cell), 0, 2**31 - 1).astype(np.int64)
    else:
        ix = iy = np.zeros(0, dtype=np.int64)
    key = _spread_bits(ix) | (_spread_bits(iy) << 1)
    sort = np.argsort(key, kind="stable")
    key = key[sort]
    order = valid[sort].astype(np.intp)
    bo = b[order]
    top = int(max(ix.max(initial=0), iy.max(initial=0))).bit_length()
    starts: list[npt.NDArray[np.intp]] = []
    env: list[npt.NDArray[np.float64]] = []
    for k in range(max(1, top - 1)):  # the coarsest level has a few cells across
        ck = key >> (2 * k)
        st = np.flatnonzero(np.r_[True, ck[1:] != ck[:-1]]) if len(ck) else np.zeros(0, dtype=np.intp)
        st = st.astype(np.intp)
        starts.append(st)
        if len(st):
            env.append(
                np.column_stack(
                    [
                        np.minimum.reduceat(bo[:, 0], st),
                        np.minimum.reduceat(bo[:, 1], st),
                        np.maximum.reduceat(bo[:, 2], st),
                        np.maximum.reduceat(bo[:, 3], st),
                    ]
                )
            )
        else:
            env.append(np.zeros((0, 4)))
    parent = [
        (np.searchsorted(starts[k + 1], starts[k], side="right") - 1).astype(np.intp)
        for k in range(len(starts) - 1)
    ]
    levels = _Levels(order=order, starts=starts, env=env, parent=parent)
    idx.cache["levels"] = levels
    return levels


def _cell_lots(
    levels: _Levels, k: int, cells: npt.NDArray[np.intp], zones: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Expand (cell, zone) pairs of level ``k`` to (lot, zone) pairs over the cells' lots."""
    st = levels.starts[k]
    count = (np.r_[st[1:], len(levels.order)] - st)[cells]
    total = int(count.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty.copy()
    first = np.repeat(st[cells] - np.cumsum(count) + count, count)
    return levels.order[first + np.arange(total)], np.repeat(zones, count).astype(np.intp)


@dataclass
class Overlaps:
    """Lot–zone pairs whose interiors may meet, sorted by lot then zone, with their overlap areas.

    Where ``exact`` is True, ``area`` is the overlap area :func:`overlap_pairs` has always given (the lot's
    own area when the zone covers it, else the area of their GEOS intersection); elsewhere (lots on the zone's
    boundary) it is NaN until :meth:`settle` computes it. :meth:`above` decides thresholds with cheap lower
    bounds first, so every decision is the one the exact areas give.
    """

    idx: LotIndex
    zones: npt.NDArray[np.object_]
    lot: npt.NDArray[np.intp]
    zone: npt.NDArray[np.intp]
    area: npt.NDArray[np.float64]
    exact: npt.NDArray[np.bool_]
    copies: list[npt.NDArray[np.object_]] = field(default_factory=list, repr=False)

    def settle(self, mask: npt.NDArray[np.bool_]) -> None:
        """Compute the exact areas of the pairs in ``mask`` (in place; GEOS intersections in threads)."""
        todo = np.flatnonzero(mask & ~self.exact)
        if len(todo):
            self.area[todo] = parallel.elementwise(
                _overlap_area, self.idx.geoms[self.lot[todo]], self.zones[self.zone[todo]], min_chunk=2_000
            )
            self.exact[todo] = True

    def take(self, keep: npt.NDArray[np.bool_]) -> Overlaps:
        """Return the pairs in ``keep``."""
        return Overlaps(
            self.idx,
            self.zones,
            self.lot[keep],
            self.zone[keep],
            self.area[keep],
            self.exact[keep],
            self.copies,
        )

    def above(self, threshold: float) -> npt.NDArray[np.bool_]:
        """Pairs whose exact overlap exceeds ``threshold`` (≥ 0).

        A boundary pair is decided without its intersection when a corner triangle of the (convex) lot, inside
        the zone, is larger than ``threshold`` by :data:`BOUND_MARGIN_M2`; the others are settled exactly.
        """
        open_ = np.flatnonzero(~self.exact)
        if len(open_):
            copies = self.copies or parallel.prepared_copies(self.zones)
            sure = _corner_clears(self.idx, copies, self.lot[open_], self.zone[open_], threshold)
            mask = np.zeros(len(self.lot), dtype=bool)
            mask[open_[~sure]] = True
            self.settle(mask)
            out = self.area > threshold
            out[open_[sure]] = True
            return out
        return self.area > threshold

    def settle_shared(self) -> None:
        """Settle the pairs of every lot with more than one pair (comparing or ordering them needs areas)."""
        counts = np.bincount(self.lot, minlength=len(self.idx))
        self.settle(counts[self.lot] > 1)


def _contains_xy(zones: npt.NDArray[np.object_], xy: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return np.asarray(shapely.contains_xy(zones, xy[:, 0], xy[:, 1]), dtype=bool)


def _convex_quads(
    idx: LotIndex,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Find the lots that are convex quadrilaterals (most are), once per :class:`LotIndex`.

    Returns each lot's row in the other two arrays (-1 for other lots), their four vertices (rows, 4, 2) and
    the area of the half-edge corner triangle at each vertex (rows, 4).
    """
    cached = idx.cache.get("quads")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    g = idx.geoms
    ok = shapely.get_type_id(g) == 3
    # a polygon of 5 coordinates has no hole (a ring needs 4): its exterior ring is a quadrilateral
    ok[ok] = parallel.elementwise(shapely.get_num_coordinates, g[ok]) == 5
    sel = np.flatnonzero(ok)
    # such a polygon lists exactly its exterior ring's coordinates (no ring objects built); chunks of lots
    # give their coordinates in lot order, so the threads' pieces concatenate to the one-call array
    ring = parallel.elementwise(shapely.get_coordinates, g[sel]).reshape(len(sel), 5, 2)[:, :4]
    prev, nxt = ring[:, [3, 0, 1, 2]], ring[:, [1, 2, 3, 0]]
    # corner turns (differences of nearby coordinates: small, exact-enough products); convex = one sign
    a, b = prev - ring, nxt - ring
    turn = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    convex = (turn >= 0).all(axis=1) | (turn <= 0).all(axis=1)
    pos = np.full(len(g), -1, dtype=np.intp)
    pos[sel[convex]] = np.arange(int(convex.sum()))
    # half of |a × b| / 4: the triangle's legs are half the edges
    quads = (pos, np.ascontiguousarray(ring[convex]), np.abs(turn[convex]) / 8.0)
    idx.cache["quads"] = quads
    return quads


def _corner_clears(
    idx: LotIndex,
    copies: list[npt.NDArray[np.object_]],
    lot: npt.NDArray[np.intp],
    zone: npt.NDArray[np.intp],
    threshold: float,
) -> npt.NDArray[np.bool_]:
    """Pairs whose overlap surely exceeds ``threshold``: the zone covers a corner triangle of the lot larger.

    The corner triangle at a vertex joins it to the midpoints of its two edges; for a convex lot it lies
    inside the lot, so a zone covering it overlaps the lot by at least its area. Only triangles larger than
    ``threshold`` + :data:`BOUND_MARGIN_M2` whose vertex lies in the zone (a cheap point test) are tested.
    Lots other than convex quadrilaterals (most lots are) are never cleared here.
    """
    sure = np.zeros(len(lot), dtype=bool)
    if len(lot) == 0:
        return sure
    pos_all, ring, tri_area = _convex_quads(idx)
    if len(ring) == 0:
        return sure
    p = pos_all[lot]
    # candidate corners: large enough, on a convex lot
    large = tri_area[np.maximum(p, 0)] > threshold + BOUND_MARGIN_M2
    pair_i, corner = np.nonzero((p >= 0)[:, None] & large)
    if len(pair_i) == 0:
        return sure
    li = p[pair_i]
    vin = parallel.prepared_pairs(_contains_xy, copies, zone[pair_i], ring[li, corner], min_chunk=8_000)
    pair_i, corner, li = pair_i[vin], corner[vin], li[vin]
    # half-edge triangles first; where the zone boundary cuts them, triangles on a fifth of the edges (1/25
    # of the area: still well above a sliver tolerance on ordinary lots)
    for frac in (0.5, 0.2):
        todo = np.flatnonzero(
            ~sure[pair_i] & (tri_area[li, corner] * (frac / 0.5) ** 2 > threshold + BOUND_MARGIN_M2)
        )
        # one corner per pair at a time (the candidates are sorted by pair): most pairs clear with their
        # first, so their other corners' triangles are never built nor tested
        while len(todo):
            pt = pair_i[todo]
            first = np.r_[True, pt[1:] != pt[:-1]]
            now, todo = todo[first], todo[~first]
            pi, co, lj = pair_i[now], corner[now], li[now]
            v, before, after = ring[lj, co], ring[lj, (co - 1) % 4], ring[lj, (co + 1) % 4]
            tri = np.stack([v, v + frac * (before - v), v + frac * (after - v), v], axis=1)
            tri_g = np.asarray(parallel.elementwise(shapely.polygons, tri, min_chunk=8_000), dtype=object)
            inside = parallel.prepared_pairs(shapely.covers, copies, zone[pi], tri_g, min_chunk=4_000)
            sure[pi[inside]] = True
            todo = todo[~sure[pair_i[todo]]]
    return sure


#: Cells of the quadtree level that :func:`_lots_in_boxes` counts lots with (the finest level with at most
#: this many cells).
COUNT_LEVEL_MAX_CELLS: int = 4_096


def _lots_in_boxes(idx: LotIndex, zones: npt.NDArray[np.object_]) -> int:
    """Estimate how many lots fall in the zones' bounding boxes (summed over zones), to choose a strategy.

    Counted with the cells of a coarse level of the lots' quadtree whose envelopes meet each zone's box, so
    it errs high by the cells on the boxes' edges; a query of the lots' own tree with large zones (the
    Voronoi cells of the stations, administraciones zonales) returned millions of pairs only to be counted.
    """
    levels = _levels(idx)
    k = next(
        (k for k in range(len(levels.starts)) if len(levels.starts[k]) <= COUNT_LEVEL_MAX_CELLS),
        len(levels.starts) - 1,
    )
    env = levels.env[k]
    if len(env) == 0:
        return 0
    counts = np.diff(np.r_[levels.starts[k], len(levels.order)])
    real = ~shapely.is_missing(zones) & ~shapely.is_empty(zones)
    boxes = np.asarray(shapely.box(*env.T), dtype=object)
    _, cell = shapely.STRtree(boxes).query(shapely.envelope(zones[real]))
    return int(counts[cell].sum())


def overlaps(idx: LotIndex, zones: npt.NDArray[np.object_]) -> Overlaps:
    """Lot–zone pairs whose interiors may meet, exact where cheap (see :class:`Overlaps`).

    The lots' quadtree (built once per :class:`LotIndex`) is walked from coarse to fine: a cell whose lots'
    envelope lies in a zone's interior gives all its lots that zone with their own area (the zone covers
    them), a cell clear of the zone gives none, and only the cells a zone boundary crosses are split. At the
    finest level each lot of such a cell is tested against the zone (covered: its own area; disjoint: no
    pair); the remaining pairs are on the zone boundary and keep a NaN area until settled.

    Parameters
    ----------
    idx : LotIndex
        The lots.
    zones : numpy.ndarray
        Zone geometries (polygons).

    Returns
    -------
    Overlaps
    """
    zones = np.asarray(zones, dtype=object)
    empty = np.empty(0, dtype=np.intp)
    if len(zones) == 0 or len(idx) == 0:
        return Overlaps(idx, zones, empty, empty.copy(), np.empty(0), np.empty(0, dtype=bool))
    # prepared geometries are not thread-safe: each thread gets its own prepared copy of the zones
    copies = parallel.prepared_copies(zones)
    # the estimate errs high (small zones: ~2.5×); the lots' tree counts exactly where that decides
    limit = QUADTREE_MIN_LOTS_PER_ZONE * len(zones)
    estimate = _lots_in_boxes(idx, zones)
    if estimate < limit or (estimate < 4 * limit and idx.tree.query(zones).shape[1] < limit):
        # zones of a few hundred lots (PIT, AIVA, PUOS): nearly every cell of the quadtree would be crossed
        # by a boundary, and the tree's own prepared-intersects query is cheaper
        zq, lq = parallel.query(idx.tree, zones, predicate="intersects", min_chunk=64)
        covered = parallel.prepared_pairs(shapely.covers, copies, zq, idx.geoms[lq], min_chunk=4_000)
        area = np.where(covered, idx.area[lq], np.nan)
        order = np.lexsort((zq, lq))
        lq, zq = lq[order].astype(np.intp), zq[order].astype(np.intp)
        return Overlaps(idx, zones, lq, zq, area[order], covered[order], copies)
    levels = _levels(idx)
    ztree = shapely.STRtree(zones)
    lots_in: list[npt.NDArray[np.intp]] = []
    zones_in: list[npt.NDArray[np.intp]] = []
    top = len(levels.starts) - 1
    active = np.ones(len(levels.starts[top]), dtype=bool)
    edge_lot, edge_zone = empty, empty.copy()
    for k in range(top, -1, -1):
        cells = np.flatnonzero(active)
        if len(cells) == 0:
            break
        boxes = np.asarray(shapely.box(*levels.env[k][cells].T), dtype=object)
        ci, zj = parallel.query(ztree, boxes, min_chunk=4_000)
        # each thread tests its chunk against its own prepared copy of the zones
        inside = parallel.prepared_pairs(shapely.contains_properly, copies, zj, boxes[ci], min_chunk=4_000)
        crossed = ~inside
        crossed[crossed] = parallel.prepared_pairs(
            shapely.intersects, copies, zj[crossed], boxes[ci[crossed]], min_chunk=4_000
        )
        undecided = np.zeros(len(cells), dtype=bool)
        undecided[ci[crossed]] = True
        # a cell's inside pairs are final once no zone crosses it (at the finest level, always)
        emit = inside & (~undecided[ci] if k else True)
        lo, zo = _cell_lots(levels, k, cells[ci[emit]], zj[emit])
        lots_in.append(lo)
        zones_in.append(zo)
        if k == 0:
            edge_lot, edge_zone = _cell_lots(levels, 0, cells[ci[crossed]], zj[crossed])
        else:
            split = np.zeros(len(levels.env[k]), dtype=bool)
            split[cells[undecided]] = True
            active = split[levels.parent[k - 1]]
    # lots of the crossed cells, one by one: boxes first, then the prepared zone
    lb, zb = idx.bounds[edge_lot], shapely.bounds(zones[edge_zone])
    meet = (lb[:, 0] <= zb[:, 2]) & (lb[:, 2] >= zb[:, 0]) & (lb[:, 1] <= zb[:, 3]) & (lb[:, 3] >= zb[:, 1])
    edge_lot, edge_zone = edge_lot[meet], edge_zone[meet]
    lot_g = idx.geoms[edge_lot]
    covered = parallel.prepared_pairs(shapely.covers, copies, edge_zone, lot_g, min_chunk=4_000)
    hit = ~covered
    hit[hit] = parallel.prepared_pairs(
        shapely.intersects, copies, edge_zone[hit], lot_g[hit], min_chunk=4_000
    )
    lot = np.concatenate([*lots_in, edge_lot[covered], edge_lot[hit]])
    zone = np.concatenate([*zones_in, edge_zone[covered], edge_zone[hit]])
    n_exact = len(lot) - int(hit.sum())
    area = np.concatenate([idx.area[lot[:n_exact]], np.full(int(hit.sum()), np.nan)])
    exact = np.arange(len(lot)) < n_exact
    order = np.lexsort((zone, lot))
    return Overlaps(idx, zones, lot[order], zone[order], area[order], exact[order], copies)


def largest_overlap(
    idx: LotIndex, zones: npt.NDArray[np.object_], *, exact_winner: bool = True
) -> tuple[Overlaps, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Find the zone overlapping each lot the most, with its exact overlap area (PIT, PUOS, adm. zonal).

    Every overlap of a lot on a zone boundary is computed exactly: the largest needs them all, and the
    winner's share is reported. (Deciding the winner from one exact intersection plus bounds on the others
    was measured slower here: bounding the others needs the zones' own pairwise overlaps.)

    Parameters
    ----------
    idx : LotIndex
        The lots.
    zones : numpy.ndarray
        Zone geometries (polygons).
    exact_winner : bool, optional
        False when only the winner is wanted, not its area: a lot in a single zone then needs no
        intersection (its overlap is only shown positive, :meth:`Overlaps.above`).

    Returns
    -------
    overlaps : Overlaps
        The pairs with positive overlap (sorted by lot, then zone), exact for every lot in several zones and
        for every winner (with ``exact_winner``).
    lots : numpy.ndarray of int
        The lots with at least one pair.
    pairs : numpy.ndarray of int
        For each of them, the position in ``overlaps`` of its largest overlap (ties: the lowest zone).
    """
    ov = overlaps(idx, zones)
    if exact_winner:
        ov.settle(np.ones(len(ov.lot), dtype=bool))
        ov = ov.take(ov.area > 0)
    else:
        ov = ov.take(ov.above(0.0))
        ov.settle_shared()
    lots, pairs = best_per_lot(ov.lot, np.where(ov.exact, ov.area, 0.0), len(idx))
    return ov, lots, pairs


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
    "Overlaps",
    "best_per_lot",
    "concat_by_lot",
    "feature_labels",
    "largest_overlap",
    "lot_index",
    "overlap_pairs",
    "overlaps",
    "present",
]
