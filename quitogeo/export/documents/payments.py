"""Payment plans for the concesión onerosa de derechos (Anexo 01 §3). Pure: no I/O, no clock.

Every amount is handled as an integer number of **cents**, so a plan always adds up to the total exactly.

Modalities (``modalidad``):

``contado`` (§3.2)
    The whole value at once.
``cronograma`` (§3.3)
    A cash payment of at least ``pagos.cronograma_contado_min`` of the total (20 %, TEXT) on the start
    date, and the rest in ``pagos.cronograma_cuotas`` instalments, one every
    ``pagos.cronograma_periodo_meses`` months after the start date (rules-file PARAMs).
``especie`` (§3.4)
    The value of the works to deliver equals the total.
``mixto`` (§3.5)
    Especie plus contado (the two amounts the user gives must add up to the total to the cent, else
    refused), or especie plus cronograma (the rest after the works is paid by cronograma; its upfront minimum
    applies to the part paid by cronograma or to the whole COD as ``pagos.mixto_contado_min_sobre`` says — a
    READING, the text only says the procedures of each modality are followed).

Conventions that are ours, not the norm's (documented because a citizen will check the arithmetic):

* **Remainder cents**: the financed balance ``S`` cents in ``n`` instalments gives each ``S // n`` cents,
  and the first ``S % n`` instalments carry one extra cent. Instalments therefore differ by at most one cent,
  the larger ones come first, and they add up to ``S`` exactly.
* **Minimum upfront**: ``ceil(share × total)`` to the cent (a payment a fraction of a cent short is short).
* **Dates**: instalment *k* falls ``k × periodo`` months after the start date, on the same day of the
  month, or on the month's last day when that day does not exist (31/01 + 1 month → 28/02 or 29/02).
* A balance smaller than one cent per instalment is refused (pay it de contado).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from quitogeo.errors import PaymentPlanError
from quitogeo.formatting import (
    cents_to_str,
    format_cents,
    format_date,
    format_number,
    to_cents,
)
from quitogeo.rules import Rules

#: The modalities of Anexo 01 §3, as the CLI spells them.
MODALIDADES = ("contado", "cronograma", "especie", "mixto")
#: The two combinations of a mixto payment (§3.5 a, b).
COMBINACIONES = ("contado", "cronograma")

_ARTICULO = {
    "contado": "Anexo 01 §3.2",
    "cronograma": "Anexo 01 §3.3",
    "especie": "Anexo 01 §3.4",
    "mixto": "Anexo 01 §3.5",
}


@dataclass(frozen=True)
class Cuota:
    """One payment of a plan.

    Parameters
    ----------
    numero : int
        0 for the upfront cash payment, 1…n for the instalments.
    fecha : date or None
        Due date (None when the plan has no start date, e.g. contado without ``inicio``).
    centavos : int
        Amount in cents.
    concepto : str
        What it is, in Spanish.
    """

    numero: int
    fecha: dt.date | None
    centavos: int
    concepto: str

    def to_json_dict(self) -> dict[str, Any]:
        """JSON form: amount as a string with two decimals, date ISO."""
        return {
            "numero": self.numero,
            "fecha": self.fecha.isoformat() if self.fecha else None,
            "monto": cents_to_str(self.centavos),
            "concepto": self.concepto,
        }


@dataclass(frozen=True)
class PaymentPlan:
    """A validated payment plan: the components add up to ``total_centavos`` exactly.

    Parameters
    ----------
    modalidad : str
        One of :data:`MODALIDADES`.
    total_centavos : int
        The COD to pay (after any VIS exoneration), in cents.
    contado_centavos : int
        Paid in cash on the start date (the whole total for contado; the upfront share for cronograma).
    especie_centavos : int
        Value of the works to deliver.
    cuotas : tuple of Cuota
        The instalments after the upfront payment (empty unless a cronograma is involved).
    combinacion : str or None
        For mixto: ``contado`` or ``cronograma``.
    inicio : date or None
        The start date of the plan.
    contado_min_centavos : int or None
        The minimum upfront the plan had to meet (cronograma only).
    articulo : str
        The section of Anexo 01 that governs the modality.
    """

    modalidad: str
    total_centavos: int
    contado_centavos: int
    especie_centavos: int
    cuotas: tuple[Cuota, ...] = ()
    combinacion: str | None = None
    inicio: dt.date | None = None
    contado_min_centavos: int | None = None
    articulo: str = ""
    notas: tuple[str, ...] = field(default=())

    @property
    def financiado_centavos(self) -> int:
        """The balance paid by instalments."""
        return sum(c.centavos for c in self.cuotas)

    @property
    def pagos(self) -> tuple[Cuota, ...]:
        """Every cash payment in order: the upfront one (when any) and the instalments."""
        upfront: tuple[Cuota, ...] = ()
        if self.contado_centavos > 0 or self.modalidad == "contado":
            concepto = "Pago de contado del total" if not self.cuotas else "Pago inicial de contado"
            upfront = (Cuota(0, self.inicio, self.contado_centavos, concepto),)
        return upfront + self.cuotas

    def to_json_dict(self) -> dict[str, Any]:
        """JSON form for other systems (amounts as strings with two decimals, dates ISO)."""
        return {
            "modalidad": self.modalidad,
            "combinacion": self.combinacion,
            "articulo": self.articulo,
            "total": cents_to_str(self.total_centavos),
            "contado": cents_to_str(self.contado_centavos),
            "especie": cents_to_str(self.especie_centavos),
            "financiado": cents_to_str(self.financiado_centavos),
            "contado_minimo": (
                None if self.contado_min_centavos is None else cents_to_str(self.contado_min_centavos)
            ),
            "inicio": self.inicio.isoformat() if self.inicio else None,
            "pagos": [c.to_json_dict() for c in self.pagos],
            "notas": list(self.notas),
        }


def split_cents(total_cents: int, n: int) -> list[int]:
    """Split ``total_cents`` into ``n`` instalments that add up exactly.

    Each gets ``total_cents // n``; the first ``total_cents % n`` get one cent more.

    Parameters
    ----------
    total_cents : int
        Amount to split, ≥ 0.
    n : int
        Number of instalments, ≥ 1.

    Returns
    -------
    list of int
        ``n`` amounts, non-increasing, differing by at most one cent, ``sum == total_cents``.
    """
    if n < 1:
        raise PaymentPlanError(f"número de cuotas = {n}: debe ser al menos 1")
    if total_cents < 0:
        raise PaymentPlanError(f"monto a dividir = {total_cents} centavos: no puede ser negativo")
    base, extra = divmod(total_cents, n)
    return [base + 1 if i < extra else base for i in range(n)]


def add_months(start: dt.date, months: int) -> dt.date:
    """Return ``start`` plus ``months`` calendar months, clamped to the month's last day.

    Parameters
    ----------
    start : date
        The start date.
    months : int
        Months to add (≥ 0).

    Returns
    -------
    date
        E.g. 31/01/2025 + 1 → 28/02/2025.
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def contado_minimo_centavos(total_cents: int, *, rules: Rules) -> int:
    """Minimum upfront of a cronograma: ``ceil(pagos.cronograma_contado_min × total)`` in cents.

    Parameters
    ----------
    total_cents : int
        The amount the cronograma pays, in cents.
    rules : Rules
        Supplies ``pagos.cronograma_contado_min`` (0.20, Anexo 01 §3.3).

    Returns
    -------
    int
    """
    share = Decimal(repr(float(rules["pagos"]["cronograma_contado_min"])))
    return int((share * total_cents).to_integral_value(rounding=ROUND_CEILING))


