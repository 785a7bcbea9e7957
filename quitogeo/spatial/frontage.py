"""Fronting roads, their widths and continuity (normativa §3, Res. 13-2016 Art. 5 c–e, 13 c–e, 16 d–e).

A lot *fronts* a road when its boundary lies within ``ancho_m / 2 + tolerancias.frente_tolerancia_m`` of the
road's centreline along at least ``tolerancias.frente_min_m`` (our reading of "frentista": a corner touch
does not count). The distance band is a flat-capped buffer of the centreline, so a lot across a T-junction
does not "front" the side road through the end of its centreline; a lot at the very end of a pasaje fronts it
when the centreline reaches the lot's boundary.

A road is *sin continuidad* where it belongs to a dead-end branch of the street network: the centrelines are
snapped to ``tolerancias.red_vial_precision_m``, noded at every crossing, and nodes of degree 1 are pruned
iteratively; the pieces removed are dead ends, and a road owning a dead-end piece is sin continuidad. A lot is
on a road sin continuidad when it fronts such a road (anywhere along it: the flag is the road's). The layer's
``sin_continuidad`` column, where not null, overrides the topology for the whole road (when it marks every
road the topology is not computed). Network caveat: a network clipped to a study area makes the roads leaving
it look like dead ends; clip with a margin or mark them ``sin_continuidad = false``.

How the length inside a band is measured: the candidate pairs are the lots whose bounding box meets the
band's rectangle along its principal axis (:func:`_may_meet`, after the lot index's box query); the lot's ring
edges are then clipped against the band polygon in numpy (:func:`boundary_length_inside`, bit for bit the
lengths of the earlier edge-by-edge clipping, ~1e-9 m from GEOS's ``length(intersection(boundary, band))``),
and GEOS decides the few pairs numpy cannot: a lot edge along the band's edge, a length within
:data:`NUMPY_TOL_M` of ``frente_min_m``, a lot that may be invalid (every lot with pairs but a strictly
convex quadrilateral is checked with GEOS), or a pair with too many edges. The lots' vertices and their
strictly convex quadrilaterals are the lot index's (:attr:`quitogeo.spatial.LotIndex.vertices`, built once per
run and shared with the overlap joins, which usually build them first). The texts per lot (roads, names,
widths) are built once per distinct sequence of roads and returned as categoricals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from quitogeo import parallel
from quitogeo.categories import labelled
from quitogeo.rules import Rules
from quitogeo.spatial import LotIndex, _strict_quads, feature_labels, lot_index

#: Distance (m) below which the numpy frontage length is not trusted to decide: a lot edge running along a
#: band edge within it, or a length within it of ``frente_min_m``, goes to GEOS (the float error of the numpy
#: lengths, measured against GEOS on 256 k pairs, is below 2e-9 m).
NUMPY_TOL_M = 1e-6

#: Lot edge × band vertex combinations per numpy block: ~20 k typical pairs, whose (lot edge, pair) arrays
#: stay in a core's cache (measured at 200 k lots: 1.2× slower at 2^18 and at 2^21; smaller blocks pay numpy's
#: per-call overhead on every band vertex).
COMBOS_PER_BLOCK = 1 << 20

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


@dataclass(frozen=True)
class RingVertices:
    """The vertices of the rings of an array of polygons, ring after ring, grouped by polygon (numpy only).

    Each polygon's vertices are contiguous; the polygons are not always in order (polygons without holes
    come first), so a polygon's vertices are found through :attr:`start` and :attr:`count` only.

    Attributes
    ----------
    ox, oy : numpy.ndarray
        Per polygon: the origin of its coordinates, its first vertex when made ``local`` (differences of
        nearby TM-Quito coordinates, ~1e7 m, are exact, and products of them stay small), else 0.
    x, y : numpy.ndarray
        Vertex coordinates relative to their polygon's origin, each ring closed (its first vertex repeated
        last); the vertices of polygon ``i`` at ``start[i] : start[i] + count[i]``.
    link : numpy.ndarray of bool
        Whether an edge joins vertex ``v`` to vertex ``v + 1`` (both on one ring).
    side : numpy.ndarray
        Per vertex: ``+1`` where the polygon's interior is on the left of the edge that starts there (a
        counter-clockwise shell or a clockwise hole), else ``-1`` (only computed when asked).
    start, count : numpy.ndarray of int
        Where each polygon's vertices begin and how many it has (0 for a missing or empty geometry).
    edges : numpy.ndarray of int
        Edges per polygon (``count`` less its rings).
    edge_vertex : numpy.ndarray of int
        The first vertex of every edge, polygon after polygon (the edges of polygon ``i`` at
        ``first_edge[i] : first_edge[i] + edges[i]``).
    first_edge : numpy.ndarray of int
        Where each polygon's edges begin in :attr:`edge_vertex`.
    """

    ox: npt.NDArray[np.float64]
    oy: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    link: npt.NDArray[np.bool_]
    side: npt.NDArray[np.float64]
    start: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    edges: npt.NDArray[np.int64]
    edge_vertex: npt.NDArray[np.int64]
    first_edge: npt.NDArray[np.int64]


def ring_vertices(
    geoms: npt.NDArray[np.object_], *, oriented: bool = False, local: bool = False
) -> RingVertices:
    """Split (multi)polygons into their rings' vertices, grouped by geometry (see :func:`ring_segments`).

    Parameters
    ----------
    geoms : numpy.ndarray
        Polygons or MultiPolygons (None and empty give no vertices).
    oriented : bool, optional
        Compute :attr:`RingVertices.side`.
    local : bool, optional
        Coordinates relative to each polygon's first vertex (else as they are).

    Returns
    -------
    RingVertices
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    tid = shapely.get_type_id(geoms)
    # plain polygons without holes (nearly all) give their coordinates in one call; the rest go ring by ring,
    # after them (a polygon's vertices are contiguous; the polygons need not be in order)
    plain = tid == 3
    plain[plain] = shapely.get_num_interior_rings(geoms[plain]) == 0
    pos = np.flatnonzero(plain)
    coords, owner = shapely.get_coordinates(geoms[pos], return_index=True)
    if len(pos) < n:  # else pos is every position, in order: owner is already right
        owner = pos[owner]
    count = np.bincount(owner, minlength=n).astype(np.int64, copy=False)
    start = np.cumsum(count) - count
    ring_key = owner  # one ring per plain polygon
    hole = None
    other = np.flatnonzero(~plain & (tid >= 0))
    if len(other):
        parts, part_of = shapely.get_parts(geoms[other], return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        shell = np.r_[True, ring_of[1:] != ring_of[:-1]]  # each polygon's first ring is its shell
        c2, i2 = shapely.get_coordinates(rings, return_index=True)
        owner2 = other[part_of[ring_of[i2]]]
        count2 = np.bincount(owner2, minlength=n).astype(np.int64)
        start2 = len(owner) + np.cumsum(count2) - count2
        start = np.where(count2 > 0, start2, start)
        count = count + count2
        ring_key = np.concatenate([owner, n + i2])  # ring ids after the plain polygons' ids
        hole = np.concatenate([np.zeros(len(owner), dtype=bool), ~shell[i2]])
        coords = np.concatenate([coords, c2])
        owner = np.concatenate([owner, owner2])
    x, y = coords[:, 0], coords[:, 1]
    ox, oy = np.zeros(n), np.zeros(n)
    if local:
        has = count > 0
        ox[has], oy[has] = x[start[has]], y[start[has]]
        x, y = x - ox[owner], y - oy[owner]
    link = np.zeros(len(x), dtype=bool)
    link[:-1] = ring_key[1:] == ring_key[:-1]
    e = np.flatnonzero(link)
    side = np.empty(0, dtype=np.float64)
    if oriented and len(x):
        rid = ring_key[e]  # ring ids are small non-negative integers: bincount keys as they are
        n_ring = int(ring_key.max()) + 1
        nv = np.maximum(np.bincount(rid, minlength=n_ring), 1)  # ids not in use count 0: avoid 0 / 0
        x0, y0, x1, y1 = x[e], y[e], x[e + 1], y[e + 1]
        # shoelace about each ring's centroid of vertices
        cx = (np.bincount(rid, weights=x0, minlength=n_ring) / nv)[rid]
        cy = (np.bincount(rid, weights=y0, minlength=n_ring) / nv)[rid]
        twice_area = np.bincount(rid, weights=(x0 - cx) * (y1 - cy) - (x1 - cx) * (y0 - cy), minlength=n_ring)
        side = np.zeros(len(x), dtype=np.float64)
        shell_ccw = (twice_area > 0)[rid]
        side[e] = np.where(shell_ccw if hole is None else shell_ccw != hole[e], 1.0, -1.0)
    if hole is None:
        # one ring per polygon, polygons in order: their edges too
        edges = np.maximum(count - 1, 0)
        first_edge = np.cumsum(edges) - edges
    else:
        edges = np.bincount(owner[e], minlength=n).astype(np.int64)
        # a polygon's edges are contiguous in edge_vertex, from its first vertex on
        first_edge = np.where(count > 0, np.searchsorted(e, start), 0)
    return RingVertices(
        ox=ox,
        oy=oy,
        x=x,
        y=y,
        link=link,
        side=side,
        start=start,
        count=count,
        edges=edges,
        edge_vertex=e.astype(np.int64, copy=False),
        first_edge=first_edge.astype(np.int64, copy=False),
    )


def boundary_length_inside(
    lots: RingVertices,
    bands: RingVertices,
    lot: npt.NDArray[np.intp],
    band: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Length of each lot's boundary inside a band polygon, by clipping segments in numpy.

    For each lot edge A→B (r = B − A) every edge C→D of the band is tested against the *line* through A, B:
    the edge crosses it when C and D lie on different sides, with points on the line counted on the right
    (the half-open rule of point-in-polygon ray casting, so a line through a band vertex is counted once, or
    twice when it only touches). The band's winding number at A + t·r is then the signed count of the
    crossings at parameters below t, with sign ``±1`` from the crossing direction and the ring's orientation,
    so the length inside is ``|r| · Σ sign · (1 − clip(t, 0, 1))`` — no sort needed. The side of each band
    vertex is computed once and shared by the two edges that meet there. Band edges lying along the lot edge
    (both ends within :data:`NUMPY_TOL_M` of its line) are on the band's boundary, which GEOS counts as
    inside and the half-open rule may not: their overlap with the lot edge is returned apart as ambiguous.

    Parameters
    ----------
    lots : RingVertices
        Vertices of the lots (TM-Quito coordinates as they are, not ``local``).
    bands : RingVertices
        Vertices of the bands (oriented, ``local``).
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
    length, ambiguous = np.zeros(n_pairs), np.zeros(n_pairs)
    n_edge = lots.edges[lot]
    n_vert = bands.count[band]
    if n_pairs and np.all(n_edge == n_edge[0]) and np.all(n_vert[1:] <= n_vert[:-1]):
        # one group in the order _clip_group needs (as inside_lengths hands its blocks, nearly always)
        if n_edge[0]:
            length[:], ambiguous[:] = _clip_group(lots, bands, lot, band, int(n_edge[0]))
        return length, ambiguous
    # pairs of lots with the same number of edges together (nearly all lots have 4), each group by its band's
    # vertex count, descending (the order _clip_group needs)
    order = np.lexsort((-n_vert, n_edge))
    groups = np.flatnonzero(np.r_[True, n_edge[order][1:] != n_edge[order][:-1]]) if n_pairs else order
    for g, g0 in enumerate(groups.tolist()):
        sel = order[g0 : groups[g + 1] if g + 1 < len(groups) else n_pairs]
        n_e = int(n_edge[sel[0]])
        if n_e:
            length[sel], ambiguous[sel] = _clip_group(lots, bands, lot[sel], band[sel], n_e)
    return length, ambiguous


def _beyond(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return ``1 − clip(t, 0, 1)``, the share of a lot edge beyond a crossing at ``t`` (faster than clip)."""
    return np.asarray(1.0 - np.minimum(np.maximum(t, 0.0), 1.0), dtype=np.float64)


def _clip_group(
    lots: RingVertices,
    bands: RingVertices,
    lot: npt.NDArray[np.intp],
    band: npt.NDArray[np.intp],
    n_e: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`boundary_length_inside` for pairs whose lots all have ``n_e`` edges, by band vertex count.

    The pairs come sorted by their band's vertex count, descending: those tested against a band's k-th vertex
    are a prefix. The arrays are (lot edge, pair), in the band's own coordinates (its first vertex at 0), so a
    band vertex is gathered once per pair. A pass per band vertex computes its side of every lot edge's line
    (``s = r × (V − A)``); only the band edges whose two ends give a product of sides ``≤ tol²`` (a change of
    side, or both ends within the tolerance of the line) are looked at further.
    """
    n_pairs = len(lot)
    # (lot edge, pair) arrays: numpy's inner loops run along the pairs, not along a lot's 4 edges
    seg = lots.edge_vertex[lots.first_edge[lot][None, :] + np.arange(n_e)[:, None]]
    x0, y0 = lots.x[seg], lots.y[seg]
    rx, ry = lots.x[seg + 1] - x0, lots.y[seg + 1] - y0  # exact differences of nearby coordinates
    # A in the band's coordinates: V − A is then exactly the difference of the TM-Quito coordinates
    ax, ay = x0 - bands.ox[band], y0 - bands.oy[band]
    rr = rx * rx + ry * ry
    norm_r = np.sqrt(rr)
    # a zero-length lot edge adds nothing; its tolerance < 0 keeps it out of the ambiguous pieces
    tol_r = np.where(rr > 0, NUMPY_TOL_M * norm_r, -1.0)
    tol2 = np.where(rr > 0, tol_r * tol_r, -1.0)
    first = bands.start[band]
    n_vert = bands.count[band]
    n_rows = np.searchsorted(-n_vert, -np.arange(int(n_vert[0]) if n_pairs else 0), side="left")
    # bands of one ring (street bands nearly always) have no vertex that ends a ring before the last
    one_ring = bool(np.all(bands.edges[band] == n_vert - 1))
    vx, vy, link, side = bands.x, bands.y, bands.link, bands.side
    f_rx, f_ry = rx.ravel(), ry.ravel()
    f_rr, f_norm, f_tol = rr.ravel(), norm_r.ravel(), tol_r.ravel()
    if one_ring:
        # one ring: every edge of a band has the ring's orientation; ±|r| is exact, so the weight below is the
        # same product whichever factor carries the sign
        f_norm_side = (norm_r * side[first]).ravel()
    cut_rows, cut_weights, along_rows, along_lengths = [], [], [], []
    s_prev = px_prev = py_prev = np.empty((n_e, 0))
    for k, m in enumerate(n_rows.tolist()):
        v = first[:m] + k
        # the band's k-th vertex V relative to A (exact differences), and its side of the line: the same
        # formula for the vertex as the end of one edge and the start of the next
        px_v = vx[v] - ax[:, :m]
        py_v = vy[v] - ay[:, :m]
        s = rx[:, :m] * py_v - ry[:, :m] * px_v
        if k:
            # edge C → D from vertex k - 1 to k: a change of side (product ≤ 0) or both ends near the line
            hit = np.flatnonzero(s * s_prev[:, :m] <= tol2[:, :m])
            if len(hit):
                edge_no, pair = np.divmod(hit, m)
                if not one_ring:
                    on_ring = link[v[pair] - 1]
                    hit, edge_no, pair = hit[on_ring], edge_no[on_ring], pair[on_ring]
                row = edge_no * n_pairs + pair  # in the (lot edge, pair) arrays
                before = edge_no * s_prev.shape[1] + pair  # in the previous vertex's arrays
                sc, sd = s_prev.ravel()[before], s.ravel()[hit]
                c_left = sc > 0
                cut = np.flatnonzero(c_left != (sd > 0))
                if len(cut):
                    hc, bc, dc = row[cut], before[cut], hit[cut]
                    sc_c = sc[cut]
                    u = sc_c / (sc_c - sd[cut])  # where along C→D the side changes sign: u in [0, 1]
                    # the crossing P = C + u·(D − C) projected on r: P stays on C→D even where the lines
                    # are nearly parallel and u is ill-conditioned
                    cx, cy = px_prev.ravel()[bc], py_prev.ravel()[bc]
                    dx, dy = px_v.ravel()[dc], py_v.ravel()[dc]
                    px = cx + u * (dx - cx)
                    py = cy + u * (dy - cy)
                    t = (px * f_rx[hc] + py * f_ry[hc]) / f_rr[hc]
                    # leaving the left side (C left, D right) enters a counter-clockwise shell
                    if one_ring:
                        signed = f_norm_side[hc]
                        weight = np.where(c_left[cut], signed, -signed) * _beyond(t)
                    else:
                        sign = np.where(c_left[cut], 1.0, -1.0) * side[v[pair[cut]] - 1]
                        weight = sign * _beyond(t) * f_norm[hc]
                    cut_rows.append(pair[cut])
                    cut_weights.append(weight)
                along = np.flatnonzero(np.maximum(np.abs(sc), np.abs(sd)) <= f_tol[row])
                if len(along):
                    ha, ba, da = row[along], before[along], hit[along]
                    r_x, r_y, r2 = f_rx[ha], f_ry[ha], f_rr[ha]
                    t0 = (px_prev.ravel()[ba] * r_x + py_prev.ravel()[ba] * r_y) / r2
                    t1 = (px_v.ravel()[da] * r_x + py_v.ravel()[da] * r_y) / r2
                    lo = np.clip(np.minimum(t0, t1), 0.0, 1.0)
                    hi = np.clip(np.maximum(t0, t1), 0.0, 1.0)
                    along_rows.append(pair[along])
                    along_lengths.append((hi - lo) * f_norm[ha])
        s_prev, px_prev, py_prev = s, px_v, py_v

    def per_pair(
        rows: list[npt.NDArray[np.intp]], values: list[npt.NDArray[np.float64]]
    ) -> npt.NDArray[np.float64]:
        if not rows:
            return np.zeros(n_pairs)
        return np.asarray(
            np.bincount(np.concatenate(rows), weights=np.concatenate(values), minlength=n_pairs),
            dtype=np.float64,
        )

    return per_pair(cut_rows, cut_weights), per_pair(along_rows, along_lengths)


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


def _lot_vertices(
    lot_geoms: npt.NDArray[np.object_], lot: npt.NDArray[np.intp]
) -> tuple[RingVertices, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Vertices of the lots in ``lot``, each lot once: the table, its rows' lots and each pair's row in it."""
    if 4 * len(lot) >= len(lot_geoms):  # most lots have pairs: every lot, no sort
        return ring_vertices(lot_geoms), np.arange(len(lot_geoms), dtype=np.intp), lot
    used, row = np.unique(lot, return_inverse=True)
    return ring_vertices(lot_geoms[used]), used.astype(np.intp), row.astype(np.intp)


def _inside_lengths(
    lots: RingVertices, bands: RingVertices, lot: npt.NDArray[np.intp], band: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Compute :func:`inside_lengths` on extracted vertices."""
    n = len(lot)
    length = np.full(n, np.nan)
    ambiguous = np.zeros(n)
    if n == 0:
        return length, ambiguous
    combos = lots.count[lot] * bands.edges[band]  # a lot's coordinates × the band's edges
    light = np.flatnonzero(combos <= MAX_COMBOS_PER_PAIR)
    # pairs by their band's vertex count, descending (the order boundary_length_inside works in: each block
    # is then sorted already); a radix sort for small counts
    n_vert = bands.count[band[light]]
    key = -n_vert.astype(np.int16) if len(n_vert) and n_vert.max() < 2**15 else -n_vert
    light = light[np.argsort(key, kind="stable")]
    # rows × band vertices bound the work of a pair: enough to size the blocks
    cum = np.cumsum(lots.edges[lot[light]] * bands.count[band[light]])
    cuts = np.unique(
        np.searchsorted(cum, np.arange(COMBOS_PER_BLOCK, int(cum[-1]) if len(cum) else 0, COMBOS_PER_BLOCK))
    )
    bounds = np.r_[0, cuts[(cuts > 0) & (cuts < len(light))], len(light)]

    def run(first: int, last: int) -> None:
        # each block writes its own slice of the outputs
        for b in range(first, last):
            sel = light[bounds[b] : bounds[b + 1]]
            if len(sel):
                length[sel], ambiguous[sel] = boundary_length_inside(lots, bands, lot[sel], band[sel])

    parallel.map_chunks(run, len(bounds) - 1, min_chunk=1)
    return length, ambiguous


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
        :data:`MAX_COMBOS_PER_PAIR` combinations of a lot coordinate and a band edge).
    ambiguous : numpy.ndarray
        See :func:`boundary_length_inside` (0 for the pairs left to GEOS).
    """
    lot_geoms = np.asarray(lot_geoms, dtype=object)
    lot = np.asarray(lot, dtype=np.intp)
    if len(lot) == 0:
        return np.full(0, np.nan), np.zeros(0)
    vertices, _, row = _lot_vertices(lot_geoms, lot)
    bands_v = ring_vertices(bands, oriented=True, local=True)
    return _inside_lengths(vertices, bands_v, row, np.asarray(band, dtype=np.intp))


def _band_frames(
    bands: RingVertices,
) -> tuple[npt.NDArray[np.float64], ...]:
    """Find a rectangle holding each band along its principal axis: origin, axis, extents along and across.

    The band lies inside the convex hull of its vertices, hence inside the range of their projections on
    any pair of perpendicular axes; the principal axis of the vertices makes that rectangle tight for a
    street band (long and thin), unlike its bounding box when the street runs diagonally.
    """
    n = len(bands.count)
    # the polygons' vertices tile the arrays, polygon after polygon in the order of their starts (plain
    # polygons first, then the others: not always in polygon order)
    has = np.flatnonzero(bands.count > 0)
    has = has[np.argsort(bands.start[has], kind="stable")]
    st = bands.start[has]
    owner = np.repeat(has, bands.count[has])
    cnt = np.maximum(bands.count, 1)
    mx = np.bincount(owner, weights=bands.x, minlength=n) / cnt
    my = np.bincount(owner, weights=bands.y, minlength=n) / cnt
    dx, dy = bands.x - mx[owner], bands.y - my[owner]
    sxx = np.bincount(owner, weights=dx * dx, minlength=n)
    syy = np.bincount(owner, weights=dy * dy, minlength=n)
    sxy = np.bincount(owner, weights=dx * dy, minlength=n)
    angle = 0.5 * np.arctan2(2.0 * sxy, sxx - syy)
    ux, uy = np.cos(angle), np.sin(angle)
    pu = dx * ux[owner] + dy * uy[owner]
    pn = dy * ux[owner] - dx * uy[owner]
    lo_u, hi_u = np.full(n, np.inf), np.full(n, -np.inf)
    lo_n, hi_n = np.full(n, np.inf), np.full(n, -np.inf)
    if len(has):
        lo_u[has], hi_u[has] = np.minimum.reduceat(pu, st), np.maximum.reduceat(pu, st)
        lo_n[has], hi_n[has] = np.minimum.reduceat(pn, st), np.maximum.reduceat(pn, st)
    return bands.ox + mx, bands.oy + my, ux, uy, lo_u, hi_u, lo_n, hi_n


def _may_meet(
    lot_bounds: npt.NDArray[np.float64],
    frames: tuple[npt.NDArray[np.float64], ...],
    lot: npt.NDArray[np.intp],
    band: npt.NDArray[np.intp],
) -> npt.NDArray[np.bool_]:
    """Whether each lot's bounding box meets its band's rectangle (:func:`_band_frames`), in threads.

    A separating-axis test on the band's two axes: a lot whose box is clear of the rectangle is clear of the
    band, so its boundary has no length inside (the margin covers the rounding of the projections).
    """
    ox, oy, ux, uy, lo_u, hi_u, lo_n, hi_n = frames
    cx = (lot_bounds[:, 0] + lot_bounds[:, 2]) / 2.0
    cy = (lot_bounds[:, 1] + lot_bounds[:, 3]) / 2.0
    hx = (lot_bounds[:, 2] - lot_bounds[:, 0]) / 2.0
    hy = (lot_bounds[:, 3] - lot_bounds[:, 1]) / 2.0
    out = np.empty(len(lot), dtype=bool)

    def part(start: int, stop: int) -> None:
        b, q = band[start:stop], lot[start:stop]
        bx, by = ux[b], uy[b]
        px, py = cx[q] - ox[b], cy[q] - oy[b]
        hq_x, hq_y = hx[q], hy[q]
        ax_, ay_ = np.abs(bx), np.abs(by)
        cu = px * bx + py * by
        cn = py * bx - px * by
        ru = hq_x * ax_ + hq_y * ay_ + NUMPY_TOL_M
        rn = hq_x * ay_ + hq_y * ax_ + NUMPY_TOL_M
        out[start:stop] = (
            (cu + ru >= lo_u[b]) & (cu - ru <= hi_u[b]) & (cn + rn >= lo_n[b]) & (cn - rn <= hi_n[b])
        )

    parallel.map_chunks(part, len(lot), min_chunk=50_000)
    return out


#: Bounding-box diagonal (m) up to which a lot the lot index finds strictly convex
#: (:func:`quitogeo.spatial._strict_quads`) is trusted valid without GEOS. That test keeps the quadrilaterals
#: whose four computed corner turns (cross products of consecutive edges) exceed
#: :data:`quitogeo.spatial.STRICT_TURN_MIN_M2` with one sign. A computed turn is off from the exact one by at
#: most ~4·2⁻⁵³·(|ex·ey'| + |ey·ex'|) ≤ 2⁻⁵¹·diagonal² (every edge fits in the box: |ex| ≤ width, |ey| ≤
#: height, 2·width·height ≤ diagonal²), 4.4e-8 m² at 10 km, far below the test's margin: the exact turns then
#: all have one strict sign, so the ring is a simple convex quadrilateral, which GEOS finds valid. (No lot
#: is that large; a larger one, or NaN or infinite bounds, is simply checked by GEOS.)
TRUSTED_QUAD_MAX_DIAG_M = 10_000.0


def _trusted_lots(idx: LotIndex) -> npt.NDArray[np.bool_]:
    """Lots known valid without GEOS: the lot index's strictly convex quadrilaterals (of sane size).

    Read from the caches the overlap joins share (:func:`quitogeo.spatial._strict_quads`, bounds), built
    once per index. Any set of lots GEOS finds valid gives the same frontage: the numpy lengths are trusted
    for a lot that is trusted here *or* found valid by ``shapely.is_valid``, so this set only decides which
    lots need that check (see :data:`TRUSTED_QUAD_MAX_DIAG_M` for why every lot here is valid). Returns a
    new array, one value per lot of the index.
    """
    pos, _ = _strict_quads(idx)
    b = idx.bounds
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    # NaN bounds (no geometry) compare False
    return np.asarray((pos >= 0) & (w * w + h * h <= TRUSTED_QUAD_MAX_DIAG_M**2), dtype=bool)


def _frontage_pairs(
    idx: LotIndex, buffers: npt.NDArray[np.object_], min_len: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(lot, buffer) pairs where the lot's boundary runs inside the buffer along at least ``min_len``.

    The candidate pairs are those whose bounding boxes meet (the lot index), less those whose lot box is clear
    of the band's rectangle along its axis (:func:`_may_meet`: nearly all that do not intersect). The length
    inside is clipped in numpy (:func:`boundary_length_inside`) and GEOS computes it exactly only for the
    pairs numpy cannot settle: a lot that may not be valid (its boundary may overlap itself, which GEOS counts
    once: every lot with pairs but the strictly convex quadrilaterals, :func:`_trusted_lots`, is checked), a
    lot edge along the band's edge, a length within :data:`NUMPY_TOL_M` of ``min_len``, or a pair too large
    for the numpy test. The lots' vertices are the index's shared table (:attr:`LotIndex.vertices`).
    """
    empty = np.empty(0, dtype=np.intp)
    if len(buffers) == 0 or len(idx) == 0:
        return empty, empty.copy()
    buf_pos, lot_pos = parallel.query(idx.tree, buffers, min_chunk=2_000)
    if len(lot_pos) == 0:
        return empty, empty.copy()
    bands = ring_vertices(buffers, oriented=True, local=True)
    near = _may_meet(idx.bounds, _band_frames(bands), lot_pos, buf_pos)
    lot_pos, buf_pos = lot_pos[near].astype(np.intp), buf_pos[near].astype(np.intp)
    # every lot's vertices, extracted once per index and shared with the strict quadrilaterals
    lots = idx.vertices
    valid = _trusted_lots(idx)
    paired = np.zeros(len(idx), dtype=bool)
    paired[lot_pos] = True
    other = np.flatnonzero(paired & ~valid & (lots.count > 0))
    if len(other):
        # numpy lengths assume a valid lot (rings that never overlap); the reader repairs lots, a caller may
        # not: the lots with pairs other than strictly convex quadrilaterals are checked by GEOS
        valid[other] = np.asarray(parallel.elementwise(shapely.is_valid, idx.geoms[other]), dtype=bool)
    length, ambiguous = _inside_lengths(lots, bands, lot_pos, buf_pos)
    keep = length - NUMPY_TOL_M >= min_len
    # NaN (left to GEOS) compares False in both tests, hence the explicit isnan
    sure_out = length + ambiguous + NUMPY_TOL_M < min_len
    unsure = (~keep & ~sure_out) | np.isnan(length) | ~valid[lot_pos]
    if unsure.any():
        exact = parallel.elementwise(
            _inside_length_geos, idx.geoms[lot_pos[unsure]], buffers[buf_pos[unsure]]
        )
        keep[unsure] = exact >= min_len
    return lot_pos[keep], buf_pos[keep]


def _arrow(function: str, *args: Any, options: Any = None) -> Any:
    """Run an Arrow compute function by name (its Python wrappers are generated, unknown to type checkers)."""
    return pc.call_function(function, list(args), options)


def _joined(
    lot: npt.NDArray[np.intp], code: npt.NDArray[np.intp], n: int, table: pa.Array
) -> pd.Categorical | npt.NDArray[np.object_]:
    """Per lot, ``table[code]`` of its pairs joined by ``"; "`` in pair order, as a compact categorical.

    Pairs come grouped by lot; ``table`` holds no null (road ids, names and widths are never null). Each
    distinct sequence of codes (a few per street: the lots along one block front the same roads) gets one
    text, joined by Arrow; Arrow sorts the texts (UTF-8 byte order is Python's code point order) and equal
    ones merge, so :func:`quitogeo.categories.labelled` receives them sorted and distinct: the categorical
    :func:`quitogeo.pipeline.compact_text` makes of the same texts, without a Python string per lot. A lot
    without pairs is null.
    """
    combo = np.full(n, -1, dtype=np.intp)
    if len(lot) == 0:
        return labelled(combo, np.empty(0, dtype=object))
    start = np.flatnonzero(np.r_[True, lot[1:] != lot[:-1]])
    size = np.diff(np.r_[start, len(lot)])
    # number the sequences one position at a time: (sequence so far, next code) → new number, numbered after
    # every number in use so that a sequence never takes the number of a shorter one
    key = code[start].astype(np.int64)
    width = max(len(table), 1)
    for k in range(1, int(size.max())):
        more = np.flatnonzero(size > k)
        grown, _ = pd.factorize(key[more] * width + code[start[more] + k])
        key[more] = grown + (int(key.max()) + 1)
    group, _ = pd.factorize(key)
    n_group = int(group.max()) + 1
    rep = np.empty(n_group, dtype=np.intp)
    rep[group[::-1]] = np.arange(len(group) - 1, -1, -1)  # each sequence's first lot
    rep_start, rep_size = start[rep], size[rep]
    parts = []
    for k in range(int(rep_size.max())):  # a pass per position in the sequences, not per lot
        has = rep_size > k
        at = code[np.where(has, rep_start + k, 0)]
        parts.append(table.take(pa.array(at, mask=~has)))
    texts = parts[0]
    if len(parts) > 1:  # the nulls past a sequence's end are skipped: "a; b" for a sequence of two
        texts = _arrow("binary_join_element_wise", *parts, pa.scalar("; "), options=pc.JoinOptions("skip"))
    order = _arrow("array_sort_indices", texts)
    ordered = texts.take(order)
    new = np.ones(len(ordered), dtype=bool)
    if len(ordered) > 1:  # different roads may read the same: equal neighbours are one text
        same = _arrow("equal", ordered.slice(1), ordered.slice(0, len(ordered) - 1))
        new[1:] = ~same.to_numpy(zero_copy_only=False)
    rank = np.empty(len(ordered), dtype=np.intp)
    rank[order.to_numpy()] = np.cumsum(new) - 1
    if not new.all():
        ordered = ordered.filter(pa.array(new))
    combo[lot[start]] = rank[group]
    return labelled(combo, ordered.to_numpy(zero_copy_only=False))


def _road_texts(values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], pa.Array]:
    """Each road's code into a table of its distinct texts (as Arrow strings)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.intp), pa.array(np.asarray(uniques, dtype=object), type=pa.string())


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
        fronting road has no width), ``frente_sin_continuidad`` (boolean) and ``vias_sin_continuidad``
        (names, in road order). Texts are categoricals (:func:`quitogeo.categories.labelled`), null where a
        lot fronts no road.
    """
    idx = lot_index(lots, index)
    n = len(idx)
    min_len = float(rules["tolerancias"]["frente_min_m"])
    lot, road = _frontage_pairs(idx, np.asarray(red.buffers, dtype=object), min_len)
    n_road = max(len(red), 1)
    # narrowest first; unknown widths last; ties by road position: a rank per road, then one sort of the
    # pairs (already grouped by lot: nearly in order)
    finite = np.isfinite(red.ancho)
    by_width = np.lexsort((np.arange(len(red)), np.where(finite, red.ancho, np.inf)))
    rank = np.empty(len(red), dtype=np.int64)
    rank[by_width] = np.arange(len(red))
    order = np.argsort(lot.astype(np.int64) * n_road + rank[road], kind="stable")
    lot_o, road_o = lot[order], road[order]
    out = pd.DataFrame(index=lots.index)
    out["n_vias_frente"] = pd.array(np.bincount(lot, minlength=n), dtype="Int64")
    id_code, id_text = _road_texts(red.ids)
    name_code, name_text = _road_texts(red.labels)
    # widths formatted once per distinct width ("?" when unknown)
    width_code, widths = pd.factorize(red.ancho, use_na_sentinel=True)
    known = np.asarray(widths, dtype=np.float64).tolist()
    width_text = np.array([*(f"{w:g}" for w in known), "?"], dtype=object)
    ancho_code, ancho_text = _road_texts(width_text[width_code])
    out["vias_frente_ids"] = _joined(lot_o, id_code[road_o], n, id_text)
    out["vias_frente_nombres"] = _joined(lot_o, name_code[road_o], n, name_text)
    out["vias_frente_anchos"] = _joined(lot_o, ancho_code[road_o], n, ancho_text)
    first = np.ones(len(lot_o), dtype=bool)
    first[1:] = lot_o[1:] != lot_o[:-1]
    # the narrowest known width comes first: it is the lot's minimum (NaN when every width is unknown)
    min_w = np.full(n, np.nan)
    min_w[lot_o[first]] = red.ancho[road_o[first]]
    out["min_ancho_frente_m"] = min_w
    narrowest = np.full(n, -1, dtype=np.intp)
    narrowest[lot_o[first]] = name_code[road_o[first]]
    out["via_mas_angosta"] = labelled(narrowest, name_text.to_numpy(zero_copy_only=False))
    unknown = np.zeros(n, dtype=bool)
    unknown[lot[~finite[road]]] = True
    out["ancho_desconocido"] = unknown

    # continuity: a fronting road that is sin continuidad (the layer's mark, or a dead-end piece of it). Every
    # road owning a dead piece is sin continuidad (road_network), so the lots fronting a dead piece's band
    # (and that road) are among these pairs already: the dead pieces' bands need no second join.
    on_sin = np.flatnonzero(red.sin_continuidad[road])
    on_sin = on_sin[np.argsort(lot[on_sin].astype(np.int64) * n_road + road[on_sin], kind="stable")]
    sin_lot, sin_road = lot[on_sin], road[on_sin]  # by lot, then road
    flag = np.zeros(n, dtype=bool)
    flag[sin_lot] = True
    out["frente_sin_continuidad"] = pd.array(flag, dtype="boolean")
    out["vias_sin_continuidad"] = _joined(sin_lot, name_code[sin_road], n, name_text)
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
    "RingVertices",
    "RoadNetwork",
    "boundary_length_inside",
    "dead_end_pieces",
    "empty_frontage",
    "inside_lengths",
    "join_frontage",
    "ring_segments",
    "ring_vertices",
    "road_network",
]
