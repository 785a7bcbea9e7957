"""Hand-worked COD cases (Anexo 01 §1–2, §4–5; normativa.md §1–2). The arithmetic is in each comment."""

from __future__ import annotations

import re
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from quitogeo.calc import (
    beta_lookup,
    cod_mayor,
    compute_cod,
    compute_cod_mayor,
    exoneracion_vis,
    fu_ponderado,
    valor_suelo,
    valor_suelo_sin_construccion,
    valor_suelo_uso,
    vcc_propiedad_horizontal,
    vcc_unipropiedad,
)
from quitogeo.errors import CalcInputError, PreconditionError
from quitogeo.rules import Rules, load_rules, parse_rules

R = load_rules()

# The acceptance example of issue 2 / cli.md.
EDIF = dict(alfa="0.12", vc="500", fu="1.0", ae="300", area_terreno="400", aiva="450")
# All four §2.2.2 preconditions met: 400 < 600; 450 < 600; 40 ≥ 35; 3 ≥ 3.
PRE_OK = dict(
    lote_minimo_anterior=600,
    lote_minimo_nuevo=400,
    lote_resultante_menor=450,
    cos_pb_anterior=35,
    cos_pb_nuevo=40,
    pisos_anterior=3,
    pisos_nuevo=3,
)


def rules_with(old: str, new: str) -> Rules:
    text = resources.files("quitogeo.rules").joinpath("quito_2024.toml").read_text(encoding="utf-8")
    assert old in text
    return parse_rules(text.replace(old, new, 1), source="prueba")


# ---------------------------------------------------------------------------------------------- β, Tabla 1
@pytest.mark.parametrize(
    ("aiva", "ic", "beta", "fila", "columna"),
    [
        # row 1: AIVA ≤ 120
        ("100", "0.5", "0.17", 1, 1),
        ("100", "1.5", "0.20", 1, 2),
        ("100", "2.5", "0.21", 1, 3),
        # row 2: 120 < AIVA < 500
        ("300", "0.5", "0.22", 2, 1),
        ("300", "1.5", "0.23", 2, 2),
        ("300", "2.5", "0.25", 2, 3),
        # row 3: AIVA ≥ 500
        ("600", "0.5", "0.26", 3, 1),
        ("600", "1.5", "0.28", 3, 2),
        ("600", "2.5", "0.30", 3, 3),
    ],
)
def test_every_beta_cell(aiva: str, ic: str, beta: str, fila: int, columna: int) -> None:
    res = beta_lookup(aiva, ic, rules=R)
    assert (res.beta, res.fila, res.columna) == (Decimal(beta), fila, columna)


@pytest.mark.parametrize(
    ("aiva", "fila"), [("120", 1), ("120.01", 2), ("499.99", 2), ("500", 3), (0, 1), (1e6, 3)]
)
def test_aiva_band_edges(aiva: Any, fila: int) -> None:
    # ≤ 120 is row 1; anything above 120 and below 500 row 2; 500 and above row 3 (READING of "121–499").
    assert beta_lookup(aiva, 0, rules=R).fila == fila


@pytest.mark.parametrize(("ic", "columna"), [("0.9999", 1), ("1", 2), ("2", 2), ("2.0001", 3), ("0", 1)])
def test_ic_band_edges(ic: str, columna: int) -> None:
    assert beta_lookup(300, ic, rules=R).columna == columna


@pytest.mark.parametrize(
    ("ae", "cod", "beta", "columna"),
    [
        # Vs = 0.10 × 400 × 1.2 = 48; area 500; AIVA 120 → row 1.
        ("499.99", "4079.92", "0.17", 1),  # IC < 1: 48 × 499.99 = 23999.52; × 0.17 = 4079.9184 → 4079.92
        ("500", "4800.00", "0.20", 2),  # IC = 1 exactly → column 2: 48 × 500 × 0.20 = 4800
        ("1000", "9600.00", "0.20", 2),  # IC = 2 exactly → column 2: 48 × 1000 × 0.20 = 9600
        ("1000.01", "10080.10", "0.21", 3),  # IC > 2: 48 × 1000.01 × 0.21 = 10080.1008 → 10080.10
    ],
)
def test_ic_edges_through_compute_cod(ae: str, cod: str, beta: str, columna: int) -> None:
    r = compute_cod(
        "edificabilidad", rules=R, alfa="0.10", vc=400, fu="1.2", ae=ae, area_terreno=500, aiva=120
    )
    assert (str(r.cod), r.beta, r.beta_columna, r.beta_fila) == (cod, Decimal(beta), columna, 1)


