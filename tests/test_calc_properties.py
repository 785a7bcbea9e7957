"""Property tests of the calc core (hypothesis): sign, linearity, monotonicity, vectorised == scalar."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from quitogeo.calc import compute_cod
from quitogeo.calc.vectorized import cod_frame, needed_columns
from quitogeo.rules import load_rules

R = load_rules()
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def dec(lo: str, hi: str, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals in [lo, hi] with ``places`` decimals (scaled integers: faster to draw than st.decimals)."""
    q = Decimal(10) ** places
    return st.integers(int(Decimal(lo) * q), int(Decimal(hi) * q)).map(lambda k: Decimal(k) / q)


ALFA = dec("0.07", "0.20", 3)
VC = dec("0", "2000", 2)
FU = dec("0", "2", 2)
AE = dec("0", "20000", 2)
AREA = dec("0.01", "20000", 2)
AIVA = dec("0", "3000", 2)
IR = dec("0", "2", 3)
AUV = dec("0", "20000", 2)
VSA = dec("0", "10000000", 2)
VS_C = dec("0", "3000", 4)


def edif_args(**over: Any) -> st.SearchStrategy[dict[str, Decimal]]:
    base = dict(alfa=ALFA, vc=VC, fu=FU, ae=AE, area_terreno=AREA, aiva=AIVA)
    base.update(over)
    return st.fixed_dictionaries(base)


# ------------------------------------------------------------------------------------------- non-negative
@SETTINGS
@given(
    ambito=st.sampled_from(
        ["uso", "edificabilidad", "lote-minimo", "edificabilidad-uso", "edificabilidad-lote-minimo"]
    ),
    alfa=ALFA,
    vc=VC,
    fu=FU,
    ae=AE,
    area=AREA,
    aiva=AIVA,
    ir=IR,
    auv=AUV,
    vsa=VSA,
    vs_c=VS_C,
    vis_share=st.one_of(st.none(), dec("0", "1", 3)),
    beneficio=st.booleans(),
)
def test_cod_is_non_negative(
    ambito: str,
    alfa: Decimal,
    vc: Decimal,
    fu: Decimal,
    ae: Decimal,
    area: Decimal,
    aiva: Decimal,
    ir: Decimal,
    auv: Decimal,
    vsa: Decimal,
    vs_c: Decimal,
    vis_share: Decimal | None,
    beneficio: bool,
) -> None:
    args = _args_for(
        ambito,
        dict(
            alfa=alfa, vc=vc, fu=fu, ae=ae, area_terreno=area, aiva=aiva, ir=ir, auv=auv, vsa=vsa, vs_c=vs_c
        ),
    )
    if vis_share is not None and ambito.startswith("edificabilidad"):
        args["area_util_proyecto"] = ae + 1
        args["vis"] = vis_share * (ae + 1)
    r = compute_cod(ambito, rules=R, beneficio=beneficio, **args)
    assert r.cod_exacto >= 0 and r.cod >= 0
    assert 0 <= r.cod_exonerado <= r.cod
    assert r.cod_exonerado_exacto <= r.cod_exacto


def _args_for(ambito: str, values: dict[str, Any]) -> dict[str, Any]:
    return {k: values[k] for k in needed_columns(ambito)}


# ------------------------------------------------------------------------------------- linear in Ae (cell)
@SETTINGS
@given(args=edif_args(), factor=dec("0", "5", 3))
def test_edificabilidad_is_linear_in_ae_within_a_beta_cell(args: dict[str, Decimal], factor: Decimal) -> None:
    a = compute_cod("edificabilidad", rules=R, **args)
    b = compute_cod("edificabilidad", rules=R, **{**args, "ae": args["ae"] * factor})
    assume((a.beta_fila, a.beta_columna) == (b.beta_fila, b.beta_columna))
    # COD = Vs × β × Ae: exactly proportional to Ae while β does not change.
    assert b.cod_exacto == a.cod_exacto * factor


# ------------------------------------------------------------------------------------------- monotonicity
@SETTINGS
@given(
    args=edif_args(),
    a1=ALFA,
    a2=ALFA,
    ambito=st.sampled_from(["edificabilidad", "edificabilidad-uso", "edificabilidad-lote-minimo"]),
    ir=IR,
    auv=AUV,
)
def test_monotone_in_alfa(
    args: dict[str, Decimal], a1: Decimal, a2: Decimal, ambito: str, ir: Decimal, auv: Decimal
) -> None:
    lo, hi = sorted((a1, a2))
    extra = {} if ambito == "edificabilidad" else {"ir": ir, "auv": auv}
    c_lo = compute_cod(ambito, rules=R, **{**args, **extra, "alfa": lo})
    c_hi = compute_cod(ambito, rules=R, **{**args, **extra, "alfa": hi})
    assert c_lo.cod_exacto <= c_hi.cod_exacto and c_lo.cod <= c_hi.cod


@SETTINGS
@given(args=edif_args(), v1=AIVA, v2=AIVA, vsa=VSA, ir=IR)
def test_monotone_in_aiva(
    args: dict[str, Decimal], v1: Decimal, v2: Decimal, vsa: Decimal, ir: Decimal
) -> None:
    lo, hi = sorted((v1, v2))
    e_lo = compute_cod("edificabilidad", rules=R, **{**args, "aiva": lo})
    e_hi = compute_cod("edificabilidad", rules=R, **{**args, "aiva": hi})
    assert e_lo.cod <= e_hi.cod and e_lo.beta_fila <= e_hi.beta_fila  # type: ignore[operator]
    l_lo = compute_cod("lote-minimo", rules=R, vsa=vsa, ir=ir, aiva=lo)
    l_hi = compute_cod("lote-minimo", rules=R, vsa=vsa, ir=ir, aiva=hi)
    assert l_lo.cod <= l_hi.cod


