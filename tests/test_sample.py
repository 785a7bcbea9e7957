import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from quitogeo.cli.main import cli
from quitogeo.io import read_project
from quitogeo.io.crs import TM_QUITO
from quitogeo.rules import load_rules
from quitogeo.sample import (
    METRO_STATIONS,
    PLANTED_PROBLEMS,
    USO_NO_HOMOLOGADO,
    make_sample_project,
    planted_problems,
    write_sample_project,
)


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
    # unique but for the one planted duplicated pair (a cadastre repeats claves; the run keeps both rows)
    dup = predios.loc[predios["clave_catastral"].duplicated(keep=False), "clave_catastral"]
    planted = planted_problems(sample)
    assert dup.tolist() == planted.loc[planted["problema"] == "clave_duplicada", "clave_catastral"].tolist()
    assert len(dup) == 2
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
    # the planted bow tie is the one invalid lot (its shoelace area is meaningless); the rest are plausible
    bow = planted_problems(sample).query("problema == 'geometria_invalida'")["clave_catastral"]
    is_bow = sample["predios"]["clave_catastral"].isin(bow)
    assert is_bow.sum() == 1 and not sample["predios"].geometry[is_bow].is_valid.any()
    predios = sample["predios"][~is_bow]
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
    # every use code is homologated but the planted one
    unknown = [u for u in pugs["uso_principal"] if not rules.homologate_use(u)]
    assert unknown == [USO_NO_HOMOLOGADO]
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
    assert (aiva == 0).sum() == 1  # the planted zone without value
    assert aiva[aiva > 0].min() >= 100 and aiva.max() <= 1900
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


def test_planted_problems_are_a_fixed_handful():
    small = planted_problems(make_sample_project(60, seed=2))
    large = planted_problems(make_sample_project(6000))
    for planted in (small, large):
        # 7 problems on 8 rows (the duplicated clave names two lots), each on its own lot
        assert list(planted["problema"].unique()) == list(PLANTED_PROBLEMS)
        assert len(planted) == 8 and planted["clave_catastral"].nunique() == 7


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    """A 400-lot sample written and read back (read_project repairs and reports), validated and run."""
    from quitogeo.pipeline import run
    from quitogeo.validate import validate_project

    path = tmp_path_factory.mktemp("sembrado") / "m.gpkg"
    layers = make_sample_project(400, seed=11)
    write_sample_project(path, n_lotes=400, seed=11)
    return planted_problems(layers), validate_project(path), run(path), layers


def test_planted_problems_are_reported_not_blocking(planted_run):
    planted, problems, _, _ = planted_run
    assert not problems["bloqueante"].any()
    expected = {
        "fuera_de_pit": "fuera de ningún polígono PIT",
        "fuera_de_aiva": "fuera de ninguna zona AIVA",
        "aiva_cero": "valor AIVA no positivo",
        "uso_no_homologado": f"código de uso desconocido: '{USO_NO_HOMOLOGADO}'",
        "geometria_invalida": "geometría inválida (Self-intersection",
        "clave_duplicada": "clave_catastral duplicada (2 predios)",
    }
    for row in planted.itertuples():
        if row.problema == "sin_area_escritura":
            continue  # not a problem: the geometry gives the area
        hit = problems[(problems["capa"] == row.capa) & (problems["id"] == row.id)]
        assert hit["problema"].str.contains(expected[row.problema], regex=False).any(), row
    # nothing else: the rest of the sample is clean, so a warning elsewhere would be a generator bug
    assert len(problems) == len(planted) - 1


def test_run_keeps_every_lot_and_gives_planted_lots_their_estado(planted_run):
    planted, _, result, layers = planted_run
    p = result.predios
    assert len(p) == 400
    assert p["clave_catastral"].tolist() == layers["predios"]["clave_catastral"].tolist()
    by_key = planted.drop_duplicates("clave_catastral").set_index("clave_catastral")
    for clave, row in by_key.iterrows():
        estados = p.loc[p["clave_catastral"] == clave, "estado"]
        assert (estados == row["estado_esperado"]).all(), (clave, row["problema"], estados.tolist())
    # the planted lots are the only ones not ok (the PIT/AIVA gaps leave their neighbours covered)
    not_ok = set(p.loc[p["estado"] != "ok", "clave_catastral"])
    assert not_ok == set(by_key.index[by_key["estado_esperado"] != "ok"])
    assert len(not_ok) == 4  # outside PIT, outside AIVA, AIVA 0, unknown use
    both = p[p["clave_catastral"] == by_key.index[by_key["problema"] == "clave_duplicada"][0]]
    assert len(both) == 2 and both["cod"].notna().all()  # two rows, each priced on its own
    deed = p[p["clave_catastral"] == by_key.index[by_key["problema"] == "sin_area_escritura"][0]]
    assert deed["area_fuente"].tolist() == ["geometria"]
    bow = p[p["clave_catastral"] == by_key.index[by_key["problema"] == "geometria_invalida"][0]]
    assert bow.geometry.is_valid.all() and bow.geometry.geom_type.tolist() == ["MultiPolygon"]  # repaired


def test_embedded_sample_carries_the_documented_problems():
    """data/muestra_quito.gpkg is the default sample: its warnings are exactly the planted ones."""
    planted = planted_problems(make_sample_project())
    problems = read_project().problems
    assert not problems["bloqueante"].any()
    reported = set(zip(problems["capa"], problems["id"], strict=True))
    assert reported == set(zip(planted["capa"], planted["id"], strict=True)) - {
        ("predios", planted.loc[planted["problema"] == "sin_area_escritura", "id"].iloc[0])
    }


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
