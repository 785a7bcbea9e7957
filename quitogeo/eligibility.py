"""Eligibility for extra floors under Res. STHV 13-2016: Secciones II (ZUAE), V (COS PB), VI (eco-eficiencia).

Every condition of normativa §3 is its own nullable boolean column, named ``<sección>_<condición>`` with the
prefixes ``zuae_``, ``cos_pb_`` and ``eco_``. A condition is null (``pd.NA``) only when the data it needs is
absent
(a layer not given, a lot without PIT, an unknown use code): the section's ``elegible_*`` is then null too
unless
another condition already fails — never eligible by default (Kleene logic of pandas' ``boolean`` dtype).

``motivos`` design: one column per section (``motivos_zuae``, ``motivos_cos_pb``, ``motivos_eco``) lists the
failed
or unknown conditions joined by ``", "``, and the combined ``motivos`` prefixes each non-empty section:
``"ZUAE: área 350 m² < 400 m², fuera de ZUAE; COS PB: …; Eco: …"``. ``motivos`` is empty only for a lot
eligible
under every section. Messages name the deciding features (road names and widths, plan, risk zone, use code).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quitogeo.rules import Rules

#: Section prefix of the condition columns → label used in ``motivos``.
SECTIONS: dict[str, str] = {"zuae": "ZUAE", "cos_pb": "COS PB", "eco": "Eco"}

#: Condition columns of each section, in the order of the resolution's articles.
CONDITIONS: dict[str, tuple[str, ...]] = {
    "zuae": (
        "zuae_en_zuae",
        "zuae_area",
        "zuae_frente",
        "zuae_ancho_via",
        "zuae_continuidad",
        "zuae_sin_plan_especial",
    ),
    "cos_pb": (
        "cos_pb_urbano",
        "cos_pb_lote_minimo",
        "cos_pb_frente",
        "cos_pb_ancho_via",
        "cos_pb_continuidad",
        "cos_pb_sin_plan_especial",
        "cos_pb_uso",
    ),
    "eco": (
        "eco_area",
        "eco_uso",
        "eco_influencia",
        "eco_frente",
        "eco_ancho_via",
        "eco_continuidad",
        "eco_sin_riesgo",
        "eco_sin_plan_especial",
    ),
}

_Obj = npt.NDArray[np.object_]


def _fmt(values: npt.ArrayLike) -> _Obj:
    """Numbers as short text ("10", "11.5"), vectorised."""
    arr = np.asarray(values, dtype=np.float64)
    return np.char.mod("%g", np.round(arr, 2)).astype(object)


def _fmt_floor(values: npt.ArrayLike) -> _Obj:
    """Areas shown rounded down, so a failing "399.6 m²" never reads "400 m² < 400 m²"."""
    arr = np.floor(np.asarray(values, dtype=np.float64))
    return np.char.mod("%d", np.nan_to_num(arr)).astype(object)


def _text(values: object, n: int) -> _Obj:
    arr = (
        np.asarray(values, dtype=object) if not isinstance(values, str) else np.full(n, values, dtype=object)
    )
    return np.where(pd.isna(arr), "", arr).astype(object)


def _bool(ok: npt.ArrayLike, known: npt.ArrayLike) -> pd.arrays.BooleanArray:
    """Return a nullable boolean: ``ok`` where ``known``, else NA."""
    ok_arr = np.asarray(ok, dtype=bool)
    known_arr = np.asarray(known, dtype=bool)
    return pd.arrays.BooleanArray(ok_arr & known_arr, ~known_arr)


def _nb(series: pd.Series) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(value, known) arrays of a boolean-like column that may hold NA."""
    s = series.astype("boolean")
    return s.fillna(False).to_numpy(dtype=bool), s.notna().to_numpy(dtype=bool)


def use_categories(uso: pd.Series, *, rules: Rules) -> pd.Series:
    """Homologate use codes to the rules' categories (None when unknown), one look-up per distinct code."""
    codes = pd.unique(uso.dropna())
    mapping = {code: rules.homologate_use(code) for code in codes}
    mapped = uso.map(mapping).astype(object)
    return mapped.where(mapped.notna(), None)


