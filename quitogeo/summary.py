"""The ``resumen`` table: potential recaudación by administración zonal, parroquia and AIVA band."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quitogeo.rules import Rules

#  Grouping dimensions of ``resumen`` (the ``agrupacion`` column), in output order; ``total`` closes the
# table.
GROUPINGS: tuple[str, ...] = ("administracion_zonal", "parroquia", "banda_aiva", "total")

SIN_DATO = "sin dato"


def aiva_band(aiva: pd.Series, *, rules: Rules) -> pd.Series:
    """Return the β row band of each AIVA value as text (``sin dato`` for NaN).

    Bands as normativa §1: AIVA ≤ lo; lo < AIVA < hi; AIVA ≥ hi (``beta.aiva_limites``).
    """
    lo, hi = (float(x) for x in rules["beta"]["aiva_limites"])
    v = pd.to_numeric(aiva, errors="coerce").to_numpy(dtype=np.float64)
    labels = np.where(
        np.isnan(v),
        SIN_DATO,
        np.where(v <= lo, f"AIVA ≤ {lo:g}", np.where(v < hi, f"{lo:g} < AIVA < {hi:g}", f"AIVA ≥ {hi:g}")),
    )
    return pd.Series(labels, index=aiva.index, dtype=object)


def _group_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer group of each lot and the group labels (null reads :data:`SIN_DATO`), one hash pass."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = np.empty(len(uniques) + 1, dtype=object)
    labels[:-1] = np.asarray(uniques, dtype=object)
    labels[-1] = SIN_DATO
    # a value spelled "sin dato" and a null are one group, as when grouping the texts themselves
    label_codes, distinct = pd.factorize(labels)
    return label_codes[codes], np.asarray(distinct, dtype=object)


def _aiva_band_codes(aiva: pd.Series, *, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """:func:`aiva_band` as integer groups and labels (the bands are computed on numbers, not texts)."""
    lo, hi = (float(x) for x in rules["beta"]["aiva_limites"])
    v = pd.to_numeric(aiva, errors="coerce").to_numpy(dtype=np.float64)
    codes = np.where(np.isnan(v), 0, np.where(v <= lo, 1, np.where(v < hi, 2, 3)))
    labels = np.array([SIN_DATO, f"AIVA ≤ {lo:g}", f"{lo:g} < AIVA < {hi:g}", f"AIVA ≥ {hi:g}"], dtype=object)
    return codes, labels


def resumen(predios: pd.DataFrame, *, rules: Rules) -> pd.DataFrame:
    """Aggregate a run's ``predios_resultado`` into the ``resumen`` table.

    Parameters
    ----------
    predios : DataFrame
        ``predios_resultado`` (needs ``administracion_zonal``, ``parroquia``, ``aiva_valor``, ``elegible_*``,
        ``ae_m2``, ``cod_centavos``).
    rules : Rules
        For the AIVA band limits.

    Returns
    -------
    DataFrame
        Long format, one row per group: ``agrupacion`` (one of :data:`GROUPINGS`), ``grupo``, ``n_predios``,
        ``n_con_cod`` (lots with a COD), ``elegibles_zuae``, ``elegibles_cos_pb``,
        ``elegibles_ecoeficiencia``,
        ``ae_m2`` and ``cod_potencial`` (USD, summed from exact cents). Missing group values read ``sin
        dato``.
    """
    cents = predios["cod_centavos"].astype("Int64")
    # each grouping as integer codes + labels: grouping by the codes gives the same groups, rows in the same
    # order (hence the same sums) as grouping by the texts, without hashing a text per lot and grouping
    dims: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "administracion_zonal": _group_codes(predios["administracion_zonal"]),
        "parroquia": _group_codes(predios["parroquia"]),
        "banda_aiva": _aiva_band_codes(predios["aiva_valor"], rules=rules),
        "total": (np.zeros(len(predios), dtype=np.int64), np.array(["todos"], dtype=object)),
    }
    base = pd.DataFrame(
        {
            "n_predios": np.ones(len(predios), dtype=np.int64),
            "n_con_cod": cents.notna().astype(np.int64),
            "elegibles_zuae": predios["elegible_zuae"].astype("boolean").fillna(False).astype(np.int64),
            "elegibles_cos_pb": predios["elegible_cos_pb"].astype("boolean").fillna(False).astype(np.int64),
            "elegibles_ecoeficiencia": predios["elegible_ecoeficiencia"]
            .astype("boolean")
            .fillna(False)
            .astype(np.int64),
            "ae_m2": pd.to_numeric(predios["ae_m2"], errors="coerce").fillna(0.0),
            "centavos": cents.fillna(0).astype(np.int64),
        }
    )
    values = [
        "n_predios",
        "n_con_cod",
        "elegibles_zuae",
        "elegibles_cos_pb",
        "elegibles_ecoeficiencia",
        "ae_m2",
        "centavos",
    ]
    groupings: tuple[str, ...] = GROUPINGS
    # --- ámbitos PUOS → PUGS (quitogeo.ambitos, issue 6): only when the run had a `puos` layer ------------
    # adds the grouping "ambito" (the ámbito applied per lot) and, in every group, the lots with a COD per
    # ámbito and its potential recaudación `cod_ambito_potencial` (USD, from exact cents)
    con_ambitos = "cod_ambito_centavos" in predios.columns
    if con_ambitos:
        amb_cents = predios["cod_ambito_centavos"].astype("Int64")
        aplicado = predios["ambito_aplicado"].astype(object)
        dims["ambito"] = _group_codes(aplicado)
        base["n_con_cod_ambito"] = amb_cents.notna().astype(np.int64)
        base["centavos_ambito"] = amb_cents.fillna(0).astype(np.int64)
        values += ["n_con_cod_ambito", "centavos_ambito"]
        groupings = (*GROUPINGS[:-1], "ambito", GROUPINGS[-1])
    # --- end ámbitos ---------------------------------------------------------------------------------------
    frames = []
    for dim in groupings:
        codes, labels = dims[dim]
        g = base[values].groupby(codes, sort=True).sum()
        grupo = labels[g.index.to_numpy()]
        order = sorted(range(len(grupo)), key=grupo.__getitem__)  # by label, as grouping the texts sorts
        g = g.iloc[order].reset_index(drop=True)
        g.insert(0, "grupo", grupo[order])
        g.insert(0, "agrupacion", dim)
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["grupo"] = out["grupo"].astype(str)
    out["ae_m2"] = out["ae_m2"].round(2)
    out["cod_potencial"] = out["centavos"].to_numpy(dtype=np.int64) / 100.0
    if con_ambitos:  # ámbitos PUOS → PUGS (issue 6)
        out["cod_ambito_potencial"] = out.pop("centavos_ambito").to_numpy(dtype=np.int64) / 100.0
    return out.drop(columns="centavos")


__all__ = ["GROUPINGS", "SIN_DATO", "aiva_band", "resumen"]
