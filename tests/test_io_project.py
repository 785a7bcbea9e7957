import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely

from quitogeo.errors import LayerError, ProjectNotFoundError
from quitogeo.io import Project, read_project, sample_project_path
from quitogeo.io.crs import TM_QUITO
from quitogeo.io.project import coerce_numbers
from quitogeo.sample import make_sample_project


@pytest.fixture(scope="module")
def small():
    return make_sample_project(300, seed=11)


def write_gpkg(layers, path):
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
    return path


def test_sample_path_is_repo_data():
    path = sample_project_path()
    assert path.name == "muestra_quito.gpkg"
    assert path.parent.name == "data"


def test_read_default_sample():
    if not sample_project_path().exists():
        pytest.skip("data/muestra_quito.gpkg no generado")
    project = read_project()
    assert isinstance(project, Project)
    assert project.crs is TM_QUITO
    assert {"predios", "pugs", "aiva"} <= set(project.layers)
    assert not project.problems["bloqueante"].any()


def test_missing_project_names_the_fix(tmp_path):
    with pytest.raises(ProjectNotFoundError, match="no existe"):
        read_project(tmp_path / "nada.gpkg")


def test_gpkg_round_trip_contract(small, tmp_path):
    path = write_gpkg(small, tmp_path / "p.gpkg")
    project = read_project(path)
    predios = project.layers["predios"]
    assert list(predios["clave_catastral"]) == list(small["predios"]["clave_catastral"])  # input order
    assert predios["clave_catastral"].str.startswith("0").any()  # leading zeros kept
    assert isinstance(predios.index, pd.RangeIndex)
    for frame in project.layers.values():
        assert frame.crs.equals(TM_QUITO)
    assert predios["area_escritura"].dtype == float
    assert set(project.hashes) == set(small)
    assert all(len(h) == 64 for h in project.hashes.values())
    # Same data → same hash; a changed value → another hash.
    again = read_project(path)
    assert again.hashes == project.hashes
    changed = dict(small)
    p2 = small["predios"].copy()
    p2.loc[0, "avaluo_terreno"] += 1
    changed["predios"] = p2
    other = read_project(write_gpkg(changed, tmp_path / "q.gpkg"))
    assert other.hashes["predios"] != project.hashes["predios"]
    assert other.hashes["pugs"] == project.hashes["pugs"]


def test_folder_project_with_mixed_formats(small, tmp_path):
    folder = tmp_path / "proyecto"
    folder.mkdir()
    small["predios"].to_parquet(folder / "predios.parquet")
    pyogrio.write_dataframe(small["pugs"], folder / "pugs.shp", encoding="utf-8")
    pyogrio.write_dataframe(small["aiva"].to_crs(4326), folder / "aiva.geojson")
    project = read_project(folder)
    assert set(project.layers) == {"predios", "pugs", "aiva"}
    # GeoJSON in degrees came back in TM-Quito metres: same areas within a few cm² per m².
    a_in = small["aiva"].area.to_numpy()
    a_out = project.layers["aiva"].area.to_numpy()
    np.testing.assert_allclose(a_out, a_in, rtol=1e-6)
    assert "Residencial urbano 1" in set(project.layers["pugs"]["uso_principal"]) or len(
        project.layers["pugs"]
    )


def test_toml_project_with_mapping_and_declared_crs(small, tmp_path):
    predios = small["predios"].rename(columns={"clave_catastral": "CLAVE", "avaluo_terreno": "VAL_TERR"})
    pyogrio.write_dataframe(
        predios.set_crs(None, allow_override=True), tmp_path / "lotes.gpkg", layer="lotes"
    )
    write_gpkg({"pugs": small["pugs"], "aiva": small["aiva"]}, tmp_path / "plan.gpkg")
    (tmp_path / "quitogeo.toml").write_text(
        '[layers.predios]\nsource = "lotes.gpkg"\nlayer = "lotes"\ncrs = "tm_quito"\n'
        'columns = { clave_catastral = "CLAVE", avaluo_terreno = "VAL_TERR" }\n'
        '[layers.pugs]\nsource = "plan.gpkg"\nlayer = "pugs"\n'
        '[layers.aiva]\nsource = "plan.gpkg"\nlayer = "aiva"\n',
        encoding="utf-8",
    )
    project = read_project(tmp_path)
    assert not project.problems["bloqueante"].any(), project.problems
    assert project.layers["predios"]["avaluo_terreno"].sum() == pytest.approx(
        small["predios"]["avaluo_terreno"].sum()
    )


