"""The dask backend gives the same result as the local one, lot by lot, including lots at partition edges.

A synthetic project of 5 000 lots (fixed seed) is cut into 6 Hilbert partitions; many lots lie inside another
partition's bounding box (the chunks of a Hilbert curve interlock), their PIT/AIVA polygons and fronting roads
are shared by several partitions, and the clipping masks features per partition — so a wrong halo, a lost or
duplicated lot, a reordering or a dtype drift between partitions would all show as a difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

from quitogeo.backends import dask as qdask
from quitogeo.io import read_project
from quitogeo.pipeline import prepare, process_lots, run
from quitogeo.rules import load_rules
from quitogeo.sample import write_sample_project

N_LOTES = 5000
N_PARTITIONS = 6


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("paridad") / "muestra.gpkg"
    write_sample_project(path, n_lotes=N_LOTES, seed=11)
    rules = load_rules()
    return read_project(path, rules=rules), rules


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0")
    cli = Client(cluster)
    yield cli
    cli.close()
    cluster.close()


@pytest.fixture(scope="module")
def both(project, client):
    proj, rules = project
    ctx = prepare(proj.layers, rules=rules)
    lots = proj.layers["predios"]
    local = process_lots(lots, ctx)
    timings: dict[str, float] = {}
    dist = qdask.process(lots, ctx, client=client, npartitions=N_PARTITIONS, timings=timings)
    return lots, ctx, local, dist, timings


def test_partitions_are_boundary_heavy(project):
    proj, _ = project
    lots = proj.layers["predios"]
    ddf, order = qdask.partition_lots(lots, N_PARTITIONS)
    assert ddf.npartitions >= 4
    assert sorted(order.tolist()) == list(range(len(lots)))  # a permutation: every lot once
    sizes = [len(p) for p in ddf.partitions]
    assert sum(sizes) == len(lots)
    geoms = np.asarray(lots.geometry.array, dtype=object)[order]
    part_of = np.repeat(np.arange(len(sizes)), sizes)
    boxes = [shapely.box(*shapely.total_bounds(geoms[part_of == i])) for i in range(len(sizes))]
    # lots touching the bounding box of a partition other than their own
    tree = shapely.STRtree(geoms)
    box_pos, lot_pos = tree.query(np.array(boxes, dtype=object), predicate="intersects")
    foreign = np.unique(lot_pos[part_of[lot_pos] != box_pos])
    assert len(foreign) >= 0.05 * len(lots), f"solo {len(foreign)} predios en el borde de otra partición"


def test_dask_equals_local_row_by_row(both):
    lots, _, local, dist, _ = both
    assert len(dist) == len(lots)
    assert dist.index.equals(lots.index)
    assert list(dist.columns) == list(local.columns)
    # exact, column by column (floats bit for bit, text incl. motivos, nullable booleans and integers)
    pd.testing.assert_frame_equal(dist, local, check_exact=True)
    for col in (
        "motivos",
        "cod",
        "cod_centavos",
        "codigo_pit",
        "aiva_valor",
        "vias_frente_ids",
        "frente_sin_continuidad",
        "distancia_estacion_m",
        "elegible_zuae",
    ):
        assert col in dist.columns


def test_lots_on_shared_features_are_exercised(both):
    """Roads, PITs and AIVA zones whose lots fall in several partitions: the halo cases."""
    lots, _, local, _, _ = both
    ddf, order = qdask.partition_lots(lots, N_PARTITIONS)
    part = np.empty(len(lots), dtype=np.intp)
    part[order] = np.repeat(np.arange(ddf.npartitions), [len(p) for p in ddf.partitions])
    frame = pd.DataFrame(
        {
            "part": part,
            "pit": local["codigo_pit"].to_numpy(),
            "aiva": local["aiva_codigos"].to_numpy(),
            "via": local["vias_frente_ids"].to_numpy(),
        }
    )
    for col in ("pit", "aiva", "via"):
        sub = frame.dropna(subset=[col])
        shared = sub.groupby(col)["part"].nunique()
        lots_on_shared = sub[col].isin(shared.index[shared > 1]).sum()
        assert lots_on_shared > 200, f"{col}: {lots_on_shared} predios en elementos compartidos"
    # the frontage reaches across partitions: some lots front roads and some front dead ends
    assert (local["n_vias_frente"].fillna(0) > 0).mean() > 0.5
    assert local["frente_sin_continuidad"].fillna(False).any()


def test_clipping_masks_far_features(both):
    lots, ctx, _, _, _ = both
    ddf, _ = qdask.partition_lots(lots, N_PARTITIONS)
    first = ddf.partitions[0].compute()
    clipped = qdask.clip_context(ctx, first.total_bounds)
    for name in ("pugs", "aiva"):
        whole = ctx.layers[name].geometry
        kept = clipped.layers[name].geometry
        assert len(kept) == len(whole)  # positions kept
        assert 0 < kept.notna().sum() < whole.notna().sum()
    assert ctx.red is not None and clipped.red is not None
    n_kept = int(np.sum(~shapely.is_missing(clipped.red.buffers)))
    assert 0 < n_kept < len(ctx.red.buffers)
    # stations are never clipped (the nearest one may be anywhere), only copied
    est = clipped.layers["estaciones"].geometry
    assert est.notna().all() and est.geom_equals_exact(ctx.layers["estaciones"].geometry, 0).all()
    # the task owns its geometries: no GEOS object shared with another thread
    kept = clipped.layers["pugs"].geometry.dropna()
    whole = ctx.layers["pugs"].geometry.loc[kept.index].array
    assert not any(a is b for a, b in zip(kept.array, whole, strict=True))


def test_without_clipping_same_result(project, client, both):
    lots, ctx, local, _, _ = both
    dist = qdask.process(lots, ctx, client=client, npartitions=4, clip=False)
    pd.testing.assert_frame_equal(dist, local, check_exact=True)


def test_run_backend_dask(project, client, both):
    proj, rules = project
    a = run(proj, rules=rules, backend="local")
    b = run(proj, rules=rules, backend="dask")
    pd.testing.assert_frame_equal(pd.DataFrame(b.predios), pd.DataFrame(a.predios), check_exact=True)
    assert b.meta()["backend"] == "dask"


def test_hilbert_order_handles_missing_geometry(project):
    proj, _ = project
    lots = proj.layers["predios"].iloc[:50].copy()
    lots.loc[lots.index[3], "geometry"] = None
    order = qdask.hilbert_order(lots)
    assert sorted(order.tolist()) == list(range(50))
    # no geometry sorts with distance 0, stably: only lots 0–2 (if also at distance 0) can come before it
    assert list(order).index(3) <= 3


def test_default_npartitions():
    assert qdask.default_npartitions(1_000_000, threads=2) == 8  # ceil(1e6 / 125 000)
    assert qdask.default_npartitions(5_000, threads=2) == 4  # two per thread
    assert qdask.default_npartitions(3, threads=2) == 3  # never more partitions than lots


def test_parallel_chunks_equal_single_call(project, monkeypatch):
    """quitogeo.parallel (threads over chunks, used by the joins) gives exactly the one-call result."""
    from quitogeo import parallel

    monkeypatch.setenv(parallel.ENV_THREADS, "2")
    proj, _ = project
    lots = np.asarray(proj.layers["predios"].geometry.array, dtype=object)
    zones = np.asarray(proj.layers["aiva"].geometry.array, dtype=object)
    tree = shapely.STRtree(lots)
    one = tree.query(zones, predicate="intersects")
    chunked = parallel.query(tree, zones, predicate="intersects", min_chunk=3)
    assert len(parallel.chunks_for(len(zones), min_chunk=3)) == 2
    np.testing.assert_array_equal(chunked, one)
    a, b = lots[one[1]], zones[one[0]]
    direct = shapely.area(shapely.intersection(a, b))
    threaded = parallel.elementwise(lambda x, y: shapely.area(shapely.intersection(x, y)), a, b, min_chunk=10)
    np.testing.assert_array_equal(threaded, direct)
    # below the chunk size it is the plain call; QUITOGEO_HILOS=1 disables the pool
    monkeypatch.setenv(parallel.ENV_THREADS, "1")
    assert parallel.chunks_for(10_000_000) == [(0, 10_000_000)]
