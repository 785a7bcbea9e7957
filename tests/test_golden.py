"""Golden project: twelve hand-built lots, every expected value worked by hand (tests/golden/README.md)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quitogeo.pipeline import OUTPUT_COLUMNS, run
from quitogeo.rules import load_rules
from quitogeo.testing import assert_cod_matches_calc, assert_lots_preserved, golden_layers, make_project

GOLDEN = Path(__file__).parent / "golden" / "expected.csv"
BOOL_COLS = (
    "en_zuae",
    "frente_sin_continuidad",
    "riesgo_no_mitigable",
    "en_plan_especial",
    "elegible_zuae",
    "elegible_cos_pb",
    "elegible_ecoeficiencia",
)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    # through the real reader: layers written to a GeoPackage and read back with read_project
    path = tmp_path_factory.mktemp("golden") / "golden.gpkg"
    return run(make_project(golden_layers(), path=path))


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(GOLDEN, dtype=str, keep_default_na=False).set_index("clave_catastral")


def _rows(result):
    return result.predios.set_index("clave_catastral")


def test_every_lot_once_with_the_contract_columns(result) -> None:
    assert_lots_preserved(golden_layers()["predios"], result.predios)
    assert len(result.predios) == 12
    missing = [c for c in OUTPUT_COLUMNS if c not in result.predios.columns]
    assert not missing


@pytest.mark.parametrize("clave", [f"L{i:02d}" for i in range(1, 13)])
def test_golden_row(result, expected: pd.DataFrame, clave: str) -> None:
    got = _rows(result).loc[clave]
    exp = expected.loc[clave]
    for col in (
        "codigo_pit",
        "uso_principal",
        "area_fuente",
        "aiva_codigos",
        "influencia",
        "vias_frente_ids",
        "estado",
    ):
        value = got[col]
        assert ("" if pd.isna(value) else str(value)) == exp[col], col
    for col in (
        "pit_fraccion",
        "area_m2",
        "aiva_valor",
        "min_ancho_frente_m",
        "ae_m2",
        "ic",
        "beta",
        "vs",
        "cod",
    ):
        if exp[col] == "":
            assert pd.isna(got[col]), col
        else:
            assert math.isclose(float(got[col]), float(exp[col]), rel_tol=0, abs_tol=1e-6), col
    for col in BOOL_COLS:
        assert bool(got[col]) == (exp[col] == "true"), col
    for col in ("n_vias_frente", "pisos_adicionales_max", "beta_fila", "beta_columna"):
        if exp[col] == "":
            assert pd.isna(got[col]), col
        else:
            assert int(got[col]) == int(exp[col]), col
    if exp["cod"]:
        assert int(got["cod_centavos"]) == round(float(exp["cod"]) * 100)
    for sec, col in (("zuae", "motivo_zuae"), ("cos_pb", "motivo_cos_pb"), ("eco", "motivo_eco")):
        text = got[f"motivos_{sec}"]
        if exp[col] == "":
            assert text == "", (sec, text)
        else:
            assert exp[col] in text, (sec, text)


def test_motivos_empty_only_when_eligible_everywhere(result) -> None:
    p = result.predios
    all_ok = p["elegible_zuae"] & p["elegible_cos_pb"] & p["elegible_ecoeficiencia"]
    assert ((p["motivos"] == "") == all_ok.fillna(False)).all()
    l01 = _rows(result).loc["L01", "motivos"]
    assert l01.startswith("ZUAE: ") and "; COS PB: " in l01 and "; Eco: " in l01


def test_cod_equals_compute_cod_for_every_priced_lot(result) -> None:
    assert assert_cod_matches_calc(result.predios, rules=load_rules()) == 11


def test_running_twice_gives_identical_results(result, tmp_path: Path) -> None:
    again = run(make_project(golden_layers(), path=tmp_path / "g.gpkg"))
    pd.testing.assert_frame_equal(
        result.predios.drop(columns="geometry"), again.predios.drop(columns="geometry")
    )
    assert result.predios.geometry.geom_equals_exact(again.predios.geometry, tolerance=0).all()
    pd.testing.assert_frame_equal(result.resumen, again.resumen)


def test_resumen_totals(result) -> None:
    res = result.resumen
    total = res[res["agrupacion"] == "total"].iloc[0]
    # 24840 + 39081.60 + 11592 + 26496 + 33120 + 5544 + 29808 + 48384 + 39744 + 43545.60 + 33120 = 335275.20
    assert total["cod_potencial"] == pytest.approx(335275.20, abs=1e-9)
    assert total["n_predios"] == 12 and total["n_con_cod"] == 11
    bands = res[res["agrupacion"] == "banda_aiva"].set_index("grupo")
    # AIVA ≥ 500: L08 48384 + L10 43545.60
    assert bands.loc["AIVA ≥ 500", "cod_potencial"] == pytest.approx(91929.60, abs=1e-9)
    for dim in ("administracion_zonal", "parroquia", "banda_aiva"):
        part = res[res["agrupacion"] == dim]
        assert part["n_predios"].sum() == 12
        assert np.isclose(part["cod_potencial"].sum(), 335275.20)


def test_problems_and_metadata(result) -> None:
    prob = result.problemas
    assert {"capa", "id", "problema", "accion", "correccion", "bloqueante"} <= set(prob.columns)
    assert "L12" in set(prob["id"])
    meta = result.meta()
    assert meta["reglas_version"] == "quito-2024.1"
    assert meta["reglas_verificado"] == "False"
    assert meta["escenario"] == "pugs_maxima"
    assert meta["n_predios"] == "12"
    assert {"sha256_predios", "sha256_pugs", "sha256_aiva", "sha256_vias"} <= set(meta)
