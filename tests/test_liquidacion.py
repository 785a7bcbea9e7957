"""COD liquidación: amounts equal ``compute_cod`` to the cent, payment plans, HTML/PDF/JSON and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from quitogeo.calc.cod import compute_cod
from quitogeo.cli.main import cli
from quitogeo.errors import DataIntegrityError, DocumentError, PaymentPlanError
from quitogeo.export.documents.liquidacion import (
    liquidacion_desde_calc,
    liquidacion_desde_resultados,
    render_liquidacion,
    write_liquidacion,
)
from quitogeo.rules import load_rules

RULES = load_rules()
FECHA = dt.date(2025, 3, 5)
# Vs = 0.12 × 500 × 1.0 = 60 $/m²; IC = 300 / 400 = 0.75 → column 1; AIVA 450 → row 2; β = 0.22
# COD = 60 × 300 × 0.22 = 3 960.00
CALC = {"alfa": "0.12", "vc": "500", "fu": "1.0", "ae": "300", "area_terreno": "400", "aiva": "450"}
CALC_ARGS = [
    "--alfa",
    "0.12",
    "--vc",
    "500",
    "--fu",
    "1.0",
    "--ae",
    "300",
    "--area-terreno",
    "400",
    "--aiva",
    "450",
]


def _lines(liq):
    return {linea.clave: linea for linea in liq.lineas}


def test_breakdown_from_calc_inputs_matches_compute_cod():
    liq = liquidacion_desde_calc("edificabilidad", rules=RULES, fecha=FECHA, calc=CALC)
    js = liq.to_json_dict()
    assert js["cod"] == js["total_a_pagar"] == "3960.00"
    assert js["calculo"] == compute_cod("edificabilidad", rules=RULES, **CALC).to_json_dict()
    lines = _lines(liq)
    assert lines["alfa"].fuente == "dato ingresado (--alfa)" and lines["alfa"].articulo == "Anexo 01 §2.2.1"
    assert lines["vs"].valor == "USD\u00a060,00/m²"
    assert lines["ic"].valor == "0,7500"
    assert lines["beta"].valor.startswith("0,22 (fila 2: 120 < AIVA < 500; columna 1: IC < 1)")
    assert lines["total_a_pagar"].valor == "USD\u00a03.960,00"
    assert js["pago"]["modalidad"] == "contado" and js["pago"]["pagos"][0]["monto"] == "3960.00"
    assert js["reglas"]["verificado"] is False


def test_vis_exoneration_line_and_total():
    # VIS 100 of 450 m² = 22 % ≥ 20 % → Ex = 100 / 300 = 1/3 → COD_Ex = 3960 × 2/3 = 2 640.00
    calc = {**CALC, "vis": "100", "area_util_proyecto": "450"}
    liq = liquidacion_desde_calc("edificabilidad", rules=RULES, fecha=FECHA, calc=calc)
    js = liq.to_json_dict()
    assert js["cod"] == "3960.00" and js["total_a_pagar"] == "2640.00"
    assert js["exoneracion_vis"]["monto"] == "1320.00" and js["exoneracion_vis"]["aplica"] is True
    assert {"vis", "area_util_proyecto", "exoneracion_vis"} <= set(_lines(liq))


@settings(max_examples=40, deadline=None)
@given(
    alfa=st.decimals(min_value="0.07", max_value="0.20", places=3),
    vc=st.decimals(min_value="100", max_value="900", places=2),
    fu=st.decimals(min_value="0.5", max_value="1.5", places=2),
    ae=st.decimals(min_value="1", max_value="20000", places=2),
    area=st.decimals(min_value="50", max_value="10000", places=2),
    aiva=st.decimals(min_value="10", max_value="2000", places=2),
)
def test_amounts_equal_compute_cod_to_the_cent(alfa, vc, fu, ae, area, aiva):
    calc = {"alfa": alfa, "vc": vc, "fu": fu, "ae": ae, "area_terreno": area, "aiva": aiva}
    expected = compute_cod("edificabilidad", rules=RULES, **calc).to_json_dict()["cod_exonerado"]
    liq = liquidacion_desde_calc(
        "edificabilidad", rules=RULES, fecha=FECHA, calc=calc, modalidad="cronograma"
    )
    js = liq.to_json_dict()
    assert js["total_a_pagar"] == expected
    assert sum(Decimal(p["monto"]) for p in js["pago"]["pagos"]) == Decimal(expected)
    assert Decimal(js["pago"]["contado"]) * 5 >= Decimal(expected)  # ≥ 20 % upfront


def test_cronograma_below_twenty_percent_is_refused():
    with pytest.raises(PaymentPlanError, match="20,00 %"):
        liquidacion_desde_calc(
            "edificabilidad",
            rules=RULES,
            fecha=FECHA,
            calc=CALC,
            modalidad="cronograma",
            contado_inicial="791.99",
        )
    # 20 % of 3 960.00 = 792.00: accepted; 3 168.00 in 12 = 264.00 each, monthly from 05/03/2025
    liq = liquidacion_desde_calc(
        "edificabilidad", rules=RULES, fecha=FECHA, calc=CALC, modalidad="cronograma", contado_inicial="792"
    )
    pagos = liq.to_json_dict()["pago"]["pagos"]
    assert [p["monto"] for p in pagos] == ["792.00"] + ["264.00"] * 12
    assert pagos[1]["fecha"] == "2025-04-05" and pagos[-1]["fecha"] == "2026-03-05"


def test_mixto_split_must_add_up():
    with pytest.raises(PaymentPlanError, match="no suma el total"):
        liquidacion_desde_calc(
            "edificabilidad",
            rules=RULES,
            fecha=FECHA,
            calc=CALC,
            modalidad="mixto",
            especie="2000",
            contado_inicial="1959.99",
        )
    liq = liquidacion_desde_calc(
        "edificabilidad",
        rules=RULES,
        fecha=FECHA,
        calc=CALC,
        modalidad="mixto",
        especie="2000",
        contado_inicial="1960",
    )
    assert liq.plan.especie_centavos + liq.plan.contado_centavos == 396000


def test_html_has_warning_beta_cell_and_schedule():
    liq = liquidacion_desde_calc(
        "edificabilidad",
        rules=RULES,
        fecha=FECHA,
        calc=CALC,
        modalidad="cronograma",
        clave_catastral="1234567",
    )
    html = render_liquidacion(liq)
    assert 'id="aviso-no-verificado"' in html
    assert html.count('data-cuota="') == 13
    assert 'id="suma-pagos">USD\u00a03.960,00<' in html
    # β cell row 2 / column 1 highlighted, and only that one
    assert html.count("num destacado") == 1 and 'num destacado">0,22<' in html
    for clave in (
        "alfa",
        "vc",
        "fu",
        "vs",
        "ae",
        "area_terreno",
        "aiva",
        "ic",
        "beta",
        "cod",
        "exoneracion_vis",
    ):
        assert f'data-linea="{clave}"' in html
    assert "05/03/2025" in html


# --- from a results file ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    from quitogeo.export.gpkg import write_results
    from quitogeo.pipeline import run
    from quitogeo.testing import golden_layers, make_project

    result = run(make_project(golden_layers()))
    return write_results(result, tmp_path_factory.mktemp("run"))["resultados"]


def test_from_results_equals_the_run_to_the_cent(golden):
    from quitogeo.export.gpkg import read_results

    results = read_results(golden)
    row = results.predios.set_index("clave_catastral").loc["L02"]
    liq = liquidacion_desde_resultados(results, "L02", rules=RULES, fecha=FECHA)
    js = liq.to_json_dict()
    assert int(Decimal(js["cod"]) * 100) == int(row["cod_centavos"])
    assert js["clave_catastral"] == "L02"
    lines = _lines(liq)
    assert lines["ae"].fuente == "resultados (columna ae_m2)"
    assert lines["alfa"].fuente == "resultados (columna alfa)"
    # the same numbers through compute_cod give the same cents
    again = compute_cod(
        "edificabilidad",
        rules=RULES,
        alfa=row["alfa"],
        vc=row["vc"],
        fu=row["fu"],
        ae=row["ae_m2"],
        area_terreno=row["area_m2"],
        aiva=row["aiva_valor"],
    )
    assert again.to_json_dict()["cod_exonerado"] == js["total_a_pagar"]


def test_from_results_refuses_lot_without_cod_and_tampered_results(golden):
    from quitogeo.export.gpkg import read_results

    with pytest.raises(DocumentError, match="sin PIT"):
        liquidacion_desde_resultados(golden, "L12", rules=RULES, fecha=FECHA)
    results = read_results(golden)
    pos = results.predios.index[results.predios["clave_catastral"] == "L02"][0]
    results.predios.loc[pos, "cod_centavos"] += 1
    with pytest.raises(DataIntegrityError, match="no coincide"):
        liquidacion_desde_resultados(results, "L02", rules=RULES, fecha=FECHA)


# --- CLI ---------------------------------------------------------------------------------------------------


def test_cli_json_from_calc_inputs():
    res = CliRunner().invoke(
        cli,
        [
            "liquidacion",
            "edificabilidad",
            *CALC_ARGS,
            "--formato",
            "json",
            "--modalidad",
            "cronograma",
            "--inicio",
            "2025-01-31",
        ],
    )
    assert res.exit_code == 0, res.output
    js = json.loads(res.output)
    assert js["total_a_pagar"] == "3960.00"
    # minimum 792.00 on 31/01/2025; instalments on the month's last day when the 31st does not exist
    assert js["pago"]["pagos"][1]["fecha"] == "2025-02-28"


def test_cli_refuses_low_upfront_and_bad_mixto_with_exit_2():
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "liquidacion",
            "edificabilidad",
            *CALC_ARGS,
            "--modalidad",
            "cronograma",
            "--contado-inicial",
            "500",
            "--formato",
            "json",
        ],
    )
    assert res.exit_code == 2 and "20,00 %" in res.output and "Traceback" not in res.output
    res = runner.invoke(
        cli,
        [
            "liquidacion",
            "edificabilidad",
            *CALC_ARGS,
            "--modalidad",
            "mixto",
            "--especie",
            "1000",
            "--contado-inicial",
            "1000",
            "--formato",
            "json",
        ],
    )
    assert res.exit_code == 2 and "no suma el total" in res.output
    res = runner.invoke(cli, ["liquidacion", "--formato", "json"])
    assert res.exit_code == 2


def test_cli_html_from_results_and_overwrite(golden, tmp_path):
    runner = CliRunner()
    out = tmp_path / "liq.html"
    args = [
        "liquidacion",
        "--resultados",
        str(golden),
        "--clave",
        "L02",
        "--out",
        str(out),
        "--fecha",
        "2025-03-05",
    ]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "L02" in out.read_text(encoding="utf-8")
    res = runner.invoke(cli, args)
    assert res.exit_code == 1 and "--overwrite" in res.output
    res = runner.invoke(cli, [*args, "--overwrite", "--modalidad", "especie"])
    assert res.exit_code == 0, res.output


@pytest.mark.browser
def test_pdf_is_a4(tmp_path, chromium_path):
    from pypdf import PdfReader

    liq = liquidacion_desde_calc(
        "edificabilidad", rules=RULES, fecha=FECHA, calc=CALC, modalidad="cronograma"
    )
    pdf = write_liquidacion(liq, out=tmp_path / "liq.pdf", formato="pdf", chromium=chromium_path)
    reader = PdfReader(pdf)
    assert 1 <= len(reader.pages) <= 2
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "USD 3.960,00" in text.replace("\u00a0", " ")
