"""Checks that need more than one layer.

Duplicated keys, lots outside every PIT or AIVA, overlapping PIT polygons, and layers whose datum disagrees
with the cadastre (PSAD56 labelled as WGS84).

At district scale the geometric checks go through cheap exact screens first (a lot's first vertex inside a
zone, a lot vertex near a layer's vertices) and give the slower predicate only to what the screen leaves:
the problems are exactly those of the plain predicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from quitogeo.io.crs import detect_psad56_mislabel
from quitogeo.io.problems import ProblemLog
from quitogeo.parallel import elementwise, map_chunks, prepared_copies, prepared_pairs
from quitogeo.rules import Rules

# Layers compared with the cadastre for a datum mismatch (they share its streets and block lines).
_DATUM_CHECKED = ("pugs", "aiva", "zuae", "vias", "riesgo", "planes_especiales", "areas_influencia", "puos")


def _lot_ids(predios: gpd.GeoDataFrame, rows: np.ndarray) -> np.ndarray:
    """Problem ids of the lots at positions ``rows``: the clave catastral, else ``"fila i"``.

    Built only for the lots reported (a million "fila i" strings cost half a second for nothing).
    """
    clave = predios["clave_catastral"].to_numpy(dtype=object)[rows]
    blank = pd.isna(clave) | (clave == "")
    return np.where(blank, np.array([f"fila {i}" for i in rows.tolist()], dtype=object), clave)


def _present(frame: gpd.GeoDataFrame) -> np.ndarray:
    geoms = frame.geometry.to_numpy()
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _first_vertices(geoms: np.ndarray) -> np.ndarray:
    """``(n, 2)`` coordinates of each geometry's first vertex (NaN for a geometry without coordinates).

    Taken from the flat coordinate array, so no point geometry is built per lot (200,000 points cost 0.08 s
    to make).
    """
    counts = shapely.get_num_coordinates(geoms)
    coords = shapely.get_coordinates(geoms)
    out = np.full((len(geoms), 2), np.nan)
    has = counts > 0
    out[has] = coords[(np.cumsum(counts) - counts)[has]]
    return out


#: Coordinates kept on a :class:`_PointGrid` (in metres; NaN compares False, so it stays out too).
_GRID_LIMIT = 1e15


class _PointGrid:
    """Points bucketed on a regular grid, to find those inside a few thousand zones without point geometries.

    The grid is built once for the lots and serves every zone layer (PIT, AIVA).
    """

    def __init__(self, xy: np.ndarray) -> None:
        self._n = len(xy)
        # Non-finite points intersect nothing; absurd magnitudes (no CRS reaches 1e15 m) would overflow the
        # grid's arithmetic: both stay out, and callers treat them as "not found" (the exact path).
        self._valid = np.flatnonzero((np.abs(xy) < _GRID_LIMIT).all(axis=1))
        self._x, self._y = xy[self._valid, 0], xy[self._valid, 1]
        if not len(self._valid):
            return
        x0, y0 = float(self._x.min()), float(self._y.min())
        # about 8 points per cell: few candidates per zone, and far fewer cells than points
        side = max(1, int(np.sqrt(len(self._valid) / 8)))
        width = max(float(self._x.max()) - x0, float(self._y.max()) - y0) / side or 1.0
        self._origin, self._width = (x0, y0), width
        self._nx = int((float(self._x.max()) - x0) / width) + 1
        self._ny = int((float(self._y.max()) - y0) / width) + 1
        cell = self._column(self._x) * self._ny + self._row(self._y)
        self._order = np.argsort(cell)  # the order inside a cell does not matter
        self._start = np.searchsorted(cell[self._order], np.arange(self._nx * self._ny + 1))

    def _column(self, x: np.ndarray) -> np.ndarray:
        # the same expression for points and zone bounds: a point within a zone's bounds falls in its columns
        return np.clip((x - self._origin[0]) // self._width, 0, self._nx - 1).astype(np.int64)

    def _row(self, y: np.ndarray) -> np.ndarray:
        return np.clip((y - self._origin[1]) // self._width, 0, self._ny - 1).astype(np.int64)

    def hits(self, zones: np.ndarray) -> np.ndarray:
        """Whether each point intersects (lies inside or on the boundary of) at least one of ``zones``.

        Each zone tests only the points of the grid cells under its bounding box, with a prepared copy of the
        zone (``intersects_xy``: the point-in-polygon test a tree query with ``predicate="intersects"`` makes
        on prepared zones).
        """
        hit = np.zeros(self._n, dtype=bool)
        bounds = shapely.bounds(zones)
        usable = np.flatnonzero(np.isfinite(bounds).all(axis=1))
        if not len(usable) or not len(self._valid):
            return hit
        zb = bounds[usable]
        (x0, y0), width = self._origin, self._width
        near = (
            (zb[:, 2] >= x0)
            & (zb[:, 0] <= x0 + self._nx * width)
            & (zb[:, 3] >= y0)
            & (zb[:, 1] <= y0 + self._ny * width)
        )
        zb, usable = zb[near], usable[near]
        col0, col1 = self._column(zb[:, 0]), self._column(zb[:, 2])
        row0, row1 = self._row(zb[:, 1]), self._row(zb[:, 3])
        # one run of sorted points per (zone, grid column): cells (col, row0..row1) have consecutive codes
        n_cols = col1 - col0 + 1
        run_zone = np.repeat(np.arange(len(zb)), n_cols)
        col = col0[run_zone] + np.arange(len(run_zone)) - np.repeat(np.cumsum(n_cols) - n_cols, n_cols)
        lo = self._start[col * self._ny + row0[run_zone]]
        count = self._start[col * self._ny + row1[run_zone] + 1] - lo
        total = int(count.sum())
        if not total:
            return hit
        cand_point = self._order[np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(total)]
        cand_zone = np.repeat(run_zone, count)
        # prepared copies, one per thread: the layer's own geometries stay unprepared
        copies = prepared_copies(zones[usable])
        x, y = self._x, self._y
        inside = prepared_pairs(
            lambda zone, idx: shapely.intersects_xy(zone, x[idx], y[idx]), copies, cand_zone, cand_point
        )
        hit[self._valid[cand_point[inside]]] = True
        return hit

    def nearest_bound(self, xy: np.ndarray) -> np.ndarray:
        """Bound from above each query point's distance to the grid's points (inf when none is near).

        The distance to the nearest grid point in the query point's cell, else in the 3 × 3 cells around it
        (cells of the border for points beyond the grid): an actual distance to an actual point, so never
        less than the distance to the nearest one.
        """
        out = np.full(len(xy), np.inf)
        ok = np.flatnonzero((np.abs(xy) < _GRID_LIMIT).all(axis=1))
        if not len(ok) or not len(self._valid):
            return out
        for reach in (0, 1):
            ok = ok[np.isinf(out[ok])]
            if not len(ok):
                break
            qx, qy = xy[ok, 0], xy[ok, 1]
            cols = np.clip(self._column(qx)[:, None] + np.arange(-reach, reach + 1), 0, self._nx - 1)
            row = self._row(qy)
            row0, row1 = np.maximum(row - reach, 0), np.minimum(row + reach, self._ny - 1)
            lo = self._start[cols * self._ny + row0[:, None]].ravel()
            count = self._start[cols * self._ny + row1[:, None] + 1].ravel() - lo
            per_query = count.reshape(len(ok), -1).sum(axis=1)
            total = int(per_query.sum())
            if not total:
                continue
            owner = np.repeat(np.arange(len(ok)), per_query)  # runs are in query order: owners come grouped
            near = self._order[np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(total)]
            dx, dy = self._x[near] - qx[owner], self._y[near] - qy[owner]
            dist = np.sqrt(dx * dx + dy * dy)
            has = per_query > 0
            out[ok[has]] = np.minimum.reduceat(dist, (np.cumsum(per_query) - per_query)[has])
        return out


def _covered(lots: np.ndarray, first: _PointGrid, zones_frame: gpd.GeoDataFrame) -> np.ndarray:
    """Whether each lot intersects a zone of ``zones_frame`` or has its centroid in one.

    A lot whose first vertex (in ``first``) lies in a zone intersects it: that cheap screen settles almost
    every lot; the lot-zone predicate runs on the rest only, and the centroid rule (a lot counts as covered
    when its centroid falls in a zone) on the few still uncovered.
    """
    zones = zones_frame.geometry.to_numpy()
    hit = first.hits(zones)
    rest = np.flatnonzero(~hit)
    if len(rest):
        lot_idx, _ = zones_frame.sindex.query(lots[rest], predicate="intersects")
        hit[rest[lot_idx]] = True
        rest = np.flatnonzero(~hit)
    if len(rest):
        centroids = shapely.centroid(lots[rest])
        xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
        hit[rest[_PointGrid(xy).hits(zones)]] = True
    return hit


#: Search radii (m) for the reference boundary nearest to a point outside every lot; beyond the last, a
#: nearest-neighbour query. Sampled vertices of district layers lie metres from a lot boundary.
_BOUNDARY_RADII = (16.0, 128.0)


#: Lots from which :class:`_LotBoundaryDistance` beats a tree of every lot's boundary (measured on one
#: thread: 0.28 s against 0.36 s at 100,000 lots, 0.34 s against 0.43 s at 200,000, but 0.15 s against
#: 0.13 s at 4,000).
_BOUNDARY_TREE_MAX = 50_000

#: Fewest sampled points per thread (a layer's sample is 2,000 points, measured three times).
_POINTS_PER_THREAD = 500


class _LotBoundaryDistance:
    """Distance from points to the nearest lot boundary, without a boundary and a tree built for every lot.

    The values are, bit for bit, what a nearest query on the tree of the lots' boundaries
    (:func:`quitogeo.io.crs.reference_tree`) gives. A point inside lots is at the distance of its own lots'
    boundaries or closer: only lots whose bounding boxes reach that far are measured (a neighbour sharing an
    edge may measure it an ulp shorter, so none is skipped). A point outside every lot is as far from a lot's
    boundary as from the lot, searched within growing radii. Distances are GEOS's own (point to boundary for
    the lots containing the point, point to polygon otherwise: the same segments, the same value).
    """

    def __init__(self, lots: np.ndarray) -> None:
        self._lots = lots
        self._built: shapely.STRtree | None = None

    @property
    def _tree(self) -> shapely.STRtree:
        # built on first use: a project whose layers all pass the cheap screen never needs it
        if self._built is None:
            self._built = shapely.STRtree(self._lots)
        return self._built

    def __call__(self, points: np.ndarray) -> np.ndarray:
        self._tree  # noqa: B018  (built here, before the threads share it)
        # each point's distance is its own: chunks of points on the thread pool give the same values
        parts = map_chunks(
            lambda a, b: self._distances(points[a:b]), len(points), min_chunk=_POINTS_PER_THREAD
        )
        return np.concatenate(parts) if parts else np.zeros(0)

    def _distances(self, points: np.ndarray) -> np.ndarray:
        lots, tree = self._lots, self._tree
        n = len(points)
        dist = np.full(n, np.inf)
        own_p, own_l = tree.query(points, predicate="intersects")
        if len(own_p):
            np.minimum.at(dist, own_p, shapely.distance(points[own_p], shapely.boundary(lots[own_l])))
        own_key = np.sort(own_p.astype(np.int64) * len(lots) + own_l)
        xy = shapely.get_coordinates(points)
        reach = dist.copy()
        rows = np.flatnonzero(np.isfinite(dist))
        pending = np.flatnonzero(~np.isfinite(dist))
        for radius in _BOUNDARY_RADII:
            reach[pending] = radius
            rows = np.concatenate([rows, pending])
            if not len(rows):
                break
            r = reach[rows]
            boxes = shapely.box(xy[rows, 0] - r, xy[rows, 1] - r, xy[rows, 0] + r, xy[rows, 1] + r)
            qp, ql = tree.query(boxes)
            qp = rows[qp]
            key = qp.astype(np.int64) * len(lots) + ql
            at = np.minimum(np.searchsorted(own_key, key), max(len(own_key) - 1, 0))
            other = own_key[at] != key if len(own_key) else np.ones(len(key), dtype=bool)
            qp, ql = qp[other], ql[other]
            if len(qp):
                # outside these lots: the distance to the lot is the distance to its boundary
                np.minimum.at(dist, qp, shapely.distance(points[qp], lots[ql]))
            # exact once the nearest found lies within the searched reach (every closer lot was looked at)
            pending = pending[~(dist[pending] <= reach[pending])]
            rows = np.zeros(0, dtype=np.intp)
        if len(pending):
            _, far = tree.query_nearest(points[pending], return_distance=True, all_matches=False)
            dist[pending] = far
        return dist


class _BoundaryTreeDistance:
    """The nearest query on :func:`quitogeo.io.crs.reference_tree` of the lots (tree built on first use)."""

    def __init__(self, lots: np.ndarray) -> None:
        self._lots = lots
        self._tree: shapely.STRtree | None = None

    def __call__(self, points: np.ndarray) -> np.ndarray:
        if self._tree is None:
            poly = shapely.get_type_id(self._lots) >= 3
            self._tree = shapely.STRtree(
                np.where(poly, elementwise(shapely.boundary, self._lots), self._lots)
            )
        _, dist = self._tree.query_nearest(points, return_distance=True, all_matches=False)
        return np.asarray(dist)


def _reference(lots: np.ndarray) -> _LotBoundaryDistance | _BoundaryTreeDistance:
    """Return the distance to the lots' boundaries that :func:`quitogeo.io.crs.detect_psad56_mislabel` uses.

    Polygonal lots (the layer as read always is) use :class:`_LotBoundaryDistance` from
    :data:`_BOUNDARY_TREE_MAX` lots up; fewer lots, or any other geometry, the tree of every boundary.
    Neither builds anything until first called.
    """
    # Below some tens of thousands of lots the boundary tree is cheap and its nearest queries are faster;
    # both give the same distances.
    if len(lots) >= _BOUNDARY_TREE_MAX and np.isin(shapely.get_type_id(lots), (3, 6)).all():
        return _LotBoundaryDistance(lots)
    return _BoundaryTreeDistance(lots)


def check_layers(layers: dict[str, gpd.GeoDataFrame], *, rules: Rules) -> pd.DataFrame:
    """Run the cross-layer checks on layers already read (canonical, TM-Quito).

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        The project's layers (as in :attr:`quitogeo.io.Project.layers`).
    rules : Rules
        The rules; ``tolerancias.aiva_min_overlap_m2`` is the sliver below which overlaps do not count.

    Returns
    -------
    DataFrame
        Problems table rows.
    """
    problems, lots = _lot_checks(layers, rules=rules)
    _datum_checks(layers, lots, problems)
    return problems.frame()


def _repeated(keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which keys (neither null nor blank) another row repeats: ``duplicated(keep=False)`` of the keys.

    On the Arrow strings, in Arrow's kernels: some 0.25 s per million keys, like a set of the Python strings
    (and ``duplicated`` after it when a key repeats), but GIL-free, so the read runs it beside the rest of the
    lots' normalisation.
    """
    arr = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    encoded = arr.dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    known = codes >= 0
    counts = np.bincount(codes[known], minlength=len(encoded.dictionary))
    blank = pc.index(encoded.dictionary, "").as_py()  # -1 when no key is blank
    return known & (counts[np.maximum(codes, 0)] > 1) & (codes != blank)