# ---------------------------------------------------------------------------------- vectorised == scalar
# Half-cent values: Vs = 0.1 × 100 × 1 = 10 and β = 0.20 (AIVA ≤ 120, 1 ≤ IC ≤ 2) give COD = 2 × Ae, so
# Ae = n / 10000 with n ≡ 25 (mod 50) lands exactly on a half cent (2 × 0.0025 = 0.005).
HALF_CENT_AE = st.integers(0, 10_000_000).map(lambda k: Decimal(50 * k + 25) / 10000)


def _row(ambito: str, draw: st.DrawFn) -> dict[str, float]:
    near_half = draw(st.booleans())
    if near_half and ambito == "edificabilidad":
        ae = draw(HALF_CENT_AE)
        area = ae / Decimal("1.5")  # IC = 1.5 → column 2
        vals: dict[str, Any] = dict(
            alfa=Decimal("0.1"),
            vc=Decimal(100),
            fu=Decimal(1),
            ae=ae,
            area_terreno=area.quantize(Decimal("0.0001")) or Decimal("0.0001"),
            aiva=Decimal(100),
        )
    else:
        vals = dict(
            alfa=draw(ALFA),
            vc=draw(VC),
            fu=draw(FU),
            ae=draw(AE),
            aiva=draw(AIVA),
            ir=draw(IR),
            auv=draw(AUV),
            vsa=draw(VSA),
            vs_c=draw(VS_C),
        )
        # IC exactly on an edge (1 or 2) sometimes, to exercise the band-edge recomputation.
        edge = draw(st.sampled_from([None, Decimal(1), Decimal(2)]))
        vals["area_terreno"] = vals["ae"] / edge if edge and vals["ae"] > 0 else draw(AREA)
    vals.setdefault("ir", draw(IR))
    vals.setdefault("auv", draw(AUV))
    vals.setdefault("vsa", draw(VSA))
    vals.setdefault("vs_c", draw(VS_C))
    row = {k: float(v) for k, v in vals.items()}
    if ambito.startswith("edificabilidad") and draw(st.booleans()):
        total = draw(dec("0.01", "50000", 2))
        share = draw(st.sampled_from([Decimal("0.2"), Decimal("0.19999"), None]))
        vis = total * share if share is not None else draw(dec("0", "1", 4)) * total
        row["area_util_proyecto"] = float(total)
        row["vis"] = float(vis)
    else:
        row["area_util_proyecto"] = np.nan
        row["vis"] = np.nan
    return row


@st.composite
def frames(draw: st.DrawFn) -> tuple[str, bool, pd.DataFrame]:
    ambito = draw(
        st.sampled_from(
            ["uso", "edificabilidad", "lote-minimo", "edificabilidad-uso", "edificabilidad-lote-minimo"]
        )
    )
    n = draw(st.integers(1, 12))
    rows = [_row(ambito, draw) for _ in range(n)]
    return ambito, draw(st.booleans()), pd.DataFrame(rows, index=pd.Index(range(100, 100 + n)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=frames())
def test_vectorised_equals_scalar_to_the_cent(case: tuple[str, bool, pd.DataFrame]) -> None:
    ambito, beneficio, frame = case
    out = cod_frame(frame, ambito=ambito, rules=R, beneficio=beneficio)
    assert out.index.equals(frame.index)
    for idx, row in zip(frame.index, frame.to_dict("records"), strict=True):
        args = {k: row[k] for k in needed_columns(ambito, beneficio=beneficio)}
        if not np.isnan(row["vis"]):
            args["vis"] = row["vis"]
            args["area_util_proyecto"] = row["area_util_proyecto"]
        if not out.at[idx, "valido"]:
            # the only invalid rows these strategies make: VIS larger than the project (floats of vis ≤ total)
            raise AssertionError(f"fila inválida inesperada: {out.at[idx, 'motivo_calc']}")
        s = compute_cod(ambito, rules=R, beneficio=beneficio, **args)  # floats → Decimal(repr(x))
        assert out.at[idx, "cod_centavos"] == int(s.cod * 100), (idx, args)
        assert out.at[idx, "cod_exonerado_centavos"] == int(s.cod_exonerado * 100), (idx, args)
        assert out.at[idx, "cod"] == float(s.cod)
        assert out.at[idx, "beta"] == float(s.beta)
        if s.beta_fila is not None:
            assert (out.at[idx, "beta_fila"], out.at[idx, "beta_columna"]) == (s.beta_fila, s.beta_columna)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.floats(0.07, 0.2),
            st.floats(0, 5000),
            st.floats(0, 3),
            st.floats(0, 1e5),
            st.floats(1e-3, 1e5),
            st.floats(0, 5000),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_vectorised_equals_scalar_on_full_precision_floats(
    rows: list[tuple[float, float, float, float, float, float]],
) -> None:
    # Arbitrary binary floats (17 significant digits): the scalar form reads each as Decimal(repr(x)).
    frame = pd.DataFrame(rows, columns=["alfa", "vc", "fu", "ae", "area_terreno", "aiva"])
    out = cod_frame(frame, ambito="edificabilidad", rules=R)
    for i, row in enumerate(frame.to_dict("records")):
        s = compute_cod("edificabilidad", rules=R, **row)
        assert out["cod_centavos"].iloc[i] == int(s.cod * 100)
        assert out["beta_columna"].iloc[i] == s.beta_columna