def _amount_cents(value: object, option: str) -> int:
    """Return an amount in whole cents; not a number or negative → PaymentPlanError naming ``option``."""
    try:
        cents = to_cents(value, name=option)
    except ValueError as exc:
        raise PaymentPlanError(str(exc)) from exc
    if cents < 0:
        raise PaymentPlanError(f"{option} = {value}: un monto no puede ser negativo")
    return cents


def _total_cents(total: object) -> int:
    return _amount_cents(total, "total de la COD")


def _pct(part: int, whole: int) -> str:
    return format_number(Decimal(part) * 100 / whole if whole else 0, 2) + " %"


def _schedule(financed_cents: int, *, rules: Rules, inicio: dt.date | None, what: str) -> tuple[Cuota, ...]:
    pagos = rules["pagos"]
    n = int(pagos["cronograma_cuotas"])
    periodo = int(pagos["cronograma_periodo_meses"])
    if periodo < 1:
        raise PaymentPlanError(
            f"reglas {rules.source}: pagos.cronograma_periodo_meses = {periodo}; debe ser al menos 1 mes"
        )
    if inicio is None:
        raise PaymentPlanError(
            "el cronograma necesita una fecha de inicio (--inicio AAAA-MM-DD) para fechar las cuotas"
        )
    if financed_cents < n:
        raise PaymentPlanError(
            f"{what}: el saldo a financiar {format_cents(financed_cents)} no alcanza para {n} cuotas de al "
            "menos un centavo (pagos.cronograma_cuotas); pague ese saldo de contado"
        )
    amounts = split_cents(financed_cents, n)
    return tuple(
        Cuota(k, add_months(inicio, k * periodo), cents, f"Cuota {k} de {n}")
        for k, cents in enumerate(amounts, start=1)
    )