#: The layers :func:`_lot_checks` reads: it may start as soon as these are read, while the others are.
LOT_CHECK_LAYERS = ("predios", "pugs", "aiva")


@dataclass
class _LotIndex:
    """What the lot checks built and the datum check uses again."""

    present: np.ndarray
    lots: np.ndarray
    first: _PointGrid

    def __iter__(self) -> Iterator[Any]:
        return iter((self.present, self.lots, self.first))


def _lot_index(predios: gpd.GeoDataFrame, *, first_vertices: np.ndarray | None = None) -> _LotIndex:
    """Return the lots with a geometry and the grid of their first vertices.

    ``first_vertices``: :func:`_first_vertices` of every row, when known. Separate so that the read can build
    it beside the reading of the next layers, before the lot checks.
    """
    present = _present(predios)
    rows = np.flatnonzero(present)
    lots = predios.geometry.to_numpy()[rows]
    return _LotIndex(
        present, lots, _PointGrid(_first_vertices(lots) if first_vertices is None else first_vertices[rows])
    )


def _lot_checks(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    rules: Rules,
    repeated: Future[np.ndarray] | None = None,
    index: Future[_LotIndex] | None = None,
) -> tuple[ProblemLog, _LotIndex]:
    """Run the checks of :func:`check_layers` that need only :data:`LOT_CHECK_LAYERS`, in its order.

    Duplicated keys, lots outside every PIT or AIVA, overlapping PITs. Separate so that the read can run them
    (GEOS work, mostly GIL-free) beside the reading of the other layers. What the read has already may be
    given, as futures: ``repeated``, :func:`_repeated` of the lots' ``clave_catastral`` (as Arrow strings, the
    column's values), and ``index``, :func:`_lot_index` of ``predios``.
    """
    problems = ProblemLog()
    sliver = float(rules["tolerancias"]["aiva_min_overlap_m2"])
    predios = layers.get("predios")
    pugs = layers.get("pugs")
    present = np.zeros(0, dtype=bool)
    lots = np.zeros(0, dtype=object)
    first = _PointGrid(np.zeros((0, 2)))
    if predios is not None:
        clave = predios["clave_catastral"]
        if repeated is not None:
            dup = pd.Series(repeated.result(), index=clave.index)
        else:
            # A set of the keys settles the usual case, all distinct, at half the cost of ``duplicated``;
            # when it is smaller (a repeated key, blank or null), ``duplicated`` finds which. (Values it holds
            # equal that a set keeps apart are missing values only — NaN objects —, which are not keys.)
            distinct = len(set(clave.to_numpy(dtype=object).tolist())) == len(clave)
            dup = pd.Series(False, index=clave.index) if distinct else clave.duplicated(keep=False)
            if dup.any():  # blanks and nulls repeat without being duplicated keys
                dup &= clave.notna() & (clave != "")
        if dup.any():
            counts = clave[dup].map(clave[dup].value_counts())
            problems.add_many(
                "predios",
                clave[dup].to_numpy(),
                [f"clave_catastral duplicada ({n} predios)" for n in counts],
                "se conservan todos; cada fila se calcula por separado",
                "asigne una clave única a cada predio",
            )
        present, lots, first = index.result() if index is not None else _lot_index(predios)
        rows = np.flatnonzero(present)
        for layer_name, what in (("pugs", "ningún polígono PIT (PUGS)"), ("aiva", "ninguna zona AIVA")):
            other = layers.get(layer_name)
            if other is None:
                continue
            outside = rows[~_covered(lots, first, other)]
            if len(outside):
                problems.add_many(
                    "predios",
                    _lot_ids(predios, outside),
                    f"predio fuera de {what}",
                    "estado del predio: sin dato de " + ("PIT" if layer_name == "pugs" else "AIVA"),
                    f"complete la capa '{layer_name}' para cubrir el predio",
                )
    if pugs is not None and len(pugs) > 1:
        geoms = pugs.geometry.to_numpy()
        left, right = pugs.sindex.query(geoms, predicate="intersects")
        pair = left < right
        left, right = left[pair], right[pair]
        # Neighbouring PITs share edges: most intersecting pairs only touch, with no area to measure. Only
        # pairs whose interiors meet (DE-9IM ``T********``: for two polygons, overlaps, contains or within)
        # can have an overlap area; the intersection is computed for those alone, in the order of the query
        # above. The pattern is tested on the intersecting pairs only, on the thread pool: three prepared
        # whole-layer queries (overlaps, contains, within) cost 1.8 s for the ~5,000 PITs of 1 M lots, this
        # 0.25 s. (A pair of other dimensions that the pattern adds has no overlap area: filtered below.)
        # (some 17 µs a pair: a few hundred pairs already fill a thread)
        meet = np.asarray(
            elementwise(shapely.relate_pattern, geoms[left], geoms[right], "T********", min_chunk=256),
            dtype=bool,
        )
        left, right = left[meet], right[meet]
        if len(left):
            area = shapely.area(shapely.intersection(geoms[left], geoms[right]))
            over = area > sliver
            if over.any():
                ids = pugs["codigo_pit"].astype(object).to_numpy()
                problems.add_many(
                    "pugs",
                    ids[left[over]],
                    [
                        f"polígono PIT superpuesto con {ids[r]!r} ({a:.1f} m²)"
                        for r, a in zip(right[over], area[over], strict=True)
                    ],
                    "cada predio toma el PIT de mayor superposición",
                    "corrija los límites para que los PIT no se superpongan",
                )
    return problems, _LotIndex(present, lots, first)