def test_toml_unknown_layer_is_an_error(tmp_path):
    (tmp_path / "quitogeo.toml").write_text('[layers.lotes]\nsource = "x.gpkg"\n', encoding="utf-8")
    with pytest.raises(LayerError, match="capa desconocida"):
        read_project(tmp_path / "quitogeo.toml")


def test_municipal_preset_by_layer_name(small, tmp_path):
    # A Catastro LOTE layer and a PUGS ba003 layer in their own schemas.
    lote = gpd.GeoDataFrame(
        {
            "NUMERO_LOTE": small["predios"]["clave_catastral"],
            "AREA_TERRENO_ESCRITURA": small["predios"]["area_escritura"].map(
                lambda v: "" if np.isnan(v) else f"{v:.2f}".replace(".", ",")
            ),
            "PROPIEDAD": np.where(
                small["predios"]["regimen"] == "propiedad_horizontal", "PROPIEDAD HORIZONTAL", "UNIPROPIEDAD"
            ),
        },
        geometry=small["predios"].geometry,
    )
    pugs = small["pugs"]
    ba003 = gpd.GeoDataFrame(
        {
            "cod_uso_gr": pugs["codigo_pit"],
            "uso_prin": pugs["uso_principal"],
            "cos_pb_ba": pugs["cos_pb"],
            "pisos_ba": pugs["pisos_basicos"],
            "clasifica": np.where(pugs["clasificacion"] == "urbano", "Suelo Urbano", "Suelo Rural"),
            "subclasif": pugs["subclasificacion"],
            "codigo_edificabilidad": pugs["codigo_edificabilidad"],
        },
        geometry=pugs.geometry,
    )
    write_gpkg(
        {
            "LOTE": lote.set_crs(TM_QUITO),
            "ba003_uso_suelo_edificabilidad_a": ba003.set_crs(TM_QUITO),
            "aiva": small["aiva"],
        },
        tmp_path / "municipal.gpkg",
    )
    project = read_project(tmp_path / "municipal.gpkg")
    predios = project.layers["predios"]
    assert set(predios["regimen"]) <= {"unipropiedad", "propiedad_horizontal"}
    # "1234,56" → 1234.56
    np.testing.assert_allclose(predios["area_escritura"], small["predios"]["area_escritura"], equal_nan=True)
    assert set(project.layers["pugs"]["clasificacion"]) <= {"urbano", "rural"}
    # lote_minimo was absent in ba003: filled from the zoning code.
    assert project.layers["pugs"]["lote_minimo"].notna().all()
    problems = project.problems
    assert (problems["problema"].str.contains("area_escritura") & (problems["id"] == "*")).any()
    assert not problems["bloqueante"].any()


def test_coerce_numbers_formats():
    values = pd.Series(["1234,5", "1.234,5", "1,234.5", "12", " ", None, "abc", "7.25"], dtype=object)
    numbers, n_text, n_comma, bad = coerce_numbers(values)
    assert numbers.tolist()[:4] == [1234.5, 1234.5, 1234.5, 12.0]
    assert np.isnan(numbers[4]) and np.isnan(numbers[5]) and np.isnan(numbers[6])
    assert numbers[7] == 7.25
    assert bad.tolist() == [False] * 6 + [True, False]
    assert n_text == 5 and n_comma == 2


def test_null_and_empty_lot_kept(small, tmp_path):
    predios = small["predios"].copy()
    predios.loc[3, "geometry"] = None
    predios.loc[4, "geometry"] = shapely.Polygon()
    layers = dict(small, predios=predios)
    project = read_project(write_gpkg(layers, tmp_path / "p.gpkg"))
    assert len(project.layers["predios"]) == len(predios)
    for i, word in ((3, "nula"), (4, "vac")):
        rows = project.problems[project.problems["id"] == predios.loc[i, "clave_catastral"]]
        assert rows["problema"].str.contains(word).any()


