"""Ámbitos PUOS → PUGS (quitogeo.ambitos, issue 6): detection, IR and COD per lot.

The hand-built project: one lot per case of the issue, each with its COD worked by hand below with the
packaged rules (α = 0.12, Vc hormigón armado = 500, Fu residencial 1.00 / comercial 1.20, IR por
Administración Zonal of quito_2024.toml, β of Tabla 1: row by AIVA ≤120 | 120–500 | ≥500, column by IC <1 |
1–2 | >2; IC = 0 for ámbitos without Ae). The expected figures are in tests/golden/ambitos_expected.csv.

Cents by hand (Vs = α × Vc × Fu = 60 $/m² residencial, 72 $/m² múltiple):

- A01 rural → urbano, Calderón IRcu 0.35, no construction: Vs_c = 50 000 / 1 000 = 50; AIVA 100, IC 0 → β
  0.17; COD = 50 × 0.35 × 1 000 × 0.17 = 2 975.00
- A02 R1 (2 floors) → Tipología 2, Tabla 2 IR 0.20; Vcc = 80 000 / 200 = 400, Vs_c = 0.12 × 400 = 48; AIVA
  300 → β 0.22; COD = 48 × 0.20 × 500 × 0.22 = 1 056.00
- A03 I3 → IAI, Tabla 3 IR 1.18; Vs_c = 120 000 / 2 000 = 60; AIVA 80 → β 0.17; COD = 60 × 1.18 × 2 000 ×
  0.17 = 24 072.00
- A04 R2 → M (outside the tables), Eloy Alfaro IRcu 0.30; Vs_c = 90 000 / 600 = 150; AIVA 600 → β 0.26; COD
  = 150 × 0.30 × 600 × 0.26 = 7 020.00
- A05 lote mínimo 600 → 300, COS PB and floors equal, 800 m² ≥ 2 × 300; Eugenio Espejo IRlm 0.20; Vsa 100
  000; AIVA 200 → β 0.22; COD = 100 000 × 0.20 × 0.22 = 4 400.00
- A06 lote mínimo 600 → 300 but COS PB 50 → 35: reported (§2.2.2 b), not charged: COD 0.00
- A07 lote mínimo 1 000 → 600 but floors 4 → 3: reported, not charged: COD 0.00
- A08 lote mínimo 600 → 400 on 700 m² < 2 × 400: no resulting lot below the old minimum possible (§2.2.2 a,
  reading): reported, not charged: COD 0.00
- A09 COS total 105 → 210 % on 1 000 m²: Ae = 1.05 × 1 000 = 1 050, IC 1.05 → column 2; AIVA 300 → row 2 → β
  0.23; COD = 60 × 1 050 × 0.23 = 14 490.00
- A10 R2 → M and COS total 140 → 280 % on 500 m²: Ae = 700, IC 1.4 → β(2, 2) 0.23; Manuela Sáenz IRcu 0.40;
  COD = 72 × (700 + 0.40 × 500) × 0.23 = 72 × 900 × 0.23 = 14 904.00 (single ámbitos, reported: uso = 150 ×
  0.40 × 500 × 0.22 = 6 600.00; edificabilidad = 72 × 700 × 0.23 = 11 592.00)
- A11 lote mínimo 1 000 → 600 and COS total 80 → 160 % on 1 500 m²: Ae = 1 200, IC 0.8 → column 1; AIVA 550
  → row 3 → β 0.26; Tumbaco IRlm 0.19; COD = 60 × (1 200 + 0.19 × 1 500) × 0.26 = 60 × 1 485 × 0.26 = 23
  166.00 (single: lote-minimo = 300 000 × 0.19 × 0.26 = 14 820.00; edificabilidad = 60 × 1 200 × 0.26 = 18
  720.00)
- A12 R2 → M and lote mínimo 600 → 300 on 800 m², La Delicia IRcu 0.32 IRlm 0.14, no construction, Vsa 80
  000, Vs_c = 100; AIVA 100 → β 0.17: uso = 100 × 0.32 × 800 × 0.17 = 4 352.00 > lote-minimo = 80 000 × 0.14
  × 0.17 = 1 904.00 → uso, 4 352.00 (§2.3.3)
- A13 the same with construction (Vcc = 20 000 / 100 = 200, Vs_c = 24) and Vsa 200 000: uso = 24 × 0.32 ×
  800 × 0.17 = 1 044.48 < lote-minimo = 200 000 × 0.14 × 0.17 = 4 760.00 → lote-minimo, 4 760.00
- A14 no change (R2 A604-35 in both plans): COD 0.00
- A15 no PUOS zone: estado "sin cobertura PUOS", no COD
- A16 R2 → M in "Mariscal Sucre", a zone without IR table: estado "sin IR para la Administración Zonal
  Mariscal Sucre", no COD
- A17 = A09 inside a plan parcial: beneficio without β (§5): 60 × 1 050 = 63 000.00
- A18 R2 → M, lote mínimo 1 000 → 600 and COS total 80 → 160 % on 1 500 m², Tumbaco (IRcu 0.42, IRlm 0.19),
  AIVA 550, IC 0.8 → β 0.26: edificabilidad-uso = 72 × (1 200 + 0.42 × 1 500) × 0.26 = 72 × 1 830 × 0.26 =
  34 257.60 > edificabilidad-lote-minimo = 72 × (1 200 + 0.19 × 1 500) × 0.26 = 27 799.20 → 34 257.60
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quitogeo.rules import load_rules

GOLDEN = Path(__file__).parent / "golden" / "ambitos_expected.csv"

pytest.importorskip("quitogeo.calc", reason="el núcleo de cálculo (quitogeo.calc) aún no existe")
from quitogeo.ambitos import COD_COLUMNS, OUTPUT_COLUMNS, detect_ambitos  # noqa: E402

# Defaults of a lot: both plans equal (urbano, R2, A604-35-like numbers), no construction, no plan parcial.
_BASE = {
    "puos_uso": "R2",
    "puos_clasificacion": "urbano",
    "puos_lote_minimo": 600.0,
    "puos_pisos": 4.0,
    "puos_cos_pb": 35.0,
    "puos_cos_total": 140.0,
    "uso_principal": "R2",
    "clasificacion": "urbano",
    "lote_minimo": 600.0,
    "pisos_basicos": 4.0,
    "pisos_maximos": 4.0,
    "cos_pb": 35.0,
    "cos_total_basico": 140.0,
    "cos_total_maximo": 140.0,
    "area_m2": 1000.0,
    "administracion_zonal": "Eugenio Espejo",
    "aiva_valor": 300.0,
    "avaluo_terreno": 100000.0,
    "regimen": "unipropiedad",
    "avaluo_cubiertas": np.nan,
    "area_cubiertas": np.nan,
    "en_plan_parcial": False,
}

_CASES: dict[str, dict[str, object]] = {
    "A01": dict(
        puos_clasificacion="rural",
        puos_uso="M",
        uso_principal="M",
        puos_pisos=2.0,
        pisos_basicos=2.0,
        pisos_maximos=2.0,
        puos_cos_total=70.0,
        cos_total_basico=70.0,
        cos_total_maximo=70.0,
        area_m2=1000.0,
        avaluo_terreno=50000.0,
        aiva_valor=100.0,
        administracion_zonal="Calderón",
    ),
    "A02": dict(
        puos_uso="R1",
        uso_principal="Tipología 2",
        puos_pisos=2.0,
        pisos_basicos=2.0,
        pisos_maximos=2.0,
        puos_cos_pb=50.0,
        cos_pb=50.0,
        puos_cos_total=100.0,
        cos_total_basico=100.0,
        cos_total_maximo=100.0,
        puos_lote_minimo=300.0,
        lote_minimo=300.0,
        area_m2=500.0,
        avaluo_terreno=60000.0,
        avaluo_cubiertas=80000.0,
        area_cubiertas=200.0,
        aiva_valor=300.0,
    ),
    "A03": dict(
        puos_uso="I3",
        uso_principal="IAI",
        puos_pisos=2.0,
        pisos_basicos=2.0,
        pisos_maximos=2.0,
        puos_cos_pb=60.0,
        cos_pb=60.0,
        puos_cos_total=120.0,
        cos_total_basico=120.0,
        cos_total_maximo=120.0,
        puos_lote_minimo=1000.0,
        lote_minimo=1000.0,
        area_m2=2000.0,
        avaluo_terreno=120000.0,
        aiva_valor=80.0,
        administracion_zonal="Quitumbe",
    ),
    "A04": dict(
        uso_principal="M",
        puos_lote_minimo=300.0,
        lote_minimo=300.0,
        area_m2=600.0,
        avaluo_terreno=90000.0,
        aiva_valor=600.0,
        administracion_zonal="Eloy Alfaro",
    ),
    "A05": dict(
        puos_pisos=3.0,
        pisos_basicos=3.0,
        pisos_maximos=3.0,
        puos_cos_total=105.0,
        cos_total_basico=105.0,
        cos_total_maximo=105.0,
        lote_minimo=300.0,
        area_m2=800.0,
        avaluo_terreno=100000.0,
        aiva_valor=200.0,
    ),
    "A06": dict(
        puos_pisos=3.0,
        pisos_basicos=3.0,
        pisos_maximos=3.0,
        puos_cos_pb=50.0,
        puos_cos_total=150.0,
        cos_total_basico=105.0,
        cos_total_maximo=105.0,
        lote_minimo=300.0,
        area_m2=800.0,
    ),
    "A07": dict(
        puos_lote_minimo=1000.0,
        lote_minimo=600.0,
        puos_cos_pb=40.0,
        cos_pb=40.0,
        puos_pisos=4.0,
        pisos_basicos=3.0,
        pisos_maximos=4.0,
        puos_cos_total=160.0,
        cos_total_basico=120.0,
        cos_total_maximo=160.0,
        area_m2=1500.0,
    ),
    "A08": dict(lote_minimo=400.0, area_m2=700.0),
    "A09": dict(
        puos_pisos=3.0,
        pisos_basicos=3.0,
        pisos_maximos=6.0,
        puos_cos_total=105.0,
        cos_total_basico=105.0,
        cos_total_maximo=210.0,
        area_m2=1000.0,
        aiva_valor=300.0,
        administracion_zonal="La Delicia",
    ),
    "A10": dict(
        uso_principal="M",
        puos_lote_minimo=300.0,
        lote_minimo=300.0,
        pisos_maximos=8.0,
        cos_total_maximo=280.0,
        area_m2=500.0,
        avaluo_terreno=75000.0,
        aiva_valor=150.0,
        administracion_zonal="Manuela Sáenz",
    ),
    "A11": dict(
        puos_lote_minimo=1000.0,
        lote_minimo=600.0,
        puos_cos_pb=40.0,
        cos_pb=40.0,
        puos_pisos=2.0,
        pisos_basicos=2.0,
        pisos_maximos=4.0,
        puos_cos_total=80.0,
        cos_total_basico=80.0,
        cos_total_maximo=160.0,
        area_m2=1500.0,
        avaluo_terreno=300000.0,
        aiva_valor=550.0,
        administracion_zonal="Tumbaco",
    ),
    "A12": dict(
        uso_principal="M",
        lote_minimo=300.0,
        area_m2=800.0,
        avaluo_terreno=80000.0,
        aiva_valor=100.0,
        administracion_zonal="La Delicia",
    ),
    "A13": dict(
        uso_principal="M",
        lote_minimo=300.0,
        area_m2=800.0,
        avaluo_terreno=200000.0,
        aiva_valor=100.0,
        avaluo_cubiertas=20000.0,
        area_cubiertas=100.0,
        administracion_zonal="La Delicia",
    ),
    "A14": dict(),
    "A15": dict(
        puos_uso=None,
        puos_clasificacion=None,
        puos_lote_minimo=np.nan,
        puos_pisos=np.nan,
        puos_cos_pb=np.nan,
        puos_cos_total=np.nan,
    ),
    "A16": dict(uso_principal="M", administracion_zonal="Mariscal Sucre"),
    "A17": dict(
        puos_pisos=3.0,
        pisos_basicos=3.0,
        pisos_maximos=6.0,
        puos_cos_total=105.0,
        cos_total_basico=105.0,
        cos_total_maximo=210.0,
        area_m2=1000.0,
        aiva_valor=300.0,
        administracion_zonal="La Delicia",
        en_plan_parcial=True,
    ),
    "A18": dict(
        uso_principal="M",
        puos_lote_minimo=1000.0,
        lote_minimo=600.0,
        puos_cos_pb=40.0,
        cos_pb=40.0,
        puos_pisos=2.0,
        pisos_basicos=2.0,
        pisos_maximos=4.0,
        puos_cos_total=80.0,
        cos_total_basico=80.0,
        cos_total_maximo=160.0,
        area_m2=1500.0,
        avaluo_terreno=300000.0,
        aiva_valor=550.0,
        administracion_zonal="Tumbaco",
    ),
}


def hand_project() -> pd.DataFrame:
    rows = [{**_BASE, **case, "clave_catastral": clave} for clave, case in _CASES.items()]
    # a non-default index: results must align to it, not to positions
    return pd.DataFrame(rows, index=pd.Index(range(100, 100 + len(rows)), name="lote"))


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def result(rules):
    lots = hand_project()
    return lots, detect_ambitos(lots, rules=rules)


def _fmt(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def test_golden_per_lot(result):
    lots, out = result
    expected = pd.read_csv(GOLDEN, dtype=str, keep_default_na=False).set_index("clave_catastral")
    got = out.assign(clave_catastral=lots["clave_catastral"]).set_index("clave_catastral")
    assert list(got.index) == list(expected.index)
    for col in expected.columns:
        if col == "caso":
            continue
        actual = got[col].map(_fmt)
        mismatches = {
            k: (actual[k], expected.loc[k, col]) for k in expected.index if actual[k] != expected.loc[k, col]
        }
        assert not mismatches, f"columna {col}: (obtenido, esperado) {mismatches}"


def test_output_shape_and_alignment(result):
    lots, out = result
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert out.index.equals(lots.index)
    # cents and dollars agree
    known = out["cod_centavos"].notna()
    dollars = (out.loc[known, "cod"] * 100).round().astype("int64").tolist()
    assert dollars == out.loc[known, "cod_centavos"].tolist()


def test_single_and_combined_figures(result):
    lots, out = result
    got = out.assign(clave=lots["clave_catastral"]).set_index("clave")
    # A10: the single ámbitos are reported next to the combined one that is charged
    assert got.loc["A10", "cod_uso"] == pytest.approx(6600.00)
    assert got.loc["A10", "cod_edificabilidad"] == pytest.approx(11592.00)
    assert got.loc["A10", "cod_edificabilidad_uso"] == pytest.approx(14904.00)
    assert pd.isna(got.loc["A10", "cod_lote_minimo"])
    # A11
    assert got.loc["A11", "cod_lote_minimo"] == pytest.approx(14820.00)
    assert got.loc["A11", "cod_edificabilidad"] == pytest.approx(18720.00)
    # A12 / A13: both sides of §2.3.3 are reported, each wins once
    assert got.loc["A12", "cod_lote_minimo"] == pytest.approx(1904.00)
    assert got.loc["A13", "cod_uso"] == pytest.approx(1044.48)
    # A18: both combined formulas computed
    assert got.loc["A18", "cod_edificabilidad_lote_minimo"] == pytest.approx(27799.20)
    # Ae from the difference of COS totals
    assert got.loc["A09", "ae_ambito_m2"] == pytest.approx(1050.0)
    assert got.loc["A11", "ae_ambito_m2"] == pytest.approx(1200.0)


def test_flags_and_decisive_values(result):
    lots, out = result
    got = out.assign(clave=lots["clave_catastral"]).set_index("clave")
    assert got.loc["A01", "ambito_clasificacion"]
    assert got.loc["A01", "clasificacion_anterior"] == "rural"
    assert got.loc["A01", "clasificacion_nueva"] == "urbano"
    assert got.loc["A02", "ambito_uso"] and got.loc["A02", "uso_equivalencia"].startswith("Tabla 2")
    assert got.loc["A03", "uso_equivalencia"].startswith("Tabla 3")
    assert got.loc["A04", "ambito_uso"] and pd.isna(got.loc["A04", "uso_equivalencia"])
    # §2.2.2: reported with the failing condition, not charged
    assert got.loc["A05", "lote_minimo_precondiciones"]
    for clave, words in (("A06", "COS PB"), ("A07", "pisos"), ("A08", "2 × lote mínimo")):
        assert not got.loc[clave, "ambito_lote_minimo"]
        assert got.loc[clave, "lote_minimo_precondiciones"] is not pd.NA
        assert not got.loc[clave, "lote_minimo_precondiciones"]
        assert words in got.loc[clave, "lote_minimo_motivo"], got.loc[clave, "lote_minimo_motivo"]
        assert got.loc[clave, "cod"] == 0
    assert pd.isna(got.loc["A14", "lote_minimo_precondiciones"])  # not reduced: no precondition to check
    # no PUOS: every ámbito unknown (null), never "no"
    for col in ("ambito_clasificacion", "ambito_uso", "ambito_lote_minimo", "ambito_edificabilidad"):
        assert pd.isna(got.loc["A15", col])
        assert got.loc["A14", col] is False or not got.loc["A14", col]
    assert got.loc["A17", "beneficio"] and not got.loc["A09", "beneficio"]


def test_every_figure_equals_compute_cod(result, rules):
    """Each cod_<ámbito> is what `quitogeo calc` gives for the same inputs."""
    from quitogeo.calc import compute_cod

    lots, out = result
    alfa, vc = Decimal("0.12"), Decimal("500")
    fu = {"R2": Decimal("1.00"), "M": Decimal("1.20"), "Tipología 2": Decimal("1.00"), "IAI": Decimal("0.90")}
    checked = 0
    for i in lots.index:
        lot, row = lots.loc[i], out.loc[i]
        area = lot["area_m2"]
        has_constr = pd.notna(lot["area_cubiertas"]) and lot["area_cubiertas"] > 0
        # Vs_c: α × Vcc with construction, avalúo / área without (the CLI refuses the other inputs)
        uso_kwargs = (
            {"alfa": alfa, "vcc": lot["avaluo_cubiertas"] / lot["area_cubiertas"]}
            if has_constr
            else {"avaluo_terreno": lot["avaluo_terreno"], "area_terreno": area}
        )
        common = {"rules": rules, "aiva": float(lot["aiva_valor"]), "beneficio": bool(lot["en_plan_parcial"])}
        edif = {
            "alfa": alfa,
            "vc": vc,
            "fu": fu[lot["uso_principal"]],
            "ae": row["ae_ambito_m2"],
            "area_terreno": area,
        }
        calls = {
            "uso": dict(ir=row["ir_cu"], auv=area, **uso_kwargs),
            "edificabilidad": edif,
            "lote-minimo": dict(vsa=lot["avaluo_terreno"], ir=row["ir_lm"]),
            "edificabilidad-uso": dict(ir=row["ir_cu"], auv=area, **edif),
            "edificabilidad-lote-minimo": dict(ir=row["ir_lm"], auv=area, **edif),
        }
        for ambito, col in COD_COLUMNS.items():
            if pd.isna(row[col]):
                continue
            # plain floats: what a technician types (numpy scalars are not the CLI's input)
            kwargs = {k: float(v) if isinstance(v, np.floating) else v for k, v in calls[ambito].items()}
            res = compute_cod(ambito, **common, **kwargs)
            expected = Decimal(res.to_json_dict()["cod"])
            assert expected == Decimal(f"{row[col]:.2f}"), (lot["clave_catastral"], ambito)
            checked += 1
    assert checked >= 20


def test_no_silent_zero_when_data_missing(rules):
    lots = hand_project()
    lots.loc[lots["clave_catastral"] == "A04", "aiva_valor"] = np.nan
    lots.loc[lots["clave_catastral"] == "A05", "administracion_zonal"] = None
    out = detect_ambitos(lots, rules=rules).assign(clave=lots["clave_catastral"]).set_index("clave")
    assert pd.isna(out.loc["A04", "cod"]) and "aiva" in out.loc["A04", "estado"].lower()
    assert pd.isna(out.loc["A05", "cod"]) and "sin Administración Zonal" in out.loc["A05", "estado"]
    # the other lots are untouched
    assert out.loc["A09", "cod"] == pytest.approx(14490.00) and out.loc["A09", "estado"] == "ok"


def test_rules_switches(rules):
    """The readings of the norm are parameters: flipping them changes the outcome as documented."""
    import copy

    from quitogeo.rules import Rules

    lots = hand_project()
    data = copy.deepcopy(dict(rules.data))
    data["ambitos"]["equivalencias_cobran"] = False
    data["ambitos"]["lote_minimo_lotes_resultantes"] = 0
    data["ambitos"]["linea_base_edificabilidad"] = "pugs_basico"
    alt = Rules(data=data, source="test", sha256="0")
    out = detect_ambitos(lots, rules=alt).assign(clave=lots["clave_catastral"]).set_index("clave")
    # R1 → Tipología 2 is no longer a change
    assert not out.loc["A02", "ambito_uso"] and out.loc["A02", "cod"] == 0
    assert not out.loc["A03", "ambito_uso"]
    assert out.loc["A08", "ambito_lote_minimo"]  # divisibility reading off
    # A07: PUGS básico 120 % < máximo 160 %: with the PUGS baseline it is an incremento
    # (Ae = 0.40 × 1 500 = 600)
    assert out.loc["A07", "ae_ambito_m2"] == pytest.approx(600.0)


# ---------------------------------------------------------------------------------------------------------
# the same project as layers: the spatial join and the run

_PUGS_COLS = (
    "uso_principal",
    "clasificacion",
    "lote_minimo",
    "pisos_basicos",
    "pisos_maximos",
    "cos_pb",
    "cos_total_basico",
    "cos_total_maximo",
)
_PUOS_COLS = {
    "puos_uso": "uso_principal",
    "puos_clasificacion": "clasificacion",
    "puos_lote_minimo": "lote_minimo",
    "puos_pisos": "pisos",
    "puos_cos_pb": "cos_pb",
    "puos_cos_total": "cos_total",
}


def hand_layers() -> dict:
    """One 20 × 20 m lot per case, 100 m apart; its PIT, AIVA and PUOS zone a 30 × 30 m square around it.

    The deed area (``area_escritura``) is the case's area, so the COD figures are those of the table above.
    A15 has no PUOS zone; A17 lies in a plan parcial.
    """
    from quitogeo.testing import layer, rect

    lots = hand_project().reset_index(drop=True)
    predios, pugs, aiva, puos = [], [], [], []
    for i, lot in lots.iterrows():
        x = 100.0 * i
        predios.append(
            {
                "clave_catastral": lot["clave_catastral"],
                "area_escritura": lot["area_m2"],
                "administracion_zonal": lot["administracion_zonal"],
                "regimen": lot["regimen"],
                "avaluo_terreno": lot["avaluo_terreno"],
                "avaluo_cubiertas": lot["avaluo_cubiertas"],
                "area_cubiertas": lot["area_cubiertas"],
                "geometry": rect(x, 0, x + 20, 20),
            }
        )
        zone = rect(x - 5, -5, x + 25, 25)
        pugs.append(
            {
                "codigo_pit": f"PIT-{lot['clave_catastral']}",
                **{c: lot[c] for c in _PUGS_COLS},
                "geometry": zone,
            }
        )
        aiva.append({"codigo_aiva": f"AIVA-{i}", "valor_m2": lot["aiva_valor"], "geometry": zone})
        if pd.notna(lot["puos_uso"]):
            puos.append({**{v: lot[k] for k, v in _PUOS_COLS.items()}, "geometry": zone})
    i17 = int(lots.index[lots["clave_catastral"] == "A17"][0])
    x17 = 100.0 * i17
    plan = [{"nombre": "Plan Parcial de prueba", "geometry": rect(x17 - 10, -10, x17 + 30, 30)}]
    return {
        "predios": layer(predios),
        "pugs": layer(pugs),
        "aiva": layer(aiva),
        "puos": layer(puos),
        "planes_parciales": layer(plan),
    }


def test_join_puos_largest_overlap_and_codes(rules):
    from quitogeo.ambitos import join_puos
    from quitogeo.testing import layer, rect

    lots = layer(
        [
            {"clave_catastral": "1", "geometry": rect(0, 0, 20, 20)},  # 14 m in zone a, 6 m in zone b
            {"clave_catastral": "2", "geometry": rect(100, 0, 120, 20)},  # outside every zone
            {"clave_catastral": "3", "geometry": rect(30, 0, 40, 10)},  # inside zone b only
        ]
    ).set_index(pd.Index([7, 8, 9]))
    puos = layer(
        [
            {"uso_principal": "R2", "codigo_edificabilidad": "A603-35", "geometry": rect(-10, -10, 14, 30)},
            {
                "uso_principal": "M",
                "codigo_edificabilidad": "A1002-35",
                "cos_pb": 40.0,
                "geometry": rect(14, -10, 50, 30),
            },
        ]
    )
    out = join_puos(lots, puos, rules=rules)
    assert out.index.tolist() == [7, 8, 9]
    # lot 1: 14 × 20 = 280 m² of 400 in zone a → share 0.70; A603-35 → 600 m², 3 floors, 35 %, COS total 105 %
    assert out.loc[7, "puos_uso"] == "R2" and out.loc[7, "puos_fraccion"] == pytest.approx(0.70)
    assert out.loc[7, ["puos_lote_minimo", "puos_pisos", "puos_cos_total"]].tolist() == [600, 3, 105]
    assert out.loc[7, "n_puos"] == 2
    # lot 2: no coverage → null attributes, share 0
    assert pd.isna(out.loc[8, "puos_uso"]) and out.loc[8, "puos_fraccion"] == 0
    # lot 3: the layer's COS PB (40 %) wins over the code's (35 %); COS total from the code's floors × it? no:
    # the code gives cos_total 70 (2 × 35) and the layer has no cos_total, so the code's value fills it
    assert out.loc[9, "puos_cos_pb"] == 40 and out.loc[9, "puos_lote_minimo"] == 1000
    assert out.loc[9, "puos_fraccion"] == pytest.approx(1.0)


def test_run_with_puos_layer_matches_golden(rules):
    """The hand-built project through `quitogeo.run`: the ámbito columns land in predios_resultado."""
    from quitogeo.pipeline import run
    from quitogeo.testing import make_project

    result = run(make_project(hand_layers()), rules=rules)
    predios = result.predios.set_index("clave_catastral")
    expected = pd.read_csv(GOLDEN, dtype=str, keep_default_na=False).set_index("clave_catastral")
    for col, run_col in (
        ("ambitos", "ambitos"),
        ("ambito_aplicado", "ambito_aplicado"),
        ("ir", "ir"),
        ("ir_fuente", "ir_fuente"),
        ("cod", "cod_ambito"),
        ("estado", "estado_ambito"),
    ):
        got = predios[run_col].map(_fmt)
        diff = {k: (got[k], expected.loc[k, col]) for k in expected.index if got[k] != expected.loc[k, col]}
        assert not diff, f"{run_col}: {diff}"
    assert predios.loc["A17", "ambito_beneficio"]
    assert predios.loc["A17", "plan_parcial"] == "Plan Parcial de prueba"
    # the scenario's own columns are untouched by the stage
    assert {"cod", "estado", "cod_centavos"} <= set(predios.columns)
    # resumen: potential recaudación split by ámbito, from the same cents
    res = result.resumen
    by_amb = res[res["agrupacion"] == "ambito"].set_index("grupo")
    total_cents = int(predios["cod_ambito_centavos"].fillna(0).sum())
    assert round(by_amb["cod_ambito_potencial"].sum() * 100) == total_cents
    # uso: A01–A04 + A12 = 2975 + 1056 + 24072 + 7020 + 4352 = 39 475.00 (A16 has no IR: not counted)
    assert by_amb.loc["uso", "cod_ambito_potencial"] == pytest.approx(39475.00)
    assert by_amb.loc["edificabilidad-uso", "n_predios"] == 2


def test_run_without_puos_adds_nothing(rules):
    from quitogeo.pipeline import run
    from quitogeo.testing import make_project

    layers = hand_layers()
    del layers["puos"]
    predios = run(make_project(layers), rules=rules).predios
    assert "ambito_aplicado" not in predios.columns and "puos_uso" not in predios.columns


# ---------------------------------------------------------------------------------------------------------
# the sample's PUOS layer: every ámbito and combination somewhere


def _assert_every_ambito(frame: pd.DataFrame, *, cod: str = "cod") -> None:
    """Every ámbito, IR source and combination of the issue occurs on at least one lot of ``frame``."""
    covered = frame[frame["puos_cobertura"].fillna(False).astype(bool)]
    flags = covered[["ambito_clasificacion", "ambito_uso", "ambito_lote_minimo", "ambito_edificabilidad"]]
    flags = flags.astype("boolean").fillna(False).astype(bool)
    names = ("clasificacion", "uso", "lote_minimo", "edificabilidad")
    cls, uso, lm, edif = (flags[f"ambito_{k}"] for k in names)
    cu = cls | uso  # both priced by the `uso` formula (§2.1)
    combos = {
        "rural → urbano": cls,
        "uso solo": uso & ~cls & ~lm & ~edif,
        "lote mínimo solo": lm & ~cu & ~edif,
        "edificabilidad sola": edif & ~cu & ~lm,
        "edificabilidad + uso": edif & cu,
        "edificabilidad + lote mínimo": edif & lm,
        "lote mínimo + uso": lm & cu & ~edif,
        "sin cambio": ~flags.any(axis=1),
        "Tabla 2": covered["ir_cu_fuente"].astype(str).str.startswith("Tabla 2"),
        "Tabla 3": covered["ir_cu_fuente"].astype(str).str.startswith("Tabla 3"),
        "tabla IR AZ (uso)": covered["ir_cu_fuente"].astype(str).str.startswith("tabla IR AZ"),
        "§2.2.2 no cumplido": covered["lote_minimo_precondiciones"].astype("boolean").eq(False).fillna(False),
    }
    missing = [name for name, mask in combos.items() if not mask.any()]
    assert not missing, f"casos ausentes: {missing}"
    applied = set(covered["ambito_aplicado"].dropna())
    assert {
        "uso",
        "edificabilidad",
        "lote-minimo",
        "edificabilidad-uso",
        "edificabilidad-lote-minimo",
        "ninguno",
    } <= applied, applied
    # every ámbito applied has a figure somewhere (not only estados)
    priced = covered[covered[cod].notna() & (covered[cod] > 0)]
    assert set(priced["ambito_aplicado"]) >= applied - {"ninguno"}, set(priced["ambito_aplicado"])


def _synthetic_pugs():
    from quitogeo.testing import layer, rect

    uses = ["RU1", "RU2", "M", "IAI", "E", "Tipología 3", "RU3", "M", "RU1", "IMI", "M", "RU2", "E", "RU1"]
    rows = []
    for i, u in enumerate(uses):
        k = i % 4
        rows.append(
            {
                "codigo_pit": f"P{i}",
                "uso_principal": u,
                "clasificacion": "urbano",
                "lote_minimo": [200.0, 300.0, 400.0, 600.0][k],
                "cos_pb": [35.0, 40.0, 50.0, 60.0][k],
                "pisos_basicos": [2.0, 3.0, 4.0, 6.0][k],
                "pisos_maximos": [4.0, 6.0, 8.0, 12.0][k],
                "geometry": rect(100 * i, 0, 100 * i + 90, 90),
            }
        )
    pugs = layer(rows)
    pugs["cos_total_basico"] = pugs["pisos_basicos"] * pugs["cos_pb"]
    pugs["cos_total_maximo"] = pugs["pisos_maximos"] * pugs["cos_pb"]
    return pugs


def test_sample_puos_is_deterministic_and_keeps_geometry():
    from quitogeo.sample_puos import CASES, make_puos_layer

    pugs = _synthetic_pugs()
    a, b = make_puos_layer(pugs, seed=7), make_puos_layer(pugs, seed=7)
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    # PUOS zones are strips of the PUGS polygons: same CRS, same total area, each inside one PUGS polygon
    assert a.crs.equals(pugs.crs) and len(a) == 2 * len(pugs)
    assert a.area.sum() == pytest.approx(pugs.area.sum())
    assert a.geometry.apply(lambda g: bool(pugs.buffer(1e-6).contains(g).any())).all()
    assert set(a["caso"]) == set(CASES)  # 28 strips ≥ 12 cases: each case once at least
    assert not make_puos_layer(pugs, seed=8)["caso"].equals(a["caso"])
    # the zoning code agrees with the columns it encodes (A + lote/100 + 2-digit floors + COS PB)
    from quitogeo.io.zoning_codes import parse_zoning_codes

    parsed = parse_zoning_codes(a["codigo_edificabilidad"])
    assert (parsed["lote_minimo"] == a["lote_minimo"]).all() and (parsed["cos_pb"] == a["cos_pb"]).all()


def test_sample_puos_produces_every_ambito(rules):
    """One large lot per synthetic PUGS polygon, through the run: every ámbito and combination occurs."""
    from quitogeo.pipeline import run
    from quitogeo.sample_puos import make_puos_layer
    from quitogeo.testing import layer, rect

    pugs = _synthetic_pugs()
    # four 40 × 40 m lots per 90 × 90 m polygon, one column of two per PUOS strip; 1 600 m² ≥ 2 × 600 m²:
    # divisible at every lote mínimo of the synthetic PUGS
    predios = layer(
        [
            {
                "clave_catastral": f"L{i}-{j}",
                "administracion_zonal": "Eugenio Espejo",
                "avaluo_terreno": 400000.0,
                "avaluo_cubiertas": 30000.0 if j % 2 else np.nan,
                "area_cubiertas": 300.0 if j % 2 else np.nan,
                "geometry": rect(100 * i + x, y, 100 * i + x + 40, y + 40),
            }
            for i in range(len(pugs))
            for j, (x, y) in enumerate(((3, 3), (3, 47), (47, 3), (47, 47)))
        ]
    )
    aiva = layer([{"codigo_aiva": "A", "valor_m2": 300.0, "geometry": rect(-10, -10, 100 * len(pugs), 100)}])
    from quitogeo.testing import make_project

    layers = {"predios": predios, "pugs": pugs, "aiva": aiva, "puos": make_puos_layer(pugs, seed=3)}
    out = run(make_project(layers), rules=rules).predios
    _assert_every_ambito(out, cod="cod_ambito")


def test_embedded_sample_produces_every_ambito(rules):
    """The sample project as `quitogeo sample` / data/muestra_quito.gpkg build it (default lots and seed)."""
    sample = pytest.importorskip("quitogeo.sample", reason="el generador de muestra aún no existe")
    from quitogeo.pipeline import run
    from quitogeo.testing import make_project

    layers = sample.make_sample_project()
    assert "puos" in layers
    out = run(make_project(layers), rules=rules).predios
    _assert_every_ambito(out, cod="cod_ambito")


def test_undecidable_ambito_gives_no_figure(rules):
    """Missing PUOS/PUGS data: the ámbito is null, the COD too, and the text says what is missing."""
    lots = hand_project()
    sel = lots["clave_catastral"] == "A04"  # R2 → M, priced 7 020.00 with the data
    lots.loc[sel, "cos_total_maximo"] = np.nan
    lots.loc[sel, "pisos_maximos"] = np.nan
    lots.loc[lots["clave_catastral"] == "A14", "lote_minimo"] = np.nan  # the no-change lot
    out = detect_ambitos(lots, rules=rules).assign(clave=lots["clave_catastral"]).set_index("clave")
    # A04: the use change is known, the buildability is not (uso or edificabilidad-uso?): no figure
    assert out.loc["A04", "ambito_uso"] and pd.isna(out.loc["A04", "ambito_edificabilidad"])
    assert pd.isna(out.loc["A04", "cod"]) and pd.isna(out.loc["A04", "ambito_aplicado"])
    assert out.loc["A04", "ambitos"] == "modificación de uso (sin dato: edificabilidad)"
    assert "COS total" in out.loc["A04", "estado"]
    # A14 is not "sin cambio" any more: its lote mínimo is unknown
    assert out.loc["A14", "ambitos"] == "sin cambio (sin dato: lote mínimo)"
    assert pd.isna(out.loc["A14", "cod"])
    assert "lote mínimo" in out.loc["A14", "estado"]
