"""The PUOS (previous plan) layer of the synthetic sample project.

Derived from the sample's PUGS polygons (cut into strips) with deliberate differences, so that the PUOS →
PUGS comparison of :mod:`quitogeo.ambitos` finds every ámbito and combination of Anexo 01 §2 somewhere in the
sample. Each strip gets one *case* (:data:`CASES`); its PUOS attributes are the PUGS ones changed as the case
says:

- ``sin_cambio``: same use, classification and lote mínimo; PUOS floors and COS total = PUGS máximos.
- ``clasificacion``: rural in the PUOS, urbano in the PUGS (transformación de clasificación).
- ``uso_tabla2``: R1/R2/R3 with floors in the Tabla 2 range → PUGS Tipología/RU (IR 0.20).
- ``uso_tabla3``: I2/I3/I4 → PUGS IMI/IAI/IAR (IR 1.18).
- ``uso_fuera``: another use category (R2 → M, or M/other → R2), outside the tables (IR of the zone).
- ``lote_minimo``: PUOS lote mínimo twice the PUGS one; COS PB and floors unchanged (§2.2.2 met).
- ``lote_minimo_sin_condiciones``: the same with a PUOS COS PB 10 points higher (§2.2.2 b fails: reported).
- ``edificabilidad``: PUOS = PUGS básico, so the PUGS máximo is an incremento (Ae).
- ``edificabilidad_uso`` (§2.3.1), ``edificabilidad_lote_minimo`` (§2.3.2), ``lote_minimo_uso`` (§2.3.3, the
  larger) and ``tres`` (all three): the combinations of the cases above.

The PUOS zones are not the PUGS polygons: each PUGS polygon is cut into vertical strips (2 to 4, more when
the PUGS has few polygons), as an older plan drew its own boundaries; lots straddling a strip boundary take
the zone of largest overlap. Every case a strip can take (its PUGS use, classification and buildability allow
it) is given to at least one strip when there are enough strips, the largest strips first (they hold lots);
the lote-mínimo cases go first to the smallest PUGS lote mínimo, whose lots are most likely divisible
(§2.2.2 a). The rest are drawn with the seed. Same seed → same layer.

Tabla 2 and Tabla 3 cases need PUGS polygons whose use is a PUGS homologue (RU1, Tipología 3, IMI …) of a
residential or industrial PUOS use: a sample PUGS without one cannot show that case.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from quitogeo.rules import Rules, load_rules

#: The cases, in the order they are guaranteed (see the module docstring).
CASES: tuple[str, ...] = (
    "uso_tabla3",
    "uso_tabla2",
    "clasificacion",
    "lote_minimo",
    "lote_minimo_sin_condiciones",
    "lote_minimo_uso",
    "edificabilidad_lote_minimo",
    "tres",
    "uso_fuera",
    "edificabilidad_uso",
    "edificabilidad",
    "sin_cambio",
)

#: Weights of the cases for the polygons left after each case has one.
_WEIGHTS: dict[str, float] = {
    "sin_cambio": 6.0,
    "edificabilidad": 4.0,
    "uso_fuera": 1.0,
    "edificabilidad_uso": 1.0,
    "clasificacion": 0.5,
    "uso_tabla2": 1.0,
    "uso_tabla3": 0.5,
    "lote_minimo": 1.0,
    "lote_minimo_sin_condiciones": 0.5,
    "edificabilidad_lote_minimo": 1.0,
    "lote_minimo_uso": 1.0,
    "tres": 0.5,
}

_LM_CASES = (
    "lote_minimo",
    "lote_minimo_sin_condiciones",
    "lote_minimo_uso",
    "edificabilidad_lote_minimo",
    "tres",
)
_USO_FUERA = ("uso_fuera", "edificabilidad_uso", "lote_minimo_uso", "tres")
_EDIF = ("edificabilidad", "edificabilidad_uso", "edificabilidad_lote_minimo", "tres")


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _equivalences(rules: Rules) -> tuple[dict[str, tuple[str, int, int]], dict[str, str]]:
    """PUGS category → (PUOS code, floors min, floors max) of Tabla 2, and → PUOS code of Tabla 3."""
    res = {}
    for eq in rules["ir"]["equivalencias_residenciales"]:
        cat = rules.homologate_use(eq["uso_pugs"])
        if cat is not None:
            res[cat] = (str(eq["uso_puos"]), int(eq["pisos_min"]), int(eq["pisos_max"]))
    ind = {}
    for eq in rules["ir"]["equivalencias_industriales"]:
        cat = rules.homologate_use(eq["uso_pugs"])
        if cat is not None:
            ind[cat] = str(eq["uso_puos"])
    return res, ind


def _strips(pugs: gpd.GeoDataFrame, *, parts: int) -> gpd.GeoDataFrame:
    """Cut each polygon into ``parts`` vertical strips of equal width (empty pieces dropped)."""
    geoms = np.asarray(pugs.geometry.array, dtype=object)
    bounds = shapely.bounds(geoms)  # xmin, ymin, xmax, ymax per polygon
    rep = np.repeat(np.arange(len(geoms)), parts)
    k = np.tile(np.arange(parts), len(geoms))
    width = (bounds[rep, 2] - bounds[rep, 0]) / parts
    x0 = bounds[rep, 0] + k * width
    boxes = shapely.box(x0, bounds[rep, 1], x0 + width, bounds[rep, 3])
    pieces = shapely.intersection(geoms[rep], boxes)
    keep = ~shapely.is_empty(pieces) & (shapely.area(pieces) > 0)
    out = pugs.iloc[rep[keep]].copy()
    out = out.set_geometry(pieces[keep])
    return out.reset_index(drop=True)


def make_puos_layer(pugs: gpd.GeoDataFrame, *, seed: int) -> gpd.GeoDataFrame:
    """Return a ``puos`` layer (layers.md) derived from the sample's ``pugs`` layer.

    Parameters
    ----------
    pugs : GeoDataFrame
        The sample's PIT polygons with canonical columns (``uso_principal``, ``clasificacion``,
        ``lote_minimo``, ``cos_pb``, ``pisos_basicos``, ``pisos_maximos``, ``cos_total_basico``,
        ``cos_total_maximo``, ``forma_ocupacion``; missing COS totals are read as floors × COS PB).
    seed : int
        Seed of the sample generator (same seed → same layer).

    Returns
    -------
    GeoDataFrame
        Vertical strips of the ``pugs`` polygons (same CRS, together covering the same area). Columns
        ``uso_principal, clasificacion, forma_ocupacion, lote_minimo, pisos, cos_pb, cos_total,
        codigo_edificabilidad`` and ``caso`` (which deliberate difference the strip carries, :data:`CASES`;
        documentation for the sample, not read by the run).
    """
    rules = load_rules()
    rng = np.random.default_rng(seed)
    source = pugs
    pugs = _strips(source, parts=int(np.clip(np.ceil(2 * len(CASES) / max(len(source), 1)), 2, 4)))
    n = len(pugs)
    idx = pugs.index
    code = (
        pugs["uso_principal"].astype("string").str.strip()
        if "uso_principal" in pugs.columns
        else pd.Series(pd.NA, index=idx, dtype="string")
    )
    uniques = code.dropna().unique()
    cat = code.map({c: rules.homologate_use(c) for c in uniques}).astype("string")
    clas = (
        pugs["clasificacion"].astype("string").str.strip().str.casefold()
        if "clasificacion" in pugs.columns
        else pd.Series("urbano", index=idx, dtype="string")
    )
    lm = _num(pugs, "lote_minimo")
    cos_pb = _num(pugs, "cos_pb")
    pisos_b = _num(pugs, "pisos_basicos")
    pisos_m = _num(pugs, "pisos_maximos").fillna(pisos_b)
    ct_b = _num(pugs, "cos_total_basico").fillna(pisos_b * cos_pb)
    ct_m = _num(pugs, "cos_total_maximo").fillna(pisos_m * cos_pb).fillna(ct_b)
    res_eq, ind_eq = _equivalences(rules)

    # --- which cases each polygon can take ---------------------------------------------------------------
    known_cat = cat.notna()
    tabla2_code = cat.map({k: v[0] for k, v in res_eq.items()}).astype("string")
    tabla3_code = cat.map(ind_eq).astype("string")
    can_edif = ((ct_m > ct_b) | (pisos_m >= 2)).fillna(False) & cos_pb.notna()
    can_lm = (lm >= 100).fillna(False) & cos_pb.notna() & pisos_b.notna()
    feasible = {
        "sin_cambio": pd.Series(True, index=idx),
        "clasificacion": (clas == "urbano").fillna(False),
        "uso_tabla2": (
            tabla2_code.notna() & (tabla2_code.str.casefold() != code.str.casefold()) & pisos_m.notna()
        ).fillna(False),
        "uso_tabla3": (tabla3_code.notna() & (tabla3_code.str.casefold() != code.str.casefold())).fillna(
            False
        ),
        "uso_fuera": known_cat,
        "lote_minimo": can_lm,
        "lote_minimo_sin_condiciones": can_lm,
        "edificabilidad": can_edif,
        "edificabilidad_uso": can_edif & known_cat,
        "edificabilidad_lote_minimo": can_edif & can_lm,
        "lote_minimo_uso": can_lm & known_cat,
        "tres": can_edif & can_lm & known_cat,
    }

    # --- assignment: one polygon per case first (scarcest prerequisites first), then drawn with the seed ----
    assigned = pd.Series(pd.NA, index=idx, dtype="string")
    ranking = pd.DataFrame({"lm": lm, "area": -pugs.geometry.area, "azar": rng.random(n)}, index=idx)
    by_area = ranking.sort_values(["area", "azar"]).index  # largest strips first: they hold lots
    by_lm = ranking.sort_values(["lm", "area", "azar"], na_position="last").index
    for name in CASES:
        free = feasible[name] & assigned.isna()
        candidates = by_lm if name in _LM_CASES else by_area
        pick = [i for i in candidates if free.loc[i]][:1]  # per case (a dozen), not per lot
        if pick:
            assigned.loc[pick[0]] = name
    rest = assigned.isna()
    if rest.any():
        names = np.array(CASES)
        draws = rng.random((n, len(CASES)))
        weights = np.array([_WEIGHTS[c] for c in CASES])
        ok = np.column_stack([feasible[c].to_numpy(dtype=bool) for c in CASES])
        # weighted draw among feasible cases: the largest of w × u^(1/w)-style keys, vectorised
        keys = np.where(ok, np.log(draws) / weights, -np.inf)
        chosen = names[np.argmax(keys, axis=1)]
        assigned = assigned.where(~rest, pd.Series(chosen, index=idx, dtype="string"))
    caso: pd.Series = assigned.astype(str)

    # --- PUOS attributes from the case ----------------------------------------------------------------------
    is_ = {c: (caso == c) for c in CASES}
    uso_fuera = caso.isin(_USO_FUERA)
    edif = caso.isin(_EDIF)
    lm_case = caso.isin(_LM_CASES)
    other_use = pd.Series(np.where(cat == "R2", "M", "R2"), index=idx)
    uso = code.astype(object)
    uso = uso.where(~is_["uso_tabla2"], tabla2_code.astype(object))
    uso = uso.where(~is_["uso_tabla3"], tabla3_code.astype(object))
    uso = uso.where(~uso_fuera, other_use)
    clasificacion = clas.astype(object).where(~is_["clasificacion"], "rural")

    # floors and COS total: PUGS máximos (no incremento) unless the case prices edificabilidad
    pisos = pisos_m.copy()
    cos_total = ct_m.copy()
    # lote-mínimo cases: PUOS floors = PUGS básicos so that §2.2.2 b (floors ≥ before) holds
    pisos = pisos.where(~lm_case, pisos_b)
    # edificabilidad: PUOS = PUGS básico; when the PUGS has no máximo above it, one floor less
    above = (ct_m > ct_b).fillna(False)
    pisos = pisos.where(~edif, pisos_b.where(above, pisos_m - 1))
    cos_total = cos_total.where(~edif, ct_b.where(above, (pisos_m - 1) * cos_pb))
    # Tabla 2 needs the PUOS floors inside the table's range
    t2_min = cat.map({k: v[1] for k, v in res_eq.items()}).astype("float64")
    t2_max = cat.map({k: v[2] for k, v in res_eq.items()}).astype("float64")
    pisos = pisos.where(~is_["uso_tabla2"], pisos.clip(lower=t2_min, upper=t2_max))

    lote = lm.where(~lm_case, lm * 2)
    cos = cos_pb.where(~is_["lote_minimo_sin_condiciones"], cos_pb + 10)

    forma = (
        pugs["forma_ocupacion"].astype("string").fillna("A")
        if "forma_ocupacion" in pugs.columns
        else pd.Series("A", index=idx, dtype="string")
    )
    # zoning code of the PUOS convention (normativa §5): forma, lote/100, two-digit floors, COS PB
    codigo_ok = lote.notna() & pisos.notna() & cos.notna() & (lote % 100 == 0)
    codigo = (
        forma.str.upper().str[:1]
        + (lote / 100).round().astype("Int64").astype("string")
        + pisos.round().astype("Int64").astype("string").str.zfill(2)
        + "-"
        + cos.round().astype("Int64").astype("string")
    ).where(codigo_ok, None)

    return gpd.GeoDataFrame(
        {
            "uso_principal": uso.to_numpy(dtype=object),
            "clasificacion": clasificacion.to_numpy(dtype=object),
            "forma_ocupacion": forma.to_numpy(dtype=object),
            "lote_minimo": lote.to_numpy(dtype=np.float64),
            "pisos": pisos.to_numpy(dtype=np.float64),
            "cos_pb": cos.to_numpy(dtype=np.float64),
            "cos_total": cos_total.to_numpy(dtype=np.float64),
            "codigo_edificabilidad": codigo.astype(object).to_numpy(dtype=object),
            "caso": caso.to_numpy(dtype=object),
        },
        geometry=pugs.geometry.to_numpy(),
        crs=pugs.crs,
    )


__all__ = ["CASES", "make_puos_layer"]
