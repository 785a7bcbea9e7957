import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from quitogeo.cli.main import cli
from quitogeo.io import read_project
from quitogeo.io.crs import TM_QUITO
from quitogeo.rules import load_rules
from quitogeo.sample import METRO_STATIONS, make_sample_project


@pytest.fixture(scope="module")
def sample():
    return make_sample_project(1500, seed=3)


def test_same_seed_identical_layers():
    a = make_sample_project(400, seed=42)
    b = make_sample_project(400, seed=42)
    assert list(a) == list(b)
    for name in a:
        fa, fb = a[name], b[name]
        assert fa.drop(columns="geometry").equals(fb.drop(columns="geometry")), name
        assert (
            shapely.to_wkb(fa.geometry.to_numpy()).tolist() == shapely.to_wkb(fb.geometry.to_numpy()).tolist()
        )
    c = make_sample_project(400, seed=43)
    assert not a["predios"]["avaluo_terreno"].equals(c["predios"]["avaluo_terreno"])


def test_exact_lot_count_and_contract(sample):
    predios = sample["predios"]
    assert len(predios) == 1500
    assert predios["clave_catastral"].is_unique
    assert predios["clave_catastral"].str.len().eq(10).all()
    for frame in sample.values():
        assert frame.crs.equals(TM_QUITO)
    expected = {
        "predios",
        "pugs",
        "aiva",
        "zuae",
        "vias",
        "estaciones",
        "riesgo",
        "planes_especiales",
        "administraciones_zonales",
        "proyectos_especiales",
        "puos",
    }
    assert set(sample) == expected


def test_lots_plausible(sample):
    predios = sample["predios"]
    area = predios.area
    assert area.min() > 140 and area.max() < 3500
    assert predios.geometry.is_valid.all()
    # Lots do not overlap one another (shared edges only).
    left, right = predios.sindex.query(predios.geometry.to_numpy(), predicate="intersects")
    pair = left < right
    inter = shapely.area(
        shapely.intersection(
            predios.geometry.to_numpy()[left[pair]], predios.geometry.to_numpy()[right[pair]]
        )
    )
    assert inter.max() < 0.01
    # Deeds close to the geometry, some missing (geometry fallback).
    ratio = predios["area_escritura"] / area
    assert ratio.dropna().between(0.9, 1.1).all()
    assert predios["area_escritura"].isna().any()
    assert (predios["pisos_existentes"] == 0).any() and (predios["pisos_existentes"] > 0).any()
    assert set(predios["regimen"]) == {"unipropiedad", "propiedad_horizontal"}


def test_lots_straddle_pits_and_aivas(sample):
    predios = sample["predios"].geometry.to_numpy()
    for layer in ("pugs", "aiva"):
        zones = sample[layer]
        lot, _ = zones.sindex.query(predios, predicate="overlaps")
        assert len(np.unique(lot)) > 10, layer


def test_streets_and_codes(sample):
    rules = load_rules()
    vias = sample["vias"]
    widths = set(vias["ancho_m"])
    assert {8.0, 10.0, 12.0, 30.0} <= widths
    assert any(w < 8 for w in widths)  # pasajes
    assert vias["sin_continuidad"].any()
    names = " ".join(vias["nombre"])
    assert "ñ" in names and "á" in names
    pugs = sample["pugs"]
    assert all(rules.homologate_use(u) for u in pugs["uso_principal"])
    assert (
        pugs["uso_principal"]
        .isin(
            [
                "RU1",
                "RU2",
                "RU3",
                "Residencial urbano 1",
                "Residencial urbano 2",
                "Residencial urbano 3",
                "Múltiple",
                "EQ",
                "IMI",
                "IAI",
            ]
        )
        .any()
    )
    aiva = sample["aiva"]["valor_m2"]
    assert aiva.min() >= 100 and aiva.max() <= 1900
    zonales = set(sample["administraciones_zonales"]["nombre"])
    assert zonales <= set(rules["ir"]["por_administracion_zonal"])
    est = sample["estaciones"]
    assert (est["sistema"] == "metro").sum() == len(METRO_STATIONS) == 15
    assert (est["sistema"] == "cet").sum() > 0
    assert set(sample["riesgo"]["categoria"]) == {"no_mitigable", "mitigable"}


def test_embedded_sample_validates():
    project = read_project()
    assert not project.problems["bloqueante"].any()
    assert 3000 <= len(project.layers["predios"]) <= 5000


def test_cli_sample_refuses_overwrite(tmp_path):
    runner = CliRunner()
    out = tmp_path / "m.gpkg"
    first = runner.invoke(cli, ["sample", "--lotes", "200", "--seed", "1", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert out.exists()
    again = runner.invoke(cli, ["sample", "--lotes", "200", "--out", str(out)])
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    forced = runner.invoke(cli, ["sample", "--lotes", "200", "--out", str(out), "--overwrite"])
    assert forced.exit_code == 0
    assert len(read_project(out).layers["predios"]) == 200