def test_arrow_hash_sees_nulls_and_geometry_not_padding():
    import pyarrow as pa

    from quitogeo.io.project import _arrow_hash

    base = pa.table(
        {"a": pa.array(["x", None, "z"]), "n": pa.array([1.0, None, 3.0]), "g": [b"\x01", b"", b"\x02"]}
    )
    same = pa.table(
        {"a": pa.array(["x", None, "z"]), "n": pa.array([1.0, None, 3.0]), "g": [b"\x01", b"", b"\x02"]}
    )
    assert _arrow_hash(base) == _arrow_hash(same)
    # a slice holds the same values at another buffer offset: the hash follows the values, not the buffers
    sliced = pa.table(
        {
            "a": pa.array(["q", "x", None, "z"])[1:],
            "n": pa.array([9.0, 1.0, None, 3.0])[1:],
            "g": pa.array([b"\x09", b"\x01", b"", b"\x02"])[1:],
        }
    )
    assert _arrow_hash(sliced) == _arrow_hash(base)
    empty_not_null = base.set_column(0, "a", pa.array(["x", "", "z"]))
    assert _arrow_hash(empty_not_null) != _arrow_hash(base)  # "" and null are different data
    moved = base.set_column(2, "g", pa.array([b"\x01", b"", b"\x03"]))
    assert _arrow_hash(moved) != _arrow_hash(base)  # the geometry WKB counts


def test_problem_ids_only_for_reported_rows():
    from quitogeo.io.columns import LAYER_SPECS
    from quitogeo.io.project import _ids

    frame = pd.DataFrame({"clave_catastral": ["0101", None, "  ", "0104"]})
    ids = _ids(frame, LAYER_SPECS["predios"])
    # filled clave → itself; null or blank → "fila i" (0-based row)
    assert ids[np.array([True, True, True, True])].tolist() == ["0101", "fila 1", "fila 2", "0104"]
    assert ids[pd.Series([False, False, True, False])].tolist() == ["fila 2"]
    assert ids[np.array([3, 1])].tolist() == ["0104", "fila 1"]
    frame.loc[0, "clave_catastral"] = "cambiada"  # ids are a snapshot of the column when they were made
    assert ids[np.array([0])].tolist() == ["0101"]
    no_id = _ids(frame, LAYER_SPECS["vias"])
    assert no_id[np.array([False, True, False, False])].tolist() == ["fila 1"]


def test_text_columns_share_repeated_strings():
    from quitogeo.io.project import _object_text

    text = pd.Series(["Calderón", None, "Eloy Alfaro"] + ["Calderón"] * 9, dtype="string")
    out = _object_text(text)
    assert out.dtype == object and out[1] is None
    assert out.tolist() == [None if pd.isna(v) else v for v in text.tolist()]
    assert out[0] is out[3]  # one Python string per distinct value
    unique = pd.Series([f"{i:04d}" for i in range(8)], dtype="string")
    assert _object_text(unique).tolist() == unique.tolist()


def test_category_spelling_normalised_by_distinct_value(small, tmp_path):
    layers = {k: v.copy() for k, v in small.items()}
    p = layers["predios"]
    p.loc[0, "regimen"] = "Propiedad Horizontal"  # variant → propiedad_horizontal
    p.loc[1, "regimen"] = "condominio"  # unknown → kept, reported
    p.loc[2, "regimen"] = None
    p.loc[3, "administracion_zonal"] = "Manuela Saenz"  # the IR table writes Sáenz
    project = read_project(write_gpkg(layers, tmp_path / "cat.gpkg"))
    got = project.layers["predios"]
    assert got["regimen"].dtype == object
    assert got["regimen"].iloc[:3].tolist() == ["propiedad_horizontal", "condominio", None]
    assert got["administracion_zonal"].iloc[3] == "Manuela Sáenz"
    problems = project.problems
    unknown = problems[problems["problema"].str.contains("valor desconocido en 'regimen'")]
    assert unknown["id"].tolist() == [p["clave_catastral"].iloc[1]]
    assert problems["problema"].str.contains("'administracion_zonal' escrito 'Manuela Saenz'").sum() == 1


