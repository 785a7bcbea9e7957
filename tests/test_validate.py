"""One deliberate fault per problem type, each found with the right layer and id, without crashing."""

import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from quitogeo.cli.main import cli
from quitogeo.io.crs import TM_QUITO, psad56_shift
from quitogeo.sample import make_sample_project
from quitogeo.validate import validate_project


def write_gpkg(layers, path):
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
    return path


@pytest.fixture(scope="module")
def clean():
    return make_sample_project(300, seed=5)


@pytest.fixture(scope="module")
def faulty(clean, tmp_path_factory):
    """A project with every non-blocking fault, and the ids that carry them."""
    layers = {k: v.copy() for k, v in clean.items()}
    p = layers["predios"]
    ids = p["clave_catastral"].tolist()
    p = p.astype({"area_escritura": object, "avaluo_terreno": object})
    p["area_escritura"] = [
        None if np.isnan(v) else f"{v:.2f}".replace(".", ",") for v in clean["predios"]["area_escritura"]
    ]
    p.loc[1, "avaluo_terreno"] = "sin avalúo"  # not a number
    p.loc[2, "geometry"] = None  # null geometry
    p.loc[3, "geometry"] = shapely.Polygon()  # empty geometry
    x0, y0 = p.geometry.iloc[4].centroid.coords[0]
    p.loc[4, "geometry"] = shapely.Polygon(
        [(x0, y0), (x0 + 20, y0 + 20), (x0 + 20, y0), (x0, y0 + 20)]
    )  # bow-tie
    p.loc[6, "clave_catastral"] = ids[5]  # duplicated key
    p.loc[7, "geometry"] = shapely.affinity.translate(p.geometry.iloc[7], 20_000, 0)  # outside every PIT/AIVA
    p.loc[8, "parroquia"] = "Iñaquito".encode().decode("cp1252")  # mojibake "IÃ±aquito"
    layers["predios"] = p
    pugs = layers["pugs"]
    pugs.loc[0, "uso_principal"] = "XYZ"  # unknown use code
    pugs.loc[1, ["lote_minimo", "pisos_basicos", "cos_pb", "cos_total_basico"]] = np.nan
    pugs.loc[1, "codigo_edificabilidad"] = "zona especial"  # unparseable zoning code
    overlap = pugs.iloc[[2]].copy()
    overlap["codigo_pit"] = "PIT-SOLAPADO"
    overlap["geometry"] = overlap.geometry.translate(30, 30)
    layers["pugs"] = gpd.GeoDataFrame(
        gpd.pd.concat([pugs, overlap], ignore_index=True), crs=pugs.crs
    )  # overlapping PITs
    aiva = layers["aiva"]
    aiva.loc[0, "valor_m2"] = 0.0  # AIVA ≤ 0
    aiva.loc[1, "valor_m2"] = -5.0
    path = write_gpkg(layers, tmp_path_factory.mktemp("faulty") / "faulty.gpkg")
    return path, ids, layers


def _rows(problems, capa, id_, text):
    sel = problems[(problems["capa"] == capa) & (problems["id"] == str(id_))]
    return sel[sel["problema"].str.contains(text, regex=False)]


def test_clean_sample_has_no_problem(clean, tmp_path):
    problems = validate_project(write_gpkg(clean, tmp_path / "clean.gpkg"))
    assert not problems["bloqueante"].any()


def test_each_fault_reported(faulty):
    path, ids, layers = faulty
    pr = validate_project(path)
    assert list(pr.columns) == ["capa", "id", "problema", "accion", "correccion", "bloqueante"]
    # numbers as text with decimal commas: one row for the column
    assert _rows(pr, "predios", "*", "area_escritura").shape[0] == 1
    assert _rows(pr, "predios", "*", "coma decimal").shape[0] == 1
    assert len(_rows(pr, "predios", ids[1], "no numérico")) == 1
    assert len(_rows(pr, "predios", ids[2], "nula")) == 1
    assert len(_rows(pr, "predios", ids[3], "vacía")) == 1
    invalid = _rows(pr, "predios", ids[4], "inválida")
    assert len(invalid) == 1 and "make_valid" in invalid["accion"].iloc[0]
    assert len(_rows(pr, "predios", ids[5], "duplicada")) == 2  # both lots sharing the key
    assert len(_rows(pr, "predios", ids[7], "PIT")) == 1
    assert len(_rows(pr, "predios", ids[7], "AIVA")) == 1
    moj = _rows(pr, "predios", ids[8], "codificación")
    assert len(moj) == 1 and "Iñaquito" in moj["accion"].iloc[0]
    pit = layers["pugs"]["codigo_pit"]
    assert len(_rows(pr, "pugs", pit[0], "uso desconocido")) == 1
    assert len(_rows(pr, "pugs", pit[1], "no reconocido")) == 1
    assert (
        len(_rows(pr, "pugs", pit[2], "superpuesto")) + len(_rows(pr, "pugs", "PIT-SOLAPADO", "superpuesto"))
        >= 1
    )
    aiva = layers["aiva"]["codigo_aiva"]
    assert len(_rows(pr, "aiva", aiva[0], "no positivo")) == 1
    assert len(_rows(pr, "aiva", aiva[1], "no positivo")) == 1
    # none of these stops a run
    assert not pr["bloqueante"].any()


