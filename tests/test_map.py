"""The recaudación web map (quitogeo.export.map) on synthetic results, without a browser.

The browser checks (console errors, layer control, legend, popup) are in test_browser_map.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from quitogeo.cli.main import cli
from quitogeo.errors import LayerError, OutputExistsError
from quitogeo.export.map import (
    CAPAS_TEMATICAS,
    make_map,
    reglas_verificadas,
    totales_por_administracion,
)
from quitogeo.io.crs import TM_QUITO

TM = TM_QUITO
X0, Y0 = 498_000.0, 9_975_000.0  # central Quito


def synthetic_results(n: int = 24, *, seed: int = 0, side: float = 20.0) -> gpd.GeoDataFrame:
    """A predios_resultado-like frame of n square lots on a grid, with the layers.md output columns."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x = X0 + (i % cols) * (side + 5)
    y = Y0 + (i // cols) * (side + 5)
    geoms = shapely.box(x, y, x + side, y + side)
    el_zuae = rng.random(n) < 0.4
    el_cos = rng.random(n) < 0.5
    el_eco = pd.array(rng.random(n) < 0.3, dtype="boolean")
    el_eco[n - 1] = pd.NA  # one lot without the needed layer: "sin dato"
    ae = np.where(el_zuae | el_cos, rng.uniform(50, 800, n).round(1), 0.0)
    cod = np.round(ae * rng.uniform(20, 90, n), 2)
    motivos = np.where(el_zuae | el_cos, "", "área menor que 400 m²; vía de frente menor que 12 m")
    return gpd.GeoDataFrame(
        {
            "clave_catastral": [f"{100200300 + k:010d}" for k in i],
            "area_m2": np.full(n, side * side),
            "area_fuente": "geometria",
            "codigo_pit": np.where(i % 2 == 0, "PIT-RU2", "PIT-M"),
            "uso_principal": np.where(i % 2 == 0, "RU2", "M"),
            "aiva_valor": rng.choice([95.0, 240.0, 610.0], n),
            "en_zuae": el_zuae,
            "influencia": np.where(i % 3 == 0, "metro", "ninguna"),
            "influencia_fuente": "capa",
            "n_vias_frente": (i % 3).astype(np.int64),
            "min_ancho_frente_m": np.where(i % 3 == 0, np.nan, 14.0),
            "frente_sin_continuidad": False,
            "riesgo_no_mitigable": False,
            "en_plan_especial": False,
            "elegible_zuae": el_zuae,
            "elegible_cos_pb": el_cos,
            "elegible_ecoeficiencia": el_eco,
            "pisos_adicionales_max": np.where(el_eco.fillna(False), 4, 0),
            "motivos": motivos,
            "ae_m2": ae,
            "ic": ae / (side * side),
            "beta": 0.23,
            "cod": cod,
            "cod_centavos": np.round(cod * 100).astype(np.int64),
            "estado": "ok",
            "parroquia": "Iñaquito",
            "vias_frente_nombres": np.where(i % 3 == 0, "", "Av. Amazonas"),
            "vias_frente_anchos": np.where(i % 3 == 0, "", "14"),
            "motivos_zuae": np.where(el_zuae, "", "fuera de ZUAE"),
            "administracion_zonal": np.where(i < n // 2, "Eugenio Espejo", "Manuela Sáenz"),
        },
        geometry=geoms,
        crs=TM,
    )


def synthetic_context() -> dict[str, gpd.GeoDataFrame]:
    """Context layers over the synthetic lots: one metro station, its area, a ZUAE and two AIVA."""
    area = shapely.box(X0 - 20, Y0 - 20, X0 + 200, Y0 + 200)
    return {
        "estaciones": gpd.GeoDataFrame(
            {"nombre": ["La Carolina"], "sistema": ["metro"]},
            geometry=[shapely.Point(X0 + 60, Y0 + 60)],
            crs=TM,
        ),
        "areas_influencia": gpd.GeoDataFrame(
            {"sistema": ["metro"], "nombre": ["La Carolina"]},
            geometry=[shapely.Point(X0 + 60, Y0 + 60).buffer(100)],
            crs=TM,
        ),
        "zuae": gpd.GeoDataFrame(
            {"codigo_zuae": ["Z1"], "nombre": ["Eje Amazonas"]},
            geometry=[shapely.box(X0, Y0, X0 + 60, Y0 + 60)],
            crs=TM,
        ),
        "aiva": gpd.GeoDataFrame(
            {"codigo_aiva": ["A1", "A2"], "valor_m2": [95.0, 610.0]},
            geometry=[
                shapely.box(X0 - 20, Y0 - 20, X0 + 90, Y0 + 200),
                shapely.box(X0 + 90, Y0 - 20, X0 + 200, Y0 + 200),
            ],
            crs=TM,
        ),
        "limite": gpd.GeoDataFrame(geometry=[area], crs=TM),
    }


def map_data(page: str) -> dict:
    """The data object the page embeds (var quitogeo = … D = {...})."""
    match = re.search(r"var D = (\{.*?\});\n", page, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_writes_one_self_contained_html(tmp_path: Path) -> None:
    out = make_map(
        synthetic_results(), out=tmp_path / "mapa.html", project=synthetic_context(), rules_verificado=False
    )
    assert out == tmp_path / "mapa.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mapa.html"]
    page = out.read_text(encoding="utf-8")
    # no script, stylesheet or image from the network; Leaflet is inlined
    # (an <a href> to leafletjs.com in the attribution is a link, not a fetched resource)
    assert not re.search(r"""<(script|link|img|iframe)\b[^>]*(src|href)=["']?(https?:)?//""", page)
    assert 'version="1.9.4"' in page or "1.9.4" in page
    assert "url(images/" not in page  # CSS images are data URIs
    for name in [*CAPAS_TEMATICAS, "Áreas de influencia Metro/CET", "ZUAE", "Bandas AIVA"]:
        assert json.dumps(name)[1:-1] in page or name in page, name
    assert "Reglas no verificadas" in page


def test_popup_data_for_every_lot(tmp_path: Path) -> None:
    results = synthetic_results()
    page = make_map(results, out=tmp_path / "m.html", rules_verificado=True).read_text(encoding="utf-8")
    data = map_data(page)
    assert data["modo"] == "predios"
    assert len(data["geom"]) == len(results)
    cols = data["cols"]
    assert cols["clave"] == results["clave_catastral"].tolist()  # leading zeros kept, input order
    assert cols["cod"] == pytest.approx(results["cod"].tolist())
    assert cols["el_eco"][-1] is None  # "sin dato", not False
    for key in (
        "area",
        "pit",
        "uso",
        "aiva",
        "n_vias",
        "ancho",
        "el_zuae",
        "el_cos",
        "motivos",
        "ae",
        "beta",
    ):
        assert key in cols, key
    # verified rules: no banner
    assert "id='qg-aviso-reglas'" not in page and "Reglas no verificadas" not in page
    # coordinates in EPSG:4326 near Quito, rounded to 6 decimals
    lon, lat = data["geom"][0]["coordinates"][0][0]
    assert -78.6 < lon < -78.4 and -0.3 < lat < -0.1
    assert len(str(lon).split(".")[1]) <= 6


def test_cod_classes_in_legend(tmp_path: Path) -> None:
    results = synthetic_results(40)
    page = make_map(results, out=tmp_path / "m.html").read_text(encoding="utf-8")
    data = map_data(page)
    clase = np.array(data["cols"]["clase"])
    cod = results["cod"].to_numpy()
    assert (clase[cod == 0] == 0).all()
    assert (clase[cod > 0] >= 1).all()
    # classes are ordered: a lot with more COD is never in a lower class
    order = np.argsort(cod)
    assert (np.diff(clase[order]) >= 0).all()
    assert "Sin COD" in page and "USD\u00a0" in page  # quitogeo.formatting's money convention
    # banner when verificado is not recorded
    assert "Reglas no verificadas" in page


@pytest.mark.parametrize("exact_cents", [True, False])
def test_totals_by_administracion_zonal(exact_cents: bool) -> None:
    results = synthetic_results(10)
    if not exact_cents:  # a results layer without cod_centavos: sums from cod
        results = results.drop(columns="cod_centavos")
    totals = totales_por_administracion(results)
    assert totals["administracion_zonal"].tolist()[-1] == "Total"
    espejo = totals.set_index("administracion_zonal").loc["Eugenio Espejo"]
    first5 = results.iloc[:5]  # lots 0-4 are Eugenio Espejo (i < n // 2)
    assert espejo["n_predios"] == 5
    assert espejo["cod_potencial"] == pytest.approx(first5["cod"].sum())
    assert espejo["elegibles_zuae"] == first5["elegible_zuae"].sum()
    assert espejo["elegibles_ecoeficiencia"] == first5["elegible_ecoeficiencia"].fillna(False).sum()
    assert totals.iloc[-1]["cod_potencial"] == pytest.approx(results["cod"].sum())
    assert totals.iloc[-1]["n_predios"] == 10


def test_large_runs_are_aggregated_in_cells(tmp_path: Path) -> None:
    # 400 lots of 20 m every 25 m: a 500 m × 500 m block → 4 cells of 250 m with 100 lots each
    results = synthetic_results(400)
    page = make_map(results, out=tmp_path / "m.html", max_lotes=100, celda_m=250.0).read_text(
        encoding="utf-8"
    )
    data = map_data(page)
    assert data["modo"] == "celdas"
    assert data["cols"]["n"] == [100, 100, 100, 100]
    assert sum(data["cols"]["cod"]) == pytest.approx(results["cod"].sum())
    assert "agregados en 4 celdas" in page


def test_metadatos_flag() -> None:
    assert reglas_verificadas(pd.DataFrame({"clave": ["reglas_verificado"], "valor": ["False"]})) is False
    assert reglas_verificadas(pd.DataFrame({"reglas_verificado": [True], "reglas_version": ["x"]})) is True
    assert reglas_verificadas(None) is None


def test_refuses_bad_input_and_overwrite(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="elegible_zuae"):
        make_map(synthetic_results().drop(columns="elegible_zuae"), out=tmp_path / "x.html")
    out = make_map(synthetic_results(), out=tmp_path / "m.html")
    with pytest.raises(OutputExistsError):
        make_map(synthetic_results(), out=out)
    assert make_map(synthetic_results(), out=out, overwrite=True) == out


def test_cli_map_from_results_gpkg(tmp_path: Path) -> None:
    from quitogeo.export.gpkg import write_results
    from quitogeo.pipeline import RunResult
    from quitogeo.rules import load_rules
    from quitogeo.summary import resumen

    predios = synthetic_results()
    rules = load_rules()
    result = RunResult(
        predios=predios,
        resumen=resumen(predios, rules=rules),
        problemas=pd.DataFrame(
            {
                "capa": ["predios"],
                "id": ["x"],
                "problema": ["p"],
                "accion": ["a"],
                "correccion": ["c"],
                "bloqueante": [False],
            }
        ),
        metadatos=pd.DataFrame(
            {"clave": ["reglas_verificado", "reglas_version"], "valor": ["False", "quito-2024.1"]}
        ),
    )
    gpkg = write_results(result, tmp_path)["resultados"]
    runner = CliRunner()
    # without the project: the map says which context layers are missing
    result_cli = runner.invoke(cli, ["map", str(gpkg)])
    assert result_cli.exit_code == 0, result_cli.output
    page = (tmp_path / "mapa_recaudacion.html").read_text(encoding="utf-8")
    assert "Reglas no verificadas" in page and "Capas de contexto no disponibles" in page
    again = runner.invoke(cli, ["map", str(gpkg)])
    assert again.exit_code == 1 and "--overwrite" in again.output
    missing = runner.invoke(cli, ["map", str(tmp_path / "no.gpkg")])
    assert missing.exit_code != 0


@pytest.mark.slow
def test_cli_map_on_the_sample_run(tmp_path: Path) -> None:
    """Acceptance: `quitogeo map` on the sample's results writes one HTML file (with its context layers)."""
    from quitogeo.export.gpkg import write_results
    from quitogeo.io import read_project, sample_project_path
    from quitogeo.pipeline import run

    if not sample_project_path().is_file():
        pytest.skip(f"no está el proyecto de muestra {sample_project_path()}")
    gpkg = write_results(run(read_project()), tmp_path / "salida")["resultados"]
    out = tmp_path / "mapa" / "mapa.html"
    result = CliRunner().invoke(
        cli, ["map", str(gpkg), "--out", str(out), "--project", str(sample_project_path())]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["mapa.html"]
    page = out.read_text(encoding="utf-8")
    assert len(map_data(page)["geom"]) == len(read_project().layers["predios"])
    assert "Reglas no verificadas" in page  # the packaged rules have verificado = false
    # issue 6: the totals panel splits potential recaudación by ámbito, and every lot carries its ámbito
    assert "Por ámbito aplicado (PUOS → PUGS" in page
    data = map_data(page)
    assert {"ambitos", "amb_apl", "ir", "ir_fuente", "cod_amb"} <= set(data["cols"])
