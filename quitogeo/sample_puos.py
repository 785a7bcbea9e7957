"""The PUOS (previous plan) layer of the synthetic sample project.

Derived from the sample's PUGS polygons so that the PUOS → PUGS comparison (ámbitos, Anexo 01 §2) finds every
ámbito somewhere in the sample. Initial version: PUOS equal to PUGS (no ámbito anywhere) until the ámbitos work
lands and replaces it with deliberate differences.
"""

from __future__ import annotations

import geopandas as gpd


def make_puos_layer(pugs: gpd.GeoDataFrame, *, seed: int) -> gpd.GeoDataFrame:
    """Return a ``puos`` layer (layers.md) derived from the sample's ``pugs`` layer.

    Parameters
    ----------
    pugs : GeoDataFrame
        The sample's PIT polygons with canonical columns.
    seed : int
        Seed of the sample generator (same seed → same layer).

    Returns
    -------
    GeoDataFrame
        Columns ``uso_principal, clasificacion, forma_ocupacion, lote_minimo, pisos, cos_pb, cos_total,
        codigo_edificabilidad`` and the geometry.
    """
    del seed  # deterministic copy for now
    out = gpd.GeoDataFrame(
        {
            "uso_principal": pugs["uso_principal"].to_numpy(),
            "clasificacion": pugs.get("clasificacion", "urbano"),
            "forma_ocupacion": pugs.get("forma_ocupacion"),
            "lote_minimo": pugs.get("lote_minimo"),
            "pisos": pugs.get("pisos_basicos"),
            "cos_pb": pugs.get("cos_pb"),
            "cos_total": pugs.get("cos_total_basico"),
            "codigo_edificabilidad": pugs.get("codigo_edificabilidad"),
        },
        geometry=pugs.geometry.to_numpy(),
        crs=pugs.crs,
    )
    return out
