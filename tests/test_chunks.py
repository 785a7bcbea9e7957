"""Both ways of splitting a run give the whole-project result, lot by lot.

* Hilbert chunks (:mod:`quitogeo.backends.chunks`, what the dask backend sends to its workers), each with the
  layers clipped to its bounds, put back with :func:`~quitogeo.backends.chunks.assemble`, here without dask;
* the spatial stages side by side in threads (``process_lots(threads=2)``), the local backend at scale.

A synthetic project of 5 000 lots (fixed seed, as the dask parity test) makes every difference show: a lot
lost, duplicated or reordered, a category set or dtype that differs from the whole run's, a halo too small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quitogeo.backends import chunks
from quitogeo.io import read_project
from quitogeo.pipeline import prepare, process_lots
from quitogeo.rules import load_rules
from quitogeo.sample import write_sample_project


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    path = tmp_path_factory.mktemp("trozos") / "muestra.gpkg"
    write_sample_project(path, n_lotes=5000, seed=11)
    rules = load_rules()
    proj = read_project(path, rules=rules)
    ctx = prepare(proj.layers, rules=rules)
    lots = proj.layers["predios"]
    return lots, ctx, process_lots(lots, ctx, threads=1)


@pytest.mark.parametrize("nchunks", [5, 7])
def test_chunked_run_equals_whole_run(whole, nchunks):
    lots, ctx, expected = whole
    order = chunks.hilbert_order(lots)
    positions = [np.sort(part) for part in np.array_split(order, nchunks)]
    results = [chunks.process_partition(lots.iloc[pos], ctx) for pos in positions]
    got = chunks.assemble([frame for frame, _ in results], positions, lots.index)
    pd.testing.assert_frame_equal(got, expected)
    # every text column is a categorical of exactly the values used, sorted, as in the whole run
    for col in got.columns:
        if isinstance(got[col].dtype, pd.CategoricalDtype):
            cats = got[col].cat.categories
            assert cats.is_monotonic_increasing and cats.is_unique
            used = np.unique(got[col].cat.codes.to_numpy()[got[col].cat.codes.to_numpy() >= 0])
            assert len(used) == len(cats), col
    assert all({"recorte", "pit", "frente"} <= set(times) for _, times in results)


def test_spatial_stages_side_by_side_equal_one_after_the_other(whole):
    lots, ctx, expected = whole
    timings: dict[str, float] = {}
    got = process_lots(lots, ctx, threads=2, timings=timings)
    pd.testing.assert_frame_equal(got, expected)
    assert {"pit", "aiva", "zonas", "influencia", "frente"} <= set(timings)


def test_assemble_unites_categories_and_restores_input_order():
    index = pd.RangeIndex(5)
    first = pd.DataFrame(
        {
            "t": pd.Categorical(["b", "a", None]),
            "x": np.array([1.0, 2.0, 3.0]),
            "n": pd.array([True, None, False], dtype="boolean"),
        }
    )
    second = pd.DataFrame(
        {
            "t": pd.Series([None, None], dtype=object),  # null throughout this chunk
            "x": np.array([4.0, 5.0]),
            "n": pd.array([None, True], dtype="boolean"),
        }
    )
    out = chunks.assemble([first, second], [np.array([4, 0, 2]), np.array([1, 3])], index)
    assert out["t"].tolist()[0] == "a" and out["t"].tolist()[4] == "b"
    assert out["t"].isna().tolist() == [False, True, True, True, False]
    assert list(out["t"].cat.categories) == ["a", "b"]
    assert out["x"].tolist() == [2.0, 4.0, 3.0, 5.0, 1.0]
    assert out["n"].tolist()[1:4] == [pd.NA, False, True]


def test_attribute_stages_in_row_slices_equal_one_call(whole, monkeypatch):
    import quitogeo.pipeline as pipeline

    lots, ctx, expected = whole
    # every attribute stage sliced, in slices that do not divide the lots evenly
    monkeypatch.setattr(pipeline, "TABLE_SLICE_ROWS", 1_300)
    monkeypatch.setattr(pipeline, "TABLE_SLICED_STAGES", frozenset(pipeline.TABLE_STAGES))
    got = process_lots(lots, ctx, threads=1)
    pd.testing.assert_frame_equal(got, expected)


def test_an_error_in_a_stage_running_side_by_side_reaches_the_caller(whole, monkeypatch):
    import quitogeo.pipeline as pipeline
    from quitogeo.errors import LayerError

    lots, ctx, _ = whole

    def broken(lots, ctx, index):
        raise LayerError("capa puos: falta la columna obligatoria 'uso_principal'", layer="puos")

    monkeypatch.setitem(pipeline.SPATIAL_STAGES, "puos", broken)
    with pytest.raises(LayerError, match="uso_principal"):
        process_lots(lots, ctx, threads=2)
