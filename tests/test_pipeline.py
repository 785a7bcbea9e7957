"""The run: stages callable one by one, chunking, integrity, missing layers, scenarios, GeoPackage I/O."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from quitogeo.errors import DataIntegrityError, OutputExistsError
from quitogeo.export.gpkg import read_results, write_results
from quitogeo.io.crs import TM_QUITO
from quitogeo.pipeline import OUTPUT_COLUMNS, check_integrity, compact_text, prepare, process_lots, run
from quitogeo.rules import load_rules
from quitogeo.testing import assert_cod_matches_calc, assert_lots_preserved, golden_layers, make_project

RULES = load_rules()


@pytest.fixture(scope="module")
def golden():
    return make_project(golden_layers())


@pytest.fixture(scope="module")
def result(golden):
    return run(golden, rules=RULES)


def test_chunks_give_the_same_rows_as_one_pass(golden) -> None:
    ctx = prepare(golden.layers, rules=RULES)
    lots = golden.layers["predios"]
    whole = process_lots(lots, ctx)
    # chunks' categoricals differ (each has its own values): concatenated they are object, and compact_text
    # (what the dask backend applies) gives the whole-frame categoricals back
    parts = compact_text(pd.concat([process_lots(lots.iloc[i : i + 5], ctx) for i in range(0, len(lots), 5)]))
    pd.testing.assert_frame_equal(whole, parts)
    assert isinstance(whole["estado"].dtype, pd.CategoricalDtype)
    assert whole["clave_catastral"].dtype == object


def test_integrity_check_refuses_lost_lots(golden, result) -> None:
    lots = golden.layers["predios"]
    with pytest.raises(DataIntegrityError):
        check_integrity(lots, result.predios.iloc[:-1])
    shuffled = result.predios.copy()
    shuffled["clave_catastral"] = shuffled["clave_catastral"].iloc[::-1].to_numpy()
    with pytest.raises(DataIntegrityError):
        check_integrity(lots, shuffled)


def test_missing_optional_layers_give_null_not_eligible() -> None:
    layers = {k: v for k, v in golden_layers().items() if k in ("predios", "pugs", "aiva")}
    res = run(make_project(layers), rules=RULES)
    p = res.predios
    assert p["en_zuae"].isna().all() and p["elegible_zuae"].isna().sum() > 0
    assert not p["elegible_zuae"].fillna(False).any()
    assert not p["elegible_ecoeficiencia"].fillna(False).any()
    assert p["motivos_zuae"].str.contains("sin dato: capa zuae ausente").all()
    assert p["motivos_cos_pb"].str.contains("sin dato: capa vias ausente").all()
    # COD under pugs_maxima needs no optional layer: same cents as the full golden run
    full = run(make_project(golden_layers()), rules=RULES).predios
    assert p["cod_centavos"].equals(full["cod_centavos"])


def test_lot_without_geometry_is_kept_with_estado() -> None:
    layers = golden_layers()
    lots = layers["predios"].copy()
    lots.loc[len(lots)] = {
        "clave_catastral": "L13",
        "parroquia": "Iñaquito",
        "administracion_zonal": "Eugenio Espejo",
        "area_escritura": np.nan,
        "geometry": None,
    }
    layers["predios"] = lots
    res = run(make_project(layers), rules=RULES)
    assert_lots_preserved(lots, res.predios)
    row = res.predios.set_index("clave_catastral").loc["L13"]
    assert pd.isna(row["cod"]) and "sin geometría" in row["estado"]


@pytest.mark.parametrize(
    ("escenario", "expected"),
    [
        # zuae_2_pisos: Ae = 2 × 50 % × area for ZUAE-eligible lots: L02 2 × 0.5 × 1180 = 1180; L06 2 × 0.35
        # × 1200 = 840
        ("zuae_2_pisos", {"L02": 1180.0, "L06": 840.0, "L10": 1080.0, "L01": 0.0}),
        # ecoeficiencia_90: floors (Metro 100 % of 4 = 4 for L02; CET 50 % of 6 = 3 for L11) × COS PB × area
        ("ecoeficiencia_90", {"L02": 4 * 0.5 * 1180, "L11": 3 * 0.4 * 1500, "L01": 0.0}),
    ],
)
def test_scenarios_price_their_buildability(golden, escenario, expected) -> None:
    p = run(golden, rules=RULES, escenario=escenario).predios.set_index("clave_catastral")
    for clave, ae in expected.items():
        assert p.loc[clave, "ae_m2"] == pytest.approx(ae), clave
    assert (p["escenario"] == escenario).all()
    # a lot priced at Ae = 0 owes nothing
    assert p.loc["L01", "cod"] == 0.0


def test_cod_matches_compute_cod_in_another_scenario(golden) -> None:
    p = run(golden, rules=RULES, escenario="zuae_2_pisos").predios
    assert assert_cod_matches_calc(p, rules=RULES) > 0


def test_write_read_roundtrip_and_crs(result, tmp_path: Path) -> None:
    paths = write_results(result, tmp_path)
    assert paths["resultados"].name == "resultados.gpkg" and paths["resumen"].is_file()
    assert sorted(str(r[0]) for r in pyogrio.list_layers(paths["resultados"])) == [
        "metadatos",
        "predios_resultado",
        "problemas",
        "resumen",
    ]
    info = pyogrio.read_info(paths["resultados"], layer="predios_resultado")
    assert info["features"] == 12
    back = read_results(tmp_path)
    assert back.predios.crs.equals(TM_QUITO)
    assert set(OUTPUT_COLUMNS) <= set(back.predios.columns)
    pd.testing.assert_series_equal(
        back.predios["cod_centavos"], result.predios["cod_centavos"].reset_index(drop=True)
    )
    pd.testing.assert_series_equal(
        back.predios["elegible_zuae"], result.predios["elegible_zuae"].reset_index(drop=True)
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "resultados.gpkg", tmp_path / "resumen.csv"] or sorted(
        p.name for p in tmp_path.iterdir()
    ) == ["resultados.gpkg", "resumen.csv"]  # no temp files left
    csv = pd.read_csv(paths["resumen"], encoding="utf-8-sig")
    assert list(csv.columns) == list(result.resumen.columns)


def test_write_refuses_to_overwrite(result, tmp_path: Path) -> None:
    write_results(result, tmp_path)
    before = (tmp_path / "resultados.gpkg").stat().st_mtime_ns
    with pytest.raises(OutputExistsError):
        write_results(result, tmp_path)
    assert (tmp_path / "resultados.gpkg").stat().st_mtime_ns == before
    write_results(result, tmp_path, overwrite=True)


def test_ogrinfo_reads_the_output(result, tmp_path: Path) -> None:
    exe = shutil.which("ogrinfo")
    if exe is None:
        pytest.skip("GDAL's ogrinfo is not installed on this machine (pyogrio's GDAL is checked above)")
    paths = write_results(result, tmp_path)
    out = subprocess.run(
        [exe, "-so", str(paths["resultados"]), "predios_resultado"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Feature Count: 12" in out
    # GDAL writes WKT1 ("Transverse_Mercator") or WKT2 ("Transverse Mercator") depending on its version; the
    # parameters that make it TM-Quito are what matter.
    assert "Transverse Mercator" in out.replace("_", " ")
    assert "1.0004584" in out and "-78.5" in out and "500000" in out and "10000000" in out


def test_progress_bar_runs(golden, capsys) -> None:
    res = run(golden, rules=RULES, progress=True)
    assert len(res.predios) == 12
    assert "quitogeo run" in capsys.readouterr().err


SAMPLE = Path(__file__).resolve().parents[1] / "data" / "muestra_quito.gpkg"


@pytest.mark.skipif(not SAMPLE.exists(), reason="data/muestra_quito.gpkg (sample project) not generated yet")
def test_sample_project_run_cod_matches_calc() -> None:
    res = run(rules=RULES)
    p = res.predios
    from quitogeo.io import read_project

    lots = read_project(rules=RULES).layers["predios"]
    assert_lots_preserved(lots, p)
    assert assert_cod_matches_calc(p, rules=RULES, sample=40) == 40