def test_repairs_visible_in_layers(faulty):
    from quitogeo.io import read_project

    path, _ids, _ = faulty
    project = read_project(path)
    predios = project.layers["predios"]
    assert len(predios) == 300
    assert predios.geometry.iloc[4].is_valid and predios.geometry.iloc[4].area > 0
    assert predios.loc[8, "parroquia"] == "Iñaquito"
    assert predios["area_escritura"].dtype == float


def test_blocking_faults(clean, tmp_path):
    layers = {k: v for k, v in clean.items() if k != "aiva"}  # missing required layer
    layers["pugs"] = clean["pugs"].drop(columns=["uso_principal"])  # missing required column
    layers["zuae"] = clean["zuae"].set_crs(None, allow_override=True)  # no CRS (optional layer: ignored)
    # A layer in degrees labelled TM-Quito: outside the district.
    layers["riesgo"] = clean["riesgo"].to_crs(4326).set_crs(TM_QUITO, allow_override=True)
    # vias in PSAD56 coordinates labelled WGS84: shifted by the datum difference.
    dx, dy = psad56_shift(*clean["vias"].union_all().centroid.coords[0])
    layers["vias"] = clean["vias"].assign(geometry=clean["vias"].geometry.translate(-dx, -dy))
    pr = validate_project(write_gpkg(layers, tmp_path / "bad.gpkg"))
    blocking = pr[pr["bloqueante"]]
    assert (blocking["capa"] == "aiva").any() and blocking["problema"].str.contains("falta la capa").any()
    assert _rows(blocking, "pugs", "*", "uso_principal").shape[0] == 1
    assert _rows(blocking, "riesgo", "*", "fuera del DMQ").shape[0] == 1
    datum = _rows(blocking, "vias", "*", "PSAD56")
    assert len(datum) == 1
    zuae = pr[(pr["capa"] == "zuae")]
    assert zuae["problema"].str.contains("sistema de coordenadas").any() and not zuae["bloqueante"].any()
    # blocking problems first
    assert pr["bloqueante"].iloc[0]


def test_cp1252_shapefile_without_cpg_reported(clean, tmp_path):
    folder = tmp_path / "carpeta"
    folder.mkdir()
    zonal = clean["administraciones_zonales"].assign(nombre="Manuela Sáenz", nota="Peñaherrera")
    pyogrio.write_dataframe(zonal, folder / "administraciones_zonales.shp", encoding="cp1252")
    (folder / "administraciones_zonales.cpg").unlink()
    write_gpkg({k: clean[k] for k in ("predios", "pugs", "aiva")}, folder / "predios.gpkg")
    pyogrio.write_dataframe(clean["pugs"], folder / "pugs.gpkg", layer="pugs")
    pyogrio.write_dataframe(clean["aiva"], folder / "aiva.gpkg", layer="aiva")
    pr = validate_project(folder)
    enc = _rows(pr, "administraciones_zonales", "*", "codificación no declarada")
    assert len(enc) == 1 and "cp1252" in enc["accion"].iloc[0]
    from quitogeo.io import read_project

    layer = read_project(folder).layers["administraciones_zonales"]
    assert set(layer["nombre"]) == {"Manuela Sáenz"} and set(layer["nota"]) == {"Peñaherrera"}


def test_cli_validate_exit_codes(clean, faulty, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["validate", str(faulty[0])])
    assert ok.exit_code == 0, ok.output
    assert "duplicada" in ok.output
    js = runner.invoke(cli, ["validate", str(faulty[0]), "--json", "--csv", str(tmp_path / "p.csv")])
    assert js.exit_code == 0
    rows = json.loads(js.output)
    assert {"capa", "id", "problema", "accion", "correccion", "bloqueante"} <= set(rows[0])
    assert (tmp_path / "p.csv").read_text(encoding="utf-8").startswith("capa,id,problema")
    layers = {k: v for k, v in clean.items() if k != "predios"}
    bad = runner.invoke(cli, ["validate", str(write_gpkg(layers, tmp_path / "sin_predios.gpkg"))])
    assert bad.exit_code == 1
    assert "bloqueantes" in bad.output
    missing = runner.invoke(cli, ["validate", str(tmp_path / "no_existe.gpkg")])
    assert missing.exit_code == 1
    assert "Traceback" not in missing.output
