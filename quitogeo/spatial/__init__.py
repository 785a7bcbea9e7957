"""Spatial joins of lots to the planning layers: PIT, AIVA, zones, influence areas and fronting roads.

Every function here is vectorised over the lots: one :class:`shapely.STRtree` over the lot geometries is
queried
with the (far fewer) zone, road and station geometries, and the resulting index pairs are reduced with numpy.
No function loops in Python over lots, and each takes the lots (a whole project or one chunk of it) and
returns
a DataFrame aligned to their index, so a backend may call them per partition.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from quitogeo import parallel

if TYPE_CHECKING:
    from quitogeo.spatial.frontage import RingVertices


@dataclass(frozen=True)
class LotIndex:
    """The lots' geometries with their spatial index, built once and shared by every join.

    Attributes
    ----------
    geoms : numpy.ndarray
        Lot geometries (object array, ``None`` for a lot without geometry).
    area : numpy.ndarray
        Geometric area of each lot in m² (NaN without geometry).
    index : pandas.Index
        The lots' index, to align results.
    given_tree : shapely.STRtree, optional
        A tree over :attr:`geoms` already built; by default :attr:`tree` builds it on first use.
    """

    geoms: npt.NDArray[np.object_]
    area: npt.NDArray[np.float64]
    index: pd.Index
    given_tree: shapely.STRtree | None = field(default=None, compare=False, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # builds the shared caches one at a time: joins running side by side wait for the one building a cache
    # rather than build it again (re-entrant: a cache may be built from another)
    lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)

    @classmethod
    def from_lots(cls, lots: gpd.GeoDataFrame) -> LotIndex:
        """Index ``lots`` (a GeoDataFrame in TM-Quito)."""
        geoms = np.asarray(lots.geometry.array, dtype=object).copy()  # the lots are never modified
        geoms[shapely.is_empty(geoms)] = None
        area = shapely.area(geoms).astype(np.float64)
        return cls(geoms=geoms, area=area, index=lots.index)

    def __len__(self) -> int:
        return len(self.geoms)

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """Return the cache entry ``key``, built once by ``build()`` (thread-safe: one builder at a time)."""
        value = self.cache.get(key)
        if value is None:
            with self.lock:
                value = self.cache.get(key)
                if value is None:
                    value = build()
                    self.cache[key] = value
        return value

    def drop(self, *keys: str) -> None:
        """Forget the cache entries ``keys`` (to free their memory; asked for again, they are rebuilt)."""
        with self.lock:
            for key in keys:
                self.cache.pop(key, None)

    def warm(self) -> None:
        """Build now the caches the joins share (bounds, quadtree, vertices, convex quadrilaterals)."""
        _levels(self)
        _strict_quads(self)

    @property
    def tree(self) -> shapely.STRtree:
        """Spatial index over :attr:`geoms` (a lot without geometry is never returned by a query).

        Built on first use, by the first join that queries it (0.25 s at 1 M lots): with the stages side by
        side, the frontage join meanwhile builds its road network on the other core.
        """
        if self.given_tree is not None:
            return self.given_tree
        return self.cached("tree", lambda: shapely.STRtree(self.geoms))  # type: ignore[no-any-return]

    @property
    def bounds(self) -> npt.NDArray[np.float64]:
        """Bounding boxes (n, 4) of the lots (NaN without geometry), computed once."""
        return self.cached("bounds", lambda: shapely.bounds(self.geoms))  # type: ignore[no-any-return]

    @property
    def vertices(self) -> RingVertices:
        """The lots' ring vertices, extracted once per index.

        :func:`quitogeo.spatial.frontage.ring_vertices` of :attr:`geoms` (TM-Quito coordinates as they are,
        not oriented). One coordinate pass shared by :func:`_strict_quads` (which copies its quadrilaterals'
        coordinates from here) and the frontage join (which clips every lot's edges): they used to extract
        the same coordinates twice.
        """
        # imported here: the frontage module imports this one
        from quitogeo.spatial.frontage import ring_vertices

        return self.cached("vertices", lambda: ring_vertices(self.geoms))  # type: ignore[no-any-return]


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
    return idx.cached("levels", lambda: _build_levels(idx))  # type: ignore[no-any-return]


def _build_levels(idx: LotIndex) -> _Levels:
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
    bounds first, and :meth:`settle_ranks` orders a lot's pairs with an upper bound, so every decision is the
    one the exact areas give.
    """

    idx: LotIndex
    zones: npt.NDArray[np.object_]
    lot: npt.NDArray[np.intp]
    zone: npt.NDArray[np.intp]
    area: npt.NDArray[np.float64]
    exact: npt.NDArray[np.bool_]
    copies: list[npt.NDArray[np.object_]] = field(default_factory=list, repr=False)
    # per zone layer, shared by the pairs taken from these: zone validity, prepared boundaries, zone overlaps
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

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
            self.cache,
        )

    def _copies(self) -> list[npt.NDArray[np.object_]]:
        if not self.copies:
            self.copies = parallel.prepared_copies(self.zones)
        return self.copies

    def _valid_zones(self) -> npt.NDArray[np.bool_]:
        """Which zones are valid polygons (the bounds below rely on polygon interiors and areas)."""
        if "valid" not in self.cache:
            z = self.zones
            ok = ~shapely.is_missing(z)
            ok[ok] = np.isin(shapely.get_type_id(z[ok]), (3, 6)) & shapely.is_valid(z[ok])
            self.cache["valid"] = ok
        return self.cache["valid"]  # type: ignore[no-any-return]

    def _edges(self) -> list[npt.NDArray[np.object_]]:
        """Per thread, a prepared copy of the zones' boundaries (for distance tests)."""
        if "edges" not in self.cache:
            edges = np.full(len(self.zones), None, dtype=object)
            ok = self._valid_zones()
            edges[ok] = shapely.boundary(self.zones[ok])
            self.cache["edges"] = parallel.prepared_copies(edges)
        return self.cache["edges"]  # type: ignore[no-any-return]

    def above(self, threshold: float) -> npt.NDArray[np.bool_]:
        """Pairs whose exact overlap exceeds ``threshold`` (≥ 0).

        A boundary pair is decided without its intersection when a disk inside the (convex) lot and inside
        the zone has an area larger than ``threshold`` by :data:`BOUND_MARGIN_M2` (:func:`_disk_clears`);
        the others are settled exactly.
        """
        open_ = np.flatnonzero(~self.exact)
        if len(open_):
            sure = np.zeros(len(open_), dtype=bool)
            valid = self._valid_zones()[self.zone[open_]]
            if valid.any():
                near = self.cache.get("near_edges")
                sure[valid] = _disk_clears(
                    self.idx,
                    self._copies(),
                    self._edges() if near is None else near,
                    self.lot[open_[valid]],
                    self.zone[open_[valid]],
                    threshold,
                    len(self.zones),
                )
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

    def settle_ranks(self, *, full: bool = False) -> npt.NDArray[np.float64]:
        """Settle what ranking each lot's pairs by overlap needs; return keys ranking them as exact areas do.

        In a lot with several pairs, one "lead" pair is settled: an exact one if there is (a zone covering the
        lot), else the zone holding the lot's centre (usually the largest share). Every other zone ``C`` of
        the lot then overlaps it by at most ``area(lot) − a + area(A ∩ C)``, ``a`` being the lead zone ``A``'s
        exact overlap (the lot's parts in ``A`` and in ``C`` share at most ``A ∩ C``, which is empty — zero
        area — for zones that only touch, as in a tessellation): when ``a`` exceeds that bound by
        :data:`BOUND_MARGIN_M2`, ``C`` surely ranks below the lead and its intersection is not computed
        (:func:`_lead_bounds`). Every other pair is settled.

        Parameters
        ----------
        full : bool, optional
            False: only each lot's largest pair must rank first (ties: the lowest zone). True: the whole order
            within each lot, so a bounded pair is left unsettled only in lots of two pairs.

        Returns
        -------
        numpy.ndarray of float
            Per pair: the exact area, or -inf for a pair left unsettled (it ranks below its lot's lead, and
            — with ``full`` — is the lot's only other pair). Pairs of single-pair lots keep NaN when open.
        """
        counts = np.bincount(self.lot, minlength=len(self.idx))
        shared = counts[self.lot] > 1
        if full:
            self.settle(counts[self.lot] > 2)
            shared &= counts[self.lot] == 2
        below = _lead_bounds(self, shared)
        self.settle(shared & ~below)
        key = self.area.copy()
        key[below] = -np.inf
        return key


