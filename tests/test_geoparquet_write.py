"""The chunked GeoParquet writer (``quitogeo.export.gpkg._write_geoparquet``) against geopandas' own write.

The file must be the one ``GeoDataFrame.to_parquet(index=False)`` writes as far as any reader sees it: the
same Arrow schema, pandas and ``geo`` metadata, and the same frame read back. How it is encoded (row
groups, which columns carry statistics or dictionary pages) is the writer's own business, but the choices
documented in its docstring are checked here so that a change to them is deliberate.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from quitogeo.export.gpkg import (
    _SORTED_CATEGORIES_KEY,
    _restore_categories,
    _write_geoparquet,
)
from quitogeo.io.crs import TM_QUITO


def _lots(n: int) -> gpd.GeoDataFrame:
    """``n`` lots with every kind of result column: large sorted categorical (compacted per row group),
    small categorical, unsorted categorical with an unused category, free text (unique), a text null in
    its first rows, a text null throughout, nullable integers/booleans/floats, plain floats, and polygons
    mixed with multipolygons."""
    rows = np.arange(n)
    motivos = np.array([f"motivo {i:04d}" for i in rows % 1500], dtype=object)
    motivos[rows % 7 == 0] = None
    cats = pd.Index(sorted({m for m in motivos if m is not None}), dtype=object)
    boxes = shapely.box(rows, 0, rows + 1, 1)
    geoms = np.where(rows % 4 == 0, shapely.multipolygons(boxes[:, None]) if n else boxes, boxes)
    return gpd.GeoDataFrame(
        {
            "clave_catastral": pd.Series([f"{i:07d}" for i in rows], dtype=object),
            "motivos": pd.Categorical(motivos, categories=cats),
            # first lot null: the one-row template must not decide the dictionary
            "estado": pd.Categorical(
                np.where(rows == 0, None, np.where(rows % 3 == 0, "elegible", "no elegible")),
                categories=pd.Index(["elegible", "no elegible"], dtype=object),
            ),
            "banda": pd.Categorical(
                np.where(rows % 2 == 0, "z", "a"), categories=pd.Index(["z", "a", "sin uso"], dtype=object)
            ),
            "plan_parcial": pd.Series(np.full(n, None, dtype=object), dtype=object),
            "observacion": pd.Series(np.where(rows < n // 2, None, "revisar"), dtype=object),
            "cod_centavos": pd.array(np.where(rows % 5 == 0, None, rows * 100), dtype="Int64"),
            "elegible_zuae": pd.array(np.where(rows % 6 == 0, None, rows % 4 == 0), dtype="boolean"),
            "cod_uso": pd.array(np.where(rows % 9 == 0, None, rows * 0.25), dtype="Float64"),
            "area_m2": rows * 1.5,
            "n_pit": rows % 3,
            "en_plan_parcial": rows % 2 == 0,
        },
        geometry=geoms,
        crs=TM_QUITO,
    )


def _both(frame: gpd.GeoDataFrame, tmp_path: Path, chunk_rows: int) -> tuple[Path, Path]:
    ours, theirs = tmp_path / "ours.parquet", tmp_path / "geopandas.parquet"
    _write_geoparquet(frame, ours, chunk_rows=chunk_rows)
    frame.to_parquet(theirs, index=False)
    return ours, theirs


@pytest.mark.parametrize(("n", "chunk_rows"), [(5000, 1000), (2500, 1000), (3, 2), (1, 1000), (0, 1000)])
def test_same_schema_metadata_and_frame_as_geopandas(tmp_path: Path, n: int, chunk_rows: int) -> None:
    frame = _lots(n)
    ours, theirs = _both(frame, tmp_path, chunk_rows)
    a, b = pq.read_schema(ours), pq.read_schema(theirs)
    assert a.equals(b, check_metadata=False)
    meta_a, meta_b = dict(a.metadata), dict(b.metadata)
    # the one key geopandas does not write: the columns whose categories are sorted back on read
    compact = json.loads(meta_a.pop(_SORTED_CATEGORIES_KEY))
    assert meta_a == meta_b  # pandas and geo metadata (bbox, geometry types, CRS as PROJJSON) identical
    for name in a.names:
        assert a.field(name).metadata == b.field(name).metadata, name
    assert compact == (["motivos"] if n >= 1024 else [])  # 1,500 distinct motivos ≥ 1,024 only at 5000
    assert pq.ParquetFile(ours).metadata.num_row_groups == max(1, -(-n // chunk_rows))
    back = _restore_categories(gpd.read_parquet(ours), compact)
    pd.testing.assert_frame_equal(back, gpd.read_parquet(theirs), check_exact=True)


def test_bbox_and_types_of_the_geo_metadata(tmp_path: Path) -> None:
    ours = tmp_path / "ours.parquet"
    _write_geoparquet(_lots(5000), ours, chunk_rows=1000)
    geo = json.loads(pq.read_schema(ours).metadata[b"geo"])["columns"]["geometry"]
    # boxes x = i..i+1 for i in 0..4999, y = 0..1; every 4th lot a one-part multipolygon
    assert geo["bbox"] == [0.0, 0.0, 5000.0, 1.0]
    assert sorted(geo["geometry_types"]) == ["MultiPolygon", "Polygon"]
    assert gpd.read_parquet(ours).crs.equals(TM_QUITO)


def test_statistics_and_dictionary_pages_per_column(tmp_path: Path) -> None:
    ours = tmp_path / "ours.parquet"
    _write_geoparquet(_lots(5000), ours, chunk_rows=1000)
    meta = pq.ParquetFile(ours).metadata
    names = meta.schema.names
    second = meta.row_group(1)  # lots 1000..1999

    def chunk(name: str) -> pq.ColumnChunkMetaData:
        return second.column(names.index(name))

    # numbers keep their statistics: area_m2 = 1.5 × lot, so 1500.0 .. 2998.5 in the second row group
    area = chunk("area_m2").statistics
    assert (area.min, area.max, area.null_count) == (1500.0, 2998.5, 0)
    # cod_centavos null for every 5th lot: 200 of the 1000
    assert chunk("cod_centavos").statistics.null_count == 200
    # the small categorical keeps them ("elegible" < "no elegible")
    estado = chunk("estado").statistics
    assert (estado.min, estado.max) == ("elegible", "no elegible")
    # the compacted one (motivos, its row groups spanning nearly all texts) has none
    assert not chunk("motivos").is_stats_set
    # dictionary pages for the categoricals only: the free-text key is one value per lot
    assert chunk("motivos").has_dictionary_page and chunk("estado").has_dictionary_page
    assert not chunk("clave_catastral").has_dictionary_page
    assert not chunk("area_m2").has_dictionary_page
    clave = chunk("clave_catastral").statistics
    assert (clave.min, clave.max) == ("0001000", "0001999")


def test_compacted_dictionaries_hold_only_their_row_groups_categories(tmp_path: Path) -> None:
    ours = tmp_path / "ours.parquet"
    _write_geoparquet(_lots(5000), ours, chunk_rows=1000)
    first = pq.ParquetFile(ours).read_row_group(0, columns=["motivos", "estado"])
    # lots 0..999 use motivos 0000..0999 but not those of lots ≡ 0 (mod 7) … which recur in other lots of
    # the group only if i % 1500 repeats: within 0..999 each motivo occurs once, so 1000 − 143 nulls = 857
    assert len(first.column("motivos").chunk(0).dictionary) == 857
    # a small categorical carries its whole dictionary
    assert first.column("estado").chunk(0).dictionary.to_pylist() == ["elegible", "no elegible"]