# ------------------------------------------------------------------------------------------ one per ámbito
def test_edificabilidad_acceptance_example() -> None:
    # Vs = 0.12 × 500 × 1.0 = 60; IC = 300 / 400 = 0.75 → column 1; AIVA 450 → row 2; β = 0.22;
    # COD = 60 × 300 × 0.22 = 3960.00
    r = compute_cod("edificabilidad", rules=R, **EDIF)
    d = r.to_json_dict()
    assert d["cod"] == "3960.00" and d["cod_exonerado"] == "3960.00"
    assert (d["beta"], d["beta_fila"], d["beta_columna"], d["ic"], d["vs"]) == (0.22, 2, 1, 0.75, 60.0)
    assert d["exoneracion"] == 0.0
    assert d["formula"] == "COD = Vs × Ae × β; Vs = α × Vc × Fu"
    assert d["fuente"] == "Anexo 01 §2.2.1"
    assert d["verificado"] is False
    assert isinstance(d["beta_fila"], int) and isinstance(d["ic"], float) and isinstance(d["vs"], float)


def test_uso_with_vcc() -> None:
    # Vs_c = α × Vcc = 0.15 × 420 = 63; IC = 0 (no Ae) → column 1; AIVA 600 → row 3 → β 0.26
    # COD = 63 × 0.30 × 250 × 0.26 = 18.9 × 250 × 0.26 = 4725 × 0.26 = 1228.50
    r = compute_cod("uso", rules=R, alfa="0.15", vcc=420, ir="0.30", auv=250, aiva=600)
    assert str(r.cod) == "1228.50"
    assert (r.beta_fila, r.beta_columna, r.ic, r.vs) == (3, 1, Decimal(0), Decimal("63.00"))


def test_uso_without_construction_uses_land_avaluo() -> None:
    # Vs_c = 90000 / 600 = 150 $/m² (Anexo 01 §2.1, TEXT); IRcu residential 0.20; AIVA 110 → β 0.17
    # COD = 150 × 0.20 × 600 × 0.17 = 30 × 600 × 0.17 = 3060.00
    r = compute_cod("uso", rules=R, avaluo_terreno=90000, area_terreno=600, ir="0.20", auv=600, aiva=110)
    assert str(r.cod) == "3060.00"
    assert "sin construcción" in r.formula


def test_lote_minimo_with_preconditions_met() -> None:
    # COD = Vsa × IRlm × β = 250000 × 0.15 × 0.26 (AIVA 520 → row 3, IC 0 → column 1) = 9750.00
    r = compute_cod("lote-minimo", rules=R, vsa=250000, ir="0.15", aiva=520, **PRE_OK)
    assert str(r.cod) == "9750.00"
    assert r.vs is None and r.to_json_dict()["vs"] is None
    assert r.precondiciones_verificadas is True
    assert not any("NO verificadas" in n for n in r.notas)


def test_lote_minimo_without_preconditions_says_not_verified() -> None:
    r = compute_cod("lote-minimo", rules=R, vsa=250000, ir="0.15", aiva=520)
    assert str(r.cod) == "9750.00"
    assert r.precondiciones == {
        "lote_minimo_menor": None,
        "lote_resultante_menor": None,
        "cos_pb_igual_o_mayor": None,
        "pisos_igual_o_mayor": None,
    }
    assert r.precondiciones_verificadas is False
    assert any("NO verificadas" in n for n in r.notas)


def test_edificabilidad_uso() -> None:
    # Vs = 0.12 × 500 × 1.2 = 72; IC = 800 / 400 = 2 → column 2; AIVA 300 → row 2 → β 0.23
    # Ae + IRcu × AUV = 800 + 0.35 × 400 = 940; COD = 72 × 940 × 0.23 = 67680 × 0.23 = 15566.40
    r = compute_cod(
        "edificabilidad-uso",
        rules=R,
        alfa="0.12",
        vc=500,
        fu="1.2",
        ae=800,
        area_terreno=400,
        ir="0.35",
        auv=400,
        aiva=300,
    )
    assert str(r.cod) == "15566.40"
    assert r.beta_columna == 2