def _contains_xy(zones: npt.NDArray[np.object_], xy: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return np.asarray(shapely.contains_xy(zones, xy[:, 0], xy[:, 1]), dtype=bool)


def _strict_quads(idx: LotIndex) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Find the lots that are strictly convex quadrilaterals (most lots) and their edges, once per index.

    Every corner of such a lot turns the same way by a margin far above rounding, so it is a simple convex
    polygon (valid): connected, and the intersection of its four edges' inner half-planes.

    Returns
    -------
    pos : numpy.ndarray of int
        Each lot's row in ``quads`` (-1 for other lots).
    quads : numpy.ndarray of float
        (rows, 20), a row per such lot (and rows no lot refers to): the x (columns :data:`_QX`) and y
        (:data:`_QY`) of its four vertices, counter-clockwise; the unit normal (:data:`_QNX`, :data:`_QNY`)
        of each edge (vertex ``i`` to ``i + 1``), pointing inside; and the offsets (:data:`_QOFF`): the
        signed distance of a point ``p`` to edge ``i``'s line, positive inside, is ``normal[i] · p −
        offset[i]`` (off by a few 1e-9 m at TM-Quito magnitudes). Lot-major, so that the lots of many pairs
        are gathered one row (160 bytes) each: :func:`_edge_states` reads the gathered rows column by
        column, :func:`_quad_rows` turns them into edge-major (20, k) arrays.
    """
    return idx.cached("strict_quads", lambda: _build_strict_quads(idx))  # type: ignore[no-any-return]


#: Columns of the rows of :func:`_strict_quads` (and rows of :func:`_quad_rows`): vertices' x and y, edges'
#: inner unit normals' x and y, edges' offsets; four each, vertex or edge 0 to 3.
_QX, _QY, _QNX, _QNY, _QOFF = slice(0, 4), slice(4, 8), slice(8, 12), slice(12, 16), slice(16, 20)


def _build_strict_quads(idx: LotIndex) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    g = idx.geoms
    ver = idx.vertices
    # a polygon of 5 coordinates has no hole (a ring needs 4): its exterior ring is a quadrilateral
    ok = ver.count == 5
    ok[ok] = shapely.get_type_id(g[ok]) == 3
    sel = np.flatnonzero(ok)
    # such a polygon's vertices are exactly its exterior ring's coordinates, copied (not recomputed) from the
    # lots' shared vertex table. One row per lot, x0 y0 … x4 y4: the ring is closed (GEOS refuses a ring that
    # is not), so vertex 4 is vertex 0 bit for bit and edge i runs from column i to column i + 1 (the check
    # below only keeps that explicit).
    xy = np.empty((len(sel), 10))
    first = ver.start[sel]
    if len(sel) and first[-1] - first[0] == 5 * (len(sel) - 1) and np.all(np.diff(first) == 5):
        # one after the other in the table (every lot such a quadrilateral, the usual case): a slice of it
        span = slice(int(first[0]), int(first[0]) + 5 * len(sel))
        xy[:, 0::2], xy[:, 1::2] = ver.x[span].reshape(-1, 5), ver.y[span].reshape(-1, 5)
    else:
        at = first[:, None] + np.arange(5)
        xy[:, 0::2], xy[:, 1::2] = ver.x[at], ver.y[at]
    quads = np.empty((len(sel), 20))
    strict = np.empty(len(sel), dtype=bool)
    # in blocks of lots, so that the temporaries stay in the processor's cache
    for start in range(0, len(sel), EDGE_BLOCK_ROWS):
        block = slice(start, start + EDGE_BLOCK_ROWS)
        strict[block] = _quads_block(xy[block], quads[block])
    keep = np.flatnonzero(strict)
    pos = np.full(len(g), -1, dtype=np.intp)
    pos[sel[keep]] = keep
    return pos, quads


#: Corner turn (m², the cross product of a quadrilateral's consecutive edges) every corner of a strictly
#: convex quadrilateral (:func:`_strict_quads`) exceeds, with one sign: far above the rounding of the turns
#: (the frontage join relies on it too, :data:`quitogeo.spatial.frontage.TRUSTED_QUAD_MAX_DIAG_M`).
STRICT_TURN_MIN_M2: float = 8e-6


def _quads_block(xy: npt.NDArray[np.float64], quads: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Fill ``quads`` (rows of :func:`_strict_quads`) from the rings ``xy``; return the strictly convex."""
    x, y = [xy[:, 2 * i] for i in range(5)], [xy[:, 2 * i + 1] for i in range(5)]
    ex = [x[i + 1] - x[i] for i in range(4)]  # differences of nearby coordinates
    ey = [y[i + 1] - y[i] for i in range(4)]
    # corner turns (small, exact-enough products); strictly convex = every turn of one sign, far above the
    # rounding of the turns (~1e-8 m²). A NaN passes neither test.
    ccw = (x[4] == x[0]) & (y[4] == y[0])
    cw = ccw.copy()
    for i in range(4):
        turn = ex[i - 1] * ey[i] - ey[i - 1] * ex[i]
        ccw &= turn > STRICT_TURN_MIN_M2
        cw &= turn < -STRICT_TURN_MIN_M2
    # column by column (each a strided view of the rows); the rows of lots that are not strictly convex are
    # filled all the same and never referred to
    for i in range(4):
        # clockwise rings reversed, so that the inside is left of every edge: vertex i is the old vertex
        # 3 − i, and edge i the old edge (2 − i) mod 4 run backwards, its differences negated (a − b is
        # exactly −(b − a): the differences recomputed from the reversed vertices)
        j = (2 - i) % 4
        qx, qy = np.where(cw, x[3 - i], x[i]), np.where(cw, y[3 - i], y[i])
        qex, qey = np.where(cw, -ex[j], ex[i]), np.where(cw, -ey[j], ey[i])
        length = np.hypot(qex, qey)
        nx, ny = -qey / length, qex / length
        quads[:, _QX.start + i], quads[:, _QY.start + i] = qx, qy
        quads[:, _QNX.start + i], quads[:, _QNY.start + i] = nx, ny
        quads[:, _QOFF.start + i] = nx * qx + ny * qy
    return ccw | cw  # type: ignore[no-any-return]


def _quad_rows(quads: npt.NDArray[np.float64], rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """Return the rows ``rows`` of :func:`_strict_quads`'s ``quads`` edge-major, a (20, k) C-contiguous array.

    One gather of whole rows (a lot's 20 values are adjacent), then one transposing copy: the disk tests
    then run over contiguous (4, k) blocks.
    """
    return np.ascontiguousarray(quads[rows].T)


#: Slack (m) for the disk tests of :func:`_disk_clears`: the numpy distances to the lot's edges and GEOS's
#: point–boundary distances are computed from coordinates rounded to ~2e-9 m at TM-Quito magnitudes.
DISK_SLACK_M: float = 1e-6

#: Where :func:`_disk_clears` looks for a disk, in turn, for the pairs not cleared yet: each corner of the
#: lot moved in along its bisector until the disk fits (the zone boundary crosses most boundary lots near a
#: corner of the part it cuts off), each edge's midpoint moved in, then each corner a quarter of the way to
#: the lot's centre (deeper parts).
DISK_ANCHORS: tuple[str, ...] = ("corner", "edge", "quarter")


def _disk_points(
    q: npt.NDArray[np.float64], anchor: str, depth: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Candidate disk centres (x, y), each (4, k): one per corner or edge of the lots ``q``.

    ``q`` holds the lots' rows of :func:`_strict_quads`, edge-major (:func:`_quad_rows`).
    """
    cx, cy = q[_QX], q[_QY]
    if anchor == "quarter":
        return cx + 0.25 * (cx.mean(axis=0) - cx), cy + 0.25 * (cy.mean(axis=0) - cy)
    nx, ny = q[_QNX], q[_QNY]
    if anchor == "edge":
        return (cx + np.roll(cx, -1, axis=0)) / 2 + depth * nx, (
            cy + np.roll(cy, -1, axis=0)
        ) / 2 + depth * ny
    # along the corner's bisector, ``depth`` from both its edges' lines (n_prev + n)·d / (1 + n_prev · n)
    px, py = np.roll(nx, 1, axis=0), np.roll(ny, 1, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = depth / (1.0 + nx * px + ny * py)
    return cx + k * (nx + px), cy + k * (ny + py)


def _depth_in(
    q: npt.NDArray[np.float64], px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Distance (4, k) from points to the nearest edge line of the lots ``q`` (:func:`_quad_rows`).

    Negative outside. For a convex polygon, a point at distance ``d`` from every edge line, on its inner
    side, is the centre of a disk of radius ``d`` inside it.
    """
    nx, ny, off = q[_QNX], q[_QNY], q[_QOFF]
    depth = np.full(px.shape, np.inf)
    with np.errstate(invalid="ignore"):
        for i in range(4):
            # np.minimum keeps a NaN (a point that could not be placed), which never passes a ``>=`` test
            depth = np.minimum(depth, nx[i] * px + ny[i] * py - off[i])
    return depth


def _clear_of(edges: npt.NDArray[np.object_], xy: npt.NDArray[np.float64], distance: float) -> Any:
    """Whether each point ``xy`` lies farther than ``distance`` from its zone's (prepared) boundary."""
    return ~np.asarray(shapely.dwithin(edges, shapely.points(xy), distance), dtype=bool)


def _segment_distance(
    p: npt.NDArray[np.float64], a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Distance from points ``p`` to segments ``a``–``b`` (each (k, 2)), from differences of nearby points.

    Computed on the x and y columns (one pass each; reductions over rows of two values are slow).
    """
    vx, vy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    wx, wy = p[:, 0] - a[:, 0], p[:, 1] - a[:, 1]
    vv = vx * vx + vy * vy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(vv > 0, np.clip((wx * vx + wy * vy) / vv, 0.0, 1.0), 0.0)
    return np.hypot(wx - t * vx, wy - t * vy)  # type: ignore[no-any-return]


def _clear_of_near(
    near: _NearEdges, key: npt.NDArray[np.int64], xy: npt.NDArray[np.float64], distance: float
) -> npt.NDArray[np.bool_]:
    """Whether each point ``xy`` lies farther than ``distance`` from every segment of its pair (``key``).

    The segments listed for a lot–zone pair are all those of the zone's boundary whose boxes meet the lot's
    box; a point at least ``distance`` inside the lot is farther than that from every other one.
    """
    at = np.minimum(np.searchsorted(near.key, key), max(len(near.key) - 1, 0))
    found = near.key[at] == key if len(near.key) else np.zeros(len(key), dtype=bool)
    count = np.where(found, near.stop[at] - near.start[at], 0)
    point = np.repeat(np.arange(len(key)), count)
    first = np.repeat(near.start[at] - np.cumsum(count) + count, count)
    seg = first + np.arange(int(count.sum()))
    d = _segment_distance(xy[point], near.a[seg], near.b[seg])
    # each point's distances are consecutive: the minimum per run (inf for a point without segments)
    nearest = np.full(len(key), np.inf)
    has = np.flatnonzero(count)
    if len(has):
        nearest[has] = np.minimum.reduceat(d, (np.cumsum(count) - count)[has])
    return nearest > distance  # type: ignore[no-any-return]


def _disk_clears(
    idx: LotIndex,
    copies: list[npt.NDArray[np.object_]],
    edges: list[npt.NDArray[np.object_]] | _NearEdges,
    lot: npt.NDArray[np.intp],
    zone: npt.NDArray[np.intp],
    threshold: float,
    n_zones: int,
) -> npt.NDArray[np.bool_]:
    """Pairs whose overlap surely exceeds ``threshold``: a disk larger than it lies in the lot and the zone.

    A disk of radius ``r`` with ``π r²`` > ``threshold`` + :data:`BOUND_MARGIN_M2` is looked for at the points
    of :data:`DISK_ANCHORS`: its centre at least ``r`` inside every edge line of the (convex) lot — numpy —,
    inside the zone (a prepared point-in-polygon test) and farther than ``r`` from the zone's boundary (in
    numpy from the segments near the lot, ``edges`` a :class:`_NearEdges`, else a prepared distance test
    against the zones' boundaries ``edges``, one candidate point per pair at a time): the disk then lies in
    the interiors of both, so their overlap is at least its area. Only strictly convex quadrilateral lots
    (most lots, :func:`_strict_quads`) and valid zones are cleared here.
    """
    sure = np.zeros(len(lot), dtype=bool)
    if len(lot) == 0:
        return sure
    pos_all, quads = _strict_quads(idx)
    r = math.sqrt((threshold + BOUND_MARGIN_M2) / math.pi) * (1 + 1e-6) + DISK_SLACK_M
    # the candidate centres are put a little deeper than r, so that rounding never pushes them out
    depth = r * 1.01 + 2 * DISK_SLACK_M
    p = pos_all[lot]
    cand = np.flatnonzero(p >= 0)
    near = partial(_clear_of, distance=r + DISK_SLACK_M)
    for anchor in DISK_ANCHORS:
        cand = cand[~sure[cand]]
        if len(cand) == 0:
            break
        q = _quad_rows(quads, p[cand])
        px, py = _disk_points(q, anchor, depth)
        # pair-major order: the candidate points of a pair are consecutive
        pair_i, k = np.nonzero((_depth_in(q, px, py) >= r + DISK_SLACK_M).T)
        pi, xy = cand[pair_i], np.column_stack([px[k, pair_i], py[k, pair_i]])
        inside = parallel.prepared_pairs(_contains_xy, copies, zone[pi], xy, min_chunk=8_000)
        pi, xy = pi[inside], xy[inside]
        if isinstance(edges, _NearEdges):
            key = lot[pi].astype(np.int64) * n_zones + zone[pi]
            sure[pi[_clear_of_near(edges, key, xy, r + DISK_SLACK_M)]] = True
            continue
        # one point per pair at a time: most pairs clear with their first
        while len(pi):
            first = np.r_[True, pi[1:] != pi[:-1]]
            now = pi[first]
            clear = parallel.prepared_pairs(near, edges, zone[now], xy[first], min_chunk=4_000)
            sure[now[clear]] = True
            pi, xy = pi[~first], xy[~first]
            left = ~sure[pi]
            pi, xy = pi[left], xy[left]
    return sure


def _zone_overlaps(
    ov: Overlaps, za: npt.NDArray[np.intp], zc: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Overlap area of zones ``za`` and ``zc`` (pairwise), once per distinct pair of zones.

    Zones whose interiors do not meet (they touch, as in a tessellation: an exact predicate) overlap by
    zero; the others by the area of their GEOS intersection.
    """
    nz = len(ov.zones)
    lo, hi = np.minimum(za, zc).astype(np.int64), np.maximum(za, zc).astype(np.int64)
    keys, inv = np.unique(lo * nz + hi, return_inverse=True)
    known: dict[int, float] = ov.cache.setdefault("zone_overlaps", {})
    todo = np.array([k for k in keys.tolist() if k not in known], dtype=np.int64)
    if len(todo):
        a, c = todo // nz, todo % nz
        other = ov.zones[c]
        # zones sharing a lot nearly always meet: "touches" alone tells most pairs apart (the few disjoint
        # ones are intersected, to an area of zero)
        meet = ~parallel.prepared_pairs(shapely.touches, ov._copies(), a, other, min_chunk=2_000)
        area = np.zeros(len(todo))
        area[meet] = _overlap_area(ov.zones[a[meet]], other[meet])
        known.update(zip(todo.tolist(), area.tolist(), strict=True))
    return np.array([known[k] for k in keys.tolist()], dtype=np.float64)[inv.reshape(-1)]


def _lead_bounds(ov: Overlaps, shared: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Settle one lead pair per lot among the pairs in ``shared``; return the pairs surely smaller than it.

    See :meth:`Overlaps.settle_ranks`. For valid polygons, with ``L`` the lot, ``A`` the lead zone and ``C``
    another: ``|L∩A| + |L∩C| − |L∩A∩C| = |L∩(A∪C)| ≤ |L|`` and ``|L∩A∩C| ≤ |A∩C|``, so
    ``|L∩C| ≤ |L| − |L∩A| + |A∩C|``. The computed areas differ from the true ones by far less than
    :data:`BOUND_MARGIN_M2`, so a lead exceeding the bound by that margin also exceeds ``C``'s computed
    area: ``C`` can neither win nor tie.
    """
    below = np.zeros(len(ov.lot), dtype=bool)
    sel = np.flatnonzero(shared)
    if len(sel) == 0:
        return below
    idx = ov.idx
    lot, zone, exact = ov.lot[sel], ov.zone[sel], ov.exact[sel]
    # the lead: the largest exact pair where there is one, else the zone holding the lot's centre
    holds = np.zeros(len(sel), dtype=bool)
    lots_exact = np.zeros(len(idx), dtype=bool)
    lots_exact[lot[exact]] = True
    look = np.flatnonzero(~exact & ~lots_exact[lot])
    if len(look):
        pos_all, quads = _strict_quads(idx)
        b = idx.bounds[lot[look]]
        centre = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
        quad = pos_all[lot[look]]
        q = _quad_rows(quads, quad[quad >= 0])
        centre[quad >= 0] = np.column_stack([q[_QX].mean(axis=0), q[_QY].mean(axis=0)])
        holds[look] = parallel.prepared_pairs(_contains_xy, ov._copies(), zone[look], centre, min_chunk=8_000)
    rank = np.where(exact, 2.0, np.where(holds, 1.0, 0.0))
    order = np.lexsort((zone, -np.where(exact, ov.area[sel], 0.0), -rank, lot))
    first = np.ones(len(order), dtype=bool)
    first[1:] = lot[order][1:] != lot[order][:-1]
    lead = sel[order[first]]
    settle = np.zeros(len(ov.lot), dtype=bool)
    settle[lead] = True
    ov.settle(settle)
    lead_area = np.full(len(idx), np.nan)
    lead_zone = np.full(len(idx), -1, dtype=np.intp)
    lead_area[ov.lot[lead]] = ov.area[lead]
    lead_zone[ov.lot[lead]] = ov.zone[lead]
    others = sel[~settle[sel] & ~ov.exact[sel]]
    if len(others) == 0:
        return below
    ol, oz = ov.lot[others], ov.zone[others]
    a, lam = lead_area[ol], idx.area[ol]
    valid = ov._valid_zones()
    # cheapest tests first: the bound without the zones' overlap (never below it), then validity
    cand = (a > lam - a + BOUND_MARGIN_M2) & valid[oz] & valid[lead_zone[ol]]
    ci = np.flatnonzero(cand)
    if len(ci):
        cand[ci] = a[ci] > lam[ci] - a[ci] + _zone_overlaps(ov, lead_zone[ol[ci]], oz[ci]) + BOUND_MARGIN_M2
        # the lot must be a valid polygon too: strictly convex quadrilaterals are; others are checked
        ci = np.flatnonzero(cand & (_strict_quads(idx)[0][ol] < 0))
        geoms = idx.geoms[ol[ci]]
        cand[ci] = np.isin(shapely.get_type_id(geoms), (3, 6)) & parallel.elementwise(
            shapely.is_valid, geoms, min_chunk=8_000
        )
    below[others[cand]] = True
    return below


#: Margin (m) by which the numpy tests of :func:`_edge_states` must hold to decide a lot–segment pair: the
#: distances they compute from TM-Quito coordinates (~1e7 m, rounded to ~2e-9 m) are off by far less; a
#: pair within the margin is left to GEOS's exact predicates.
EDGE_MARGIN_M: float = 1e-6


#: Rows computed at a time by :func:`_edge_states` (segment–lot pairs) and by :func:`_strict_quads` (lots):
#: their temporaries then stay in the processor's cache.
EDGE_BLOCK_ROWS: int = 8_192


def _edge_states(
    quads: npt.NDArray[np.float64],
    rows: npt.NDArray[np.intp],
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """For segments ``a``–``b`` (k, 2) against the convex lots ``rows`` of :func:`_strict_quads`.

    ``quads`` is its array of packed rows. Computed in blocks of :data:`EDGE_BLOCK_ROWS`.

    Returns
    -------
    apart : numpy.ndarray of bool
        The segment surely misses the lot: the lot's four corners on one side of the segment's line, or
        both ends outside one edge of the lot, by :data:`EDGE_MARGIN_M` (separating axes of two convex sets).
    inside : numpy.ndarray of bool
        A point of the segment surely lies in the lot's interior: more than the margin inside all four edges.
    """
    apart = np.empty(len(rows), dtype=bool)
    inside = np.zeros(len(rows), dtype=bool)
    for start in range(0, len(rows), EDGE_BLOCK_ROWS):
        part = slice(start, start + EDGE_BLOCK_ROWS)
        apart[part], inside[part] = _edge_states_block(quads, rows[part], a[part], b[part])
    return apart, inside


def _edge_states_block(
    quads: npt.NDArray[np.float64],
    rows: npt.NDArray[np.intp],
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """:func:`_edge_states` on one block of rows.

    The lots' rows are gathered whole (one 160-byte row each) and read column by column: a transposed copy
    or one gather per column costs more than the arithmetic.
    """
    m = EDGE_MARGIN_M
    q = quads[rows]
    ax, ay, bx, by = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        # the segment's line first: most candidate lots lie wholly on one side of it
        sx, sy = ay - by, bx - ax
        slen = np.hypot(sx, sy)
        sx, sy = sx / slen, sy / slen
        so = sx * ax + sy * ay
        # every corner beyond the margin on one side (a NaN, from a segment of no length, decides nothing:
        # the running minimum and maximum keep it)
        lowest = sx * q[:, _QX.start] + sy * q[:, _QY.start] - so
        highest = lowest.copy()
        for i in range(1, 4):
            side = sx * q[:, _QX.start + i] + sy * q[:, _QY.start + i] - so
            np.minimum(lowest, side, out=lowest)
            np.maximum(highest, side, out=highest)
        apart = (lowest > m) | (highest < -m)
        inside = np.zeros(len(rows), dtype=bool)
        near = np.flatnonzero(~apart)
        q = q[near]
        ax, ay, bx, by = ax[near], ay[near], bx[near], by[near]
        # per edge of the lot, the segment's ends' signed distances da, db: both beyond the margin outside
        # one edge misses the lot; the part of the segment at least 2 m inside every edge is t in [lo, hi]
        # (Cyrus–Beck clipping)
        missed = np.zeros(len(near), dtype=bool)
        lo, hi = np.zeros(len(near)), np.ones(len(near))
        da, grow = [], []
        for i in range(4):
            nx, ny, off = q[:, _QNX.start + i], q[:, _QNY.start + i], q[:, _QOFF.start + i]
            da_i = nx * ax + ny * ay - off
            db_i = nx * bx + ny * by - off
            missed |= (da_i < -m) & (db_i < -m)
            grow_i = db_i - da_i
            bound = (2 * m - da_i) / grow_i
            np.maximum(lo, np.where(grow_i > 0, bound, 0.0), out=lo)
            np.minimum(hi, np.where(grow_i < 0, bound, 1.0), out=hi)
            da.append(da_i)
            grow.append(grow_i)
        t = np.clip((lo + hi) / 2, 0.0, 1.0)
        hit = lo <= hi
        for i in range(4):
            hit &= (da[i] + t * grow[i]) > m
        inside[near] = hit
        apart[near] = missed
    return apart, inside


@dataclass(frozen=True)
class _NearEdges:
    """The zone boundary segments near each lot, from :func:`_edge_pairs`, for :func:`_disk_clears`.

    For a lot–zone key ``lot * len(zones) + zone`` at position ``i`` of the sorted :attr:`key`, the segments
    whose boxes meet the lot's box run from ``a[start[i]:stop[i]]`` to ``b[start[i]:stop[i]]``: every
    segment of the zone's boundary that can come near a point inside the lot.
    """

    key: npt.NDArray[np.int64]
    start: npt.NDArray[np.intp]
    stop: npt.NDArray[np.intp]
    a: npt.NDArray[np.float64]
    b: npt.NDArray[np.float64]


def _edge_pairs(
    idx: LotIndex, zones: npt.NDArray[np.object_], copies: list[npt.NDArray[np.object_]]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.bool_], _NearEdges | None]:
    """Lot–zone pairs that intersect, and whether the zone covers the lot: GEOS's answers, mostly without it.

    Every lot whose box meets a zone's box is a candidate. For a lot that is a strictly convex quadrilateral
    (:func:`_strict_quads`) and a valid zone, the zone's boundary segments near the lot are tested in numpy
    (:func:`_edge_states`): a segment point inside the lot puts the zone's boundary in the lot's interior —
    the zone intersects the lot and does not cover it —; with every segment clear of the lot, the lot lies
    wholly in the zone's interior or wholly outside it (it is connected and meets no boundary), which its
    first vertex tells (a prepared point-in-polygon test). Only the remaining pairs — a boundary within
    :data:`EDGE_MARGIN_M` of the lot, other lots, invalid zones — go through GEOS's prepared ``covers`` and
    ``intersects``, exactly as every pair used to.

    Returns
    -------
    lot, zone : numpy.ndarray of int
        The intersecting pairs (unsorted).
    covered : numpy.ndarray of bool
        Whether the zone covers the lot.
    near : _NearEdges or None
        The boundary segments near the strictly convex lots, per lot–zone (None when none were looked at).
    """
    nz = len(zones)
    near: _NearEdges | None = None
    zq, lq = parallel.query(idx.tree, zones, min_chunk=64)
    zq, lq = zq.astype(np.int64), lq.astype(np.intp)
    pos, quads = _strict_quads(idx)
    real = ~shapely.is_missing(zones)
    valid = real.copy()
    valid[real] = np.isin(shapely.get_type_id(zones[real]), (3, 6)) & shapely.is_valid(zones[real])
    simple = (pos[lq] >= 0) & valid[zq]
    # per candidate pair: 0 = clear of the zone's boundary, 1 = boundary inside the lot, 2 = undecided
    state = np.where(simple, 0, 2).astype(np.int8)
    vz = np.flatnonzero(valid)
    if len(vz) and simple.any():
        parts, part_zone = shapely.get_parts(zones[vz], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        xy, ring_of = shapely.get_coordinates(rings, return_index=True)
        seg = np.flatnonzero(ring_of[:-1] == ring_of[1:])
        seg_zone = vz[part_zone[ring_part[ring_of[seg]]]].astype(np.int64)
        lines = np.asarray(
            parallel.elementwise(shapely.linestrings, np.stack([xy[seg], xy[seg + 1]], axis=1)), dtype=object
        )
        si, li = parallel.query(idx.tree, lines, min_chunk=4_000)
        keep = pos[li] >= 0
        si, li = si[keep], li[keep].astype(np.intp)

        def part(start: int, stop: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
            s = seg[si[start:stop]]
            return _edge_states(quads, pos[li[start:stop]], xy[s], xy[s + 1])

        done = parallel.map_chunks(part, len(si), min_chunk=20_000)
        apart = np.concatenate([d[0] for d in done]) if done else np.zeros(0, dtype=bool)
        inside = np.concatenate([d[1] for d in done]) if done else np.zeros(0, dtype=bool)
        # per lot–zone: one segment inside decides (1); else any undecided segment leaves it to GEOS (2)
        key = li.astype(np.int64) * nz + seg_zone[si]
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.intp)
        ukey = key[starts]
        pair_state = np.zeros(len(starts), dtype=np.int8)
        if len(starts):
            undecided = np.logical_or.reduceat(~(apart | inside)[order], starts)
            pair_state[undecided] = 2
            pair_state[np.logical_or.reduceat(inside[order], starts)] = 1
        ends = np.r_[starts[1:], len(key)].astype(np.intp)
        sorted_seg = seg[si[order]]
        near = _NearEdges(ukey, starts.astype(np.intp), ends, xy[sorted_seg], xy[sorted_seg + 1])
        cand_key = lq.astype(np.int64) * nz + zq
        at = np.searchsorted(ukey, cand_key)
        found = at < len(ukey)
        found[found] = ukey[at[found]] == cand_key[found]
        hit = simple & found
        state[hit] = pair_state[at[hit]]
    covered = np.zeros(len(zq), dtype=bool)
    meets = state == 1
    clear = np.flatnonzero(state == 0)
    if len(clear):
        first = quads[pos[lq[clear]], _QX.start : _QY.start + 1 : _QY.start]  # first vertex (x, y)
        covered[clear] = parallel.prepared_pairs(_contains_xy, copies, zq[clear], first, min_chunk=8_000)
        meets[clear] = covered[clear]
    rest = np.flatnonzero(state == 2)
    if len(rest):
        geoms = idx.geoms[lq[rest]]
        cov = parallel.prepared_pairs(shapely.covers, copies, zq[rest], geoms, min_chunk=4_000)
        hits = cov.copy()
        hits[~cov] = parallel.prepared_pairs(
            shapely.intersects, copies, zq[rest[~cov]], geoms[~cov], min_chunk=4_000
        )
        covered[rest] = cov
        meets[rest] = hits
    return lq[meets], zq[meets].astype(np.intp), covered[meets], near


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


def _interiors_apart(zones: npt.NDArray[np.object_], tree: shapely.STRtree) -> bool:
    """Whether no two of the (valid) zones have interiors that meet (a tessellation, or separate zones).

    Then no zone meets another's interior: a point of one's boundary inside the other's interior would have
    points of both interiors around it.
    """
    real = ~shapely.is_missing(zones)
    if not shapely.is_valid(zones[real]).all():
        return False
    zi, zk = tree.query(zones, predicate="intersects")
    pair = zi < zk
    return bool(shapely.touches(zones[zi[pair]], zones[zk[pair]]).all())


def overlaps(idx: LotIndex, zones: npt.NDArray[np.object_], *, boundary: bool = True) -> Overlaps:
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
    boundary : bool, optional
        False when only the lots a zone covers are wanted (every pair then exact): the lots on zone
        boundaries are not looked for.

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
        # by a boundary; the lots are matched one by one, mostly by numpy tests against the zones' edges
        lq, zq, covered, near = _edge_pairs(idx, zones, copies)
        if not boundary:
            zq, lq, covered = zq[covered], lq[covered], covered[covered]
        area = np.where(covered, idx.area[lq], np.nan)
        order = np.argsort(lq.astype(np.int64) * len(zones) + zq, kind="stable")  # by lot, then zone
        lq, zq = lq[order].astype(np.intp), zq[order].astype(np.intp)
        cache: dict[str, Any] = {} if near is None else {"near_edges": near}
        return Overlaps(idx, zones, lq, zq, area[order], covered[order], copies, cache)
    levels = _levels(idx)
    ztree = shapely.STRtree(zones)
    apart = _interiors_apart(zones, ztree)
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
        if apart:  # a cell in one zone's interior meets no other zone (their interiors never meet)
            in_one = np.zeros(len(cells), dtype=bool)
            in_one[ci[inside]] = True
            crossed &= ~in_one[ci]
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
    if boundary:
        hit[hit] = parallel.prepared_pairs(
            shapely.intersects, copies, edge_zone[hit], lot_g[hit], min_chunk=4_000
        )
    else:
        hit[:] = False
    lot = np.concatenate([*lots_in, edge_lot[covered], edge_lot[hit]])
    zone = np.concatenate([*zones_in, edge_zone[covered], edge_zone[hit]])
    n_exact = len(lot) - int(hit.sum())
    area = np.concatenate([idx.area[lot[:n_exact]], np.full(int(hit.sum()), np.nan)])
    exact = np.arange(len(lot)) < n_exact
    order = np.argsort(lot.astype(np.int64) * len(zones) + zone, kind="stable")  # by lot, then zone
    return Overlaps(idx, zones, lot[order], zone[order], area[order], exact[order], copies)


def largest_overlap(
    idx: LotIndex, zones: npt.NDArray[np.object_], *, exact_winner: bool = True
) -> tuple[Overlaps, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Find the zone overlapping each lot the most, with its exact overlap area (PIT, PUOS, adm. zonal).

    A lot in several zones has one exact intersection computed first (the lead: the zone holding its
    centre); the other zones are bounded by it and the zones' own overlap (:meth:`Overlaps.settle_ranks`),
    and only those the bound cannot rule out are intersected. A zone ruled out keeps a NaN area; that it
    overlaps the lot at all is shown by a disk inside both (:meth:`Overlaps.above`), else by its area.

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
        The pairs with positive overlap (sorted by lot, then zone), exact for every winner of a lot in several
        zones and, with ``exact_winner``, for every winner.
    lots : numpy.ndarray of int
        The lots with at least one pair.
    pairs : numpy.ndarray of int
        For each of them, the position in ``overlaps`` of its largest overlap (ties: the lowest zone).
    """
    ov = overlaps(idx, zones)
    if exact_winner:
        counts = np.bincount(ov.lot, minlength=len(idx))
        ov.settle(counts[ov.lot] == 1)
    ov.settle_ranks()
    ov = ov.take(ov.above(0.0))
    # pairs left unsettled rank below their lot's lead; a lot's single pair needs no key
    lots, pairs = best_per_lot(ov.lot, np.where(ov.exact, ov.area, -np.inf), len(idx))
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
