"""Fronting roads, their widths and continuity (normativa §3, Res. 13-2016 Art. 5 c–e, 13 c–e, 16 d–e).

A lot *fronts* a road when its boundary lies within ``ancho_m / 2 + tolerancias.frente_tolerancia_m`` of the
road's centreline along at least ``tolerancias.frente_min_m`` (our reading of "frentista": a corner touch
does not
count). The distance band is a flat-capped buffer of the centreline, so a lot across a T-junction does not
"front" the side road through the end of its centreline; a lot at the very end of a pasaje fronts it when the
centreline reaches the lot's boundary.

A road is *sin continuidad* where it belongs to a dead-end branch of the street network: the centrelines are
snapped to ``tolerancias.red_vial_precision_m``, noded at every crossing, and nodes of degree 1 are pruned
iteratively; the pieces removed are dead ends, and a road owning a dead-end piece is sin continuidad. A lot is
on a road sin continuidad when it fronts such a road (anywhere along it: the flag is the road's). The layer's
``sin_continuidad`` column, where not null, overrides the topology for the whole road (when it marks every
road the topology is not computed). Network caveat: a network clipped to a study area makes the roads leaving
it look like dead ends; clip with a margin or mark them ``sin_continuidad = false``.

How the length inside a band is measured: the lot's ring edges are clipped against the band polygon's edges
in numpy (:func:`boundary_length_inside`, ~1e-9 m from GEOS's ``length(intersection(boundary, band))``),
and GEOS decides the few pairs numpy cannot: a lot edge along the band's edge, a length within
:data:`NUMPY_TOL_M` of ``frente_min_m``, an invalid lot, or a pair with too many edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from quitogeo import parallel
from quitogeo.rules import Rules
from quitogeo.spatial import LotIndex, concat_by_lot, feature_labels, lot_index

#: Distance (m) below which the numpy frontage length is not trusted to decide: a lot edge running along a
#: band edge within it, or a length within it of ``frente_min_m``, goes to GEOS (the float error of the numpy
#: lengths, measured against GEOS on 256 k pairs, is below 2e-9 m).
NUMPY_TOL_M = 1e-6

#: Lot edge × band edge combinations per numpy block: ~20 float arrays of this length stay in a few MB (a
#: block of ~10 k typical pairs; larger blocks were measured slower, cache misses).
COMBOS_PER_BLOCK = 1 << 19

#: Pairs with more combinations than this (a many-vertex lot on a winding road) go to GEOS, whose noding
#: beats the all-against-all numpy test there (measured: ~10–20 ns per combination in bulk against ~10–30 µs
#: per GEOS pair; about even at ~1 000 combinations).
MAX_COMBOS_PER_PAIR = 1024


@dataclass(frozen=True)
class RingSegments:
    """The straight edges of the rings of an array of polygons, grouped by polygon (numpy only, no GEOS).

    Attributes
    ----------
    x0, y0, x1, y1 : numpy.ndarray
        Edge ends, the edges of polygon ``i`` at ``start[i] : start[i] + count[i]``.
    side : numpy.ndarray
        ``+1`` where the polygon's interior is on the edge's left (a counter-clockwise shell or a clockwise
        hole), else ``-1`` (only computed when asked: needed for the polygons a lot is clipped against).
    start, count : numpy.ndarray of int
        Where each polygon's edges begin and how many it has (0 for a missing or empty geometry).
    """

    x0: npt.NDArray[np.float64]
    y0: npt.NDArray[np.float64]
    x1: npt.NDArray[np.float64]
    y1: npt.NDArray[np.float64]
    side: npt.NDArray[np.float64]
    start: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]


def ring_segments(geoms: npt.NDArray[np.object_], *, oriented: bool = False) -> RingSegments:
    """Split the rings of (multi)polygons into straight edges, grouped by geometry.

    Parameters
    ----------
    geoms : numpy.ndarray
        Polygons or MultiPolygons (None and empty give no edges; other types are not expected).
    oriented : bool, optional
        Compute :attr:`RingSegments.side` (ring orientation, shells against holes).

    Returns
    -------
    RingSegments
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    tid = shapely.get_type_id(geoms)
    # plain polygons without holes (nearly all) give their coordinates in one call; the rest go ring by ring
    plain = (tid == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    pos = np.flatnonzero(plain)
    coords, owner = shapely.get_coordinates(geoms[pos], return_index=True)
    owner = pos[owner]
    ring_key = owner
    hole = np.zeros(len(owner), dtype=bool)
    other = np.flatnonzero(~plain & (tid >= 0))
    if len(other):
        parts, part_of = shapely.get_parts(geoms[other], return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        shell = np.r_[True, ring_of[1:] != ring_of[:-1]]  # each polygon's first ring is its shell
        c2, i2 = shapely.get_coordinates(rings, return_index=True)
        ring_key = np.concatenate([owner, n + i2])  # ring ids after the plain polygons' ids
        hole = np.concatenate([hole, ~shell[i2]])
        coords = np.concatenate([coords, c2])
        owner = np.concatenate([owner, other[part_of[ring_of[i2]]]])
    same = ring_key[1:] == ring_key[:-1]  # consecutive vertices of one ring
    seg_owner = owner[:-1][same]
    x0, y0 = coords[:-1, 0][same], coords[:-1, 1][same]
    x1, y1 = coords[1:, 0][same], coords[1:, 1][same]
    side = np.empty(0, dtype=np.float64)
    if oriented and len(x0):
        rid = ring_key[:-1][same]  # ring ids are small non-negative integers: bincount keys as they are
        n_ring = int(rid.max()) + 1
        nv = np.maximum(np.bincount(rid, minlength=n_ring), 1)  # ids not in use count 0: avoid 0 / 0
        # shoelace about each ring's centroid of vertices: coordinates are ~1e7 in TM-Quito
        ox = (np.bincount(rid, weights=x0, minlength=n_ring) / nv)[rid]
        oy = (np.bincount(rid, weights=y0, minlength=n_ring) / nv)[rid]
        twice_area = np.bincount(rid, weights=(x0 - ox) * (y1 - oy) - (x1 - ox) * (y0 - oy), minlength=n_ring)
        side = np.where((twice_area > 0)[rid] != hole[:-1][same], 1.0, -1.0)
    if len(seg_owner) and np.any(seg_owner[1:] < seg_owner[:-1]):
        order = np.argsort(seg_owner, kind="stable")
        seg_owner, x0, y0, x1, y1 = seg_owner[order], x0[order], y0[order], x1[order], y1[order]
        if len(side):
            side = side[order]
    count = np.bincount(seg_owner, minlength=n).astype(np.int64)
    return RingSegments(x0=x0, y0=y0, x1=x1, y1=y1, side=side, start=np.cumsum(count) - count, count=count)


def _expand(counts: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For groups of ``counts`` elements: the group of each element and its rank within the group."""
    group = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    rank = np.arange(len(group), dtype=np.int64) - (np.cumsum(counts) - counts)[group]
    return group, rank


def boundary_length_inside(
    lot_edges: RingSegments,
    band_edges: RingSegments,
    lot: npt.NDArray[np.intp],
    band: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Length of each lot's boundary inside a band polygon, by clipping segments in numpy.

    For each lot edge A→B (r = B − A) every edge C→D of the band is tested against the *line* through A, B:
    the edge crosses it when C and D lie on different sides, with points on the line counted on the right
    (the half-open rule of point-in-polygon ray casting, so a line through a band vertex is counted once, or
    twice when it only touches). The band's winding number at A + t·r is then the signed count of the
    crossings at parameters below t, with sign ``±1`` from the crossing direction and the ring's orientation,
    so the length inside is ``|r| · Σ sign · (1 − clip(t, 0, 1))`` — no sort needed. Band edges lying along
    the lot edge (both ends within :data:`NUMPY_TOL_M` of its line) are on the band's boundary, which GEOS
    counts as inside and the half-open rule may not: their overlap with the lot edge is returned apart as
    ambiguous.

    Parameters
    ----------
    lot_edges, band_edges : RingSegments
        Edges of the lots and of the bands (``band_edges`` oriented).
    lot, band : numpy.ndarray of int
        The pairs (positions in the two tables).

    Returns
    -------
    length : numpy.ndarray
        Per pair: boundary length inside, ambiguous pieces excluded (equal to GEOS's
        ``length(intersection(boundary(lot), band))`` up to ~1e-9 m when ``ambiguous`` is 0).
    ambiguous : numpy.ndarray
        Per pair: length of the lot's boundary running along the band's boundary.
    """
    n_pairs = len(lot)
    # one row per (pair, lot edge), rows sorted by their band's edge count (descending) so that the rows
    # tested against the band's k-th edge are a prefix: one pass per k over contiguous slices
    ps_pair, ps_rank = _expand(lot_edges.count[lot])
    seg = lot_edges.start[lot][ps_pair] + ps_rank
    n_edge = band_edges.count[band][ps_pair]
    order = np.argsort(-n_edge, kind="stable")
    ps_pair, seg, n_edge = ps_pair[order], seg[order], n_edge[order]
    first_edge = band_edges.start[band][ps_pair]
    ax, ay = lot_edges.x0[seg], lot_edges.y0[seg]
    rx, ry = lot_edges.x1[seg] - ax, lot_edges.y1[seg] - ay
    rr = rx * rx + ry * ry
    norm_r = np.sqrt(rr)
    # a zero-length lot edge adds nothing; its tolerance < 0 keeps it out of the ambiguous pieces
    tol_r = np.where(rr > 0, NUMPY_TOL_M * norm_r, -1.0)
    n_rows = np.searchsorted(-n_edge, -np.arange(int(n_edge[0]) if len(n_edge) else 0), side="left")
    bx0, by0, bx1, by1 = band_edges.x0, band_edges.y0, band_edges.x1, band_edges.y1
    cut_rows, cut_weights, along_rows, along_lengths = [], [], [], []
    for k, m in enumerate(n_rows.tolist()):
        edge = first_edge[:m] + k
        a_x, a_y, r_x, r_y = ax[:m], ay[:m], rx[:m], ry[:m]
        # coordinates relative to A: exact differences of nearby TM-Quito coordinates
        cx, cy = bx0[edge] - a_x, by0[edge] - a_y
        dx, dy = bx1[edge] - a_x, by1[edge] - a_y
        # sides of C and D: the same formula for a vertex shared by two consecutive band edges
        sc = r_x * cy - r_y * cx
        sd = r_x * dy - r_y * dx
        c_left = sc > 0
        cut = np.flatnonzero(c_left != (sd > 0))
        if len(cut):
            u = sc[cut] / (sc[cut] - sd[cut])  # where along C→D the side changes sign
            px = cx[cut] + u * (dx[cut] - cx[cut])
            py = cy[cut] + u * (dy[cut] - cy[cut])
            t = (px * r_x[cut] + py * r_y[cut]) / rr[cut]
            # leaving the left side (C left, D right) enters a counter-clockwise shell
            sign = np.where(c_left[cut], 1.0, -1.0) * band_edges.side[edge[cut]]
            cut_rows.append(cut)
            cut_weights.append(sign * (1.0 - np.clip(t, 0.0, 1.0)) * norm_r[cut])
        along = np.flatnonzero(np.maximum(np.abs(sc), np.abs(sd)) <= tol_r[:m])
        if len(along):
            t0 = (cx[along] * r_x[along] + cy[along] * r_y[along]) / rr[along]
            t1 = (dx[along] * r_x[along] + dy[along] * r_y[along]) / rr[along]
            lo = np.clip(np.minimum(t0, t1), 0.0, 1.0)
            hi = np.clip(np.maximum(t0, t1), 0.0, 1.0)
            along_rows.append(along)
            along_lengths.append((hi - lo) * norm_r[along])

    def per_pair(
        rows: list[npt.NDArray[np.intp]], values: list[npt.NDArray[np.float64]]
    ) -> npt.NDArray[np.float64]:
        if not rows:
            return np.zeros(n_pairs)
        pair = ps_pair[np.concatenate(rows)]
        return np.asarray(
            np.bincount(pair, weights=np.concatenate(values), minlength=n_pairs), dtype=np.float64
        )

    length = per_pair(cut_rows, cut_weights)
    ambiguous = per_pair(along_rows, along_lengths)
    return length, ambiguous


@dataclass(frozen=True)
class RoadNetwork:
    """The road layer prepared once for every chunk of lots: buffers, widths, labels and dead-end pieces.

    Attributes
    ----------
    ids : numpy.ndarray
        Road ids as text (the layer's ``id``/``id_via``/``codigo`` column, else its row number).
    labels : numpy.ndarray
        Readable names (``nombre``, else ``"vía <id>"``).
    ancho : numpy.ndarray
        Total width in m (NaN when unknown).
    buffers : numpy.ndarray
        Flat-capped buffer of each centreline at ``ancho/2 + tolerance`` (None when the width is unknown: such
        a road is buffered at the tolerance only, so a lot fronting it is still found).
    dead_buffers : numpy.ndarray
        Buffers of the dead-end pieces (none when the layer's ``sin_continuidad`` marks every road: the
        topology is then not computed).
    dead_road : numpy.ndarray
        The road (position) of each dead-end piece.
    sin_continuidad : numpy.ndarray
        Per road: whether any of it is a dead end (after the layer's override).
    """

    ids: npt.NDArray[np.object_]
    labels: npt.NDArray[np.object_]
    ancho: npt.NDArray[np.float64]
    buffers: npt.NDArray[np.object_]
    dead_buffers: npt.NDArray[np.object_]
    dead_road: npt.NDArray[np.intp]
    sin_continuidad: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.ids)


def dead_end_pieces(
    lines: npt.NDArray[np.object_], *, precision: float
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Split centrelines at their crossings and find the pieces on dead-end branches.

    Parameters
    ----------
    lines : numpy.ndarray
        Road centrelines (LineString/MultiLineString; None is ignored).
    precision : float
        Grid the vertices are snapped to before noding (m).

    Returns
    -------
    pieces : numpy.ndarray
        The noded pieces.
    road : numpy.ndarray of int
        The road each piece lies on.
    dead : numpy.ndarray of bool
        Whether the piece is removed by iterative pruning of degree-1 nodes (a dead-end branch, or an isolated
        road).
    """
    lines = np.asarray(lines, dtype=object)
    valid = ~(shapely.is_missing(lines) | shapely.is_empty(lines))
    if not valid.any():
        return np.empty(0, dtype=object), np.empty(0, dtype=np.intp), np.empty(0, dtype=bool)
    snapped = parallel.elementwise(shapely.set_precision, lines[valid], precision, min_chunk=10_000)
    noded = shapely.node(shapely.multilinestrings(shapely.get_parts(snapped)))
    pieces = shapely.get_parts(noded)
    pieces = pieces[shapely.length(pieces) > 0]
    if len(pieces) == 0:
        return pieces, np.empty(0, dtype=np.intp), np.empty(0, dtype=bool)
    # which road each piece lies on: the road nearest to the piece's midpoint (it lies on it, up to the
    # snapping: within precision·√2/2). A piece with a single road within `precision` has it as its nearest;
    # only the others (crossings, overlapping roads) need the slower nearest-neighbour search.
    mid = parallel.elementwise(shapely.line_interpolate_point, pieces, 0.5, normalized=True, min_chunk=10_000)
    road_tree = shapely.STRtree(lines)
    near_piece, near_road = parallel.query(road_tree, mid, predicate="dwithin", distance=precision)
    n_near = np.bincount(near_piece, minlength=len(pieces))
    road = np.empty(len(pieces), dtype=np.intp)
    single = n_near[near_piece] == 1
    road[near_piece[single]] = near_road[single]
    other = np.flatnonzero(n_near != 1)
    if len(other):
        (piece_pos, road_pos) = road_tree.query_nearest(mid[other], all_matches=False)
        road[other[piece_pos]] = road_pos
    coords, of_piece = shapely.get_coordinates(pieces, return_index=True)
    last = np.flatnonzero(np.r_[of_piece[1:] != of_piece[:-1], True])
    first = np.r_[0, last[:-1] + 1]
    grid = np.round(np.vstack([coords[first], coords[last]]) / precision).astype(np.int64)
    # node ids: the grid cells of the ends, numbered through one int64 key (much faster than unique rows)
    lo, span = grid.min(axis=0), grid.max(axis=0) - grid.min(axis=0) + 1
    if float(span[0]) * float(span[1]) < 2.0**62:
        _, node = np.unique((grid[:, 0] - lo[0]) * span[1] + (grid[:, 1] - lo[1]), return_inverse=True)
    else:  # pragma: no cover - a network wider than ~10^9 grid cells a side
        _, node = np.unique(grid, axis=0, return_inverse=True)
    node = node.ravel()
    u, v = node[: len(pieces)], node[len(pieces) :]
    alive = np.ones(len(pieces), dtype=bool)
    n_nodes = int(node.max()) + 1
    while True:
        deg = np.bincount(u[alive], minlength=n_nodes) + np.bincount(v[alive], minlength=n_nodes)
        prune = alive & ((deg[u] == 1) | (deg[v] == 1))
        if not prune.any():
            break
        alive &= ~prune
    return pieces, road, ~alive


def road_network(vias: gpd.GeoDataFrame, *, rules: Rules) -> RoadNetwork:
    """Prepare the ``vias`` layer for :func:`join_frontage` (once per run, shared by every chunk).

    Parameters
    ----------
    vias : GeoDataFrame
        Road centrelines with ``ancho_m`` and optional ``nombre``, ``sin_continuidad``.
    rules : Rules
        ``tolerancias.frente_tolerancia_m`` and ``tolerancias.red_vial_precision_m``.

    Returns
    -------
    RoadNetwork
    """
    tol = float(rules["tolerancias"]["frente_tolerancia_m"])
    lines = np.asarray(vias.geometry.array, dtype=object)
    ancho = pd.to_numeric(vias["ancho_m"], errors="coerce").to_numpy(dtype=np.float64)
    ancho = np.where(ancho > 0, ancho, np.nan)
    ids = feature_labels(vias, ("id_via", "id", "codigo"), "").astype(str)
    ids = np.char.strip(ids.astype(str)).astype(object)
    names = feature_labels(vias, ("nombre",), "vía")
    no_name = ~vias["nombre"].notna().to_numpy() if "nombre" in vias.columns else np.ones(len(vias), bool)
    labels = np.where(no_name, np.char.add("vía ", ids.astype(str)).astype(object), names)
    dist = np.where(np.isfinite(ancho), ancho / 2.0, 0.0) + tol
    buffers = parallel.elementwise(
        shapely.buffer, lines, dist, cap_style="flat", join_style="round", min_chunk=5_000
    )

    if "sin_continuidad" in vias.columns:
        override = vias["sin_continuidad"].astype("boolean")
        forced = override.notna().to_numpy(dtype=bool)
        value = override.fillna(False).to_numpy(dtype=bool)
    else:
        forced = np.zeros(len(vias), dtype=bool)
        value = forced
    if len(vias) and forced.all():
        # the layer decides every road: the topology (noding the whole network) could change nothing
        pieces, road, dead = np.empty(0, dtype=object), np.empty(0, dtype=np.intp), np.empty(0, dtype=bool)
    else:
        precision = float(rules["tolerancias"]["red_vial_precision_m"])
        pieces, road, dead = dead_end_pieces(lines, precision=precision)
        dead = np.where(forced[road], value[road], dead)
    dead_pieces = pieces[dead]
    dead_road = road[dead]
    dead_buffers = shapely.buffer(dead_pieces, dist[dead_road], cap_style="flat", join_style="round")
    sin = np.zeros(len(vias), dtype=bool)
    sin[dead_road] = True
    sin = np.where(forced, value, sin)
    return RoadNetwork(
        ids=ids,
        labels=labels,
        ancho=ancho,
        buffers=buffers,
        dead_buffers=dead_buffers,
        dead_road=dead_road,
        sin_continuidad=sin,
    )


def _inside_length_geos(
    lot_geoms: npt.NDArray[np.object_], bands: npt.NDArray[np.object_]
) -> npt.NDArray[np.float64]:
    """Compute the exact length of each lot's boundary inside its band (GEOS overlay)."""
    return np.asarray(
        shapely.length(shapely.intersection(shapely.boundary(lot_geoms), bands)), dtype=np.float64
    )


def inside_lengths(
    lot_geoms: npt.NDArray[np.object_],
    bands: npt.NDArray[np.object_],
    lot: npt.NDArray[np.intp],
    band: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Length of each lot's boundary inside its band, in numpy over blocks of pairs in threads.

    Parameters
    ----------
    lot_geoms, bands : numpy.ndarray
        Lot polygons and band polygons.
    lot, band : numpy.ndarray of int
        The pairs (positions in ``lot_geoms`` and ``bands``).

    Returns
    -------
    length : numpy.ndarray
        See :func:`boundary_length_inside`; NaN for the pairs left to GEOS (more than
        :data:`MAX_COMBOS_PER_PAIR` edge combinations).
    ambiguous : numpy.ndarray
        See :func:`boundary_length_inside` (0 for the pairs left to GEOS).
    """
    n = len(lot)
    length = np.full(n, np.nan)
    ambiguous = np.zeros(n)
    if n == 0:
        return length, ambiguous
    band_edges = ring_segments(bands, oriented=True)
    # coordinates bound the edges (a ring repeats its first vertex): enough to size the blocks
    combos = shapely.get_num_coordinates(lot_geoms[lot]).astype(np.int64) * band_edges.count[band]
    light = np.flatnonzero(combos <= MAX_COMBOS_PER_PAIR)
    cum = np.cumsum(combos[light])
    cuts = np.unique(
        np.searchsorted(cum, np.arange(COMBOS_PER_BLOCK, int(cum[-1]) if len(cum) else 0, COMBOS_PER_BLOCK))
    )
    bounds = np.r_[0, cuts[(cuts > 0) & (cuts < len(light))], len(light)]

    def run(first: int, last: int) -> None:
        # each block extracts its own lots' edges (no table of every lot's edges is kept) and writes its own
        # slice of the outputs
        for b in range(first, last):
            sel = light[bounds[b] : bounds[b + 1]]
            if len(sel) == 0:
                continue
            lot_edges = ring_segments(lot_geoms[lot[sel]])
            length[sel], ambiguous[sel] = boundary_length_inside(
                lot_edges, band_edges, np.arange(len(sel)), band[sel]
            )

    parallel.map_chunks(run, len(bounds) - 1, min_chunk=1)
    return length, ambiguous


def _frontage_pairs(
    idx: LotIndex, buffers: npt.NDArray[np.object_], min_len: float, valid_lot: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(lot, buffer) pairs where the lot's boundary runs inside the buffer along at least ``min_len``.

    The candidate pairs come from the lot index (``intersects``); the length inside is clipped in numpy
    (:func:`inside_lengths`) and GEOS computes it exactly only for the pairs numpy cannot settle: an invalid
    lot (its boundary may overlap itself, which GEOS counts once), a lot edge along the band's edge, a length
    within :data:`NUMPY_TOL_M` of ``min_len``, or a pair too large for the numpy test.
    """
    if len(buffers) == 0 or len(idx) == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty.copy()
    buf_pos, lot_pos = parallel.query(idx.tree, buffers, predicate="intersects", min_chunk=2_000)
    if len(lot_pos) == 0:
        return lot_pos.astype(np.intp), buf_pos.astype(np.intp)
    length, ambiguous = inside_lengths(idx.geoms, buffers, lot_pos, buf_pos)
    keep = length - NUMPY_TOL_M >= min_len
    # NaN (left to GEOS) compares False in both tests, hence the explicit isnan
    sure_out = length + ambiguous + NUMPY_TOL_M < min_len
    unsure = (~keep & ~sure_out) | np.isnan(length) | ~valid_lot[lot_pos]
    if unsure.any():
        exact = parallel.elementwise(
            _inside_length_geos, idx.geoms[lot_pos[unsure]], buffers[buf_pos[unsure]]
        )
        keep[unsure] = exact >= min_len
    order = np.lexsort((buf_pos[keep], lot_pos[keep]))
    return lot_pos[keep][order].astype(np.intp), buf_pos[keep][order].astype(np.intp)


def join_frontage(
    lots: gpd.GeoDataFrame, red: RoadNetwork, *, rules: Rules, index: LotIndex | None = None
) -> pd.DataFrame:
    """Roads each lot fronts, the narrowest width and whether any is sin continuidad.

    Parameters
    ----------
    lots : GeoDataFrame
        Lots (or a chunk) in TM-Quito.
    red : RoadNetwork
        From :func:`road_network`.
    rules : Rules
        ``tolerancias.frente_min_m``.
    index : LotIndex, optional
        A spatial index already built for ``lots``.

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``: ``n_vias_frente`` (Int64), ``vias_frente_ids``, ``vias_frente_nombres``,
        ``vias_frente_anchos`` (``"; "``-separated text, narrowest first), ``min_ancho_frente_m`` (NaN when no
        frontage), ``via_mas_angosta`` (name of the narrowest fronting road), ``ancho_desconocido`` (a
        fronting
        road has no width), ``frente_sin_continuidad`` (boolean) and ``vias_sin_continuidad`` (names).
    """
    idx = lot_index(lots, index)
    n = len(idx)
    min_len = float(rules["tolerancias"]["frente_min_m"])
    # numpy lengths assume a valid lot (rings that never overlap); the reader repairs lots, a caller may not
    valid_lot = np.asarray(parallel.elementwise(shapely.is_valid, idx.geoms), dtype=bool)
    lot, road = _frontage_pairs(idx, red.buffers, min_len, valid_lot)
    width = red.ancho[road]
    # narrowest first; unknown widths last; ties by road position
    order = np.lexsort((road, np.where(np.isfinite(width), width, np.inf), lot))
    lot_o, road_o = lot[order], road[order]
    out = pd.DataFrame(index=lots.index)
    count = np.bincount(lot, minlength=n)
    out["n_vias_frente"] = pd.array(count, dtype="Int64")
    out["vias_frente_ids"] = concat_by_lot(lot_o, red.ids[road_o], n)
    out["vias_frente_nombres"] = concat_by_lot(lot_o, red.labels[road_o], n)
    anchos_txt = np.where(
        np.isfinite(red.ancho), pd.Series(red.ancho).map("{:g}".format).to_numpy(dtype=object), "?"
    )
    out["vias_frente_anchos"] = concat_by_lot(lot_o, anchos_txt[road_o], n)
    min_w = np.full(n, np.inf)
    fin = np.isfinite(width)
    np.minimum.at(min_w, lot[fin], width[fin])
    min_w[~np.isfinite(min_w)] = np.nan
    out["min_ancho_frente_m"] = min_w
    first = np.ones(len(lot_o), dtype=bool)
    first[1:] = lot_o[1:] != lot_o[:-1]
    narrowest = np.full(n, None, dtype=object)
    narrowest[lot_o[first]] = red.labels[road_o[first]]
    out["via_mas_angosta"] = narrowest
    unknown = np.zeros(n, dtype=bool)
    unknown[lot[~fin]] = True
    out["ancho_desconocido"] = unknown

    # continuity: a fronting road that is sin continuidad (the layer's mark, or a dead-end piece of it). Every
    # road owning a dead piece is sin continuidad (road_network), so the lots fronting a dead piece's band
    # (and that road) are among these pairs already: the dead pieces' bands need no second join.
    on_sin = red.sin_continuidad[road]
    sin_lot, sin_road = lot[on_sin], road[on_sin]  # sorted by lot, then road (as _frontage_pairs returns)
    flag = np.zeros(n, dtype=bool)
    flag[sin_lot] = True
    out["frente_sin_continuidad"] = pd.array(flag, dtype="boolean")
    out["vias_sin_continuidad"] = concat_by_lot(sin_lot, red.labels[sin_road], n)
    return out


def empty_frontage(lots: gpd.GeoDataFrame) -> pd.DataFrame:
    """Frontage columns when the ``vias`` layer is absent: every value null ("sin dato")."""
    n = len(lots)
    out = pd.DataFrame(index=lots.index)
    out["n_vias_frente"] = pd.array([pd.NA] * n, dtype="Int64")
    for col in ("vias_frente_ids", "vias_frente_nombres", "vias_frente_anchos"):
        out[col] = np.full(n, None, dtype=object)
    out["min_ancho_frente_m"] = np.full(n, np.nan)
    out["via_mas_angosta"] = np.full(n, None, dtype=object)
    out["ancho_desconocido"] = np.zeros(n, dtype=bool)
    out["frente_sin_continuidad"] = pd.array([pd.NA] * n, dtype="boolean")
    out["vias_sin_continuidad"] = np.full(n, None, dtype=object)
    return out


__all__ = [
    "RingSegments",
    "RoadNetwork",
    "boundary_length_inside",
    "dead_end_pieces",
    "empty_frontage",
    "inside_lengths",
    "join_frontage",
    "ring_segments",
    "road_network",
]