def test_repetitive_text_coded_once_gives_the_same_read(small, tmp_path, monkeypatch):
    import quitogeo.io.project as project_module

    layers = {k: v.copy() for k, v in small.items()}
    p = layers["predios"]
    p.loc[0, "regimen"] = "Propiedad Horizontal"
    p.loc[1, "regimen"] = "condominio"
    p.loc[2, "regimen"] = None
    p.loc[3, "administracion_zonal"] = "Manuela Saenz"
    p.loc[4, "administracion_zonal"] = "Zona Inventada"
    p.loc[5, "parroquia"] = "San BlÃ¡s"  # mojibake: repaired, so its codes are dropped
    path = write_gpkg(layers, tmp_path / "coded.gpkg")
    plain = read_project(path)  # 300 lots < _TEXT_PROBE: pandas' factorisations, as before
    seen = []
    text_codes = project_module._text_codes
    monkeypatch.setattr(project_module, "_TEXT_PROBE", 50)  # now regimen, zonal, parroquia are Arrow-coded
    monkeypatch.setattr(project_module, "_text_codes", lambda v: seen.append(v.name) or text_codes(v))
    coded = read_project(path)
    assert {"regimen", "administracion_zonal", "parroquia"} <= set(seen)
    for name, frame in plain.layers.items():
        other = coded.layers[name]
        pd.testing.assert_frame_equal(pd.DataFrame(frame), pd.DataFrame(other), check_exact=True)
        for col in frame.columns:
            if frame[col].dtype == object and col != frame.geometry.name:
                assert frame[col].map(type).tolist() == other[col].map(type).tolist()
    pd.testing.assert_frame_equal(plain.problems, coded.problems, check_exact=True)
    assert plain.hashes == coded.hashes
    got = coded.layers["predios"]
    assert got["regimen"].iloc[:3].tolist() == ["propiedad_horizontal", "condominio", None]
    assert got["administracion_zonal"].iloc[3] == "Manuela Sáenz"
    assert got["parroquia"].iloc[5] == "San Blás"


def test_text_codes_are_pandas_factorisation(monkeypatch):
    import quitogeo.io.project as project_module

    monkeypatch.setattr(project_module, "_TEXT_PROBE", 20)
    values = pd.Series(["b", None, "a", "b", "", "a"] * 10, dtype="str")
    codes, uniques = project_module._text_codes(values)
    # first appearance order, missing → -1, "" a value: b=0, a=1, ""=2
    assert codes[:6].tolist() == [0, -1, 1, 0, 2, 1]
    assert uniques.tolist() == ["b", "a", ""] and all(type(u) is str for u in uniques)
    want_codes, want_uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    assert codes.tolist() == want_codes.tolist() and uniques.tolist() == want_uniques.tolist()
    unique = pd.Series([f"{i:04d}" for i in range(60)], dtype="str")
    assert project_module._text_codes(unique) is None  # nearly unique: no dictionary
    assert project_module._text_codes(values.astype(object)) is None  # not Arrow strings


def _with_bad_geometries(small):
    predios = small["predios"].copy()
    x0, y0, _, _ = predios.total_bounds
    predios.loc[5, "geometry"] = shapely.Polygon([(x0, y0), (x0 + 10, y0 + 10), (x0 + 10, y0), (x0, y0 + 10)])
    predios.loc[6, "geometry"] = None
    return dict(small, predios=predios)


def test_wkb_parsed_in_slices_with_its_validity(small, tmp_path, monkeypatch):
    import quitogeo.io.project as project
    from quitogeo.io.checks import _first_vertices

    path = write_gpkg(_with_bad_geometries(small), tmp_path / "p.gpkg")
    expected = pyogrio.read_dataframe(path, layer="predios", use_arrow=True)
    # batches of 10 and slices of 7 features: several slices per batch, short last ones, the bow-tie (row 5)
    # and the null (row 6) in different slices
    monkeypatch.setattr(project, "_WKB_SLICE", 7)
    meta, table = pyogrio.read_arrow(path, layer="predios", datetime_as_string=True)
    batches = table.to_batches(max_chunksize=10)
    assert len(batches) > 2
    frame, digest, geometry = project._arrow_frame(meta, batches, table.schema, vertices=True)
    pd.testing.assert_frame_equal(frame, expected)
    geoms = expected.geometry.to_numpy()
    assert geometry.valid.tolist() == shapely.is_valid(geoms).tolist()
    assert not geometry.valid[5] and not geometry.valid[6]  # the bow-tie, and the null (not valid)
    assert geometry.bounds == tuple(shapely.total_bounds(geoms))
    # the hash of the batches as read: the same as the table's with the same chunks
    assert digest.result() == project._arrow_hash(pa.Table.from_batches(batches))
    # first vertices from the WKB: those of the parsed polygons, where read (all but the null here)
    known = geometry.first_known
    assert known.sum() == len(geoms) - 1 and not known[6]
    np.testing.assert_array_equal(geometry.first[known], _first_vertices(geoms[known]))


