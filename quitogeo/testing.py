"""Helpers to build tiny projects by hand, for tests and examples.

Coordinates are local metres from :data:`ORIGIN` (a point of central Quito in TM-Quito), so a test reads
``rect(0, 0, 20, 25)`` for a 20 × 25 m lot.

>>> from quitogeo.testing import rect, layer
>>> lots = layer([{"clave_catastral": "001", "geometry": rect(0, 0, 20, 25)}])
>>> float(lots.area.iloc[0])
500.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

#: TM-Quito (normativa §5), as a PROJ string (no EPSG code exists).
TM_QUITO_PROJ = (
    "+proj=tmerc +lat_0=0 +lon_0=-78.5 +k=1.0004584 +x_0=500000 +y_0=10000000 +ellps=WGS84 +units=m +no_defs"
)

#: Local origin of the helpers' coordinates (E, N in TM-Quito, near Plaza Grande).
ORIGIN: tuple[float, float] = (498_600.0, 9_975_600.0)


def tm_quito() -> Any:
    """Return the TM-Quito CRS (:data:`quitogeo.io.crs.TM_QUITO` when available)."""
    try:
        from quitogeo.io.crs import TM_QUITO

        return TM_QUITO
    except ImportError:  # pragma: no cover - only before the io package exists
        from pyproj import CRS

        return CRS.from_proj4(TM_QUITO_PROJ)


def _shift(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: xy + np.asarray(ORIGIN))


def rect(x0: float, y0: float, x1: float, y1: float) -> BaseGeometry:
    """Axis-aligned rectangle in local metres."""
    return _shift(shapely.box(x0, y0, x1, y1))


def poly(*coords: tuple[float, float]) -> BaseGeometry:
    """Polygon from local vertices."""
    return _shift(shapely.Polygon(coords))


def line(*coords: tuple[float, float]) -> BaseGeometry:
    """LineString from local vertices."""
    return _shift(shapely.LineString(coords))


def point(x: float, y: float) -> BaseGeometry:
    """Point in local metres."""
    return _shift(shapely.Point(x, y))


def layer(rows: Iterable[Mapping[str, Any]], *, crs: Any = None) -> gpd.GeoDataFrame:
    """Build a GeoDataFrame in TM-Quito from dict rows with a ``geometry`` key."""
    rows = list(rows)
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in rows])
    return gpd.GeoDataFrame(frame, geometry=[r["geometry"] for r in rows], crs=crs or tm_quito())


@dataclass
class MemoryProject:
    """A project held in memory with the attributes of :class:`quitogeo.io.Project` that a run uses."""

    layers: dict[str, gpd.GeoDataFrame]
    problems: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["capa", "id", "problema", "accion", "correccion", "bloqueante"]
        )
    )
    source: str = "<memoria>"
    hashes: dict[str, str] = field(default_factory=dict)
    rasters: dict[str, Path] = field(default_factory=dict)

    @property
    def crs(self) -> Any:
        """TM-Quito."""
        return tm_quito()


def make_project(layers: Mapping[str, gpd.GeoDataFrame], *, path: str | Path | None = None) -> Any:
    """Build a project from hand-built layers.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Canonical layer names (layers.md) to layers in TM-Quito.
    path : str or Path, optional
        When given, the layers are written to this GeoPackage and read back with
        :func:`quitogeo.io.read_project` — the path a real project takes. Else a :class:`MemoryProject`.

    Returns
    -------
    Project or MemoryProject
    """
    if path is None:
        return MemoryProject(layers={k: v.reset_index(drop=True) for k, v in layers.items()})
    import pyogrio

    from quitogeo.io import read_project

    path = Path(path)
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", append=path.exists())
    return read_project(path)


def assert_lots_preserved(lots: pd.DataFrame, predios: pd.DataFrame) -> None:
    """Assert every input lot is in ``predios`` exactly once, in input order.

    Raises
    ------
    AssertionError
        Naming the lost or duplicated claves catastrales.
    """
    given = lots["clave_catastral"].astype(str).tolist()
    got = predios["clave_catastral"].astype(str).tolist()
    lost = sorted(set(given) - set(got))
    # a clave the input repeats (cadastres do) must come out as many times as it went in, not more
    extra = pd.Series(got).value_counts().sub(pd.Series(given).value_counts(), fill_value=0)
    dup = sorted(str(k) for k, c in extra.items() if c > 0)
    assert not lost, f"predios perdidos: {lost[:10]}"
    assert not dup, f"predios duplicados: {dup[:10]}"
    assert given == got, "predios fuera del orden de entrada"


def assert_cod_matches_calc(
    predios: pd.DataFrame, *, rules: Any, sample: int | None = None, seed: int = 1
) -> int:
    """Assert each priced lot's COD equals ``quitogeo calc`` (:func:`quitogeo.calc.compute_cod`) to the cent.

    The lot's own scenario inputs (``alfa``, ``vc``, ``fu``, ``ae_m2``, ``area_m2``, ``aiva_valor``) are given
    to the scalar form as their shortest decimal spelling, exactly as a technician would type the printed
    figures; the β band row and column must agree too.

    Parameters
    ----------
    predios : DataFrame
        ``predios_resultado`` of a run (ámbito ``edificabilidad`` scenarios).
    rules : Rules
        The rules the run used.
    sample : int, optional
        Check only this many priced lots, drawn with ``seed`` (all of them when None).
    seed : int, optional
        Seed of the draw.

    Returns
    -------
    int
        How many lots were checked (so a caller can assert the check was not empty).

    Raises
    ------
    AssertionError
        Naming the first lot whose cents or β band differ.
    """
    from quitogeo.calc import compute_cod

    priced = predios[predios["cod_centavos"].notna()]
    if sample is not None:
        priced = priced.sample(n=min(sample, len(priced)), random_state=seed)
    records: list[Any] = priced.to_dict("records")
    for row in records:
        single = compute_cod(
            "edificabilidad",
            rules=rules,
            alfa=repr(float(row["alfa"])),
            vc=repr(float(row["vc"])),
            fu=repr(float(row["fu"])),
            ae=repr(float(row["ae_m2"])),
            area_terreno=repr(float(row["area_m2"])),
            aiva=repr(float(row["aiva_valor"])),
        )
        cents = int(row["cod_centavos"])
        clave = row["clave_catastral"]
        assert str(single.cod) == f"{cents // 100}.{cents % 100:02d}", (clave, single.cod, cents)
        assert (single.beta_fila, single.beta_columna) == (row["beta_fila"], row["beta_columna"]), clave
    return len(priced)


def golden_layers() -> dict[str, gpd.GeoDataFrame]:
    """Build the golden test project: twelve lots around a Metro station (expected: tests/golden/).

    Street ring (all centrelines, widths incl. sidewalks): Av. Amazonas 20 m (y = 0, x −100…300), Calle Robles
    10 m (y = 100), Calle Occidental 14 m (x = −100) and Calle Oriental 14 m (x = 300); Calle Cruce 10 m (x =
    50)
    joins Amazonas and Robles; Pasaje Los Pinos 12 m (x = 150, y 0…60) is a dead end. Block A (x −93…45) is in
    the ZUAE and within 500 m of the Metro station at (−450, 25); lots at x ≥ 156 are within 300 m of the CET
    stop
    at (480, 50); L09 and L10 are in neither influence area. See tests/golden/README.md for each lot's story.
    """
    lots = layer(
        [
            {
                "clave_catastral": "L01",
                "parroquia": "Iñaquito",
                "geometry": rect(20, 10, 45, 40),
            },  # corner 20+10 m
            {
                "clave_catastral": "L02",
                "parroquia": "Iñaquito",
                "area_escritura": 1180.0,
                "geometry": rect(-20, 10, 20, 40),
            },  # all eligible
            {"clave_catastral": "L03", "parroquia": "Iñaquito", "geometry": rect(-45, 10, -20, 24)},  # 350 m²
            {
                "clave_catastral": "L04",
                "parroquia": "Iñaquito",
                "geometry": rect(-20, 45, 20, 65),
            },  # interior
            {
                "clave_catastral": "L05",
                "parroquia": "Iñaquito",
                "geometry": rect(-20, 70, 20, 95),
            },  # 10 m street
            {
                "clave_catastral": "L06",
                "parroquia": "Iñaquito",
                "geometry": rect(-90, 10, -50, 40),
            },  # RU1 (R1)
            {
                "clave_catastral": "L07",
                "parroquia": "Rumipamba",
                "geometry": rect(156, 25, 186, 55),
            },  # dead-end pasaje
            {
                "clave_catastral": "L08",
                "parroquia": "Rumipamba",
                "geometry": rect(200, 10, 240, 40),
            },  # risk, 2 AIVAs
            {
                "clave_catastral": "L09",
                "parroquia": "Rumipamba",
                "geometry": rect(60, 10, 100, 40),
            },  # plan especial
            {
                "clave_catastral": "L10",
                "parroquia": "Rumipamba",
                "geometry": rect(104, 10, 140, 40),
            },  # 2 AIVAs, none
            {
                "clave_catastral": "L11",
                "parroquia": "Rumipamba",
                "geometry": rect(243, 55, 293, 85),
            },  # PIT 30/70
            {
                "clave_catastral": "L12",
                "parroquia": None,
                "geometry": rect(800, 300, 820, 320),
            },  # no PIT/AIVA
        ]
    )
    lots["administracion_zonal"] = "Eugenio Espejo"
    pugs = layer(
        [
            {
                "codigo_pit": "RU1-01",
                "uso_principal": "RU1",
                "clasificacion": "urbano",
                "forma_ocupacion": "A",
                "lote_minimo": 300.0,
                "cos_pb": 35.0,
                "pisos_basicos": 3.0,
                "pisos_maximos": 4.0,
                "cos_total_basico": 105.0,
                "cos_total_maximo": 140.0,
                "geometry": rect(-150, -50, -48, 150),
            },
            {
                "codigo_pit": "M-01",
                "uso_principal": "M",
                "clasificacion": "urbano",
                "forma_ocupacion": "D",
                "lote_minimo": 400.0,
                "cos_pb": 50.0,
                "pisos_basicos": 4.0,
                "pisos_maximos": 8.0,
                "cos_total_basico": 200.0,
                "cos_total_maximo": 400.0,
                "geometry": rect(-48, -50, 258, 150),
            },
            {
                "codigo_pit": "R3-01",
                "uso_principal": "R3",
                "clasificacion": "urbano",
                "forma_ocupacion": "B",
                "lote_minimo": 600.0,
                "cos_pb": 40.0,
                "pisos_basicos": 6.0,
                "pisos_maximos": 10.0,
                "cos_total_basico": None,
                "cos_total_maximo": None,
                "geometry": rect(258, -50, 350, 150),
            },
        ]
    )
    aiva = layer(
        [
            {"codigo_aiva": "A-1", "valor_m2": 300.0, "geometry": rect(-150, -50, 100, 150)},
            {"codigo_aiva": "A-2", "valor_m2": 550.0, "geometry": rect(100, -50, 350, 25)},
            {"codigo_aiva": "A-3", "valor_m2": 450.0, "geometry": rect(100, 25, 350, 150)},
        ]
    )
    vias = layer(
        [
            {
                "id_via": "V1",
                "nombre": "Av. Amazonas",
                "ancho_m": 20.0,
                "geometry": line((-100, 0), (300, 0)),
            },
            {
                "id_via": "V2",
                "nombre": "Calle Robles",
                "ancho_m": 10.0,
                "geometry": line((-100, 100), (300, 100)),
            },
            {
                "id_via": "V3",
                "nombre": "Calle Occidental",
                "ancho_m": 14.0,
                "geometry": line((-100, 0), (-100, 100)),
            },
            {
                "id_via": "V4",
                "nombre": "Calle Oriental",
                "ancho_m": 14.0,
                "geometry": line((300, 0), (300, 100)),
            },
            {
                "id_via": "V5",
                "nombre": "Pasaje Los Pinos",
                "ancho_m": 12.0,
                "geometry": line((150, 0), (150, 60)),
            },
            {"id_via": "V6", "nombre": "Calle Cruce", "ancho_m": 10.0, "geometry": line((50, 0), (50, 100))},
        ]
    )
    zuae = layer(
        [{"codigo_zuae": "ZUAE-Norte", "nombre": "Eje Amazonas", "geometry": rect(-95, 5, 145, 100)}]
    )
    estaciones = layer(
        [
            {"nombre": "Estación El Ejido", "sistema": "metro", "geometry": point(-450, 25)},
            {"nombre": "Parada Trole Norte", "sistema": "cet", "geometry": point(480, 50)},
        ]
    )
    riesgo = layer(
        [
            {
                "id": "R-3",
                "categoria": "no_mitigable",
                "amenaza": "deslizamiento",
                "geometry": rect(195, 5, 245, 45),
            },
            {
                "id": "R-1",
                "categoria": "mitigable",
                "amenaza": "inundación",
                "geometry": rect(-25, 5, 25, 45),
            },
        ]
    )
    planes = layer([{"nombre": "Plan La Mariscal", "geometry": rect(58, 5, 103, 50)}])
    adz = layer([{"nombre": "Eugenio Espejo", "geometry": rect(-200, -100, 900, 400)}])
    return {
        "predios": lots,
        "pugs": pugs,
        "aiva": aiva,
        "vias": vias,
        "zuae": zuae,
        "estaciones": estaciones,
        "riesgo": riesgo,
        "planes_especiales": planes,
        "administraciones_zonales": adz,
    }


__all__ = [
    "ORIGIN",
    "TM_QUITO_PROJ",
    "MemoryProject",
    "assert_cod_matches_calc",
    "assert_lots_preserved",
    "golden_layers",
    "layer",
    "line",
    "make_project",
    "point",
    "poly",
    "rect",
    "tm_quito",
]