def test_edificabilidad_lote_minimo() -> None:
    # Vs = 0.08 × 320 × 1.0 = 25.6; IC = 1200 / 400 = 3 → column 3; AIVA 90 → row 1 → β 0.21
    # Ae + IRlm × AUV = 1200 + 0.11 × 400 = 1244; 25.6 × 1244 = 31846.4; × 0.21 = 6687.744 → 6687.74
    r = compute_cod(
        "edificabilidad-lote-minimo",
        rules=R,
        alfa="0.08",
        vc=320,
        fu="1.0",
        ae=1200,
        area_terreno=400,
        ir="0.11",
        auv=400,
        aiva=90,
        **PRE_OK,
    )
    assert str(r.cod) == "6687.74"
    assert r.cod_exacto == Decimal("6687.744")
    assert r.precondiciones_verificadas is True


def test_rounding_is_half_up_at_the_end_only() -> None:
    # Vs = 0.1 × 100 × 1 = 10; COD = 10 × 0.25 × 0.17 = 0.425 exactly → half-up 0.43 (half-even would be 0.42)
    r = compute_cod(
        "edificabilidad", rules=R, alfa="0.1", vc=100, fu=1, ae="0.25", area_terreno=1000, aiva=100
    )
    assert r.cod_exacto == Decimal("0.425")
    assert str(r.cod) == "0.43"


def test_float_inputs_are_read_through_repr() -> None:
    # 0.1 as a float is 0.1000000000000000055…; read as "0.1" it gives the same 0.43 as above.
    r = compute_cod(
        "edificabilidad", rules=R, alfa=0.1, vc=100.0, fu=1.0, ae=0.25, area_terreno=1000.0, aiva=100.0
    )
    assert str(r.cod) == "0.43"


def test_weighted_fu() -> None:
    # Fu = (1.0 × 300 + 1.2 × 100) / 400 = 420 / 400 = 1.05 (Anexo 01 §2.2.1, TEXT)
    assert fu_ponderado([("1.0", 300), ("1.2", 100)]) == Decimal("1.05")
    # Vs = 0.12 × 500 × 1.05 = 63; COD = 63 × 300 × 0.22 = 4158.00
    r = compute_cod(
        "edificabilidad",
        rules=R,
        alfa="0.12",
        vc=500,
        fu_usos=[("1.0", 300), ("1.2", 100)],
        ae=300,
        area_terreno=400,
        aiva=450,
    )
    assert str(r.cod) == "4158.00"
    assert "Σ" in r.formula


def test_valor_suelo_functions() -> None:
    assert valor_suelo("0.12", 500, "1.0", rules=R) == Decimal(60)
    assert valor_suelo_uso("0.10", 430, rules=R) == Decimal(43)
    assert valor_suelo_sin_construccion(90000, 600) == Decimal(150)


# --------------------------------------------------------------------------------------------------- Vcc
def test_vcc_unipropiedad() -> None:
    # (40000 + 2000) / 100 + 1500 / 30 = 420 + 50 = 470; adicionales with area 0 contribute 0 even with avalúo
    v = vcc_unipropiedad(
        avaluo_cubiertas=40000,
        area_cubiertas=100,
        avaluo_instalaciones_especiales=2000,
        avaluo_abiertas=1500,
        area_abiertas=30,
        avaluo_adicionales=800,
        area_adicionales=0,
    )
    assert v == Decimal(470)


def test_vcc_propiedad_horizontal() -> None:
    # (30000 + 2000 comunal) / 80 + 600 / 20 = 400 + 30 = 430; no adicionales (0 / 0 → 0)
    v = vcc_propiedad_horizontal(
        avaluo_cubiertas=30000,
        area_cubiertas=80,
        avaluo_comunal=2000,
        avaluo_abiertas=600,
        area_abiertas=20,
        avaluo_adicionales=0,
        area_adicionales=0,
    )
    assert v == Decimal(430)


