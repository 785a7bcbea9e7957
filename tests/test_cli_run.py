"""`quitogeo run` on a hand-built project: outputs, summary, refusal to overwrite, exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
from click.testing import CliRunner

from quitogeo.cli.main import cli
from quitogeo.io.crs import TM_QUITO
from quitogeo.testing import golden_layers


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("proj") / "golden.gpkg"
    for name, frame in golden_layers().items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", append=path.exists())
    return path


def test_run_writes_outputs_and_prints_summary(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "salida"
    result = CliRunner().invoke(cli, ["run", str(project), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "resultados.gpkg").is_file() and (out / "resumen.csv").is_file()
    text = result.output
    assert "Predios leídos: 12" in text
    assert "ZUAE 3 · COS PB 4 · eco-eficiencia 2" in text
    assert "Eugenio Espejo" in text and "USD\u00a0335.275,20" in text  # quitogeo.formatting
    assert "NOTA: reglas NO verificadas" in text
    assert "quito-2024.1" in text
    info = pyogrio.read_info(out / "resultados.gpkg", layer="predios_resultado")
    assert info["features"] == 12
    assert pyogrio.read_dataframe(
        out / "resultados.gpkg", layer="predios_resultado", max_features=1
    ).crs.equals(TM_QUITO)


def test_run_refuses_existing_outputs(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "salida"
    assert CliRunner().invoke(cli, ["run", str(project), "--out", str(out)]).exit_code == 0
    again = CliRunner().invoke(cli, ["run", str(project), "--out", str(out)])
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    assert CliRunner().invoke(cli, ["run", str(project), "--out", str(out), "--overwrite"]).exit_code == 0


def test_unknown_scenario_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(tmp_path), "--escenario", "no_existe"]
    )
    assert result.exit_code == 2
    assert "pugs_maxima" in result.output  # lists the ones that exist


def test_scenario_option_is_used(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(tmp_path), "--escenario", "zuae_2_pisos"]
    )
    assert result.exit_code == 0, result.output
    assert "Escenario: zuae_2_pisos" in result.output
    meta = pyogrio.read_dataframe(tmp_path / "resultados.gpkg", layer="metadatos", read_geometry=False)
    assert dict(zip(meta["clave"], meta["valor"], strict=True))["escenario"] == "zuae_2_pisos"


def test_missing_project_is_a_data_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "nada.gpkg"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "nada.gpkg" in result.output


def _result_like(n: int = 12):
    """A small RunResult with what makes chunked writing tricky: nullable ints/booleans, a text column that is
    null in the first rows only, and a Polygon/MultiPolygon mix (promoted to MultiPolygon)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from quitogeo.pipeline import RunResult

    geoms = [shapely.box(500_000 + 10 * i, 9_975_000, 500_008 + 10 * i, 9_975_008) for i in range(n)]
    geoms[-1] = shapely.MultiPolygon([geoms[-1], shapely.box(0, 0, 1, 1)])
    geoms[2] = None
    predios = gpd.GeoDataFrame(
        {
            "clave_catastral": [f"{i:04d}" for i in range(n)],
            "motivos": [None] * 6 + ["frente < 12 m; vía angosta"] * (n - 6),
            "elegible_zuae": pd.array([True, False, None] * (n // 3), dtype="boolean"),
            "n_vias_frente": pd.array([1, None, 3] * (n // 3), dtype="Int64"),
            "cod": np.linspace(0, 1, n),
            "escenario": pd.Categorical(["base"] * n),
        },
        geometry=geoms,
        crs=TM_QUITO,
    )
    table = pd.DataFrame({"clave": ["a"], "valor": ["b"]})
    problemas = pd.DataFrame(
        {
            "capa": ["predios"],
            "id": ["0001"],
            "problema": ["x"],
            "accion": ["y"],
            "correccion": ["z"],
            "bloqueante": [False],
        }
    )
    return RunResult(predios=predios, resumen=table, problemas=problemas, metadatos=table)


def test_chunked_write_is_the_one_call_file(tmp_path: Path) -> None:
    import pandas as pd

    from quitogeo.export.gpkg import read_results, write_results

    result = _result_like()
    write_results(result, tmp_path / "a", chunk_rows=4)  # three batches
    one = tmp_path / "one.gpkg"
    plain = result.predios.assign(escenario=result.predios["escenario"].astype(object))
    pyogrio.write_dataframe(plain, one, layer="predios_resultado", driver="GPKG", use_arrow=True)
    got = pyogrio.read_info(tmp_path / "a" / "resultados.gpkg", layer="predios_resultado")
    ref = pyogrio.read_info(one, layer="predios_resultado")
    for key in ("fields", "ogr_types", "ogr_subtypes", "geometry_type", "crs", "features"):
        assert list(np.atleast_1d(got[key])) == list(np.atleast_1d(ref[key])), key
    assert got["geometry_type"] == "MultiPolygon"
    _, a = pyogrio.read_arrow(tmp_path / "a" / "resultados.gpkg", layer="predios_resultado")
    _, b = pyogrio.read_arrow(one, layer="predios_resultado")
    assert a.equals(b)
    back = read_results(tmp_path / "a").predios  # nullable booleans and integers survive the round trip
    assert back["elegible_zuae"].dtype == "boolean" and back["n_vias_frente"].dtype == "Int64"
    pd.testing.assert_series_equal(back["elegible_zuae"], result.predios["elegible_zuae"])
    pd.testing.assert_series_equal(back["n_vias_frente"], result.predios["n_vias_frente"])
    assert back["motivos"].isna().sum() == 6 and back["motivos"].iloc[-1] == "frente < 12 m; vía angosta"
    assert back.geometry.isna().sum() == 1


def test_non_text_object_column_still_written(tmp_path: Path) -> None:
    from quitogeo.export.gpkg import write_results

    result = _result_like()
    result.predios["mixto"] = pd_object([1, "dos"] * 6)
    write_results(result, tmp_path, chunk_rows=4)  # falls back to pyogrio's own typing of the column
    back = pyogrio.read_dataframe(tmp_path / "resultados.gpkg", layer="predios_resultado")
    assert back["mixto"].astype(str).tolist()[:2] == ["1", "dos"]


def pd_object(values: list) -> object:
    import pandas as pd

    return pd.Series(values, dtype=object)


def test_formato_parquet_writes_geoparquet_and_reads_back(project: Path, tmp_path: Path) -> None:
    import json

    import geopandas as gpd
    import pandas as pd

    from quitogeo.export.gpkg import read_results
    from quitogeo.export.map import make_map

    gp, pq = tmp_path / "gpkg", tmp_path / "pq"
    assert CliRunner().invoke(cli, ["run", str(project), "--out", str(gp)]).exit_code == 0
    result = CliRunner().invoke(cli, ["run", str(project), "--out", str(pq), "--formato", "parquet"])
    assert result.exit_code == 0, result.output
    names = {"resultados.parquet", "resumen.parquet", "problemas.parquet", "metadatos.json", "resumen.csv"}
    assert names <= {p.name for p in pq.iterdir()}
    assert not (pq / "resultados.gpkg").exists()
    assert "resultados.parquet" in result.output
    # a GeoParquet file any reader opens, TM-Quito (no EPSG code) kept in its metadata
    raw = gpd.read_parquet(pq / "resultados.parquet")
    assert len(raw) == 12 and raw.crs.equals(TM_QUITO)
    meta = json.loads((pq / "metadatos.json").read_text(encoding="utf-8"))
    assert {"clave": "n_predios", "valor": "12"} in meta
    # same values as the GeoPackage, column by column (text compared as text, numbers as numbers)
    a = read_results(gp / "resultados.gpkg")
    b = read_results(pq)  # the folder
    assert list(b.predios.columns) == list(a.predios.columns)
    assert b.predios.crs.equals(TM_QUITO)
    assert b.predios.geometry.geom_equals_exact(a.predios.geometry, 0).all()
    for col in a.predios.columns.drop("geometry"):
        left = a.predios[col].astype(object).where(a.predios[col].notna(), None).tolist()
        right = b.predios[col].astype(object).where(b.predios[col].notna(), None).tolist()
        assert left == right, col
    pd.testing.assert_frame_equal(b.resumen, a.resumen, check_dtype=False)
    assert b.meta()["n_predios"] == "12" and len(b.problemas) == len(a.problemas)
    # the map takes the GeoParquet path as it takes resultados.gpkg
    html = tmp_path / "mapa.html"
    make_map(pq / "resultados.parquet", out=html)
    assert html.stat().st_size > 0
    html2 = tmp_path / "mapa_cli.html"
    cli_map = CliRunner().invoke(cli, ["map", str(pq / "resultados.parquet"), "--out", str(html2)])
    assert cli_map.exit_code == 0, cli_map.output
    assert html2.stat().st_size > 0
    # refused without --overwrite, like the GeoPackage
    again = CliRunner().invoke(cli, ["run", str(project), "--out", str(pq), "--formato", "parquet"])
    assert again.exit_code == 1 and "resultados.parquet" in again.output


def test_formato_unknown_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(project), "--out", str(tmp_path), "--formato", "csv"])
    assert result.exit_code == 2


def _chunked_result(n: int) -> object:
    """A RunResult whose text columns exercise the chunked writers: a large sorted categorical (compacted per
    row group), a small one, one with unsorted/unused categories (kept whole), nulls, a null-only text and
    a text null in its first half."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from quitogeo.pipeline import RunResult

    rows = np.arange(n)
    # 1,500 distinct motivos (≥ the 1,024 that trigger per-row-group dictionaries), sorted, all used
    motivos = np.array([f"motivo {i:04d}" for i in rows % 1500], dtype=object)
    motivos[rows % 7 == 0] = None
    cats = pd.Index(sorted({m for m in motivos if m is not None}), dtype=object)  # as compact_text makes
    estado = pd.Categorical(
        np.where(rows % 3 == 0, "elegible", "no elegible"),
        categories=pd.Index(["elegible", "no elegible"], dtype=object),
    )
    # unsorted categories with an unused one: written as the whole dictionary, read back unchanged
    banda = pd.Categorical(
        np.where(rows % 2 == 0, "z", "a"), categories=pd.Index(["z", "a", "sin uso"], dtype=object)
    )
    predios = gpd.GeoDataFrame(
        {
            "clave_catastral": pd.Series([f"{i:07d}" for i in rows], dtype=object),
            "motivos": pd.Categorical(motivos, categories=cats),
            "estado": estado,
            "banda": banda,
            "plan_parcial": pd.Series(np.full(n, None, dtype=object), dtype=object),
            # null in the first row groups, text later: typed from the whole column, not the first slice
            "observacion": pd.Series(np.where(rows < n // 2, None, "revisar"), dtype=object),
            "cod_centavos": pd.array(np.where(rows % 5 == 0, None, rows * 100), dtype="Int64"),
            "elegible_zuae": pd.array(rows % 4 == 0, dtype="boolean"),
            "area_m2": rows * 1.5,
        },
        geometry=shapely.box(rows, 0, rows + 1, 1),
        crs=TM_QUITO,
    )
    resumen = pd.DataFrame({"administracion_zonal": ["Norte"], "n_predios": [n]})
    problemas = pd.DataFrame(
        {
            "capa": ["predios"],
            "id": ["0000001"],
            "problema": ["x"],
            "accion": ["y"],
            "sugerencia": ["z"],
            "bloqueante": [False],
        }
    )
    metadatos = pd.DataFrame({"clave": ["n_predios"], "valor": [str(n)]}, dtype=object)
    return RunResult(predios=predios, resumen=resumen, problemas=problemas, metadatos=metadatos)


def test_chunked_geoparquet_reads_back_identical(tmp_path: Path) -> None:
    import geopandas as gpd
    import pandas as pd
    import pyarrow.parquet as pq

    from quitogeo.export.gpkg import read_results, write_results

    result = _chunked_result(5000)
    # 1,000-lot row groups: 5 groups, each with its own (compact) motivos dictionary
    paths = write_results(result, tmp_path, formato="parquet", chunk_rows=1000)
    meta = pq.ParquetFile(paths["resultados"]).metadata
    assert meta.num_row_groups == 5
    back = read_results(paths["resultados"])
    pd.testing.assert_frame_equal(back.predios, result.predios)  # dtypes and categories' order included
    assert list(back.predios["banda"].cat.categories) == ["z", "a", "sin uso"]
    # and it is still a GeoParquet any geopandas reads, with the layer's bbox in the 'geo' metadata
    raw = gpd.read_parquet(paths["resultados"])
    assert raw.crs.equals(TM_QUITO) and len(raw) == 5000
    import json

    geo = json.loads(pq.read_schema(paths["resultados"]).metadata[b"geo"])
    # boxes from x = 0 to x = 5000 (last box: 4999..5000), y 0..1
    assert geo["columns"]["geometry"]["bbox"] == [0.0, 0.0, 5000.0, 1.0]


def test_chunked_geopackage_matches_one_call_write(tmp_path: Path) -> None:
    import pandas as pd

    from quitogeo.export.gpkg import write_results

    result = _chunked_result(3000)
    paths = write_results(result, tmp_path / "chunked", chunk_rows=700)
    one = tmp_path / "one.gpkg"
    pyogrio.write_dataframe(result.predios, one, layer="predios_resultado", driver="GPKG", use_arrow=True)
    a = pyogrio.read_dataframe(paths["resultados"], layer="predios_resultado", use_arrow=True)
    b = pyogrio.read_dataframe(one, layer="predios_resultado", use_arrow=True)
    pd.testing.assert_frame_equal(a, b)
    ia = pyogrio.read_info(paths["resultados"], layer="predios_resultado")
    ib = pyogrio.read_info(one, layer="predios_resultado")
    assert list(ia["fields"]) == list(ib["fields"]) and list(ia["dtypes"]) == list(ib["dtypes"])
    assert ia["geometry_type"] == ib["geometry_type"]