def eco_extra_floors(
    puntaje: float | npt.ArrayLike,
    en_metro: npt.ArrayLike,
    en_cet: npt.ArrayLike,
    pisos_base: npt.ArrayLike,
    *,
    rules: Rules,
) -> npt.NDArray[np.float64]:
    """Extra floors under Sección VI at a score (Res. 13-2016 Art. 16, Cuadro 1).

    The tier is the last ``ecoeficiencia.niveles`` entry whose ``puntaje_min`` ≤ score (below the first, no
    extra
    floors). In a Metro influence area (also when the lot is in both, READING) the Metro column applies, else
    the
    CET column; a CET "N/A" (``cet_pct = -1``) takes the highest CET percentage of the tiers up to that score
    (READING: a better score never gives fewer floors). Floors = pct/100 × ``pisos_base`` rounded as
    ``ecoeficiencia.redondeo_pisos`` says (``abajo`` by default).

    Returns
    -------
    numpy.ndarray of float
        Extra floors (NaN where ``pisos_base`` is NaN); 0 outside both influence areas.
    """
    niveles = rules["ecoeficiencia"]["niveles"]
    mins = np.array([float(lv["puntaje_min"]) for lv in niveles])
    metro = np.array([float(lv["metro_pct"]) for lv in niveles])
    cet = np.maximum.accumulate(np.array([float(lv["cet_pct"]) for lv in niveles]))
    base = np.asarray(pisos_base, dtype=np.float64)
    score = np.broadcast_to(np.asarray(puntaje, dtype=np.float64), base.shape)
    tier = np.searchsorted(mins, score, side="right") - 1
    valid = tier >= 0
    tier_c = np.clip(tier, 0, None)
    pct = np.where(
        np.asarray(en_metro, dtype=bool),
        metro[tier_c],
        np.where(np.asarray(en_cet, dtype=bool), np.maximum(cet[tier_c], 0.0), 0.0),
    )
    pct = np.where(valid, pct, 0.0)
    raw = pct * base / 100.0
    mode = rules["ecoeficiencia"]["redondeo_pisos"]
    if mode == "abajo":
        return np.floor(raw)
    if mode == "arriba":
        return np.ceil(raw)
    return np.floor(raw + 0.5)


def density_points(m2_por_hab: npt.ArrayLike, *, rules: Rules) -> npt.NDArray[np.float64]:
    """Bonus points of Cuadro 2 (Art. 17) for residential projects, by m² of housing per inhabitant.

    Bands of ``ecoeficiencia.puntos_densidad`` (closed as min ≤ d ≤ max for the first band, min ≤ d < max for
    the
    others, READING); 0 outside every band or for NaN.
    """
    d = np.asarray(m2_por_hab, dtype=np.float64)
    out = np.zeros(d.shape)
    done = np.zeros(d.shape, dtype=bool)
    for i, band in enumerate(rules["ecoeficiencia"]["puntos_densidad"]):
        lo, hi = float(band["m2_por_hab_min"]), float(band["m2_por_hab_max"])
        inside = (d >= lo) & ((d <= hi) if i == 0 else (d < hi)) & ~done
        out = np.where(inside, float(band["puntos"]), out)
        done |= inside
    return out


def scenario_score(escenario: dict[str, object], *, rules: Rules) -> float:
    """Eco-eficiencia score priced by a scenario: its ``puntaje``, else the top tier (the ceiling)."""
    if "puntaje" in escenario:
        return float(escenario["puntaje"])  # type: ignore[arg-type]
    return float(rules["ecoeficiencia"]["niveles"][-1]["puntaje_min"])


def _pick(message: object, rows: npt.NDArray[np.intp]) -> _Obj:
    if isinstance(message, str):
        return np.full(len(rows), message, dtype=object)
    if callable(message):
        return np.asarray(message(rows), dtype=object)
    return _text(np.asarray(message, dtype=object)[rows], len(rows))


