"""Checks that need more than one layer.

Duplicated keys, lots outside every PIT or AIVA, overlapping PIT polygons, and layers whose datum disagrees
with the cadastre (PSAD56 labelled as WGS84).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from quitogeo.io.crs import detect_psad56_mislabel
from quitogeo.io.problems import ProblemLog
from quitogeo.parallel import elementwise, map_chunks
from quitogeo.rules import Rules

# Layers compared with the cadastre for a datum mismatch (they share its streets and block lines).
_DATUM_CHECKED = ("pugs", "aiva", "zuae", "vias", "riesgo", "planes_especiales", "areas_influencia", "puos")


def _lot_ids(predios: gpd.GeoDataFrame, rows: np.ndarray) -> np.ndarray:
    """Problem ids of the lots at positions ``rows``: the clave catastral, else ``"fila i"``.

    Built only for the lots reported (a million "fila i" strings cost half a second for nothing).
    """
    clave = predios["clave_catastral"].to_numpy(dtype=object)[rows]
    blank = pd.isna(clave) | (clave == "")
    return np.where(blank, np.array([f"fila {i}" for i in rows.tolist()], dtype=object), clave)


def _present(frame: gpd.GeoDataFrame) -> np.ndarray:
    geoms = frame.geometry.to_numpy()
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _reference_tree(lots: np.ndarray) -> shapely.STRtree:
    """Build :func:`quitogeo.io.crs.reference_tree` of the present lots, boundaries on the thread pool.

    The same tree (same geometries, same order): at 1 M lots the boundaries alone took a second.
    """
    poly = shapely.get_type_id(lots) >= 3
    bounds = elementwise(shapely.boundary, lots)
    return shapely.STRtree(np.where(poly, bounds, lots))


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
    present = np.zeros(0, dtype=bool)
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
        present = _present(predios)
        rows = np.flatnonzero(present)
        lots = predios.geometry.to_numpy()[rows]
        # Point-in-polygon on centroids settles almost every lot cheaply; only the rest need the
        # polygon-polygon predicate. The centroids (and their index) serve both layers; the zones query the
        # index of centroids, so GEOS prepares each zone once instead of testing every point against an
        # unprepared polygon (half the time).
        centroids = elementwise(shapely.centroid, lots) if len(rows) else lots
        centroid_tree = shapely.STRtree(centroids)
        for layer_name, what in (("pugs", "ningún polígono PIT (PUGS)"), ("aiva", "ninguna zona AIVA")):
            other = layers.get(layer_name)
            if other is None:
                continue
            hit = np.zeros(len(rows), dtype=bool)
            zones = other.geometry.to_numpy()

            def points_in(start: int, stop: int, zones: np.ndarray = zones) -> np.ndarray:
                # each thread prepares its own slice of zones; the tree of centroids is only read
                return np.asarray(centroid_tree.query(zones[start:stop], predicate="intersects")[1])

            # the tree query releases the GIL: the zones are split over the thread pool (2× on 2 cores)
            parts = map_chunks(points_in, len(zones), min_chunk=256)
            pt_idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
            hit[pt_idx] = True  # a boolean mark, not np.unique over the (million) pairs
            rest = np.flatnonzero(~hit)
            if len(rest):
                lot_idx, _ = other.sindex.query(lots[rest], predicate="intersects")
                hit[rest[lot_idx]] = True
            outside = rows[~hit]
            if len(outside):
                problems.add_many(
                    "predios",
                    _lot_ids(predios, outside),
                    f"predio fuera de {what}",
                    "estado del predio: sin dato de " + ("PIT" if layer_name == "pugs" else "AIVA"),
                    f"complete la capa '{layer_name}' para cubrir el predio",
                )
    if pugs is not None and len(pugs) > 1:
        geoms = pugs.geometry.to_numpy()
        left, right = pugs.sindex.query(geoms, predicate="intersects")
        pair = left < right
        left, right = left[pair], right[pair]
        # Neighbouring PITs share edges: most intersecting pairs only touch, with no area to measure. Only
        # pairs whose interiors meet (DE-9IM ``T********``: for two polygons, overlaps, contains or within)
        # can have an overlap area; the intersection is computed for those alone, in the order of the query
        # above. The pattern is tested on the intersecting pairs only, on the thread pool: three prepared
        # whole-layer queries (overlaps, contains, within) cost 1.8 s for the ~5,000 PITs of 1 M lots, this
        # 0.25 s. (A pair of other dimensions that the pattern adds has no overlap area: filtered below.)
        meet = np.asarray(
            elementwise(shapely.relate_pattern, geoms[left], geoms[right], "T********"), dtype=bool
        )
        left, right = left[meet], right[meet]
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
    if predios is not None and present.any():
        reference = _reference_tree(predios.geometry.to_numpy()[present])
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