def _datum_checks(layers: dict[str, gpd.GeoDataFrame], index: _LotIndex, problems: ProblemLog) -> None:
    """Run the datum-mismatch check of :func:`check_layers` (each layer against the lots)."""
    predios = layers.get("predios")
    lots, first = index.lots, index.first
    if predios is not None and index.present.any():
        reference = _reference(lots)
        for name in _DATUM_CHECKED:
            other = layers.get(name)
            if other is None or not _present(other).any():
                continue
            # the distance to the nearest lot vertex bounds the distance to the lots' boundaries: for a layer
            # that fits the cadastre (all but a mislabelled one) it settles the verdict without measuring
            verdict = detect_psad56_mislabel(other.geometry, reference, bound=first.nearest_bound)
            if verdict.mislabelled:
                who = f"la capa '{name}'" if verdict.direction > 0 else "la capa 'predios'"
                problems.add(
                    name,
                    "*",
                    f"'{name}' y 'predios' están desplazadas {verdict.misfit_m:.0f} m: {who} parece estar en "
                    f"PSAD56 TM-Quito declarada como WGS84 (corrimiento PSAD56 → WGS84 de "
                    f"{verdict.shift_m:.0f} m; "
                    f"aplicado, el desajuste baja a {verdict.misfit_corrected_m:.1f} m)",
                    "no se corrige: los cruces con esta capa serían erróneos",
                    'declare crs = "psad56_tm_quito" (o el .prj de PSAD56) para la capa en PSAD56',
                    bloqueante=True,
                )


__all__ = ["check_layers"]
