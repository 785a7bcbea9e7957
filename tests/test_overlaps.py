"""Lot–zone overlaps with few exact intersections give, pair by pair, what the direct computations give.

A tessellation of zones (the PIT, AIVA, PUOS kind) over a block of lots, with the awkward cases on purpose:
lots whose edges or corners lie exactly on zone boundaries, clockwise and counter-clockwise rings, a zone
vertex on a lot edge, slivers, overlapping zones, a holed and a multi-part zone, non-convex and multi-part
lots (and, for the pairs alone, an invalid zone: GEOS cannot intersect it). Every fast path (numpy edge
tests, disks, lead bounds) must agree with GEOS's ``covers`` / ``intersects`` / ``intersection`` areas
exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

import quitogeo.spatial as spatial
from quitogeo.spatial import LotIndex, largest_overlap, overlap_pairs, overlaps
from quitogeo.testing import layer, poly, rect


def _lots() -> list:
    rng = np.random.default_rng(3)
    geoms: list = []
    for i in range(24):
        for j in range(24):
            x, y = i * 20.0, j * 20.0
            kind = (i * 24 + j) % 5
            if kind in (0, 1):  # rectangles: their edges fall on the zones' grid lines (x, y multiples of 60)
                geoms.append(rect(x, y, x + 20, y + 20))
            elif kind == 2:  # perturbed quadrilaterals, counter-clockwise
                d = rng.uniform(-4, 4, size=4)
                geoms.append(
                    poly((x + d[0], y), (x + 20, y + d[1]), (x + 20 - d[2], y + 20), (x, y + 20 - d[3]))
                )
            elif kind == 3:  # the same, clockwise
                d = rng.uniform(-4, 4, size=4)
                geoms.append(
                    poly((x, y + 20 - d[3]), (x + 20 - d[2], y + 20), (x + 20, y + d[1]), (x + d[0], y))
                )
            else:  # L-shaped (non-convex)
                geoms.append(
                    poly((x, y), (x + 20, y), (x + 20, y + 8), (x + 8, y + 8), (x + 8, y + 20), (x, y + 20))
                )
    geoms.append(shapely.union(rect(500, 0, 510, 10), rect(520, 0, 530, 10)))  # two parts
    return geoms


def _zones() -> np.ndarray:
    # a tessellation of 60 m squares, some cut diagonally (boundaries through lots, and through lot corners)
    zones: list = []
    for i in range(9):
        for j in range(8):
            x, y = i * 60.0, j * 60.0
            if (i + j) % 3 == 0:
                zones.append(poly((x, y), (x + 60, y), (x, y + 60)))
                zones.append(poly((x + 60, y), (x + 60, y + 60), (x, y + 60)))
            elif (i + j) % 3 == 1:  # a vertex on the middle of a lot edge (x + 30: a lot edge's middle)
                zones.append(poly((x, y), (x + 60, y), (x + 60, y + 60), (x + 30, y + 60.0), (x, y + 60)))
            else:
                zones.append(rect(x, y, x + 60, y + 60))
    zones.append(rect(100.3, 100.3, 100.35, 300))  # a sliver zone overlapping the tessellation
    zones.append(rect(250, 250, 330, 330).difference(rect(270, 270, 310, 310)))  # holed, overlapping
    zones.append(shapely.union(rect(400, 20, 410, 30), rect(430, 20, 445, 35)))  # multi-part
    zones.append(rect(0, 0, 20, 20.0000004))  # a boundary 4e-7 m beyond a lot's edge
    return np.array(zones, dtype=object)


def _direct(idx: LotIndex, zones: np.ndarray) -> dict[tuple[int, int], tuple[bool, float]]:
    """(lot, zone) → (covered, overlap area) the direct way, as overlaps() always computed them."""
    zi, li = idx.tree.query(zones, predicate="intersects")
    covered = shapely.covers(zones[zi], idx.geoms[li])
    inter = shapely.area(shapely.intersection(idx.geoms[li], zones[zi]))
    area = np.where(covered, idx.area[li], inter)
    return {(int(a), int(b)): (bool(c), float(d)) for a, b, c, d in zip(li, zi, covered, area, strict=True)}


@pytest.fixture(scope="module")
def block() -> tuple[LotIndex, np.ndarray, dict[tuple[int, int], tuple[bool, float]]]:
    lots = layer([{"clave_catastral": f"P{i}", "geometry": g} for i, g in enumerate(_lots())])
    idx = LotIndex.from_lots(lots)
    zones = _zones()
    return idx, zones, _direct(idx, zones)


def test_block_has_the_awkward_cases(block) -> None:
    idx, zones, ref = block
    assert shapely.is_valid(zones).all()
    # lots meeting a zone only along their edges (touching pairs), slivers and boundary lots all present
    assert sum(1 for c, a in ref.values() if not c and a == 0) > 20
    assert sum(1 for c, a in ref.values() if 0 < a < 1) > 5
    assert sum(1 for c, a in ref.values() if not c and a > 1) > 300
    # most lots are strictly convex quadrilaterals, both orientations
    assert (spatial._strict_quads(idx)[0] >= 0).sum() > 300


def test_an_invalid_zone_goes_the_geos_way(block, monkeypatch: pytest.MonkeyPatch) -> None:
    idx, zones, _ = block
    monkeypatch.setattr(spatial, "QUADTREE_MIN_LOTS_PER_ZONE", 10**9)
    bowtie = poly((200, 400), (260, 460), (260, 400), (200, 460))
    with_bowtie = np.append(zones, np.array([bowtie], dtype=object))
    assert not shapely.is_valid(bowtie)
    zi, li = idx.tree.query(with_bowtie, predicate="intersects")
    covered = shapely.covers(with_bowtie[zi], idx.geoms[li])
    ov = overlaps(idx, with_bowtie)
    got = {(int(a), int(b)): bool(c) for a, b, c in zip(ov.lot, ov.zone, ov.exact, strict=True)}
    assert got == {(int(a), int(b)): bool(c) for a, b, c in zip(li, zi, covered, strict=True)}
    assert any(b == len(zones) for _, b in got)


@pytest.mark.parametrize("quadtree", [False, True])
def test_pairs_and_covers_equal_geos(block, quadtree: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    idx, zones, ref = block
    monkeypatch.setattr(spatial, "QUADTREE_MIN_LOTS_PER_ZONE", 0 if quadtree else 10**9)
    ov = overlaps(idx, zones)
    got = {(int(a), int(b)): bool(c) for a, b, c in zip(ov.lot, ov.zone, ov.exact, strict=True)}
    assert got == {k: c for k, (c, _) in ref.items()}
    assert np.array_equal(ov.area[ov.exact], idx.area[ov.lot[ov.exact]])
    # sorted by lot, then zone
    assert np.all(np.diff(ov.lot.astype(np.int64) * len(zones) + ov.zone) > 0)
    # covered lots only (the Voronoi cells of the stations)
    cov = overlaps(idx, zones, boundary=False)
    assert {(int(a), int(b)) for a, b in zip(cov.lot, cov.zone, strict=True)} == {
        k for k, (c, _) in ref.items() if c
    }
    assert cov.exact.all()


def test_quadtree_with_a_tessellation_equals_geos(block, monkeypatch: pytest.MonkeyPatch) -> None:
    # zones whose interiors never meet: a quadtree cell inside one is matched to no other
    idx, zones, ref = block
    tessellation = zones[:-5]
    assert spatial._interiors_apart(tessellation, shapely.STRtree(tessellation))
    assert not spatial._interiors_apart(zones, shapely.STRtree(zones))
    monkeypatch.setattr(spatial, "QUADTREE_MIN_LOTS_PER_ZONE", 0)
    ov = overlaps(idx, tessellation)
    got = {(int(a), int(b)): bool(c) for a, b, c in zip(ov.lot, ov.zone, ov.exact, strict=True)}
    assert got == {k: c for k, (c, _) in ref.items() if k[1] < len(tessellation)}


def test_numpy_edge_tests_leave_few_pairs_to_geos(block, monkeypatch: pytest.MonkeyPatch) -> None:
    idx, zones, ref = block
    sent: list[tuple[np.ndarray, np.ndarray]] = []
    covers = shapely.covers

    def recording(a, b, **kwargs):
        sent.append((np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
        return covers(a, b, **kwargs)

    monkeypatch.setattr(spatial.shapely, "covers", recording)
    spatial._edge_pairs(idx, zones, spatial.parallel.prepared_copies(zones))
    zone_g = np.concatenate([z for z, _ in sent])
    lot_g = np.concatenate([g for _, g in sent])
    # GEOS decides only lots that are not strictly convex quadrilaterals, and lots that a zone boundary
    # reaches to within the numpy tests' margin (along or at their edges)
    strict = spatial._strict_quads(idx)[0] >= 0
    by_geom = {id(g): i for i, g in enumerate(idx.geoms)}
    is_strict = np.array([strict[by_geom[id(g)]] for g in lot_g])
    grazing = shapely.dwithin(shapely.boundary(zone_g), shapely.boundary(lot_g), 2 * spatial.EDGE_MARGIN_M)
    assert (~is_strict | grazing).all()
    assert len(lot_g) < 0.8 * len(ref)  # the grid-aligned lots of this block graze boundaries on purpose


@pytest.mark.parametrize("threshold", [0.0, 1.0, 25.0])
def test_thresholds_equal_exact_areas(block, threshold: float) -> None:
    idx, zones, ref = block
    ov = overlaps(idx, zones)
    keep = ov.above(threshold)
    got = {(int(a), int(b)) for a, b in zip(ov.lot[keep], ov.zone[keep], strict=True)}
    assert got == {k for k, (_, a) in ref.items() if a > threshold}
    # most boundary pairs above the threshold were decided by a disk, not an intersection
    decided = keep & ~ov.exact
    assert decided.sum() > 0.5 * sum(1 for c, a in ref.values() if not c and a > threshold)


def test_disks_never_clear_a_pair_at_or_below_the_threshold(block) -> None:
    idx, zones, ref = block
    ov = overlaps(idx, zones)
    valid = shapely.is_valid(zones)
    open_ = np.flatnonzero(~ov.exact & valid[ov.zone])
    lot, zone = ov.lot[open_], ov.zone[open_]
    area = np.array([ref[(int(a), int(b))][1] for a, b in zip(lot, zone, strict=True)])
    copies = spatial.parallel.prepared_copies(zones)
    edges = ov._edges()
    near = ov.cache["near_edges"]
    for threshold in (0.0, 0.5, 1.0, 10.0, 100.0):
        by_near = spatial._disk_clears(idx, copies, near, lot, zone, threshold, len(zones))
        by_geos = spatial._disk_clears(idx, copies, edges, lot, zone, threshold, len(zones))
        assert not (by_near & (area <= threshold)).any()
        assert not (by_geos & (area <= threshold)).any()
        # the numpy distances and GEOS's prepared ones certify the same pairs
        assert by_near.tolist() == by_geos.tolist()


@pytest.mark.parametrize("exact_winner", [True, False])
def test_largest_overlap_equals_exact(block, exact_winner: bool) -> None:
    idx, zones, ref = block
    ov, winners, pairs = largest_overlap(idx, zones, exact_winner=exact_winner)
    # the pairs kept are exactly those of positive overlap (n_pit / n_puos count them)
    assert {(int(a), int(b)) for a, b in zip(ov.lot, ov.zone, strict=True)} == {
        k for k, (_, a) in ref.items() if a > 0
    }
    best: dict[int, tuple[float, int]] = {}
    for (a, b), (_, v) in sorted(ref.items()):
        if v > 0 and (a not in best or v > best[a][0]):
            best[a] = (v, b)
    assert {int(w): int(ov.zone[p]) for w, p in zip(winners, pairs, strict=True)} == {
        a: b for a, (_, b) in best.items()
    }
    several = np.bincount(ov.lot, minlength=len(idx))[winners] > 1
    for w, p, many in zip(winners, pairs, several, strict=True):
        if exact_winner or many:  # the winner's share is reported: its area is the exact one
            assert ov.area[p] == best[int(w)][0]


def test_largest_overlap_needs_about_one_intersection_per_shared_lot(monkeypatch) -> None:
    # perturbed quadrilaterals only, whose edges never run along a zone boundary
    geoms = [g for i, g in enumerate(_lots()[:-1]) if i % 5 in (2, 3)]
    idx = LotIndex.from_lots(layer([{"clave_catastral": str(i), "geometry": g} for i, g in enumerate(geoms)]))
    zones = _zones()[:-5]  # the tessellation alone
    count = {"n": 0}
    area = spatial._overlap_area

    def counting(a, b):
        count["n"] += len(a)
        return area(a, b)

    monkeypatch.setattr(spatial, "_overlap_area", counting)
    ov = overlaps(idx, zones)
    counts = np.bincount(ov.lot, minlength=len(idx))
    open_ = ~ov.exact
    # lots whose corner lies on a zone boundary touch that zone: their zero overlap is still intersected
    touching = int(shapely.touches(zones[ov.zone[open_]], idx.geoms[ov.lot[open_]]).sum())
    lonely = int((open_ & (counts[ov.lot] == 1)).sum())  # the winner's share of a lot in one zone
    needed = int((counts > 1).sum()) + touching + lonely
    assert touching > 20 and needed < 0.8 * open_.sum()
    count["n"] = 0
    largest_overlap(idx, zones)
    # the direct way intersected every boundary pair; now a lead per shared lot, and a few undecided
    assert count["n"] <= needed + 0.15 * counts.astype(bool).sum()
    assert count["n"] < 0.8 * open_.sum()


def test_full_ranks_order_as_exact_areas(block) -> None:
    idx, zones, ref = block
    ov = overlaps(idx, zones)
    ov = ov.take(ov.above(1.0))
    key = ov.settle_ranks(full=True)
    order = np.lexsort((ov.zone, -np.where(np.isnan(key), 0.0, key), ov.lot))
    exact = np.array([ref[(int(a), int(b))][1] for a, b in zip(ov.lot, ov.zone, strict=True)])
    expected = np.lexsort((ov.zone, -exact, ov.lot))
    assert ov.lot[order].tolist() == ov.lot[expected].tolist()
    assert ov.zone[order].tolist() == ov.zone[expected].tolist()
    # lots of exactly two pairs may keep one unsettled, ranked below the other
    counts = np.bincount(ov.lot, minlength=len(idx))[ov.lot]
    assert (np.isneginf(key) <= (counts == 2)).all()


def test_overlap_pairs_areas_are_the_exact_ones(block) -> None:
    idx, zones, ref = block
    lot, zone, area = overlap_pairs(idx, zones)
    got = {(int(a), int(b)): float(c) for a, b, c in zip(lot, zone, area, strict=True)}
    assert got == {k: a for k, (_, a) in ref.items() if a > 0}


def test_joined_texts_are_what_the_run_stores() -> None:
    from quitogeo.pipeline import compact_text
    from quitogeo.rules import load_rules
    from quitogeo.spatial.joins import join_membership, join_pit

    rules = load_rules()
    lots = layer(
        [
            {"clave_catastral": "A", "administracion_zonal": "Norte", "geometry": rect(0, 0, 10, 10)},
            {"clave_catastral": "B", "administracion_zonal": "Sur", "geometry": rect(100, 0, 110, 10)},
            {"clave_catastral": "C", "administracion_zonal": None, "geometry": rect(200, 0, 210, 10)},
        ]
    )
    pugs = layer(
        [
            {
                "codigo_pit": "P2",
                "uso_principal": "R2",
                "clasificacion": "urbano",
                "geometry": rect(-5, -5, 6, 15),
            },
            {
                "codigo_pit": "P1",
                "uso_principal": "M",
                "clasificacion": None,
                "geometry": rect(6, -5, 150, 15),
            },
        ]
    )
    pit = join_pit(lots, pugs, rules=rules)
    assert isinstance(pit["codigo_pit"].dtype, pd.CategoricalDtype)
    assert pit["codigo_pit"].tolist()[:2] == ["P2", "P1"] and pd.isna(pit["codigo_pit"].iloc[2])
    assert pit["clasificacion"].isna().tolist() == [False, True, True]
    zones = {
        "zuae": layer(
            [
                {"codigo_zuae": "Z", "geometry": rect(-5, -5, 105, 15)},
                {"codigo_zuae": "Y", "geometry": rect(5, -5, 8, 15)},
            ]
        ),
        "riesgo": layer([{"id": "R", "categoria": "mitigable", "geometry": rect(95, -5, 120, 15)}]),
        "administraciones_zonales": layer([{"nombre": "Centro", "geometry": rect(-5, -5, 50, 15)}]),
    }
    memb = join_membership(lots, zones, rules=rules)
    # Z overlaps lot A by 100 m², Y by 30 m²: largest first
    assert memb["zuae_codigo"].tolist()[:2] == ["Z; Y", "Z"]
    assert memb["riesgo_categoria"].tolist() == ["ninguno", "mitigable", "ninguno"]
    assert memb["administracion_zonal"].tolist()[:2] == ["Centro", "Sur"]
    assert pd.isna(memb["administracion_zonal"].iloc[2])
    # the run's compaction leaves them as they are: the categoricals it would have made of the texts
    for frame in (pit, memb):
        texts = frame.apply(lambda s: s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s)
        pd.testing.assert_frame_equal(compact_text(texts), compact_text(frame))


def test_strict_quads_rows_are_oriented_and_exact() -> None:
    # the same quadrilateral listed counter-clockwise and clockwise, a 20 × 10 rectangle, a quadrilateral with
    # a straight corner (three collinear vertices: not strictly convex) and an L-shaped lot
    ccw = poly((0, 0), (30, 2), (28, 25), (3, 20))
    cw = poly((3, 20), (28, 25), (30, 2), (0, 0))
    lots = [ccw, cw, rect(100, 0, 120, 10), poly((0, 50), (10, 50), (20, 50), (10, 60)), _lots()[4]]
    idx = LotIndex.from_lots(layer([{"geometry": g} for g in lots]))
    pos, quads = spatial._strict_quads(idx)
    assert (pos[:3] >= 0).all() and (pos[3:] == -1).all()
    # the clockwise ring reversed is the counter-clockwise one, bit for bit (vertices, normals, offsets)
    assert np.array_equal(quads[pos[0]], quads[pos[1]])
    box = quads[pos[2]]
    x0, y0 = shapely.get_coordinates(lots[2]).min(axis=0)
    centre = np.array([x0 + 10, y0 + 5])
    # the rectangle's centre lies 10 m inside its two short edges and 5 m inside its long ones
    dist = box[spatial._QNX] * centre[0] + box[spatial._QNY] * centre[1] - box[spatial._QOFF]
    assert sorted(np.round(dist, 6).tolist()) == [5.0, 5.0, 10.0, 10.0]
    assert np.allclose(np.hypot(box[spatial._QNX], box[spatial._QNY]), 1.0)


def test_edge_states_cross_miss_and_graze() -> None:
    idx = LotIndex.from_lots(layer([{"geometry": rect(0, 0, 20, 10)}]))
    pos, quads = spatial._strict_quads(idx)
    x0, y0 = shapely.get_coordinates(idx.geoms[0]).min(axis=0)
    # a segment through the lot, one 1 m outside its long edge, and one lying along that edge (a zone
    # boundary on the lot's edge: left to GEOS)
    a = np.array([[x0 - 5, y0 + 5], [x0 - 5, y0 + 11], [x0 - 5, y0 + 10]])
    b = np.array([[x0 + 25, y0 + 5], [x0 + 25, y0 + 11], [x0 + 25, y0 + 10]])
    apart, inside = spatial._edge_states(quads, np.repeat(pos[0], 3), a, b)
    assert apart.tolist() == [False, True, False]
    assert inside.tolist() == [True, False, False]