class _Motivos:
    """Accumulates, per section, the message of each failed or unknown condition (vectorised)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: dict[str, _Obj] = {s: np.full(n, "", dtype=object) for s in SECTIONS}

    def add(self, section: str, cond: pd.arrays.BooleanArray, fail: object, unknown: object) -> None:
        """Append the message of ``cond`` where it is False (``fail``) or NA (``unknown``).

        Messages are a text, an array over all lots, or a function of the failing rows' positions (so that
        per-lot texts are only formatted where a condition fails).
        """
        is_false = (~cond).fillna(False).to_numpy(dtype=bool)
        is_na = np.asarray(cond.isna(), dtype=bool)
        rows = np.flatnonzero(is_false | is_na)
        if not len(rows):
            return
        msg = np.where(is_false[rows], _pick(fail, rows), _pick(unknown, rows)).astype(object)
        acc = self.parts[section]
        prev = acc[rows]
        # the same "sin dato" reason (e.g. a lot without PIT) is said once per section
        # (checked only on unknown conditions with earlier messages, to keep fixed-width strings small)
        check = np.flatnonzero(is_na[rows] & (prev != "") & (msg != ""))
        if len(check):
            repeated = np.char.find(prev[check].astype(str), msg[check].astype(str)) >= 0
            msg[check[repeated]] = ""
        both = (prev != "") & (msg != "")
        acc[rows] = np.where(both, prev + ", " + msg, np.where(prev == "", msg, prev)).astype(object)

    def combined(self) -> _Obj:
        out = np.full(self.n, "", dtype=object)
        for key, label in SECTIONS.items():
            part = self.parts[key]
            piece = np.where(part != "", label + ": " + part, "").astype(object)
            both = (out != "") & (piece != "")
            out = np.where(both, out + "; " + piece, np.where(out == "", piece, out)).astype(object)
        return out


def evaluate(
    frame: pd.DataFrame, *, rules: Rules, escenario: dict[str, object], missing: Iterable[str] = ()
) -> pd.DataFrame:
    """Evaluate every condition of Secciones II, V and VI for each lot.

    Parameters
    ----------
    frame : DataFrame
        The joined lots: ``area_m2``, ``uso_principal``, ``uso_categoria``, ``clasificacion``,
        ``lote_minimo``,
        ``pisos_basicos``, ``en_zuae``, ``n_vias_frente``, ``min_ancho_frente_m``, ``via_mas_angosta``,
        ``ancho_desconocido``, ``frente_sin_continuidad``, ``vias_sin_continuidad``, ``en_plan_especial``,
        ``plan_especial``, ``riesgo_no_mitigable``, ``riesgo_ids``, ``en_influencia_metro``,
        ``en_influencia_cet``, ``codigo_pit``.
    rules : Rules
        Thresholds of ``[umbrales]`` and ``[ecoeficiencia]``.
    escenario : dict
        The scenario (``Rules.scenario``); its ``puntaje`` sets ``pisos_adicionales_max``.
    missing : iterable of str
        Names of the layers absent from the project (for the "sin dato: capa X ausente" messages).

    Returns
    -------
    DataFrame
        Aligned to ``frame.index``: the condition columns of :data:`CONDITIONS`, ``elegible_zuae``,
        ``elegible_cos_pb``, ``elegible_ecoeficiencia``, ``pisos_adicionales_zuae``,
        ``pisos_adicionales_max``,
        ``motivos_zuae``, ``motivos_cos_pb``, ``motivos_eco`` and ``motivos``.
    """
    n = len(frame)
    um = rules["umbrales"]
    missing = set(missing)
    out = pd.DataFrame(index=frame.index)
    mot = _Motivos(n)

    def sin_capa(*layers: str) -> str:
        return "sin dato: capa " + " / ".join(layers) + (" ausente" if len(layers) == 1 else " ausentes")

    area = frame["area_m2"].to_numpy(dtype=np.float64)
    area_known = np.isfinite(area)
    has_pit = frame["codigo_pit"].notna().to_numpy()
    uso_txt = _text(frame["uso_principal"], n)
    cat = frame["uso_categoria"]
    cat_known = cat.notna().to_numpy()
    cat_txt = _text(cat, n)
    # "uso RU1 (R1)": the code as written in the layer, and its category when they differ
    uso_label = np.where(
        (cat_txt != "") & (cat_txt != uso_txt), uso_txt + " (" + cat_txt + ")", uso_txt
    ).astype(object)
    uso_unknown_msg = np.where(
        has_pit,
        np.where(
            uso_txt == "", "sin dato: PIT sin uso principal", "sin dato: uso '" + uso_txt + "' desconocido"
        ),
        "sin dato: predio sin PIT",
    ).astype(object)

    # --- shared road conditions (Art. 5 c–e, 13 c–e, 16 d–e)
    nv = frame["n_vias_frente"].astype("Int64")
    vias_known = nv.notna().to_numpy()
    nv_arr = nv.fillna(0).to_numpy(dtype=np.int64)
    frente = _bool(nv_arr > 0, vias_known)
    min_w = frame["min_ancho_frente_m"].to_numpy(dtype=np.float64)
    ancho_min = float(um["ancho_min_via_m"])
    narrow = np.isfinite(min_w) & (min_w < ancho_min)
    unknown_w = frame["ancho_desconocido"].to_numpy(dtype=bool)
    ancho_ok_known = vias_known & ((nv_arr == 0) | narrow | ~unknown_w)
    ancho = _bool((nv_arr > 0) & ~narrow, ancho_ok_known)
    via_angosta = frame["via_mas_angosta"].to_numpy(dtype=object)

    def ancho_fail(rows: npt.NDArray[np.intp]) -> _Obj:
        text = (
            "frente a vía de "
            + _fmt(min_w[rows])
            + f" m < {ancho_min:g} m ("
            + _text(via_angosta[rows], len(rows))
            + ")"
        )
        return np.where(nv_arr[rows] == 0, "", text).astype(object)

    ancho_unknown = np.where(vias_known, "sin dato: ancho de vía desconocido", sin_capa("vias")).astype(
        object
    )
    sc_val, sc_known = _nb(frame["frente_sin_continuidad"])
    continuidad = _bool(~sc_val, sc_known)
    vias_sc = frame["vias_sin_continuidad"].to_numpy(dtype=object)

    def cont_fail(rows: npt.NDArray[np.intp]) -> _Obj:
        return ("vía sin continuidad (" + _text(vias_sc[rows], len(rows)) + ")").astype(object)

    pe_val, pe_known = _nb(frame["en_plan_especial"])
    sin_plan = _bool(~pe_val, pe_known)
    planes = frame["plan_especial"].to_numpy(dtype=object)

    def plan_fail(rows: npt.NDArray[np.intp]) -> _Obj:
        return ("en plan especial (" + _text(planes[rows], len(rows)) + ")").astype(object)

    def area_cond(threshold: float, label: str) -> tuple[pd.arrays.BooleanArray, object]:
        cond = _bool(area >= threshold, area_known)

        def msg(rows: npt.NDArray[np.intp]) -> _Obj:
            return ("área " + _fmt_floor(area[rows]) + f" m² < {label}").astype(object)

        return cond, msg

    # --- Sección II ZUAE (Art. 5)
    z_val, z_known = _nb(frame["en_zuae"])
    conds: dict[str, tuple[pd.arrays.BooleanArray, Any, Any]] = {}
    conds["zuae_en_zuae"] = (_bool(z_val, z_known), "fuera de ZUAE", sin_capa("zuae"))
    a_min = float(um["area_min_zuae_m2"])
    c, m = area_cond(a_min, f"{a_min:g} m²")
    conds["zuae_area"] = (c, m, "sin dato: área del predio")
    # --- Sección V COS PB (Art. 13)
    clas = frame["clasificacion"] if "clasificacion" in frame.columns else pd.Series(None, index=frame.index)
    clas_txt = _text(clas.astype(object).where(clas.notna(), None), n)
    clas_norm = np.char.lower(clas_txt.astype(str))
    urbano_known = clas_txt != ""
    conds["cos_pb_urbano"] = (
        _bool(clas_norm == "urbano", urbano_known),
        ("suelo " + clas_txt + " (no urbano)").astype(object),
        np.where(has_pit, "sin dato: clasificación del suelo en el PIT", "sin dato: predio sin PIT"),
    )
    lm = (
        frame["lote_minimo"].to_numpy(dtype=np.float64)
        if "lote_minimo" in frame.columns
        else np.full(n, np.nan)
    )
    conds["cos_pb_lote_minimo"] = (
        _bool(area >= lm, area_known & np.isfinite(lm)),
        lambda rows: "área " + _fmt_floor(area[rows]) + " m² < lote mínimo " + _fmt(lm[rows]) + " m²",
        np.where(has_pit, "sin dato: lote mínimo del PIT", "sin dato: predio sin PIT"),
    )
    excl = set(um["usos_excluidos_cos_pb"])
    cat_arr = cat.to_numpy(dtype=object)
    conds["cos_pb_uso"] = (
        _bool(~pd.Series(cat_arr).isin(excl).to_numpy(), cat_known),
        ("uso " + uso_label + " excluido (Art. 13 i)").astype(object),
        uso_unknown_msg,
    )
    # --- Sección VI Eco-eficiencia (Art. 16)
    e_min = float(um["area_min_ecoeficiencia_m2"])
    c, m = area_cond(e_min, f"{e_min:g} m²")
    conds["eco_area"] = (c, m, "sin dato: área del predio")
    admit = set(um["usos_ecoeficiencia"])
    conds["eco_uso"] = (
        _bool(pd.Series(cat_arr).isin(admit).to_numpy(), cat_known),
        ("uso " + uso_label + " no admitido (Art. 16 b)").astype(object),
        uso_unknown_msg,
    )
    me_val, me_known = _nb(frame["en_influencia_metro"])
    ce_val, ce_known = _nb(frame["en_influencia_cet"])
    conds["eco_influencia"] = (
        _bool(me_val | ce_val, me_known & ce_known),
        "fuera del área de influencia del SITM",
        sin_capa("areas_influencia", "estaciones"),
    )
    r_val, r_known = _nb(frame["riesgo_no_mitigable"])
    riesgo_ids = frame["riesgo_ids"].to_numpy(dtype=object)
    conds["eco_sin_riesgo"] = (
        _bool(~r_val, r_known),
        lambda rows: "en zona de riesgo no mitigable (" + _text(riesgo_ids[rows], len(rows)) + ")",
        sin_capa("riesgo"),
    )
    for sec in ("zuae", "cos_pb", "eco"):
        conds[f"{sec}_frente"] = (frente, "sin frente a vía", sin_capa("vias"))
        conds[f"{sec}_ancho_via"] = (ancho, ancho_fail, ancho_unknown)
        conds[f"{sec}_continuidad"] = (continuidad, cont_fail, sin_capa("vias"))
        conds[f"{sec}_sin_plan_especial"] = (sin_plan, plan_fail, sin_capa("planes_especiales"))

    elegible_names = {"zuae": "elegible_zuae", "cos_pb": "elegible_cos_pb", "eco": "elegible_ecoeficiencia"}
    for sec, names in CONDITIONS.items():
        result = pd.array(np.ones(n, dtype=bool), dtype="boolean")
        for name in names:
            cond, fail, unknown = conds[name]
            out[name] = cond
            result = result & cond
            mot.add(sec, cond, fail, unknown)
        out[elegible_names[sec]] = result

    ez = out["elegible_zuae"]
    pisos_zuae = np.where(ez.fillna(False).to_numpy(dtype=bool), int(um["pisos_max_zuae"]), 0).astype(
        np.int64
    )
    out["pisos_adicionales_zuae"] = pd.arrays.IntegerArray(pisos_zuae, ez.isna().to_numpy())

    base = (
        frame["pisos_basicos"].to_numpy(dtype=np.float64)
        if "pisos_basicos" in frame.columns
        else np.full(n, np.nan)
    )
    floors = eco_extra_floors(scenario_score(escenario, rules=rules), me_val, ce_val, base, rules=rules)
    eleg = out["elegible_ecoeficiencia"]
    value = np.where(eleg.fillna(False).to_numpy(dtype=bool), floors, 0.0)
    unknown = eleg.isna().to_numpy() | (eleg.fillna(False).to_numpy(dtype=bool) & ~np.isfinite(floors))
    out["pisos_adicionales_max"] = pd.arrays.IntegerArray(np.nan_to_num(value).astype(np.int64), unknown)
    out["motivos_zuae"] = mot.parts["zuae"]
    out["motivos_cos_pb"] = mot.parts["cos_pb"]
    out["motivos_eco"] = mot.parts["eco"]
    out["motivos"] = mot.combined()
    return out


__all__ = [
    "CONDITIONS",
    "SECTIONS",
    "density_points",
    "eco_extra_floors",
    "evaluate",
    "scenario_score",
    "use_categories",
]