def test_uso_from_ph_components() -> None:
    # Vcc = 430 (above); Vs_c = 0.10 × 430 = 43; AIVA 200 → β 0.22
    # COD = 43 × 0.4 × 80 × 0.22 = 17.2 × 80 × 0.22 = 1376 × 0.22 = 302.72
    r = compute_cod(
        "uso",
        rules=R,
        alfa="0.10",
        avaluo_cubiertas=30000,
        area_cubiertas=80,
        avaluo_comunal=2000,
        avaluo_abiertas=600,
        area_abiertas=20,
        regimen="propiedad_horizontal",
        ir="0.4",
        auv=80,
        aiva=200,
    )
    assert str(r.cod) == "302.72"
    assert r.parametros["vcc"] == Decimal(430)


def test_uso_from_up_components_with_zero_area_component() -> None:
    # Vcc = 470 (the 800 of adicionales over 0 m² contributes 0); Vs_c = 0.1 × 470 = 47; AIVA 100 → β 0.17
    # COD = 47 × 0.2 × 100 × 0.17 = 9.4 × 100 × 0.17 = 159.80
    r = compute_cod(
        "uso",
        rules=R,
        alfa="0.1",
        avaluo_cubiertas=40000,
        area_cubiertas=100,
        avaluo_instalaciones_especiales=2000,
        avaluo_abiertas=1500,
        area_abiertas=30,
        avaluo_adicionales=800,
        area_adicionales=0,
        regimen="unipropiedad",
        ir="0.2",
        auv=100,
        aiva=100,
    )
    assert str(r.cod) == "159.80"


# ----------------------------------------------------------------------------------------- exoneración VIS
def test_vis_below_20_percent_gives_no_exoneration() -> None:
    # 79.99 / 400 = 19.9975 % < 20 % → none: COD_Ex = COD = 3960.00
    r = compute_cod("edificabilidad", rules=R, **EDIF, vis="79.99", area_util_proyecto=400)
    assert r.exoneracion.aplica is False
    assert str(r.cod_exonerado) == "3960.00"
    assert r.to_json_dict()["exoneracion"] == 0.0


def test_vis_at_20_percent_is_exonerated() -> None:
    # 80 / 400 = 20 % exactly → applies; Ex = 80 / 300; COD_Ex = 3960 × (1 − 80/300) = 3960 × 220/300 = 2904
    r = compute_cod("edificabilidad", rules=R, **EDIF, vis=80, area_util_proyecto=400)
    assert r.exoneracion.aplica is True and r.exoneracion.total is False
    assert str(r.cod_exonerado) == "2904.00"
    assert str(r.cod) == "3960.00"  # the COD itself is unchanged
    assert r.to_json_dict()["exoneracion"] == pytest.approx(80 / 300)


def test_partial_exoneration() -> None:
    # Ex = 150 / 300 = 0.5 → COD_Ex = 3960 × 0.5 = 1980.00
    r = compute_cod("edificabilidad", rules=R, **EDIF, vis=150, area_util_proyecto=600)
    assert str(r.cod_exonerado) == "1980.00"


def test_total_exoneration_when_ex_at_least_one() -> None:
    # Ex = 350 / 300 ≥ 1 → total (TEXT a)
    r = compute_cod("edificabilidad", rules=R, **EDIF, vis=350, area_util_proyecto=1000)
    assert r.exoneracion.total is True
    assert str(r.cod_exonerado) == "0.00" and str(r.cod) == "3960.00"


def test_total_exoneration_when_ae_equals_vis() -> None:
    # Ae = VIS = 300 → total (TEXT b)
    r = compute_cod("edificabilidad", rules=R, **EDIF, vis=300, area_util_proyecto=1000)
    assert r.exoneracion.total is True and "Ae = VIS" in r.exoneracion.motivo
    assert str(r.cod_exonerado) == "0.00"


def test_exoneracion_vis_function() -> None:
    e = exoneracion_vis(vis=150, ae=300, area_util_proyecto=600, rules=R)
    assert (e.aplica, e.fraccion, e.total) == (True, Decimal("0.5"), False)


def test_vis_larger_than_project_is_an_error() -> None:
    with pytest.raises(CalcInputError, match="vis = 500") as exc:
        compute_cod("edificabilidad", rules=R, **EDIF, vis=500, area_util_proyecto=400)
    assert exc.value.parameter == "vis"


def test_vis_needs_project_area() -> None:
    with pytest.raises(CalcInputError, match="area_util_proyecto"):
        compute_cod("edificabilidad", rules=R, **EDIF, vis=100)