def _upfront_for_schedule(
    base_cents: int, contado_inicial: object | None, *, rules: Rules, what: str, portion_cents: int
) -> tuple[int, int]:
    """Return (upfront, minimum) cents of a cronograma over ``portion_cents`` (minimum on ``base_cents``)."""
    minimum = contado_minimo_centavos(base_cents, rules=rules)
    share = format_number(Decimal(repr(float(rules["pagos"]["cronograma_contado_min"]))) * 100, 2) + " %"
    if contado_inicial is None:
        upfront = minimum
    else:
        upfront = _amount_cents(contado_inicial, "--contado-inicial")
        if upfront < minimum:
            raise PaymentPlanError(
                f"{what} rechazado: el pago inicial de contado {format_cents(upfront)} es el "
                f"{_pct(upfront, base_cents)} de {format_cents(base_cents)}; el Anexo 01 §3.3 exige al "
                f"menos el {share} ({format_cents(minimum)}). Aumente --contado-inicial o elija "
                "--modalidad contado"
            )
    if upfront > portion_cents:
        raise PaymentPlanError(
            f"{what} rechazado: el pago inicial de contado {format_cents(upfront)} supera el monto a pagar "
            f"por cronograma {format_cents(portion_cents)}; reduzca --contado-inicial"
        )
    if upfront == portion_cents:
        raise PaymentPlanError(
            f"{what}: el pago inicial de contado {format_cents(upfront)} cubre todo el monto, no queda saldo "
            "para cuotas; elija --modalidad contado (o mixto con combinación contado)"
        )
    return upfront, minimum


def plan_contado(total: object, *, inicio: dt.date | None = None) -> PaymentPlan:
    """Pago monetario de contado (Anexo 01 §3.2): the whole value at once.

    Parameters
    ----------
    total : Decimal, number or str
        The COD to pay, in dollars.
    inicio : date, optional
        Date of the payment order.

    Returns
    -------
    PaymentPlan
    """
    cents = _total_cents(total)
    return PaymentPlan(
        modalidad="contado",
        total_centavos=cents,
        contado_centavos=cents,
        especie_centavos=0,
        inicio=inicio,
        articulo=_ARTICULO["contado"],
    )


def plan_cronograma(
    total: object, *, rules: Rules, inicio: dt.date | None, contado_inicial: object | None = None
) -> PaymentPlan:
    """Pago por cronograma (Anexo 01 §3.3): an upfront share and the rest in instalments.

    Parameters
    ----------
    total : Decimal, number or str
        The COD to pay, in dollars.
    rules : Rules
        Supplies ``[pagos]``: the minimum upfront share, the number of instalments and their period.
    inicio : date
        Date of the upfront payment; instalment *k* falls *k* periods later.
    contado_inicial : Decimal, number or str, optional
        The upfront cash payment; the legal minimum (rounded up to the cent) when omitted.

    Returns
    -------
    PaymentPlan

    Raises
    ------
    PaymentPlanError
        When the upfront is below the minimum share (message in Spanish with the amounts), covers everything,
        or the balance is smaller than one cent per instalment.
    """
    cents = _total_cents(total)
    upfront, minimum = _upfront_for_schedule(
        cents, contado_inicial, rules=rules, what="cronograma", portion_cents=cents
    )
    cuotas = _schedule(cents - upfront, rules=rules, inicio=inicio, what="cronograma")
    return PaymentPlan(
        modalidad="cronograma",
        total_centavos=cents,
        contado_centavos=upfront,
        especie_centavos=0,
        cuotas=cuotas,
        inicio=inicio,
        contado_min_centavos=minimum,
        articulo=_ARTICULO["cronograma"],
        notas=(_remainder_note(cuotas),),
    )


def _remainder_note(cuotas: tuple[Cuota, ...]) -> str:
    extra = sum(1 for c in cuotas if c.centavos > cuotas[-1].centavos)
    if not extra:
        return "Todas las cuotas son iguales."
    return (
        f"El saldo no se divide exactamente en {len(cuotas)} cuotas: las primeras {extra} llevan un "
        "centavo más, para que la suma sea exactamente el saldo financiado."
    )