def test_first_vertices_read_from_wkb():
    import quitogeo.io.project as project
    from quitogeo.io.checks import _first_vertices

    square = shapely.Polygon([(1.5, 2.5), (3, 2.5), (3, 4), (1.5, 4)], holes=[[(2, 3), (2.5, 3), (2.5, 3.5)]])
    multi = shapely.MultiPolygon([shapely.box(10, 20, 11, 21), square])
    line = shapely.LineString([(0, 0), (1, 1)])
    geoms = [square, multi, shapely.Polygon(), None, shapely.MultiPolygon(), line]
    wkb = pa.array([None if g is None else shapely.to_wkb(g) for g in geoms], type=pa.binary())
    xy, known = project._wkb_first_vertices(wkb)
    # polygon: its shell's first point; multipolygon: its first polygon's (box(10, 20, 11, 21) starts at
    # (11, 20)); empty, null and other types are not read
    assert known.tolist() == [True, True, False, False, False, False]
    assert xy[:2].tolist() == [[1.5, 2.5], [11.0, 20.0]]
    np.testing.assert_array_equal(xy[:2], _first_vertices(np.array(geoms[:2], dtype=object)))
    # big-endian and 3D WKB are left to shapely (not known), and a sliced array keeps its rows
    big = pa.array([shapely.to_wkb(square, byte_order=0), shapely.to_wkb(shapely.force_3d(square))])
    assert not project._wkb_first_vertices(big)[1].any()
    xy, known = project._wkb_first_vertices(wkb[1:3])
    assert known.tolist() == [True, False] and xy[0].tolist() == [11.0, 20.0]


def test_hash_in_large_pieces_is_the_plain_sha256(monkeypatch):
    import hashlib

    import quitogeo.io.project as project

    pieces = [b"abc", np.arange(5, dtype=np.int32), b"x" * 100, memoryview(b"tail")]
    plain = hashlib.sha256(b"".join(bytes(memoryview(p).cast("B")) for p in pieces)).hexdigest()
    for size in (1, 16, 1 << 20):  # every piece alone, some gathered, all gathered
        monkeypatch.setattr(project, "_HASH_PIECE", size)
        digest = project._Digest()
        for p in pieces:
            digest.update(p)
        assert digest.hexdigest() == plain
    # a column with nulls in several chunks hashes as its chunks one by one
    column = pa.chunked_array([pa.array(["a", None]), pa.array([None, "b", "c"]), pa.array(["d"])])
    whole, one_by_one = project._Digest(), project._Digest()
    project._hash_column(whole, column)
    one_by_one.update(str(column.type).encode("utf-8"))
    for chunk in column.chunks:
        project._hash_arrow_array(one_by_one, chunk)
    assert whole.hexdigest() == one_by_one.hexdigest()


def test_collector_paused_during_the_read_only(small, tmp_path):
    import gc

    path = write_gpkg(small, tmp_path / "p.gpkg")
    assert gc.isenabled()
    read_project(path)
    assert gc.isenabled()  # as it was
    gc.disable()
    try:
        read_project(path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_read_is_the_same_on_one_thread(small, tmp_path):
    from quitogeo.parallel import serial

    path = write_gpkg(_with_bad_geometries(small), tmp_path / "p.gpkg")
    threaded = read_project(path)
    with serial():  # hash and validity computed in the calling thread, one after the other
        alone = read_project(path)
    assert threaded.hashes == alone.hashes
    pd.testing.assert_frame_equal(threaded.problems, alone.problems)
    for name, frame in threaded.layers.items():
        pd.testing.assert_frame_equal(frame, alone.layers[name])
    # the bow-tie was repaired with the validity computed beside the parsing
    clave = small["predios"].loc[5, "clave_catastral"]
    mine = threaded.problems[threaded.problems["id"] == clave]
    assert mine["problema"].str.contains("geometría inválida").any()
    assert shapely.is_valid(threaded.layers["predios"].geometry.iloc[5])