def test_vis_in_ambito_without_ae_is_an_error() -> None:
    with pytest.raises(CalcInputError, match="no se aplica al ámbito lote-minimo"):
        compute_cod("lote-minimo", rules=R, vsa=1000, ir="0.1", aiva=100, vis=10, area_util_proyecto=20)


# -------------------------------------------------------------------------------------------- beneficios
def test_beneficio_drops_beta() -> None:
    # B = Vs × Ae = 60 × 300 = 18000.00 (Anexo 01 §5.1: no β); AIVA not needed
    args = {k: v for k, v in EDIF.items() if k != "aiva"}
    r = compute_cod("edificabilidad", rules=R, beneficio=True, **args)
    d = r.to_json_dict()
    assert d["cod"] == "18000.00" and d["beta"] == 1.0
    assert d["beta_fila"] is None and d["beta_columna"] is None
    assert "§5.1" in d["fuente"] and "β" not in d["formula"].split(";")[0]


def test_beneficio_lote_minimo() -> None:
    # B = 250000 × 0.15 = 37500.00; with AIVA given the band is still reported
    r = compute_cod("lote-minimo", rules=R, vsa=250000, ir="0.15", aiva=520, beneficio=True)
    assert str(r.cod) == "37500.00" and r.beta == 1 and r.beta_fila == 3


# ------------------------------------------------------------------------------------------ larger-of rule
def test_larger_of_lote_minimo_wins() -> None:
    # uso: 1228.50 (test_uso_with_vcc); lote-mínimo: 250000 × 0.15 × 0.26 = 9750.00 → lote-mínimo
    m = compute_cod_mayor(
        rules=R,
        uso=dict(alfa="0.15", vcc=420, ir="0.30", auv=250, aiva=600),
        lote_minimo=dict(vsa=250000, ir="0.15", aiva=600),
    )
    assert m.ambito_ganador == "lote-minimo"
    assert str(m.resultado.cod) == "9750.00" and str(m.uso.cod) == "1228.50"


def test_larger_of_uso_wins() -> None:
    # lote-mínimo: 10000 × 0.15 × 0.26 = 390.00 < 1228.50 → uso
    uso = compute_cod("uso", rules=R, alfa="0.15", vcc=420, ir="0.30", auv=250, aiva=600)
    lm = compute_cod("lote-minimo", rules=R, vsa=10000, ir="0.15", aiva=600)
    m = cod_mayor(uso, lm)
    assert m.ambito_ganador == "uso" and str(m.resultado.cod) == "1228.50"
    with pytest.raises(CalcInputError, match=r"2\.3\.3"):
        cod_mayor(lm, uso)


# ------------------------------------------------------------------------------------- IR reading switch
def test_ir_multiplicador_uses_ir_minus_one() -> None:
    rules = rules_with('interpretacion = "indice"', 'interpretacion = "multiplicador"')
    # (1.15 − 1) = 0.15 → same as the "indice" case with 0.15: 250000 × 0.15 × 0.26 = 9750.00
    r = compute_cod("lote-minimo", rules=rules, vsa=250000, ir="1.15", aiva=520)
    assert str(r.cod) == "9750.00"
    assert "(IRlm − 1)" in r.formula
    # the same IR read as an index: 250000 × 1.15 × 0.26 = 74750.00
    assert str(compute_cod("lote-minimo", rules=R, vsa=250000, ir="1.15", aiva=520).cod) == "74750.00"
    with pytest.raises(CalcInputError, match="multiplicador") as exc:
        compute_cod("lote-minimo", rules=rules, vsa=250000, ir="0.9", aiva=520)
    assert exc.value.parameter == "ir"


def test_rules_drive_the_beta_table() -> None:
    rules = rules_with("[0.22, 0.23, 0.25]", "[0.50, 0.23, 0.25]")
    # same acceptance inputs, β from the user's table: 60 × 300 × 0.50 = 9000.00
    assert str(compute_cod("edificabilidad", rules=rules, **EDIF).cod) == "9000.00"


def test_verified_rules_drop_the_warning() -> None:
    rules = rules_with("verificado = false", "verificado = true")
    r = compute_cod("edificabilidad", rules=rules, **EDIF)
    assert r.verificado is True and not any("NO VERIFICADAS" in n for n in r.notas)