def plan_especie(total: object, *, especie: object | None = None) -> PaymentPlan:
    """Pago en especie (Anexo 01 §3.4): works whose value equals the total.

    Parameters
    ----------
    total : Decimal, number or str
        The COD to pay, in dollars.
    especie : Decimal, number or str, optional
        The value of the works the user declares; when given it must equal the total to the cent.

    Returns
    -------
    PaymentPlan

    Raises
    ------
    PaymentPlanError
        When ``especie`` differs from the total (use ``mixto`` for a partial payment in kind).
    """
    cents = _total_cents(total)
    if especie is not None:
        works = _amount_cents(especie, "--especie")
        if works != cents:
            raise PaymentPlanError(
                f"pago en especie rechazado: el valor de las obras {format_cents(works)} no es igual al "
                f"total {format_cents(cents)}; para pagar una parte en obras y el resto en dinero use "
                "--modalidad mixto"
            )
    return PaymentPlan(
        modalidad="especie",
        total_centavos=cents,
        contado_centavos=0,
        especie_centavos=cents,
        articulo=_ARTICULO["especie"],
        notas=(
            "El valor de las obras se formaliza en el contrato de cumplimiento de obligaciones y su adendum "
            "(Anexo 01 §3.4).",
        ),
    )


def plan_mixto(
    total: object,
    *,
    rules: Rules,
    especie: object,
    combinacion: str,
    contado: object | None = None,
    inicio: dt.date | None = None,
) -> PaymentPlan:
    """Pago mixto (Anexo 01 §3.5): works plus contado, or works plus cronograma.

    Parameters
    ----------
    total : Decimal, number or str
        The COD to pay, in dollars.
    rules : Rules
        Supplies ``[pagos]`` for the cronograma part.
    especie : Decimal, number or str
        Value of the works, > 0 and < total.
    combinacion : {"contado", "cronograma"}
        §3.5 a) especie + contado, or b) especie + cronograma.
    contado : Decimal, number or str, optional
        With ``contado``: the cash amount, required; ``especie + contado`` must equal the total to the cent.
        With ``cronograma``: the upfront cash payment of the cronograma (its legal minimum when omitted).
    inicio : date, optional
        Start date (required with ``cronograma``).

    Returns
    -------
    PaymentPlan

    Raises
    ------
    PaymentPlanError
        When the split does not add up, a part is not positive, or the cronograma rules are broken.
    """
    cents = _total_cents(total)
    if combinacion not in COMBINACIONES:
        raise PaymentPlanError(
            f"combinación de pago mixto {combinacion!r} no existe; use 'contado' (especie + contado) o "
            "'cronograma' (especie + cronograma), Anexo 01 §3.5"
        )
    works = _amount_cents(especie, "--especie")
    if works <= 0 or works >= cents:
        raise PaymentPlanError(
            f"pago mixto rechazado: el valor en especie {format_cents(works)} debe ser mayor que cero y "
            f"menor que el total {format_cents(cents)} (si cubre todo, use --modalidad especie)"
        )
    rest = cents - works
    if combinacion == "contado":
        if contado is None:
            raise PaymentPlanError(
                f"pago mixto (especie + contado): indique --contado-inicial; con especie "
                f"{format_cents(works)} debe ser {format_cents(rest)} para sumar el total "
                f"{format_cents(cents)}"
            )
        cash = _amount_cents(contado, "--contado-inicial")
        if works + cash != cents:
            diff = cents - works - cash
            falta = "faltan" if diff > 0 else "sobran"
            raise PaymentPlanError(
                f"pago mixto rechazado: especie {format_cents(works)} + contado {format_cents(cash)} = "
                f"{format_cents(works + cash)} no suma el total {format_cents(cents)} ({falta} "
                f"{format_cents(abs(diff))}); corrija --especie o --contado-inicial"
            )
        return PaymentPlan(
            modalidad="mixto",
            combinacion="contado",
            total_centavos=cents,
            contado_centavos=cash,
            especie_centavos=works,
            inicio=inicio,
            articulo=_ARTICULO["mixto"] + " a)",
        )
    base_rule = str(rules["pagos"].get("mixto_contado_min_sobre", "porcion"))
    base = rest if base_rule == "porcion" else cents
    upfront, minimum = _upfront_for_schedule(
        base, contado, rules=rules, what="pago mixto (especie + cronograma)", portion_cents=rest
    )
    cuotas = _schedule(rest - upfront, rules=rules, inicio=inicio, what="pago mixto (especie + cronograma)")
    base_text = "la parte pagada por cronograma" if base_rule == "porcion" else "el total de la COD"
    return PaymentPlan(
        modalidad="mixto",
        combinacion="cronograma",
        total_centavos=cents,
        contado_centavos=upfront,
        especie_centavos=works,
        cuotas=cuotas,
        inicio=inicio,
        contado_min_centavos=minimum,
        articulo=_ARTICULO["mixto"] + " b)",
        notas=(
            f"El pago inicial mínimo se calcula sobre {base_text} (pagos.mixto_contado_min_sobre = "
            f"{base_rule!r}).",
            _remainder_note(cuotas),
        ),
    )


