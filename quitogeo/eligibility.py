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

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quitogeo.categories import labelled_arrow
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
_Codes = npt.NDArray[np.int64]
#: Per-lot codes kept for the whole evaluation (a text column's, a condition's messages'): 32 bits, half the
#: fresh memory of int64 (the stage's pages cost more than its arithmetic). Counts never reach 2**31.
_Codes32 = npt.NDArray[np.int32]
_AnyCodes = npt.NDArray[np.integer[Any]]


def _per_value(values: npt.ArrayLike, fmt: Callable[[npt.NDArray[np.float64]], _Obj]) -> _Obj:
    """``fmt(values)``, formatting each distinct number (by its bits) once: most rows repeat a few values."""
    arr = np.ascontiguousarray(values, dtype=np.float64)
    codes, uniques = pd.factorize(arr.view(np.int64), use_na_sentinel=False)
    return fmt(np.asarray(uniques).view(np.float64))[codes]  # type: ignore[no-any-return]


def _fmt(values: npt.ArrayLike) -> _Obj:
    """Numbers as short text ("10", "11.5"), vectorised."""
    return _per_value(values, lambda arr: np.char.mod("%g", np.round(arr, 2)).astype(object))


def _fmt_floor(values: npt.ArrayLike) -> _Obj:
    """Areas shown rounded down, so a failing "399.6 m²" never reads "400 m² < 400 m²"."""
    return _per_value(
        np.floor(np.asarray(values, dtype=np.float64)),
        lambda arr: np.char.mod("%d", np.nan_to_num(arr)).astype(object),
    )


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
    arr = series.array
    if not isinstance(arr, pd.arrays.BooleanArray):
        arr = series.astype("boolean").array
    known = ~np.asarray(arr.isna(), dtype=bool)
    return arr.to_numpy(dtype=bool, na_value=False), known


def _key(values: npt.ArrayLike) -> _Codes:
    """Dense integer codes of ``values`` that tell apart exactly the values giving different texts.

    Floats are compared by their bits (so -0.0, NaN and 0.0 stay apart, as their formatting does); other
    values by equality, every null (None, NaN, NA) being one value, as :func:`_text` prints them all as "".
    """
    arr = np.asarray(values)
    # integers ≥ 0 (codes of a text column, flags) and whole areas are already such codes: no hashing
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu" and (not len(arr) or arr.min() >= 0):
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f":
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        # NaN fails the range test, -0.0 the sign test: only numbers equal exactly when their bits do pass
        if (
            len(arr)
            and arr.min() >= 0
            and arr.max() < 2**31
            and not np.signbit(arr).any()
            and (arr == np.floor(arr)).all()
        ):
            return arr.astype(np.int64)
        arr = arr.view(np.int64)
    codes, _ = pd.factorize(arr, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False)


def _group(keys: Sequence[_AnyCodes], n: int) -> tuple[_Codes, npt.NDArray[np.intp]]:
    """Group ``n`` rows by equal tuples of integer ``keys``: (group of each row, first row of each group).

    Groups are numbered in order of first appearance, so the first rows come out sorted by group.
    """
    code = np.zeros(n, dtype=np.int64)
    size = 1
    for key in keys:
        m = int(key.max()) + 1 if len(key) else 1
        if m == 1:
            continue  # every row 0 (the keys are ≥ 0): it splits no group
        if size * m >= 2**62:  # keep the mixed-radix code in int64: renumber densely first (≤ n groups)
            code, uniques = pd.factorize(code)
            code = code.astype(np.int64, copy=False)
            size = len(uniques)
        code *= m  # in place: no new array per key
        code += key
        size *= m
    code, _ = pd.factorize(code)
    code = code.astype(np.int64, copy=False)
    if not n:
        return code, np.zeros(0, dtype=np.intp)
    seen = np.maximum.accumulate(code)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = code[1:] > seen[:-1]
    return code, np.flatnonzero(new)