# --------------------------------------------------------------------------------------------- errors
def test_alfa_range_edges_are_allowed() -> None:
    assert compute_cod("edificabilidad", rules=R, **{**EDIF, "alfa": "0.07"}).cod == Decimal("2310.00")
    assert compute_cod("edificabilidad", rules=R, **{**EDIF, "alfa": "0.20"}).cod == Decimal("6600.00")


@pytest.mark.parametrize("alfa", ["0.069", "0.201", "0", "1"])
def test_alfa_outside_range(alfa: str) -> None:
    with pytest.raises(CalcInputError, match=r"alfa = .* fuera del rango \[0\.07, 0\.2\]") as exc:
        compute_cod("edificabilidad", rules=R, **{**EDIF, "alfa": alfa})
    assert exc.value.parameter == "alfa"


@pytest.mark.parametrize("name", ["ae", "area_terreno", "vc", "fu", "aiva"])
def test_negative_input(name: str) -> None:
    with pytest.raises(CalcInputError, match=f"{name} = -1 no puede ser negativo") as exc:
        compute_cod("edificabilidad", rules=R, **{**EDIF, name: "-1"})
    assert exc.value.parameter == name


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), Decimal("NaN"), Decimal("-Infinity")])
def test_non_finite_input(bad: Any) -> None:
    with pytest.raises(CalcInputError, match=r"ae = .* no es un número finito") as exc:
        compute_cod("edificabilidad", rules=R, **{**EDIF, "ae": bad})
    assert exc.value.parameter == "ae"


@pytest.mark.parametrize("text", ["1,5", "1.000,5", "1e3", "abc", "", "1 000"])
def test_badly_spelled_number(text: str) -> None:
    with pytest.raises(CalcInputError, match="ae = "):
        compute_cod("edificabilidad", rules=R, **{**EDIF, "ae": text})


def test_bool_is_not_a_number() -> None:
    with pytest.raises(CalcInputError, match="no es un número"):
        compute_cod("edificabilidad", rules=R, **{**EDIF, "fu": True})


@pytest.mark.parametrize("name", ["alfa", "vc", "fu", "ae", "area_terreno", "aiva"])
def test_missing_parameter(name: str) -> None:
    args = {k: v for k, v in EDIF.items() if k != name}
    with pytest.raises(CalcInputError, match=f"falta el parámetro {name} ") as exc:
        compute_cod("edificabilidad", rules=R, **args)
    assert exc.value.parameter == name


@pytest.mark.parametrize(
    ("ambito", "args", "missing"),
    [
        ("uso", dict(alfa="0.1", vcc=400, auv=100, aiva=100), "ir"),
        ("uso", dict(alfa="0.1", vcc=400, ir="0.2", aiva=100), "auv"),
        ("uso", dict(vcc=400, ir="0.2", auv=100, aiva=100), "alfa"),
        ("lote-minimo", dict(ir="0.2", aiva=100), "vsa"),
        ("edificabilidad-uso", dict(EDIF, ir="0.3"), "auv"),
        ("edificabilidad-lote-minimo", dict(EDIF, auv=100), "ir"),
    ],
)
def test_missing_parameter_per_ambito(ambito: str, args: dict[str, Any], missing: str) -> None:
    with pytest.raises(CalcInputError, match=f"falta el parámetro {missing} ") as exc:
        compute_cod(ambito, rules=R, **args)
    assert exc.value.parameter == missing


def test_uso_needs_exactly_one_land_value_source() -> None:
    with pytest.raises(CalcInputError, match="una sola fuente de Vs_c"):
        compute_cod("uso", rules=R, ir="0.2", auv=100, aiva=100)
    with pytest.raises(CalcInputError, match="una sola fuente de Vs_c"):
        compute_cod(
            "uso",
            rules=R,
            alfa="0.1",
            vcc=400,
            avaluo_terreno=1000,
            area_terreno=10,
            ir="0.2",
            auv=100,
            aiva=100,
        )