def build_plan(
    modalidad: str,
    total: object,
    *,
    rules: Rules,
    contado_inicial: object | None = None,
    especie: object | None = None,
    combinacion: str | None = None,
    inicio: dt.date | None = None,
) -> PaymentPlan:
    """Build and validate the plan of ``modalidad`` (the CLI's entry point).

    Parameters
    ----------
    modalidad : {"contado", "cronograma", "especie", "mixto"}
        The modality of Anexo 01 §3.
    total : Decimal, number or str
        The COD to pay, in dollars.
    rules : Rules
        Supplies ``[pagos]``.
    contado_inicial : Decimal, number or str, optional
        Cronograma: the upfront payment. Mixto: the cash amount (contado) or the cronograma's upfront.
    especie : Decimal, number or str, optional
        Especie: the declared value of the works (checked). Mixto: the works' value (required).
    combinacion : {"contado", "cronograma"}, optional
        Mixto only; ``contado`` when omitted.
    inicio : date, optional
        Start date; required for a cronograma.

    Returns
    -------
    PaymentPlan
    """
    if modalidad == "contado":
        if especie is not None or contado_inicial is not None:
            raise PaymentPlanError(
                "--modalidad contado paga el total: no use --especie ni --contado-inicial "
                "(vea mixto o cronograma)"
            )
        return plan_contado(total, inicio=inicio)
    if modalidad == "cronograma":
        if especie is not None:
            raise PaymentPlanError(
                "--especie no aplica al cronograma; para obras + cronograma use --modalidad mixto"
            )
        return plan_cronograma(total, rules=rules, inicio=inicio, contado_inicial=contado_inicial)
    if modalidad == "especie":
        if contado_inicial is not None:
            raise PaymentPlanError("--contado-inicial no aplica al pago en especie; use --modalidad mixto")
        return plan_especie(total, especie=especie)
    if modalidad == "mixto":
        if especie is None:
            raise PaymentPlanError("el pago mixto necesita --especie (valor de las obras), Anexo 01 §3.5")
        return plan_mixto(
            total,
            rules=rules,
            especie=especie,
            combinacion=combinacion or "contado",
            contado=contado_inicial,
            inicio=inicio,
        )
    raise PaymentPlanError(f"modalidad de pago {modalidad!r} no existe; use una de: {', '.join(MODALIDADES)}")


def describe_plan(plan: PaymentPlan) -> list[tuple[str, str]]:
    """Human rows (concept, amount) summarising a plan, for the documents."""
    rows = [("Total a pagar", format_cents(plan.total_centavos))]
    if plan.especie_centavos:
        rows.append(("En especie (valor de las obras)", format_cents(plan.especie_centavos)))
    if plan.contado_centavos or plan.modalidad == "contado":
        label = "De contado" if not plan.cuotas else "Pago inicial de contado"
        rows.append((label, format_cents(plan.contado_centavos)))
    if plan.contado_min_centavos is not None:
        rows.append(("Pago inicial mínimo exigido", format_cents(plan.contado_min_centavos)))
    if plan.cuotas:
        rows.append((f"Financiado en {len(plan.cuotas)} cuotas", format_cents(plan.financiado_centavos)))
        first, last = format_date(plan.cuotas[0].fecha), format_date(plan.cuotas[-1].fecha)
        rows.append(("Primera / última cuota", f"{first} / {last}"))
    return rows


__all__ = [
    "COMBINACIONES",
    "MODALIDADES",
    "Cuota",
    "PaymentPlan",
    "add_months",
    "build_plan",
    "contado_minimo_centavos",
    "describe_plan",
    "plan_contado",
    "plan_cronograma",
    "plan_especie",
    "plan_mixto",
    "split_cents",
]
