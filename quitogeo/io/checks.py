"""Checks that need more than one layer.

Duplicated keys, lots outside every PIT or AIVA, overlapping PIT polygons, and layers whose datum disagrees
with the cadastre (PSAD56 labelled as WGS84).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from quitogeo.io.crs import detect_psad56_mislabel, reference_tree
from quitogeo.io.problems import ProblemLog
from quitogeo.rules import Rules

# Layers compared with the cadastre for a datum mismatch (they share its streets and block lines).
_DATUM_CHECKED = ("pugs", "aiva", "zuae", "vias", "riesgo", "planes_especiales", "areas_influencia", "puos")


def _lot_ids(predios: gpd.GeoDataFrame) -> np.ndarray:
    clave = predios["clave_catastral"].astype(object)
    rows = np.array([f"fila {i}" for i in range(len(predios))], dtype=object)
    return np.where(clave.isna() | (clave == ""), rows, clave.to_numpy())


def _present(frame: gpd.GeoDataFrame) -> np.ndarray:
    geoms = frame.geometry.to_numpy()
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def check_layers(layers: dict[str, gpd.GeoDataFrame], *, rules: Rules) -> pd.DataFrame:
    """Run the cross-layer checks on layers already read (canonical, TM-Quito).

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        The project's layers (as in :attr:`quitogeo.io.Project.layers`).
    rules : Rules
        The rules; ``tolerancias.aiva_min_overlap_m2`` is the sliver below which overlaps do not count.

    Returns
    -------
    DataFrame
        Problems table rows.
    """
    problems = ProblemLog()
    sliver = float(rules["tolerancias"]["aiva_min_overlap_m2"])
    predios = layers.get("predios")
    pugs = layers.get("pugs")
    if predios is not None:
        clave = predios["clave_catastral"]
        dup = clave.notna() & (clave != "") & clave.duplicated(keep=False)
        if dup.any():
            counts = clave[dup].map(clave[dup].value_counts())
            problems.add_many(
                "predios",
                clave[dup].to_numpy(),
                [f"clave_catastral duplicada ({n} predios)" for n in counts],
                "se conservan todos; cada fila se calcula por separado",
                "asigne una clave única a cada predio",
            )
        lot_ids = _lot_ids(predios)
        present = _present(predios)
        for layer_name, what in (("pugs", "ningún polígono PIT (PUGS)"), ("aiva", "ninguna zona AIVA")):
            other = layers.get(layer_name)
            if other is None:
                continue
            hit = np.zeros(len(predios), dtype=bool)
            rows = np.flatnonzero(present)
            lots = predios.geometry.to_numpy()[rows]
            # Point-in-polygon on centroids settles almost every lot cheaply; only the rest need the
            # polygon-polygon predicate.
            pt_idx, _ = other.sindex.query(shapely.centroid(lots), predicate="intersects")
            hit[rows[np.unique(pt_idx)]] = True
            rest = rows[~hit[rows]]
            if len(rest):
                lot_idx, _ = other.sindex.query(predios.geometry.to_numpy()[rest], predicate="intersects")
                hit[rest[np.unique(lot_idx)]] = True
            outside = present & ~hit
            if outside.any():
                problems.add_many(
                    "predios",
                    lot_ids[outside],
                    f"predio fuera de {what}",
                    "estado del predio: sin dato de " + ("PIT" if layer_name == "pugs" else "AIVA"),
                    f"complete la capa '{layer_name}' para cubrir el predio",
                )
    if pugs is not None and len(pugs) > 1:
        geoms = pugs.geometry.to_numpy()
        left, right = pugs.sindex.query(geoms, predicate="intersects")
        pair = left < right
        left, right = left[pair], right[pair]
        if len(left):
            area = shapely.area(shapely.intersection(geoms[left], geoms[right]))
            over = area > sliver
            if over.any():
                ids = pugs["codigo_pit"].astype(object).to_numpy()
                problems.add_many(
                    "pugs",
                    ids[left[over]],
                    [
                        f"polígono PIT superpuesto con {ids[r]!r} ({a:.1f} m²)"
                        for r, a in zip(right[over], area[over], strict=True)
                    ],
                    "cada predio toma el PIT de mayor superposición",
                    "corrija los límites para que los PIT no se superpongan",
                )
    if predios is not None and _present(predios).any():
        reference = reference_tree(predios.geometry[_present(predios)])
        for name in _DATUM_CHECKED:
            other = layers.get(name)
            if other is None or not _present(other).any():
                continue
            verdict = detect_psad56_mislabel(other.geometry, reference)
            if verdict.mislabelled:
                who = f"la capa '{name}'" if verdict.direction > 0 else "la capa 'predios'"
                problems.add(
                    name,
                    "*",
                    f"'{name}' y 'predios' están desplazadas {verdict.misfit_m:.0f} m: {who} parece estar en "
                    f"PSAD56 TM-Quito declarada como WGS84 (corrimiento PSAD56 → WGS84 de "
                    f"{verdict.shift_m:.0f} m; "
                    f"aplicado, el desajuste baja a {verdict.misfit_corrected_m:.1f} m)",
                    "no se corrige: los cruces con esta capa serían erróneos",
                    'declare crs = "psad56_tm_quito" (o el .prj de PSAD56) para la capa en PSAD56',
                    bloqueante=True,
                )
    return problems.frame()


__all__ = ["check_layers"]