def test_uso_components_need_regimen_and_pairs() -> None:
    base = dict(alfa="0.1", ir="0.2", auv=100, aiva=100)
    with pytest.raises(CalcInputError, match="regimen"):
        compute_cod("uso", rules=R, avaluo_cubiertas=100, area_cubiertas=1, **base)
    with pytest.raises(CalcInputError, match="falta area_abiertas"):
        compute_cod(
            "uso",
            rules=R,
            avaluo_cubiertas=100,
            area_cubiertas=1,
            avaluo_abiertas=5,
            regimen="unipropiedad",
            **base,
        )
    with pytest.raises(CalcInputError, match="no corresponde al régimen unipropiedad"):
        compute_cod(
            "uso",
            rules=R,
            avaluo_cubiertas=100,
            area_cubiertas=1,
            avaluo_comunal=5,
            regimen="unipropiedad",
            **base,
        )
    with pytest.raises(CalcInputError, match="Vcc = 0"):
        compute_cod("uso", rules=R, avaluo_cubiertas=0, area_cubiertas=0, regimen="unipropiedad", **base)


def test_superfluous_parameter_is_refused() -> None:
    with pytest.raises(CalcInputError, match=r"vsa .* no interviene en el ámbito edificabilidad") as exc:
        compute_cod("edificabilidad", rules=R, **EDIF, vsa=1000)
    assert exc.value.parameter == "vsa"


def test_zero_lot_area_is_an_error() -> None:
    with pytest.raises(CalcInputError, match=r"area_terreno .* = 0"):
        compute_cod("edificabilidad", rules=R, **{**EDIF, "area_terreno": 0})


def test_unknown_ambito() -> None:
    with pytest.raises(CalcInputError, match="ámbito 'edificacion' desconocido"):
        compute_cod("edificacion", rules=R)


@pytest.mark.parametrize(
    ("change", "parameter", "literal"),
    [
        # a) new lote mínimo must be smaller than the old one: 600 → 600 fails
        (dict(lote_minimo_nuevo=600), "lote_minimo_nuevo", "a)"),
        # a) at least one resulting lot smaller than the old lote mínimo: 650 ≥ 600 fails
        (dict(lote_resultante_menor=650), "lote_resultante_menor", "a)"),
        # b) COS PB equal or larger: 30 < 35 fails
        (dict(cos_pb_nuevo=30), "cos_pb_nuevo", "b)"),
        # b) floors equal or larger: 2 < 3 fails
        (dict(pisos_nuevo=2), "pisos_nuevo", "b)"),
    ],
)
@pytest.mark.parametrize("ambito", ["lote-minimo", "edificabilidad-lote-minimo"])
def test_each_failing_precondition(ambito: str, change: dict[str, Any], parameter: str, literal: str) -> None:
    args: dict[str, Any] = (
        dict(vsa=250000, ir="0.15", aiva=520) if ambito == "lote-minimo" else dict(EDIF, ir="0.1", auv=100)
    )
    with pytest.raises(
        PreconditionError, match=rf"no se cumple Anexo 01 §2\.2\.2 {re.escape(literal)}"
    ) as exc:
        compute_cod(ambito, rules=R, **args, **{**PRE_OK, **change})
    assert exc.value.parameter == parameter


def test_half_a_precondition_is_an_error() -> None:
    with pytest.raises(CalcInputError, match="falta cos_pb_anterior"):
        compute_cod("lote-minimo", rules=R, vsa=1000, ir="0.1", aiva=100, cos_pb_nuevo=40)


def test_rules_must_be_a_rules_object() -> None:
    with pytest.raises(TypeError, match="Rules"):
        compute_cod("edificabilidad", rules={"beta": {}}, **EDIF)  # type: ignore[arg-type]


def test_calc_core_is_pure() -> None:
    # The calc core must not pull in the GIS stack or do I/O (docs/design.md).
    import subprocess
    import sys

    code = (
        "import sys, quitogeo.calc, quitogeo.cli.calc; "
        "bad = [m for m in ('geopandas', 'shapely', 'pyogrio', 'fiona', 'rasterio', 'folium', 'pyproj') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_numpy_scalars_are_read_like_floats() -> None:
    import numpy as np

    # numpy 2 spells repr(np.float64(0.1)) "np.float64(0.1)": the reader must still see 0.1
    r = compute_cod(
        "edificabilidad",
        rules=R,
        alfa=np.float64(0.1),
        vc=np.int64(100),
        fu=np.float32(1.0),
        ae=np.float64(0.25),
        area_terreno=1000,
        aiva=100,
    )
    assert str(r.cod) == "0.43"
