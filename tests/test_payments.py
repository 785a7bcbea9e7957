"""Payment plans of the COD (Anexo 01 §3) and the Ecuadorian formatting of the documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quitogeo.errors import PaymentPlanError
from quitogeo.export.documents.payments import (
    add_months,
    build_plan,
    contado_minimo_centavos,
    plan_contado,
    plan_cronograma,
    plan_especie,
    plan_mixto,
    split_cents,
)
from quitogeo.formatting import (
    cents_to_str,
    format_date,
    format_money,
    format_number,
    to_cents,
)
from quitogeo.rules import load_rules, parse_rules

RULES = load_rules()
INICIO = dt.date(2025, 1, 31)


def _rules_with(cuotas: int, periodo: int = 1, base: str = "porcion"):
    """The packaged rules with another number of instalments / period / mixto base."""
    from importlib import resources

    text = resources.files("quitogeo.rules").joinpath("quito_2024.toml").read_text("utf-8")
    text = text.replace("cronograma_cuotas = 12", f"cronograma_cuotas = {cuotas}")
    text = text.replace("cronograma_periodo_meses = 1", f"cronograma_periodo_meses = {periodo}")
    text = text.replace('mixto_contado_min_sobre = "porcion"', f'mixto_contado_min_sobre = "{base}"')
    return parse_rules(text, source="test")


# --- formatting --------------------------------------------------------------------------------------------


def test_money_format_is_usd_dot_thousands_comma_decimals():
    assert format_money(Decimal("1234.56")) == "USD\u00a01.234,56"
    assert format_money(1234567.891) == "USD\u00a01.234.567,89"
    assert format_money("0.005") == "USD\u00a00,01"  # half-up to the cent
    assert format_money(-12.5) == "-USD\u00a012,50"
    assert format_money(None) == "sin dato"
    assert format_money(float("nan")) == "sin dato"


def test_numbers_and_dates():
    assert format_number(1234.5, 1) == "1.234,5"
    assert format_number(999, 0) == "999"
    assert format_number(0.2345, 4) == "0,2345"
    assert format_date(dt.date(2025, 3, 5)) == "05/03/2025"
    assert format_date("2025-03-05T10:00:00") == "05/03/2025"
    assert to_cents("1234.565") == 123457
    assert cents_to_str(123456) == "1234.56"
    assert cents_to_str(5) == "0.05"


# --- split and dates ---------------------------------------------------------------------------------------


def test_split_cents_remainder_goes_to_first_instalments():
    # 100.00 in 3 → 33.34, 33.33, 33.33 (10000 = 3 × 3333 + 1)
    assert split_cents(10000, 3) == [3334, 3333, 3333]
    assert split_cents(12, 12) == [1] * 12


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=0, max_value=10**13), n=st.integers(min_value=1, max_value=240))
def test_split_cents_adds_up_exactly(total, n):
    parts = split_cents(total, n)
    assert len(parts) == n
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)


def test_add_months_clamps_to_month_end():
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 11, 15), 3) == dt.date(2026, 2, 15)


# --- contado / cronograma ----------------------------------------------------------------------------------


def test_contado_is_the_total():
    plan = plan_contado("12345.67", inicio=INICIO)
    assert plan.contado_centavos == plan.total_centavos == 1234567
    assert [c.centavos for c in plan.pagos] == [1234567]
    assert plan.to_json_dict()["total"] == "12345.67"


def test_cronograma_below_minimum_upfront_is_refused_in_spanish():
    # 20 % of 1000.00 is 200.00; 199.99 is one cent short
    with pytest.raises(PaymentPlanError) as exc:
        plan_cronograma("1000.00", rules=RULES, inicio=INICIO, contado_inicial="199.99")
    msg = str(exc.value)
    assert "rechazado" in msg and "20,00 %" in msg and "USD\u00a0200,00" in msg and "--contado-inicial" in msg
    plan = plan_cronograma("1000.00", rules=RULES, inicio=INICIO, contado_inicial="200.00")
    assert plan.contado_centavos == 20000


def test_cronograma_schedule_default_minimum_and_dates():
    # 1000.01 → minimum ceil(0.2 × 100001) = 20001 cents; 80000 cents in 12 → 6667 × 8 + 6666 × 4
    plan = plan_cronograma("1000.01", rules=RULES, inicio=INICIO)
    assert plan.contado_centavos == 20001 == plan.contado_min_centavos
    assert [c.centavos for c in plan.cuotas] == [6667] * 8 + [6666] * 4
    assert plan.contado_centavos + plan.financiado_centavos == 100001
    assert plan.cuotas[0].fecha == dt.date(2025, 2, 28)
    assert plan.cuotas[-1].fecha == dt.date(2026, 1, 31)
    js = plan.to_json_dict()
    assert js["pagos"][0]["monto"] == "200.01" and js["pagos"][0]["fecha"] == "2025-01-31"
    assert len(js["pagos"]) == 13


def test_cronograma_uses_rules_period_and_count():
    rules = _rules_with(4, periodo=3)
    plan = plan_cronograma("100.00", rules=rules, inicio=dt.date(2025, 1, 15))
    assert [c.fecha for c in plan.cuotas] == [
        dt.date(2025, 4, 15),
        dt.date(2025, 7, 15),
        dt.date(2025, 10, 15),
        dt.date(2026, 1, 15),
    ]
    assert [c.centavos for c in plan.cuotas] == [2000] * 4


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(min_value=100, max_value=10**11),
    cuotas=st.integers(min_value=1, max_value=60),
    extra_share=st.floats(min_value=0.0, max_value=0.7),
)
def test_cronograma_instalments_add_up_to_the_cent(total, cuotas, extra_share):
    rules = _rules_with(cuotas)
    minimum = contado_minimo_centavos(total, rules=rules)
    upfront = minimum + int((total - minimum) * extra_share)
    if total - upfront < cuotas:  # balance under one cent per instalment: refused by design
        with pytest.raises(PaymentPlanError):
            plan_cronograma(
                cents_to_str(total), rules=rules, inicio=INICIO, contado_inicial=cents_to_str(upfront)
            )
        return
    plan = plan_cronograma(
        cents_to_str(total), rules=rules, inicio=INICIO, contado_inicial=cents_to_str(upfront)
    )
    assert plan.contado_centavos * 5 >= total  # ≥ 20 %
    assert len(plan.cuotas) == cuotas
    assert plan.contado_centavos + sum(c.centavos for c in plan.cuotas) == total
    assert sum(Decimal(p["monto"]) for p in plan.to_json_dict()["pagos"]) == Decimal(cents_to_str(total))


def test_cronograma_without_start_date_or_balance_is_refused():
    with pytest.raises(PaymentPlanError, match="fecha de inicio"):
        plan_cronograma("1000", rules=RULES, inicio=None)
    with pytest.raises(PaymentPlanError, match="no queda saldo"):
        plan_cronograma("1000", rules=RULES, inicio=INICIO, contado_inicial="1000")
    with pytest.raises(PaymentPlanError, match="supera"):
        plan_cronograma("1000", rules=RULES, inicio=INICIO, contado_inicial="1000.01")


# --- especie / mixto ---------------------------------------------------------------------------------------


def test_especie_value_of_works_equals_total():
    assert plan_especie("500.50").especie_centavos == 50050
    with pytest.raises(PaymentPlanError, match="mixto"):
        plan_especie("500.50", especie="500.00")


def test_mixto_especie_contado_must_add_up_to_the_cent():
    plan = plan_mixto("1000.00", rules=RULES, especie="600.00", combinacion="contado", contado="400.00")
    assert (plan.especie_centavos, plan.contado_centavos) == (60000, 40000)
    with pytest.raises(PaymentPlanError) as exc:
        plan_mixto("1000.00", rules=RULES, especie="600.00", combinacion="contado", contado="399.99")
    assert "no suma el total" in str(exc.value) and "faltan USD\u00a00,01" in str(exc.value)
    with pytest.raises(PaymentPlanError, match="sobran"):
        plan_mixto("1000.00", rules=RULES, especie="600.00", combinacion="contado", contado="400.01")
    with pytest.raises(PaymentPlanError, match="indique --contado-inicial"):
        plan_mixto("1000.00", rules=RULES, especie="600.00", combinacion="contado")


def test_mixto_especie_cronograma():
    # works 600.00; 400.00 by cronograma; minimum 20 % of the portion = 80.00;
    # 320.00 in 12 → 26.67 × 8 + 26.66 × 4
    plan = plan_mixto("1000.00", rules=RULES, especie="600.00", combinacion="cronograma", inicio=INICIO)
    assert plan.contado_centavos == 8000
    assert [c.centavos for c in plan.cuotas] == [2667] * 8 + [2666] * 4
    assert plan.especie_centavos + plan.contado_centavos + plan.financiado_centavos == 100000
    with pytest.raises(PaymentPlanError, match="rechazado"):
        plan_mixto(
            "1000.00", rules=RULES, especie="600.00", combinacion="cronograma", contado="79.99", inicio=INICIO
        )
    # base "total": the minimum is 20 % of the whole COD (200.00)
    plan_total = plan_mixto(
        "1000.00",
        rules=_rules_with(12, base="total"),
        especie="600.00",
        combinacion="cronograma",
        inicio=INICIO,
    )
    assert plan_total.contado_centavos == 20000


def test_mixto_especie_out_of_range_refused():
    for especie in ("0", "1000.00", "1200"):
        with pytest.raises(PaymentPlanError, match="mayor que cero y menor"):
            plan_mixto("1000.00", rules=RULES, especie=especie, combinacion="contado", contado="0")


def test_build_plan_dispatch_and_misuse():
    assert build_plan("contado", "10", rules=RULES).total_centavos == 1000
    assert build_plan("especie", "10", rules=RULES).especie_centavos == 1000
    with pytest.raises(PaymentPlanError, match="no existe"):
        build_plan("trueque", "10", rules=RULES)
    with pytest.raises(PaymentPlanError, match="necesita --especie"):
        build_plan("mixto", "10", rules=RULES)
    with pytest.raises(PaymentPlanError, match="no use --especie"):
        build_plan("contado", "10", rules=RULES, especie="1")