class _Labels:
    """A text column as integer codes and its distinct texts (null reads ""), without a string per lot."""

    def __init__(self, series: pd.Series) -> None:
        if isinstance(series.dtype, pd.CategoricalDtype):
            # the stages hand categoricals over: their codes and categories already are the table
            codes = series.cat.codes.to_numpy()
            uniques: Any = series.cat.categories
        else:
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
        # nulls (None, NaN, NA alike) get the last code, whose text is "" as _text prints them
        self.codes: _Codes32 = np.where(codes < 0, len(uniques), codes).astype(np.int32)
        self.texts: _Obj = np.empty(len(uniques) + 1, dtype=object)
        self.texts[:-1] = list(uniques)
        self.texts[-1] = ""

    def __getitem__(self, rows: npt.NDArray[np.intp]) -> _Obj:
        return self.texts[self.codes[rows]]  # type: ignore[no-any-return]

    def per_lot(self, flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Spread a flag computed once per distinct text (``len(texts)``, the null last) to every lot."""
        return flags[self.codes]  # type: ignore[no-any-return]


class _Keyed:
    """A per-lot message formatted once per distinct key, never once per lot.

    ``build(rows)`` formats it for the given lot positions; ``keys`` (arrays over all lots) determine it.
    """

    def __init__(self, build: Callable[[npt.NDArray[np.intp]], _Obj], *keys: npt.ArrayLike) -> None:
        self.build = build
        self.keys = keys


_Message = str | _Keyed

#: Arrow's type for the texts: 64-bit offsets, so a few 10⁵ joined texts can never overflow them.
_LARGE = pa.large_string()
_EMPTY = pa.scalar("", type=_LARGE)


def _call(function: str, *args: Any, options: Any = None) -> Any:
    """Run an Arrow compute function by name (its Python wrappers are generated, unknown to type checkers)."""
    return pc.call_function(function, list(args), options)


class _Parts:
    """A vocabulary of texts to join, each twice in one Arrow array: after its separator, and alone.

    Position ``code`` is ``sep + text`` ("" for an empty text), position ``size + code`` the text alone (for
    the first text a row says).
    """

    def __init__(self, texts: pa.Array, sep: str) -> None:
        self.size = len(texts)
        empty = _call("equal", texts, _EMPTY)
        self.says: npt.NDArray[np.bool_] = ~empty.to_numpy(zero_copy_only=False)
        after = _call("binary_join_element_wise", pa.scalar(sep, type=_LARGE), texts, _EMPTY)
        self.tokens: pa.Array = pa.concat_arrays([_call("if_else", empty, _EMPTY, after), texts])


def _concat(parts: list[_Parts], codes: Sequence[_AnyCodes]) -> pa.Array:
    """Per row, the non-empty texts ``parts[i]`` at ``codes[i]`` joined by their separators.

    The first text a row says is taken alone, every later one after its separator, and the pieces
    concatenated — in Arrow's kernels, without a Python string per row.
    """
    seen = np.zeros(len(codes[0]), dtype=bool)
    taken = []
    for part, code in zip(parts, codes, strict=True):
        says = part.says[code]
        first = says & ~seen
        seen |= says
        taken.append(part.tokens.take(pa.array(code + part.size * first)))
    return _call("binary_join_element_wise", *taken, _EMPTY)


class _Condition:
    """The messages of one condition: per lot a code (0: no message) into its texts."""

    def __init__(self, codes: _Codes32, texts: list[str], unknown: list[bool]) -> None:
        self.codes = codes
        self.texts = texts
        #: per text: said because the condition is unknown (a "sin dato" said once per section)
        self.unknown = np.array(unknown, dtype=bool) & np.array([bool(t) for t in texts], dtype=bool)
        self.parts = _Parts(pa.array(texts, type=_LARGE), ", ")


def _join_section(conds: list[_Condition], codes: list[_AnyCodes]) -> pa.Array:
    """Texts of one section per distinct combination of its conditions' messages (``codes``, one row each).

    Messages are joined by ", " in the order of the conditions; a message from an unknown condition that the
    text so far already contains (the same "sin dato: predio sin PIT" of several conditions) is said once.
    ``codes`` are the caller's copies: the messages not said are written there as 0.
    """
    parts = [cond.parts for cond in conds]
    for i in range(1, len(conds)):
        rows = np.flatnonzero(conds[i].unknown[codes[i]])
        if not len(rows):
            continue
        # the text so far (drops of earlier conditions applied) of the rows where this condition is unknown
        acc = _concat(parts[:i], [c[rows] for c in codes[:i]])
        at = codes[i][rows]
        for code in np.unique(at).tolist():  # a loop per distinct message, not per row
            sub = np.flatnonzero(at == code)
            pattern = pc.MatchSubstringOptions(conds[i].texts[code])  # the text as it is, not a regex
            found = _call("match_substring", acc.take(pa.array(sub)), options=pattern)
            codes[i][rows[sub[found.to_numpy(zero_copy_only=False)]]] = 0  # code 0: no message
    return _concat(parts, codes)


def _states(cond: pd.arrays.BooleanArray) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Return the masks where a condition is False and where it is NA."""
    return ~cond.to_numpy(dtype=bool, na_value=True), np.asarray(cond.isna(), dtype=bool)


class _Motivos:
    """Which message each lot gets for each failed or unknown condition, as small integer codes.

    The texts are assembled once per distinct combination of messages (most lots share a few), then taken
    for every lot: no text operation runs per lot.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.conds: dict[str, list[_Condition]] = {s: [] for s in SECTIONS}
        self._shared: dict[str, _Condition] = {}

    def add(
        self,
        section: str,
        cond: pd.arrays.BooleanArray,
        fail: _Message,
        unknown: _Message,
        *,
        share: str | None = None,
    ) -> None:
        """Record the message of ``cond`` where it is False (``fail``) or NA (``unknown``).

        ``share`` names a condition evaluated identically in several sections (the road and plan
        conditions), so its messages are coded once.
        """
        if share is not None and share in self._shared:
            self.conds[section].append(self._shared[share])
            return
        is_false, is_na = _states(cond)
        codes = np.zeros(self.n, dtype=np.int32)
        texts: list[str] = [""]
        from_unknown: list[bool] = [False]
        for mask, message, flag in ((is_false, fail, False), (is_na, unknown, True)):
            rows = np.flatnonzero(mask)
            if not len(rows):
                continue
            if isinstance(message, str):
                codes[rows] = len(texts)
                texts.append(message)
                from_unknown.append(flag)
                continue
            group, first = _group([_key(np.asarray(k)[rows]) for k in message.keys], len(rows))
            built = _text(message.build(rows[first]), len(first))
            codes[rows] = len(texts) + group
            texts.extend(built.tolist())
            from_unknown.extend([flag] * len(built))
        entry = _Condition(codes, texts, from_unknown)
        if share is not None:
            self._shared[share] = entry
        self.conds[section].append(entry)

    def columns(self) -> dict[str, pd.Categorical | _Obj]:
        """``motivos_<sección>`` and the combined ``motivos``, as categoricals over the lots.

        The lots are grouped once by their whole combination of messages; each section's texts are built per
        distinct combination of its own messages, and ``motivos`` per distinct whole combination, from them.
        """
        distinct = list({id(c): c for conds in self.conds.values() for c in conds}.values())
        group, first = _group([c.codes for c in distinct], self.n)
        # per distinct whole combination, the code of each condition (a shared condition is one entry)
        combo = {id(c): c.codes[first] for c in distinct}
        out: dict[str, pd.Categorical | _Obj] = {}
        named: list[_Parts] = []
        sec_groups: list[_Codes] = []
        for sec, label in SECTIONS.items():
            conds = self.conds[sec]
            sec_group, sec_first = _group([combo[id(c)] for c in conds], len(first))
            texts = _join_section(conds, [combo[id(c)][sec_first] for c in conds])
            out[f"motivos_{sec}"] = labelled_arrow(sec_group[group], texts)
            # "ZUAE: …" where the section says something, "" where it does not
            labels = _call("binary_join_element_wise", pa.scalar(f"{label}: ", type=_LARGE), texts, _EMPTY)
            named.append(_Parts(_call("if_else", _call("equal", texts, _EMPTY), _EMPTY, labels), "; "))
            sec_groups.append(sec_group)
        out["motivos"] = labelled_arrow(group, _concat(named, sec_groups))
        return out


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
    score = np.asarray(puntaje, dtype=np.float64)
    if score.ndim == 0:  # one score for every lot (a scenario's): its tier is looked up once
        tier = int(np.searchsorted(mins, score, side="right")) - 1
        at_metro, at_cet = (metro[tier], max(cet[tier], 0.0)) if tier >= 0 else (0.0, 0.0)
        pct = np.where(
            np.asarray(en_metro, dtype=bool), at_metro, np.where(np.asarray(en_cet, dtype=bool), at_cet, 0.0)
        )
    else:
        tiers = np.searchsorted(mins, np.broadcast_to(score, base.shape), side="right") - 1
        tier_c = np.clip(tiers, 0, None)
        pct = np.where(
            np.asarray(en_metro, dtype=bool),
            metro[tier_c],
            np.where(np.asarray(en_cet, dtype=bool), np.maximum(cet[tier_c], 0.0), 0.0),
        )
        pct = np.where(tiers >= 0, pct, 0.0)
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
        ``motivos_zuae``, ``motivos_cos_pb``, ``motivos_eco`` and ``motivos``. The ``motivos*`` texts are
        categoricals whose categories are the sorted distinct texts, exactly what
        :func:`quitogeo.pipeline.compact_text` makes of them (built per distinct combination of messages,
        never a string per lot); with no lot they are object columns.
    """
    n = len(frame)
    um = rules["umbrales"]
    missing = set(missing)
    index = frame.index
    cols: dict[str, Any] = {}
    mot = _Motivos(n)

    def sin_capa(*layers: str) -> str:
        return "sin dato: capa " + " / ".join(layers) + (" ausente" if len(layers) == 1 else " ausentes")

    area = frame["area_m2"].to_numpy(dtype=np.float64)
    area_known = np.isfinite(area)
    area_floor = np.floor(area)  # area messages print floor(area): the key of their texts
    has_pit = frame["codigo_pit"].notna().to_numpy()
    # text columns as codes + distinct texts: the messages below are formatted per distinct value, not per lot
    uso = _Labels(frame["uso_principal"])
    cat = _Labels(frame["uso_categoria"])
    cat_known = frame["uso_categoria"].notna().to_numpy()

    def uso_label(rows: npt.NDArray[np.intp]) -> _Obj:
        # "uso RU1 (R1)": the code as written in the layer, and its category when they differ
        u, c = uso[rows], cat[rows]
        return np.where((c != "") & (c != u), u + " (" + c + ")", u).astype(object)

    def uso_unknown(rows: npt.NDArray[np.intp]) -> _Obj:
        u = uso[rows]
        return np.where(
            has_pit[rows],
            np.where(u == "", "sin dato: PIT sin uso principal", "sin dato: uso '" + u + "' desconocido"),
            "sin dato: predio sin PIT",
        ).astype(object)

    uso_unknown_msg = _Keyed(uso_unknown, has_pit, uso.codes)

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
    via_angosta = _Labels(frame["via_mas_angosta"])

    def ancho_fail(rows: npt.NDArray[np.intp]) -> _Obj:
        text = "frente a vía de " + _fmt(min_w[rows]) + f" m < {ancho_min:g} m (" + via_angosta[rows] + ")"
        return np.where(nv_arr[rows] == 0, "", text).astype(object)

    ancho_fail_msg = _Keyed(ancho_fail, nv_arr == 0, min_w, via_angosta.codes)
    ancho_unknown = _Keyed(
        lambda rows: np.where(
            vias_known[rows], "sin dato: ancho de vía desconocido", sin_capa("vias")
        ).astype(object),
        vias_known,
    )
    sc_val, sc_known = _nb(frame["frente_sin_continuidad"])
    continuidad = _bool(~sc_val, sc_known)
    vias_sc = _Labels(frame["vias_sin_continuidad"])
    cont_fail = _Keyed(
        lambda rows: ("vía sin continuidad (" + vias_sc[rows] + ")").astype(object), vias_sc.codes
    )

    pe_val, pe_known = _nb(frame["en_plan_especial"])
    sin_plan = _bool(~pe_val, pe_known)
    planes = _Labels(frame["plan_especial"])
    plan_fail = _Keyed(lambda rows: ("en plan especial (" + planes[rows] + ")").astype(object), planes.codes)

    def area_cond(threshold: float, label: str) -> tuple[pd.arrays.BooleanArray, _Keyed]:
        cond = _bool(area >= threshold, area_known)
        msg = _Keyed(
            lambda rows: ("área " + _fmt_floor(area[rows]) + f" m² < {label}").astype(object), area_floor
        )
        return cond, msg

    # --- Sección II ZUAE (Art. 5)
    z_val, z_known = _nb(frame["en_zuae"])
    conds: dict[str, tuple[pd.arrays.BooleanArray, _Message, _Message]] = {}
    conds["zuae_en_zuae"] = (_bool(z_val, z_known), "fuera de ZUAE", sin_capa("zuae"))
    a_min = float(um["area_min_zuae_m2"])
    c, m = area_cond(a_min, f"{a_min:g} m²")
    conds["zuae_area"] = (c, m, "sin dato: área del predio")
    # --- Sección V COS PB (Art. 13)
    clas = _Labels(
        frame["clasificacion"]
        if "clasificacion" in frame.columns
        else pd.Series(None, index=index, dtype=object)
    )
    clas_urbano = np.array([str(t).lower() == "urbano" for t in clas.texts], dtype=bool)
    urbano_known = clas.per_lot(np.array([t != "" for t in clas.texts], dtype=bool))
    pit_or_not = _Keyed(
        lambda rows: np.where(
            has_pit[rows], "sin dato: lote mínimo del PIT", "sin dato: predio sin PIT"
        ).astype(object),
        has_pit,
    )
    conds["cos_pb_urbano"] = (
        _bool(clas.per_lot(clas_urbano), urbano_known),
        _Keyed(lambda rows: ("suelo " + clas[rows] + " (no urbano)").astype(object), clas.codes),
        _Keyed(
            lambda rows: np.where(
                has_pit[rows], "sin dato: clasificación del suelo en el PIT", "sin dato: predio sin PIT"
            ).astype(object),
            has_pit,
        ),
    )
    lm = (
        frame["lote_minimo"].to_numpy(dtype=np.float64)
        if "lote_minimo" in frame.columns
        else np.full(n, np.nan)
    )
    conds["cos_pb_lote_minimo"] = (
        _bool(area >= lm, area_known & np.isfinite(lm)),
        _Keyed(
            lambda rows: (
                "área " + _fmt_floor(area[rows]) + " m² < lote mínimo " + _fmt(lm[rows]) + " m²"
            ).astype(object),
            area_floor,
            lm,
        ),
        pit_or_not,
    )
    excl = set(um["usos_excluidos_cos_pb"])
    in_excl = cat.per_lot(np.array([t in excl for t in cat.texts[:-1]] + [False], dtype=bool))
    conds["cos_pb_uso"] = (
        _bool(~in_excl, cat_known),
        _Keyed(
            lambda rows: ("uso " + uso_label(rows) + " excluido (Art. 13 i)").astype(object),
            uso.codes,
            cat.codes,
        ),
        uso_unknown_msg,
    )
    # --- Sección VI Eco-eficiencia (Art. 16)
    e_min = float(um["area_min_ecoeficiencia_m2"])
    c, m = area_cond(e_min, f"{e_min:g} m²")
    conds["eco_area"] = (c, m, "sin dato: área del predio")
    admit = set(um["usos_ecoeficiencia"])
    in_admit = cat.per_lot(np.array([t in admit for t in cat.texts[:-1]] + [False], dtype=bool))
    conds["eco_uso"] = (
        _bool(in_admit, cat_known),
        _Keyed(
            lambda rows: ("uso " + uso_label(rows) + " no admitido (Art. 16 b)").astype(object),
            uso.codes,
            cat.codes,
        ),
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
    riesgo = _Labels(frame["riesgo_ids"])
    conds["eco_sin_riesgo"] = (
        _bool(~r_val, r_known),
        _Keyed(
            lambda rows: ("en zona de riesgo no mitigable (" + riesgo[rows] + ")").astype(object),
            riesgo.codes,
        ),
        sin_capa("riesgo"),
    )
    shared: dict[str, str] = {}
    for sec in ("zuae", "cos_pb", "eco"):
        conds[f"{sec}_frente"] = (frente, "sin frente a vía", sin_capa("vias"))
        conds[f"{sec}_ancho_via"] = (ancho, ancho_fail_msg, ancho_unknown)
        conds[f"{sec}_continuidad"] = (continuidad, cont_fail, sin_capa("vias"))
        conds[f"{sec}_sin_plan_especial"] = (sin_plan, plan_fail, sin_capa("planes_especiales"))
        for name in ("frente", "ancho_via", "continuidad", "sin_plan_especial"):
            shared[f"{sec}_{name}"] = name  # the same condition and messages in the three sections

    elegible_names = {"zuae": "elegible_zuae", "cos_pb": "elegible_cos_pb", "eco": "elegible_ecoeficiencia"}
    in_use: set[int] = set()
    for sec, names in CONDITIONS.items():
        fails = np.zeros(n, dtype=bool)
        unsure = np.zeros(n, dtype=bool)
        for name in names:
            cond, fail, unknown = conds[name]
            mot.add(sec, cond, fail, unknown, share=shared.get(name))
            # every column its own array (a shared condition copied): the frame is built without copies
            cols[name] = cond.copy() if id(cond) in in_use else cond
            in_use.add(id(cond))
            is_false, is_na = _states(cond)
            fails |= is_false
            unsure |= is_na
        # Kleene AND of the section's conditions: False if one fails, else NA if one is unknown, else True
        cols[elegible_names[sec]] = pd.arrays.BooleanArray(~fails & ~unsure, ~fails & unsure)

    ez = cols["elegible_zuae"]
    pisos_zuae = np.where(ez.fillna(False).to_numpy(dtype=bool), int(um["pisos_max_zuae"]), 0).astype(
        np.int64
    )
    cols["pisos_adicionales_zuae"] = pd.arrays.IntegerArray(pisos_zuae, np.asarray(ez.isna(), dtype=bool))

    base = (
        frame["pisos_basicos"].to_numpy(dtype=np.float64)
        if "pisos_basicos" in frame.columns
        else np.full(n, np.nan)
    )
    floors = eco_extra_floors(scenario_score(escenario, rules=rules), me_val, ce_val, base, rules=rules)
    eleg = cols["elegible_ecoeficiencia"]
    yes = eleg.fillna(False).to_numpy(dtype=bool)
    value = np.where(yes, floors, 0.0)
    unknown = np.asarray(eleg.isna(), dtype=bool) | (yes & ~np.isfinite(floors))
    cols["pisos_adicionales_max"] = pd.arrays.IntegerArray(np.nan_to_num(value).astype(np.int64), unknown)

    # --- motivos: one text per distinct combination of messages, taken for every lot as a categorical
    cols.update(mot.columns())
    return pd.DataFrame(cols, index=index, copy=False)


__all__ = [
    "CONDITIONS",
    "SECTIONS",
    "density_points",
    "eco_extra_floors",
    "evaluate",
    "scenario_score",
    "use_categories",
]
