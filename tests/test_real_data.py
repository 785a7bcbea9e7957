"""Real public Quito layers (../shared/data/quito_real): skipped with a reason when that folder is absent."""

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from quitogeo.io import read_project
from quitogeo.io.crs import TM_QUITO, is_tm_quito, psad56_shift, to_tm_quito
from quitogeo.io.rasters import sample_raster, zonal_stats
from quitogeo.sample import METRO_STATIONS
from quitogeo.validate import validate_project

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "quito_real"
pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(not REAL.exists(), reason=f"sin datos reales de Quito en {REAL} (clon limpio)"),
]


def test_limite_dmq_arcgis_quitow84_area():
    info = pyogrio.read_info(REAL / "limite_dmq" / "limite_dmq.shp")
    assert is_tm_quito(info["crs"])
    limite = to_tm_quito(gpd.read_file(REAL / "limite_dmq" / "limite_dmq.shp"))
    assert limite.crs is TM_QUITO or limite.crs.equals(TM_QUITO)
    assert limite.area.sum() / 1e6 == pytest.approx(4231, rel=0.01)


def _toml_project(tmp_path, extra=""):
    (tmp_path / "quitogeo.toml").write_text(
        f'[layers.administraciones_zonales]\nsource = "{REAL / "administraciones_zonales.geojson"}"\n'
        'columns = { nombre = "zonal" }\n'
        f'[layers.estaciones]\nsource = "{REAL / "metro_estaciones.geojson"}"\n'
        'columns = { nombre = "name" }\n' + extra,
        encoding="utf-8",
    )
    return tmp_path / "quitogeo.toml"


def test_invalid_eugenio_espejo_repaired_and_reported(tmp_path):
    project = read_project(_toml_project(tmp_path))
    zonal = project.layers["administraciones_zonales"]
    assert zonal.is_valid.all()
    problems = project.problems
    row = problems[(problems["capa"] == "administraciones_zonales") & (problems["id"] == "Eugenio Espejo")]
    assert row["problema"].str.contains("inválida").any()
    # "Manuela Saenz" is spelt as in the rules' IR table.
    assert "Manuela Sáenz" in set(zonal["nombre"])


def test_metro_stations_inside_dmq():
    limite = to_tm_quito(gpd.read_file(REAL / "limite_dmq" / "limite_dmq.shp")).union_all()
    est = to_tm_quito(gpd.read_file(REAL / "metro_estaciones.geojson"))
    assert len(est) == 15
    assert est.within(limite).all()
    # The generator's hard-coded positions are the same stations.
    names = {n.removeprefix("Estación ").lower() for n in est["name"]}
    assert {s[0].lower() for s in METRO_STATIONS} == names


def test_dem_plaza_grande():
    plaza = to_tm_quito(gpd.GeoDataFrame(geometry=[shapely.Point(-78.5123, -0.2201)], crs=4326))
    value = sample_raster(plaza.geometry, REAL / "dem_dmq_185m.tif")[0]
    assert 2800 <= value <= 2850
    lot = gpd.GeoSeries([plaza.geometry.iloc[0].buffer(40)], crs=TM_QUITO)
    assert 2780 <= zonal_stats(lot, REAL / "dem_dmq_185m.tif").iloc[0] <= 2870


def test_psad56_mislabelled_layer_reported(tmp_path):
    # Administraciones zonales rewritten in PSAD56 TM-Quito coordinates but labelled as TM-Quito WGS84,
    # checked
    # against the correct ones as the cadastre (the reference layer of a project).
    zonal = to_tm_quito(gpd.read_file(REAL / "administraciones_zonales.geojson"))
    zonal = zonal.assign(geometry=shapely.make_valid(zonal.geometry.to_numpy()))
    dx, dy = psad56_shift(*zonal.union_all().centroid.coords[0])
    wrong = zonal.assign(geometry=zonal.geometry.translate(-dx, -dy))
    lots = zonal.rename(columns={"zonal": "clave_catastral"})[["clave_catastral", "geometry"]]
    pugs = wrong.assign(codigo_pit=wrong["zonal"], uso_principal="R2")[
        ["codigo_pit", "uso_principal", "geometry"]
    ]
    path = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(lots, path, layer="predios")
    pyogrio.write_dataframe(pugs, path, layer="pugs")
    problems = validate_project(path)
    datum = problems[(problems["capa"] == "pugs") & problems["problema"].str.contains("PSAD56")]
    assert len(datum) == 1 and datum["bloqueante"].all()
    shift = (dx**2 + dy**2) ** 0.5
    assert 250 < shift < 550  # normativa §5 says ~250–300 m; its Helmert parameters give ~480 m here


def test_layer_outside_dmq_reported(tmp_path):
    # The parroquias in degrees, declared as TM-Quito: outside the district.
    toml = _toml_project(
        tmp_path,
        f'[layers.planes_especiales]\nsource = "{REAL / "parroquias_osm.geojson"}"\ncrs = "tm_quito"\n'
        'columns = { nombre = "zonal" }\n',
    )
    problems = validate_project(toml)
    row = problems[
        (problems["capa"] == "planes_especiales") & problems["problema"].str.contains("fuera del DMQ")
    ]
    assert len(row) == 1 and "grados" in row["correccion"].iloc[0]
