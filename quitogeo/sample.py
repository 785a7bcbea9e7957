"""Synthetic sample projects: a believable slice of Quito along the real Metro line 1, in TM-Quito.

Everything is generated with numpy arrays and shapely's vectorised constructors (no Python loop per lot), so a
project of 1 000 000 lots takes about 8 s to generate (16 s with writing) on two cores. The same seed gives
the same layers, attribute by attribute and vertex by vertex.

How the city is drawn
---------------------
A local frame (u across the valley, v along it) is laid on the straight axis from Quitumbe to El Labrador, and
bent so that u = 0 passes through the 15 real Metro stations (a smooth shear u → u + g(v); shears keep areas).
In that frame:

* streets are grid lines of varied widths (8–20 m, 30 m avenues: Av. 10 de Agosto with the Trolebús over the
  Metro line, Av. 6 de Diciembre with the Ecovía), named in Spanish, with narrow *pasajes* (4–6 m) through
  some
  blocks and dead-end ones (``sin_continuidad``) into others;
* each block is cut into two rows of lots fronting its long sides, lots of 150–3 000 m² with slightly skewed
  side boundaries;
* PIT polygons are a tiling of cells whose edges follow street centrelines or, for about a third of them, cut
  through the lots (lots straddling two PITs exist on purpose); uses depend on the distance to stations and to
  the edge (R1/R2/R3/M/E, some I2/I3, PUGS spellings such as RU2 so homologation is exercised, rural cells at
  the edges); a few cells omit their numbers so they are parsed from the zoning code;
* AIVA zones are Voronoi cells of random seeds (their boundaries cut lots) valued from ~$100 to ~$1 900/m²,
  highest around La Carolina and the historic centre;
* ZUAE near some stations, CET stops along the two BRT avenues, quebradas (no mitigable risk, with a mitigable
  margin) and flood patches, plans especiales, administraciones zonales as bands between the real stations,
  two
  proyectos especiales, and the PUOS layer of :mod:`quitogeo.sample_puos`;
* a fixed handful of non-blocking data problems, as in any real cadastre (:data:`PLANTED_PROBLEMS`: lots
  outside the PIT and AIVA coverage, an AIVA zone worth 0, a PIT with a use code the rules do not know, a
  bow-tie geometry, a duplicated clave, a missing deed area), listed by :func:`planted_problems`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

from quitogeo.errors import OutputExistsError
from quitogeo.io.crs import TM_QUITO
from quitogeo.sample_puos import make_puos_layer

log = logging.getLogger(__name__)

#: Metro de Quito line 1, north to south: name, longitude, latitude (EPSG:4326; public facts, from the
#: stations' published positions).
METRO_STATIONS: tuple[tuple[str, float, float], ...] = (
    ("El Labrador", -78.485995, -0.155420),
    ("Jipijapa", -78.483553, -0.164196),
    ("Iñaquito", -78.483328, -0.176138),
    ("La Carolina", -78.485847, -0.190300),
    ("La Pradera", -78.491546, -0.193718),
    ("Universidad Central", -78.500186, -0.198261),
    ("El Ejido", -78.498024, -0.208151),
    ("La Alameda", -78.501897, -0.215255),
    ("San Francisco", -78.514486, -0.220605),
    ("Magdalena", -78.524293, -0.239441),
    ("El Recreo", -78.521002, -0.252070),
    ("Cardenal De la Torre", -78.533122, -0.257212),
    ("Solanda", -78.535975, -0.265520),
    ("Morán Valverde", -78.548792, -0.280929),
    ("Quitumbe", -78.556060, -0.295009),
)

#: Administraciones zonales along the line, south to north, and the station pair whose midpoint closes each
#: band on its north side (the last band is open). Names as in the rules' IR table.
_ZONALES = (
    ("Quitumbe", ("Solanda", "Morán Valverde")),
    ("Eloy Alfaro", ("San Francisco", "Magdalena")),
    ("Manuela Sáenz", ("El Ejido", "La Alameda")),
    ("Eugenio Espejo", ("El Labrador", "El Labrador")),
    ("La Delicia", None),
)
_PARROQUIAS = {
    "Quitumbe": ("Quitumbe", "Chillogallo", "Guamaní", "Turubamba", "La Ecuatoriana"),
    "Eloy Alfaro": ("La Magdalena", "Chimbacalle", "Solanda", "La Argelia", "San Bartolo", "La Ferroviaria"),
    "Manuela Sáenz": ("Centro Histórico", "San Juan", "Itchimbía", "Puengasí", "La Libertad"),
    "Eugenio Espejo": ("Iñaquito", "Rumipamba", "Mariscal Sucre", "Belisario Quevedo", "Jipijapa", "Kennedy"),
    "La Delicia": ("Cotocollao", "Ponceano", "Comité del Pueblo", "El Condado", "Carcelén"),
}
_STREET_NAMES = (
    "Amazonas",
    "Juan León Mera",
    "Reina Victoria",
    "Páez",
    "Ulloa",
    "Versalles",
    "Mariana de Jesús",
    "Colón",
    "Foch",
    "Wilson",
    "Jorge Washington",
    "Patria",
    "Riofrío",
    "Gran Colombia",
    "Guayaquil",
    "Venezuela",
    "García Moreno",
    "Chile",
    "Espejo",
    "Sucre",
    "Bolívar",
    "Rocafuerte",
    "Maldonado",
    "Núñez de Vela",
    "Iñaquito",
    "Cañaris",
    "Los Pinos",
    "Muñoz",
    "Peñaherrera",
    "Yánez Pinzón",
    "Toledo",
    "La Niña",
    "Pinta",
    "Santa María",
    "Carrión",
    "Vicente Ramón Roca",
    "Cordero",
    "Baquerizo Moreno",
    "Lizardo García",
    "Ignacio de Veintimilla",
    "Tamayo",
    "Diego de Almagro",
    "Whymper",
    "La Coruña",
    "Isabel la Católica",
    "Ladrón de Guevara",
    "Queseras del Medio",
    "Toribio Montes",
    "Antepara",
    "Los Ríos",
    "Ambato",
    "Loja",
    "Morales",
    "Cumandá",
    "Ajaví",
    "Turubamba",
    "Guamaní",
    "Chimbacalle",
    "Ñucanchi Huasi",
    "Añaquito",
    "El Inca",
    "Río Coca",
    "Naciones Unidas",
    "Portugal",
    "República de El Salvador",
    "Suiza",
    "Atahualpa",
    "Rumipamba",
    "Mañosca",
    "Villalengua",
    "Pérez Guerrero",
    "Bogotá",
    "Caracas",
    "Cuenca",
    "Benalcázar",
    "Montúfar",
    "Guayas",
    "Eloy Alfaro",
    "Shyris",
    "Japón",
    "Tomás de Berlanga",
    "Zuleta",
)
_AVENUES = (
    "Colón",
    "Patria",
    "Orellana",
    "Naciones Unidas",
    "Mariana de Jesús",
    "Gaspar de Villarroel",
    "Río Coca",
    "El Inca",
    "Pérez Guerrero",
    "Universitaria",
    "Rodrigo de Chávez",
    "Morán Valverde",
)

#: Zoning codes by use (PUOS convention, normativa §5) and the extra floors of the PUGS maximum.
_CODES = {
    "R1": (("A603-35", "A1002-35", "A602-50"), 1),
    "R2": (("A604-50", "B304-50", "A404-60"), 4),
    "R3": (("A608-50", "A612-50", "C610-60"), 8),
    "M": (("A610-50", "C612-70", "D406-70"), 8),
    "E": (("A604-40", "A1003-35"), 2),
    "I2": (("A2502-40", "A1002-50"), 0),
    "I3": (("A5002-40",), 0),
    "AR": (("A25002-5",), 0),
    "RNR": (("A50002-5",), 0),
}
_HOMOLOGUES = {
    "R1": ("RU1", "Residencial urbano 1"),
    "R2": ("RU2", "Residencial urbano 2"),
    "R3": ("RU3", "Residencial urbano 3"),
    "M": ("Múltiple",),
    "E": ("EQ",),
    "I2": ("IMI",),
    "I3": ("IAI",),
}

_MEAN_GROSS_M2_PER_LOT = 700.0  # block + street area per lot with the sizes below (measured on samples)
_MIN_WIDTH_M = 900.0
_MAX_LENGTH_M = 26_000.0


def _stations_tm() -> tuple[np.ndarray, np.ndarray]:
    lon = np.array([s[1] for s in METRO_STATIONS])
    lat = np.array([s[2] for s in METRO_STATIONS])
    tr = Transformer.from_crs("EPSG:4326", TM_QUITO, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x), np.asarray(y)


class _Frame:
    """The local (u, v) frame along the Metro line and its map to TM-Quito."""

    def __init__(self) -> None:
        x, y = _stations_tm()
        # Axis from Quitumbe (last) to El Labrador (first).
        self.cx, self.cy = (x[0] + x[-1]) / 2.0, (y[0] + y[-1]) / 2.0
        theta = np.arctan2(x[0] - x[-1], y[0] - y[-1])  # bearing from north, clockwise
        self.cos, self.sin = float(np.cos(theta)), float(np.sin(theta))
        du, dn = x - self.cx, y - self.cy
        u = du * self.cos - dn * self.sin
        v = du * self.sin + dn * self.cos
        order = np.argsort(v)
        self.station_v = v
        # g(v): the stations' offsets, sampled every 50 m and smoothed over 600 m so that the bend has no kink
        # sharp enough to show between a lot's edge and a densified zone boundary.
        grid = np.arange(v.min() - 3_000.0, v.max() + 3_000.0, 50.0)
        raw = np.interp(grid, v[order], u[order])
        kernel = np.ones(13) / 13.0
        padded = np.concatenate([np.full(6, raw[0]), raw, np.full(6, raw[-1])])
        self.g_grid, self.g_vals = grid, np.convolve(padded, kernel, mode="valid")
        # Stations sit exactly on u = 0 of the bent frame: keep their real offsets from the smoothed curve.
        self.station_u_raw = u
        self.station_u = u - np.interp(v, self.g_grid, self.g_vals)

    def set_knots(self, v_knots: np.ndarray) -> None:
        """Make g piecewise linear with its kinks on ``v_knots`` (the cross streets' centrelines).

        Between two knots the map to TM-Quito is then affine, so every lot (which never crosses a cross
        street)
        keeps straight, shared edges exactly: no slivers or overlaps between neighbouring lots.
        """
        self.g_vals = np.interp(v_knots, self.g_grid, self.g_vals)
        self.g_grid = np.asarray(v_knots, dtype=float)
        self.station_u = self.station_u_raw - np.interp(self.station_v, self.g_grid, self.g_vals)

    def to_tm(self, coords: np.ndarray) -> np.ndarray:
        u = coords[:, 0] + np.interp(coords[:, 1], self.g_grid, self.g_vals)
        v = coords[:, 1]
        out = np.empty_like(coords)
        out[:, 0] = self.cx + u * self.cos + v * self.sin
        out[:, 1] = self.cy - u * self.sin + v * self.cos
        return out

    def geoms(self, geoms: np.ndarray, *, densify: float | None = 25.0) -> np.ndarray:
        if densify:
            geoms = shapely.segmentize(geoms, densify)
        return shapely.transform(geoms, self.to_tm)


def _grid_lines(
    rng: np.random.Generator,
    start: float,
    stop: float,
    block_min: float,
    block_max: float,
    widths: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Centreline positions and widths of parallel streets covering [start, stop]."""
    n = int(np.ceil((stop - start) / block_min)) + 3
    street_w = rng.choice(widths[0], size=n + 1, p=widths[1])
    block = rng.uniform(block_min, block_max, size=n)
    pos = start + np.concatenate([[0.0], np.cumsum(block + (street_w[:-1] + street_w[1:]) / 2.0)])
    keep = pos <= stop + block_max
    return pos[keep], street_w[keep]


def _names(rng: np.random.Generator, n: int, prefix: str, code: str) -> np.ndarray:
    pool = np.array(_STREET_NAMES, dtype=object)
    pick = rng.permutation(len(pool))
    idx = np.arange(n)
    base = pool[pick[idx % len(pool)]]
    suffix = np.where(
        idx >= len(pool), np.char.add(f" {code}", (idx // len(pool)).astype(str)).astype(object), ""
    )
    return np.char.add(np.char.add(f"{prefix} ", base.astype(str)), suffix.astype(str)).astype(object)


def _quads(
    u0: np.ndarray,
    v0: np.ndarray,
    u1: np.ndarray,
    v1: np.ndarray,
    v0b: np.ndarray | None = None,
    v1b: np.ndarray | None = None,
) -> np.ndarray:
    """Quadrilaterals (u0,v0)-(u1,v0b)-(u1,v1b)-(u0,v1); boxes when v0b/v1b are None."""
    v0b = v0 if v0b is None else v0b
    v1b = v1 if v1b is None else v1b
    coords = np.stack(
        [
            np.stack([u0, v0], 1),
            np.stack([u1, v0b], 1),
            np.stack([u1, v1b], 1),
            np.stack([u0, v1], 1),
            np.stack([u0, v0], 1),
        ],
        axis=1,
    )
    return np.asarray(shapely.polygons(coords))


def make_sample_project(n_lotes: int = 4000, *, seed: int = 2024) -> dict[str, gpd.GeoDataFrame]:
    """Generate a synthetic project of ``n_lotes`` lots along the Metro line, in TM-Quito.

    Parameters
    ----------
    n_lotes : int, optional
        Exact number of lots (``predios``); at least 50.
    seed : int, optional
        Seed of every random draw: the same seed gives identical layers.

    Returns
    -------
    dict of str to GeoDataFrame
        Canonical layers of layers.md: ``predios, pugs, aiva, zuae, vias, estaciones, riesgo,
        planes_especiales, administraciones_zonales, proyectos_especiales, puos``, all in
        :data:`quitogeo.io.crs.TM_QUITO`.

    Raises
    ------
    ValueError
        When ``n_lotes`` is below 50.
    """
    if n_lotes < 50:
        raise ValueError(f"n_lotes debe ser al menos 50 (recibido {n_lotes})")
    rng = np.random.default_rng(seed)
    frame = _Frame()

    # ---- extent: a strip along the line, widening once it spans the whole line.
    area = n_lotes * _MEAN_GROSS_M2_PER_LOT * 1.35
    length = min(area / _MIN_WIDTH_M, _MAX_LENGTH_M)
    width = max(_MIN_WIDTH_M, area / length)
    v_ejido = float(frame.station_v[6])  # El Ejido
    blend = float(np.clip((length - 3_000.0) / (_MAX_LENGTH_M - 3_000.0), 0.0, 1.0))
    v_c = (1.0 - blend) * (v_ejido + float(frame.station_v[3])) / 2.0  # small samples: La Carolina–La Alameda
    u_lo, u_hi = -width / 2.0, width / 2.0
    v_lo, v_hi = v_c - length / 2.0, v_c + length / 2.0

    widths = (np.array([8.0, 10.0, 12.0, 15.0, 20.0]), np.array([0.22, 0.3, 0.26, 0.14, 0.08]))
    pu, wu = _grid_lines(rng, u_lo, u_hi, 50.0, 100.0, widths)
    pv, wv = _grid_lines(rng, v_lo, v_hi, 80.0, 220.0, widths)
    frame.set_knots(pv)
    pu = pu - (pu[np.argmin(np.abs(pu))])  # a street centreline on u = 0: Av. 10 de Agosto over the Metro
    i_agosto = int(np.argmin(np.abs(pu)))
    i_diciembre = int(np.argmin(np.abs(pu - min(450.0, 0.35 * width))))
    wu[[i_agosto, i_diciembre]] = 30.0
    avenue_rows = np.arange(len(pv)) % 6 == 3
    wv[avenue_rows] = rng.choice([20.0, 30.0], size=int(avenue_rows.sum()), p=[0.7, 0.3])

    # ---- blocks (i between u-lines i and i+1, j between v-lines j and j+1).
    nbu, nbv = len(pu) - 1, len(pv) - 1
    grid_i, grid_j = np.meshgrid(np.arange(nbu), np.arange(nbv), indexing="xy")
    bi, bj = grid_i.ravel(), grid_j.ravel()
    bu0 = pu[bi] + wu[bi] / 2.0
    bu1 = pu[bi + 1] - wu[bi + 1] / 2.0
    bv0 = pv[bj] + wv[bj] / 2.0
    bv1 = pv[bj + 1] - wv[bj + 1] / 2.0
    bcu, bcv = (bu0 + bu1) / 2.0, (bv0 + bv1) / 2.0
    # Lots get larger towards the edge (suburbs): r is the normalised "rectangular" distance from the centre.
    r_block = np.maximum(np.abs(bcu) / (width / 2.0), np.abs(bcv - v_c) / (length / 2.0))
    nb = len(bi)
    kind = rng.random(nb)
    long_enough = (bv1 - bv0) >= 120.0
    through = long_enough & (kind < 0.10)
    dead_end = long_enough & (kind >= 0.10) & (kind < 0.17)
    pas_w = rng.choice([4.0, 5.0, 6.0], size=nb)
    pas_v = bv0 + (bv1 - bv0) * rng.uniform(0.4, 0.6, size=nb)
    frontage = np.clip(
        np.exp(rng.normal(np.log(14.0), 0.45, size=nb)) * (1.0 + 0.9 * np.clip(r_block, 0, 1) ** 2), 9.0, 48.0
    )
    bum = (bu0 + bu1) / 2.0

    # ---- strips: rectangles cut into lots along v. side 0 fronts u0 (back at u1), side 1 fronts u1.
    def strips_of(mask: np.ndarray, part: str) -> tuple[np.ndarray, ...]:
        b = np.flatnonzero(mask)
        lo_v, hi_v = bv0[b], bv1[b]
        pv_lo, pv_hi = pas_v[b] - pas_w[b] / 2.0, pas_v[b] + pas_w[b] / 2.0
        if part == "full":
            return (
                np.concatenate([b, b]),
                np.concatenate([bu0[b], bum[b]]),
                np.concatenate([bum[b], bu1[b]]),
                np.concatenate([lo_v, lo_v]),
                np.concatenate([hi_v, hi_v]),
                np.concatenate([np.zeros(len(b)), np.ones(len(b))]),
            )
        if part == "through":
            bb = np.concatenate([b, b, b, b])
            return (
                bb,
                np.concatenate([bu0[b], bum[b], bu0[b], bum[b]]),
                np.concatenate([bum[b], bu1[b], bum[b], bu1[b]]),
                np.concatenate([lo_v, lo_v, pv_hi, pv_hi]),
                np.concatenate([pv_lo, pv_lo, hi_v, hi_v]),
                np.concatenate([np.zeros(len(b)), np.ones(len(b)), np.zeros(len(b)), np.ones(len(b))]),
            )
        bb = np.concatenate([b, b, b])  # dead end from the u0 street to the block's middle
        return (
            bb,
            np.concatenate([bu0[b], bu0[b], bum[b]]),
            np.concatenate([bum[b], bum[b], bu1[b]]),
            np.concatenate([lo_v, pv_hi, lo_v]),
            np.concatenate([pv_lo, hi_v, hi_v]),
            np.concatenate([np.zeros(2 * len(b)), np.ones(len(b))]),
        )

    parts = [
        strips_of(~(through | dead_end), "full"),
        strips_of(through, "through"),
        strips_of(dead_end, "dead"),
    ]
    s_block, s_u0, s_u1, s_v0, s_v1, s_side = (np.concatenate([p[k] for p in parts]) for k in range(6))
    order = np.lexsort((s_v0, s_u0, s_block))
    s_block, s_u0, s_u1, s_v0, s_v1, s_side = (a[order] for a in (s_block, s_u0, s_u1, s_v0, s_v1, s_side))
    s_len = s_v1 - s_v0
    s_k = np.maximum(1, np.round(s_len / frontage[s_block])).astype(np.int64)

    # ---- choose whole blocks nearest the centre until n_lotes, then trim the last one.
    lots_per_block = np.bincount(s_block, weights=s_k, minlength=nb).astype(np.int64)
    block_rank = np.lexsort((bi, bj, r_block))
    cum = np.cumsum(lots_per_block[block_rank])
    if cum[-1] < n_lotes:  # pragma: no cover - the 1.35 slack makes this unreachable in practice
        raise RuntimeError("extensión insuficiente para el número de lotes pedido")
    n_blocks = int(np.searchsorted(cum, n_lotes) + 1)
    chosen = np.zeros(nb, dtype=bool)
    chosen[block_rank[:n_blocks]] = True
    keep_s = chosen[s_block]
    s_block, s_u0, s_u1, s_v0, s_v1, s_side, s_k, s_len = (
        a[keep_s] for a in (s_block, s_u0, s_u1, s_v0, s_v1, s_side, s_k, s_len)
    )

    # ---- lots inside strips.
    n_all = int(s_k.sum())
    lot_strip = np.repeat(np.arange(len(s_k)), s_k)
    w = rng.uniform(0.75, 1.25, size=n_all)
    total = np.bincount(lot_strip, weights=w)
    cs = np.cumsum(w)
    first = np.concatenate([[0], np.cumsum(s_k)[:-1]])
    before = cs[first] - w[first]
    t_hi = (cs - before[lot_strip]) / total[lot_strip]
    t_lo = t_hi - w / total[lot_strip]
    is_last = np.zeros(n_all, dtype=bool)
    is_last[np.cumsum(s_k) - 1] = True
    is_first = np.zeros(n_all, dtype=bool)
    is_first[first] = True
    lot_len = (t_hi - t_lo) * s_len[lot_strip]
    skew_hi = np.where(is_last, 0.0, rng.uniform(-1.0, 1.0, size=n_all) * np.minimum(2.5, 0.2 * lot_len))
    skew_lo = np.where(is_first, 0.0, np.concatenate([[0.0], skew_hi[:-1]]))
    lv0 = s_v0[lot_strip] + t_lo * s_len[lot_strip]
    lv1 = s_v0[lot_strip] + t_hi * s_len[lot_strip]
    side = s_side[lot_strip]
    # The skew goes on the back of the lot (u1 for side 0, u0 for side 1): the frontage line stays straight.
    front_u = np.where(side == 0, s_u0[lot_strip], s_u1[lot_strip])
    back_u = np.where(side == 0, s_u1[lot_strip], s_u0[lot_strip])
    lots_local = _quads(front_u, lv0, back_u, lv1, lv0 + skew_lo, lv1 + skew_hi)
    lot_block = s_block[lot_strip]
    # Trim to exactly n_lotes (the last chosen block loses its last lots), then order by block and position.
    rank_of_block = np.empty(nb, dtype=np.int64)
    rank_of_block[block_rank] = np.arange(nb)
    keep = np.sort(np.argsort(rank_of_block[lot_block], kind="stable")[:n_lotes])
    lots_local, lot_block, lv0, lv1, front_u, back_u, side = (
        a[keep] for a in (lots_local, lot_block, lv0, lv1, front_u, back_u, side)
    )
    cu = (front_u + back_u) / 2.0
    cv = (lv0 + lv1) / 2.0

    # ---- extent of what was drawn (local), with half a street of margin.
    sel = np.flatnonzero(chosen)
    ext_u0 = float(pu[bi[sel]].min()) - 15.0
    ext_u1 = float(pu[bi[sel] + 1].max()) + 15.0
    ext_v0 = float(pv[bj[sel]].min()) - 15.0
    ext_v1 = float(pv[bj[sel] + 1].max()) + 15.0
    extent_local = shapely.box(ext_u0, ext_v0, ext_u1, ext_v1)

    layers: dict[str, gpd.GeoDataFrame] = {}

    # ---- PIT cells.
    def cell_edges(
        lines: np.ndarray, lo: float, hi: float, every: tuple[int, int], offset: tuple[float, float]
    ) -> np.ndarray:
        steps = rng.integers(every[0], every[1] + 1, size=len(lines))
        idx = np.cumsum(steps)
        idx = idx[idx < len(lines)]
        edges = lines[idx].astype(float)
        cut = rng.random(len(edges)) < 0.35
        edges = edges + np.where(
            cut, rng.choice([-1.0, 1.0], len(edges)) * rng.uniform(*offset, len(edges)), 0.0
        )
        edges = edges[(edges > lo + 20.0) & (edges < hi - 20.0)]
        return np.concatenate([[lo], np.sort(edges), [hi]])

    eu = cell_edges(pu, ext_u0, ext_u1, (3, 5), (8.0, 30.0))
    ev = cell_edges(pv, ext_v0, ext_v1, (2, 4), (10.0, 40.0))
    cell_i, cell_j = np.meshgrid(np.arange(len(eu) - 1), np.arange(len(ev) - 1), indexing="xy")
    ci, cj = cell_i.ravel(), cell_j.ravel()
    cells_local = shapely.box(eu[ci], ev[cj], eu[ci + 1], ev[cj + 1])
    ccu, ccv = (eu[ci] + eu[ci + 1]) / 2.0, (ev[cj] + ev[cj + 1]) / 2.0
    n_cells = len(ci)
    d_station = np.min(
        np.hypot(ccu[:, None] - frame.station_u[None, :], ccv[:, None] - frame.station_v[None, :]), axis=1
    )
    d_brt = np.minimum(np.abs(ccu - pu[i_agosto]), np.abs(ccu - pu[i_diciembre]))
    r_cell = np.maximum(
        np.abs(ccu - (ext_u0 + ext_u1) / 2) / ((ext_u1 - ext_u0) / 2),
        np.abs(ccv - (ext_v0 + ext_v1) / 2) / ((ext_v1 - ext_v0) / 2),
    )
    draw = rng.random(n_cells)
    use = np.full(n_cells, "R2", dtype=object)
    use[r_cell > 0.8] = "R1"
    use[(r_cell <= 0.8) & (draw < 0.3)] = "R3"
    draw2 = rng.random(n_cells)
    use[((d_brt < 120.0) & (draw2 < 0.5)) | ((d_station < 400.0) & (draw2 < 0.4))] = "M"
    use[(d_station < 300.0) & (draw2 >= 0.7)] = "R3"
    use[rng.random(n_cells) < 0.06] = "E"
    industrial = (ccv < v_c) & (rng.random(n_cells) < 0.06) & (r_cell > 0.3)
    use[industrial] = rng.choice(np.array(["I2", "I3"], dtype=object), int(industrial.sum()), p=[0.7, 0.3])
    rural = (r_cell > 0.9) & (rng.random(n_cells) < 0.5) & (np.abs(ccu) > 200.0)
    use[rural] = rng.choice(np.array(["AR", "RNR"], dtype=object), int(rural.sum()))
    codigo = np.empty(n_cells, dtype=object)
    extra = np.zeros(n_cells)
    for u_code, (options, plus) in _CODES.items():  # one pass per use code (a handful), not per cell
        m = use == u_code
        codigo[m] = rng.choice(np.array(options, dtype=object), int(m.sum()))
        extra[m] = plus
    wrapped = rng.random(n_cells) < 0.04
    label = np.where(
        wrapped, np.char.add(np.char.add("A10 (", codigo.astype(str)), ")").astype(object), codigo
    )
    written = use.copy()
    for u_code, variants in _HOMOLOGUES.items():
        m = (use == u_code) & (rng.random(n_cells) < 0.25)
        written[m] = rng.choice(np.array(variants, dtype=object), int(m.sum()))
    from quitogeo.io.zoning_codes import parse_zoning_codes

    parsed = parse_zoning_codes(pd.Series(codigo))
    pisos_b = parsed["pisos"].to_numpy()
    cos_pb = parsed["cos_pb"].to_numpy()
    lote_min = parsed["lote_minimo"].to_numpy()
    is_rural = np.isin(use, ["AR", "RNR"])
    pisos_max = pisos_b + extra
    blank = rng.random(n_cells) < 0.05  # left for the reader to fill from the code
    pugs = gpd.GeoDataFrame(
        {
            "codigo_pit": np.char.add("PIT-", np.char.zfill(np.arange(1, n_cells + 1).astype(str), 4)).astype(
                object
            ),
            "uso_principal": written,
            "clasificacion": np.where(is_rural, "rural", "urbano").astype(object),
            "subclasificacion": np.where(
                is_rural, "rural de producción", np.where(r_cell > 0.7, "no consolidado", "consolidado")
            ).astype(object),
            "tratamiento": np.where(
                d_station < 500.0, "potenciación", np.where(r_cell > 0.7, "desarrollo", "consolidación")
            ).astype(object),
            "forma_ocupacion": parsed["forma_ocupacion"].to_numpy(),
            "lote_minimo": np.where(blank, np.nan, lote_min),
            "frente_minimo": np.clip(np.round(np.sqrt(lote_min) * 0.6), 6.0, 60.0),
            "cos_pb": np.where(blank, np.nan, cos_pb),
            "pisos_basicos": np.where(blank, np.nan, pisos_b),
            "pisos_maximos": pisos_max,
            "cos_total_basico": np.where(blank, np.nan, pisos_b * cos_pb),
            "cos_total_maximo": pisos_max * cos_pb,
            "codigo_edificabilidad": label,
        },
        geometry=frame.geoms(cells_local),
        crs=TM_QUITO,
    )
    layers["pugs"] = pugs

    # ---- AIVA: Voronoi cells of random seeds, valued by distance to the two centres and to the line.
    n_seeds = max(12, n_lotes // 180)
    seeds = np.column_stack([rng.uniform(ext_u0, ext_u1, n_seeds), rng.uniform(ext_v0, ext_v1, n_seeds)])
    vor = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent_local, ordered=True)
    )
    vor = shapely.intersection(vor, extent_local)
    carolina = (frame.station_u[3], frame.station_v[3])
    centro = (frame.station_u[8], frame.station_v[8])
    d_car = np.hypot(seeds[:, 0] - carolina[0], seeds[:, 1] - carolina[1])
    d_cen = np.hypot(seeds[:, 0] - centro[0], seeds[:, 1] - centro[1])
    value = (
        40.0
        + 1800.0 * np.exp(-((d_car / 900.0) ** 2))
        + 600.0 * np.exp(-((d_cen / 1200.0) ** 2))
        + 200.0 * np.exp(-((seeds[:, 0] / 500.0) ** 2))
    )
    value = np.clip(np.round(value * rng.uniform(0.8, 1.2, n_seeds) / 5.0) * 5.0, 100.0, 1900.0)
    layers["aiva"] = gpd.GeoDataFrame(
        {
            "codigo_aiva": np.char.add(
                "AIVA-", np.char.zfill(np.arange(1, n_seeds + 1).astype(str), 4)
            ).astype(object),
            "valor_m2": value,
        },
        geometry=frame.geoms(vor),
        crs=TM_QUITO,
    )

    # ---- streets: segments of grid lines next to chosen blocks, plus pasajes.
    chosen_grid = chosen.reshape(nbv, nbu)
    # u-line i between v-lines j, j+1 is kept when block (i-1, j) or (i, j) is chosen.
    left = np.zeros((nbv, nbu + 1), dtype=bool)
    left[:, :-1] |= chosen_grid
    left[:, 1:] |= chosen_grid
    jj, ii = np.nonzero(left)
    names_u = _names(rng, len(pu), "Calle", "N")
    names_u[i_agosto] = "Av. 10 de Agosto"
    names_u[i_diciembre] = "Av. 6 de Diciembre"
    names_v = _names(rng, len(pv), "Calle", "Oe")
    av_idx = np.flatnonzero(avenue_rows)
    names_v[av_idx] = np.array(
        [
            f"Av. {_AVENUES[k % len(_AVENUES)]}"
            + (f" {k // len(_AVENUES) + 1}" if k >= len(_AVENUES) else "")
            for k in range(len(av_idx))
        ],
        dtype=object,
    )
    seg_u = shapely.linestrings(
        np.stack([np.stack([pu[ii], pv[jj]], 1), np.stack([pu[ii], pv[jj + 1]], 1)], 1)
    )
    below = np.zeros((nbv + 1, nbu), dtype=bool)
    below[:-1, :] |= chosen_grid
    below[1:, :] |= chosen_grid
    jj2, ii2 = np.nonzero(below)
    seg_v = shapely.linestrings(
        np.stack([np.stack([pu[ii2], pv[jj2]], 1), np.stack([pu[ii2 + 1], pv[jj2]], 1)], 1)
    )
    thr = np.flatnonzero(through & chosen)
    dead = np.flatnonzero(dead_end & chosen)
    seg_thr = shapely.linestrings(
        np.stack([np.stack([pu[bi[thr]], pas_v[thr]], 1), np.stack([pu[bi[thr] + 1], pas_v[thr]], 1)], 1)
    )
    seg_dead = shapely.linestrings(
        np.stack([np.stack([pu[bi[dead]], pas_v[dead]], 1), np.stack([bum[dead], pas_v[dead]], 1)], 1)
    )
    pas_names = np.array(
        [
            f"Pasaje {n}"
            for n in (
                "Los Pinos",
                "Las Acacias",
                "El Guabo",
                "Los Nogales",
                "Las Orquídeas",
                "La Cañada",
                "El Ñuto",
                "Los Arrayanes",
            )
        ],
        dtype=object,
    )
    n_pas = len(thr) + len(dead)
    vias = gpd.GeoDataFrame(
        {
            "nombre": np.concatenate(
                [names_u[ii], names_v[jj2], pas_names[rng.integers(0, len(pas_names), n_pas)]]
            ),
            "ancho_m": np.concatenate([wu[ii], wv[jj2], pas_w[thr], pas_w[dead]]),
            "sin_continuidad": np.concatenate(
                [np.zeros(len(ii) + len(jj2) + len(thr), dtype=bool), np.ones(len(dead), dtype=bool)]
            ),
        },
        geometry=frame.geoms(np.concatenate([seg_u, seg_v, seg_thr, seg_dead])),
        crs=TM_QUITO,
    )
    layers["vias"] = vias

    # ---- stations: the 15 real Metro stations and CET stops every ~400 m on the two BRT avenues.
    sx, sy = _stations_tm()
    stops_v = np.arange(ext_v0 + 150.0, ext_v1 - 100.0, 400.0)
    cet_u = np.concatenate([np.full(len(stops_v), pu[i_agosto]), np.full(len(stops_v), pu[i_diciembre])])
    cet_v = np.concatenate([stops_v, stops_v])
    cross = np.clip(np.searchsorted(pv, cet_v), 0, len(pv) - 1)
    corredor = np.concatenate(
        [np.full(len(stops_v), "Trolebús", dtype=object), np.full(len(stops_v), "Ecovía", dtype=object)]
    )
    cet_pts = frame.geoms(np.asarray(shapely.points(cet_u, cet_v)), densify=None)
    layers["estaciones"] = gpd.GeoDataFrame(
        {
            "nombre": np.concatenate(
                [
                    np.array([f"Estación {s[0]}" for s in METRO_STATIONS], dtype=object),
                    np.char.add(np.char.add(corredor.astype(str), " – "), names_v[cross].astype(str)).astype(
                        object
                    ),
                ]
            ),
            "sistema": np.concatenate(
                [np.full(len(sx), "metro", dtype=object), np.full(len(cet_u), "cet", dtype=object)]
            ),
            "corredor": np.concatenate([np.full(len(sx), "Metro Línea 1", dtype=object), corredor]),
        },
        geometry=np.concatenate([shapely.points(sx, sy), cet_pts]),
        crs=TM_QUITO,
    )

    # ---- ZUAE around some stations inside the extent.
    inside = (
        (frame.station_u > ext_u0)
        & (frame.station_u < ext_u1)
        & (frame.station_v > ext_v0 + 200)
        & (frame.station_v < ext_v1 - 200)
    )
    st_in = np.flatnonzero(inside)
    n_z = int(min(len(st_in), max(2, n_lotes // 1500), 12))
    pick = np.sort(rng.choice(st_in, n_z, replace=False)) if n_z else np.array([], dtype=int)
    zu, zv = (
        frame.station_u[pick] + rng.uniform(-150, 150, n_z),
        frame.station_v[pick] + rng.uniform(-150, 150, n_z),
    )
    zuae_local = shapely.box(zu - 180, zv - 240, zu + 180, zv + 240)
    layers["zuae"] = gpd.GeoDataFrame(
        {
            "codigo_zuae": [f"ZUAE-{k + 1:02d}" for k in range(n_z)],
            "nombre": [f"ZUAE {METRO_STATIONS[p][0]}" for p in pick],
        },
        geometry=frame.geoms(shapely.intersection(zuae_local, extent_local)),
        crs=TM_QUITO,
    )

    # ---- risk: quebradas across the valley (no mitigable core, mitigable margin) and flood patches.
    n_q = max(1, int((ext_v1 - ext_v0) // 4_000))
    qv = ext_v0 + (np.arange(n_q) + rng.uniform(0.3, 0.7, n_q)) * (ext_v1 - ext_v0) / n_q
    uu = np.linspace(ext_u0 - 50, ext_u1 + 50, 200)
    phase = rng.uniform(0, 2 * np.pi, n_q)
    q_lines = shapely.linestrings(
        np.stack(
            [
                np.broadcast_to(uu, (n_q, 200)),
                qv[:, None] + 60.0 * np.sin(uu[None, :] / 180.0 + phase[:, None]),
            ],
            -1,
        )
    )
    core = shapely.intersection(shapely.buffer(q_lines, 25.0), extent_local)
    margin = shapely.intersection(
        shapely.difference(shapely.buffer(q_lines, 70.0), shapely.buffer(q_lines, 25.0)), extent_local
    )
    n_f = max(1, n_lotes // 4000)
    fu, fv = rng.uniform(ext_u0, ext_u1, n_f), rng.uniform(ext_v0, ext_v1, n_f)
    flood = shapely.intersection(shapely.buffer(shapely.points(fu, fv), 90.0), extent_local)
    layers["riesgo"] = gpd.GeoDataFrame(
        {
            "categoria": ["no_mitigable"] * n_q + ["mitigable"] * (n_q + n_f),
            "amenaza": ["movimientos en masa (quebrada)"] * (2 * n_q) + ["inundación"] * n_f,
        },
        geometry=frame.geoms(np.concatenate([core, margin, flood])),
        crs=TM_QUITO,
    )

    # ---- plans especiales and proyectos especiales.
    pu_c = ext_u0 + 0.25 * (ext_u1 - ext_u0)
    pv_c = ext_v0 + 0.8 * (ext_v1 - ext_v0)
    plan = shapely.intersection(shapely.box(pu_c - 200, pv_c - 250, pu_c + 200, pv_c + 250), extent_local)
    layers["planes_especiales"] = gpd.GeoDataFrame(
        {"nombre": ["Plan Especial Bicentenario"]}, geometry=frame.geoms(np.array([plan])), crs=TM_QUITO
    )
    pe_u = ext_u0 + np.array([0.7, 0.4]) * (ext_u1 - ext_u0)
    pe_v = ext_v0 + np.array([0.3, 0.55]) * (ext_v1 - ext_v0)
    layers["proyectos_especiales"] = gpd.GeoDataFrame(
        {
            "nombre": ["PUAE Ciudad Jardín del Norte", "Proyecto prioritario Vivienda La Ronda"],
            "tipo": ["PUAE", "prioritario"],
        },
        geometry=frame.geoms(shapely.box(pe_u - 90, pe_v - 70, pe_u + 90, pe_v + 70)),
        crs=TM_QUITO,
    )

    # ---- administraciones zonales: bands between real stations.
    name_idx = {s[0]: k for k, s in enumerate(METRO_STATIONS)}
    cuts = []
    for _zonal, pair in _ZONALES[:-1]:
        assert pair is not None
        a, b = name_idx[pair[0]], name_idx[pair[1]]
        cut = (frame.station_v[a] + frame.station_v[b]) / 2.0
        cuts.append(cut + (1_000.0 if pair[0] == pair[1] else 0.0))
    band_edges = np.array([-np.inf, *cuts, np.inf])
    band_names = np.array([z[0] for z in _ZONALES], dtype=object)
    lo = np.clip(band_edges[:-1], ext_v0, ext_v1)
    hi = np.clip(band_edges[1:], ext_v0, ext_v1)
    has = hi > lo
    layers["administraciones_zonales"] = gpd.GeoDataFrame(
        {"nombre": band_names[has], "codigo": [f"AZ{k + 1}" for k in np.flatnonzero(has)]},
        geometry=frame.geoms(
            shapely.box(np.full(has.sum(), ext_u0), lo[has], np.full(has.sum(), ext_u1), hi[has])
        ),
        crs=TM_QUITO,
    )

    # ---- predios: attributes from where each lot lies (cells, bands and AIVA seeds looked up by arithmetic).
    n = len(lots_local)
    geom = frame.geoms(lots_local, densify=None)
    area_m2 = shapely.area(geom)
    cell = np.clip(np.searchsorted(ev, cv) - 1, 0, len(ev) - 2) * (len(eu) - 1) + np.clip(
        np.searchsorted(eu, cu) - 1, 0, len(eu) - 2
    )
    lot_use = use[cell]
    from scipy.spatial import cKDTree

    nearest_seed = cKDTree(seeds).query(np.column_stack([cu, cv]))[1]
    lot_aiva = value[nearest_seed]
    band = np.searchsorted(band_edges, cv) - 1
    az = band_names[band]
    par_rank = np.floor((cu - ext_u0) / (ext_u1 - ext_u0) * 3).astype(int) + 3 * (
        np.floor((cv - ext_v0) / 1_500.0).astype(int)
    )
    parroquia = np.empty(n, dtype=object)
    for k, zonal in enumerate(band_names):  # one pass per administración zonal (five), not per lot
        m = band == k
        choices = np.array(_PARROQUIAS[zonal], dtype=object)
        parroquia[m] = choices[par_rank[m] % len(choices)]
    # Block number within its administración zonal (1-based), lot number within its block.
    blk_rank = np.unique(lot_block, return_inverse=True)[1]
    lot_in_block = np.arange(n) - np.searchsorted(blk_rank, blk_rank)
    clave_num = band.astype(np.int64) * 100_000_000 + (blk_rank + 1) * 1_000 + lot_in_block + 1
    clave = pd.Series(clave_num).astype(str).str.zfill(10).to_numpy(dtype=object)
    dense = np.isin(lot_use, ["M", "R3"])
    regimen = np.where(rng.random(n) < np.where(dense, 0.3, 0.08), "propiedad_horizontal", "unipropiedad")
    is_rural_lot = np.isin(lot_use, ["AR", "RNR"])
    built = rng.random(n) < np.where(is_rural_lot, 0.45, 0.9)
    max_floors = np.select([lot_use == "R1", lot_use == "R2", dense], [3, 5, 10], default=3)
    pisos_ex = np.where(built, rng.integers(1, max_floors + 1), 0).astype(float)
    occupancy = rng.uniform(0.35, 0.8, n)
    area_cub = np.round(np.where(built, area_m2 * occupancy * pisos_ex, 0.0), 2)
    area_abi = np.round(np.where(built, area_m2 * rng.uniform(0.0, 0.2, n), 0.0), 2)
    has_add = built & (rng.random(n) < 0.3)
    area_add = np.round(np.where(has_add, rng.uniform(5.0, 40.0, n), 0.0), 2)
    escritura = np.round(area_m2 * (1.0 + rng.normal(0.0, 0.015, n)), 2)
    escritura[rng.random(n) < 0.03] = np.nan  # missing deeds: the run falls back to the geometry
    predios = gpd.GeoDataFrame(
        {
            "clave_catastral": clave,
            "numero_predio": (np.arange(n) + 1).astype(str).astype(object),
            "area_escritura": escritura,
            "regimen": regimen.astype(object),
            "avaluo_terreno": np.round(area_m2 * lot_aiva * rng.uniform(0.7, 1.0, n), 2),
            "avaluo_cubiertas": np.round(area_cub * rng.uniform(180.0, 520.0, n), 2),
            "area_cubiertas": area_cub,
            "avaluo_abiertas": np.round(area_abi * rng.uniform(20.0, 60.0, n), 2),
            "area_abiertas": area_abi,
            "avaluo_adicionales": np.round(area_add * rng.uniform(50.0, 150.0, n), 2),
            "area_adicionales": area_add,
            "avaluo_instalaciones_especiales": np.round(
                np.where(built & (rng.random(n) < 0.05), rng.uniform(2_000.0, 40_000.0, n), 0.0), 2
            ),
            "avaluo_comunal": np.round(
                np.where(regimen == "propiedad_horizontal", rng.uniform(5_000.0, 80_000.0, n), 0.0), 2
            ),
            "pisos_existentes": pisos_ex,
            "administracion_zonal": az,
            "parroquia": parroquia,
        },
        geometry=geom,
        crs=TM_QUITO,
    )
    out: dict[str, gpd.GeoDataFrame] = {"predios": predios}
    out.update(layers)
    # The PUOS (the previous plan) is derived from the PUGS before its planted faults: those are digitising
    # errors of the new plan, the old one covered the lots normally.
    out["puos"] = make_puos_layer(pugs, seed=seed)
    _plant_problems(
        out,
        frame=frame,
        lots_local=lots_local,
        lot_block=lot_block,
        cu=cu,
        cv=cv,
        lot_u_min=np.minimum(front_u, back_u),
        lot_u_max=np.maximum(front_u, back_u),
        extent=(ext_u0, ext_v0, ext_u1, ext_v1),
    )
    return out


#: The use code of the planted PIT polygon that the rules' ``[usos.homologacion]`` does not know: PUOS 2016
#: wrote "Protección Ecológica / Conservación del Patrimonio Natural" this way; the table lists ``PE`` only.
USO_NO_HOMOLOGADO = "PE/CPN"

#: Key under which :func:`make_sample_project` records its planted data problems in ``predios.attrs``.
_ATTRS_KEY = "problemas_sembrados"

#: The planted data problems, in the order they are planted: key → (what is wrong, what ``quitogeo run``
#: gives the lot(s) in ``estado``).
PLANTED_PROBLEMS: dict[str, tuple[str, str]] = {
    "fuera_de_pit": (
        "predio en el borde este fuera de la cobertura del PUGS (los polígonos PIT no llegan a él)",
        "sin PIT",
    ),
    "fuera_de_aiva": (
        "predio en el borde oeste fuera de toda zona AIVA (las zonas no llegan a él)",
        "sin AIVA registrada",
    ),
    "aiva_cero": (
        "zona AIVA del tamaño de un predio con valor_m2 = 0 (valor no registrado)",
        "sin AIVA registrada",
    ),
    "uso_no_homologado": (
        f"polígono PIT del tamaño de un predio con uso_principal {USO_NO_HOMOLOGADO!r}, ausente de "
        "[usos.homologacion] de las reglas",
        f"uso desconocido ({USO_NO_HOMOLOGADO})",
    ),
    "geometria_invalida": (
        "geometría en corbatín (dos vértices intercambiados: anillo que se autointersecta); la lectura la "
        "repara con make_valid (dos triángulos) y lo informa",
        "ok",
    ),
    "clave_duplicada": (
        "dos predios vecinos con la misma clave_catastral (la del primero); la corrida conserva ambos",
        "ok",
    ),
    "sin_area_escritura": (
        "area_escritura vacía: el área sale de la geometría (area_fuente = geometria); no es un error",
        "ok",
    ),
}


def _plant_problems(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    frame: _Frame,
    lots_local: np.ndarray,
    lot_block: np.ndarray,
    cu: np.ndarray,
    cv: np.ndarray,
    lot_u_min: np.ndarray,
    lot_u_max: np.ndarray,
    extent: tuple[float, float, float, float],
) -> None:
    """Plant the fixed handful of :data:`PLANTED_PROBLEMS` in ``layers`` (in place).

    Real cadastres are dirty; a sample where every lot comes out ``ok`` hides the paths that report. The
    problems are non-blocking (``quitogeo validate`` warns, the run keeps every lot), always the same number
    whatever the sample's size, and each on a lot chosen by geometry (no random draw: the seed's other layers
    are unchanged). They are recorded in ``predios.attrs`` (see :func:`planted_problems`).
    """
    predios, pugs, aiva = layers["predios"], layers["pugs"], layers["aiva"]
    n = len(predios)
    ext_u0, _, ext_u1, _ = extent
    taken = np.zeros(n, dtype=bool)
    u_lo, u_hi, v_lo, v_hi = float(cu.min()), float(cu.max()), float(cv.min()), float(cv.max())
    v_mid = (v_lo + v_hi) / 2.0

    def take(k: int) -> int:
        taken[k] = True
        return k

    def nearest(fu: float, fv: float, allowed: np.ndarray | None = None) -> int:
        """Take the free lot nearest a point given as fractions of the lots' extent (one vectorised pass)."""
        d = np.hypot(cu - (u_lo + fu * (u_hi - u_lo)), cv - (v_lo + fv * (v_hi - v_lo)))
        d[taken if allowed is None else taken | ~allowed] = np.inf
        return take(int(np.argmin(d)))

    def edge_lot(at_edge: np.ndarray) -> int:
        """Take, among the outermost lots, the one nearest the middle of the strip (ties → lowest row)."""
        d = np.where(at_edge & ~taken, np.abs(cv - v_mid), np.inf)
        return take(int(np.argmin(d)))

    def local_box(k: int, u0: float | None, u1: float | None) -> np.ndarray:
        """Return the lot's local bounds grown by 5 cm (neighbours keep all but a hairline), in TM-Quito.

        ``u0``/``u1`` extend the box to the layer's edge: the gap opens outwards, so the layer's coverage
        simply stops short of the lot instead of having a lot-shaped hole.
        """
        b = shapely.bounds(lots_local[k])
        box = shapely.box(
            b[0] - 0.05 if u0 is None else u0, b[1] - 0.05, b[2] + 0.05 if u1 is None else u1, b[3] + 0.05
        )
        return np.asarray(frame.geoms(np.array([box])))

    def carve(zones: gpd.GeoDataFrame, hole: np.ndarray) -> np.ndarray:
        geoms = zones.geometry.to_numpy().copy()
        hit = shapely.area(shapely.intersection(geoms, hole[0])) > 0.0
        geoms[hit] = shapely.difference(geoms[hit], hole[0])
        return geoms

    def with_zone(
        zones: gpd.GeoDataFrame, geoms: np.ndarray, lot_geom: shapely.Geometry, values: dict[str, object]
    ) -> gpd.GeoDataFrame:
        """Return ``zones`` with ``geoms`` plus one zone over ``lot_geom``.

        The new zone copies the attributes of the zone it was cut from (the largest overlap), with
        ``values`` changed.
        """
        overlap = shapely.area(shapely.intersection(zones.geometry.to_numpy(), lot_geom))
        new = zones.iloc[[int(np.argmax(overlap))]].copy()
        for col, value in values.items():
            new[col] = value
        new = new.set_geometry(np.array([lot_geom], dtype=object), crs=zones.crs)
        carved = zones.set_geometry(geoms, crs=zones.crs)
        return gpd.GeoDataFrame(pd.concat([carved, new], ignore_index=True), crs=zones.crs)

    geom = predios.geometry.to_numpy().copy()
    clave = predios["clave_catastral"].to_numpy(dtype=object).copy()
    escritura = predios["area_escritura"].to_numpy(dtype=np.float64).copy()
    planted: list[tuple[str, str, str, str]] = []  # (problema, clave, capa, id in that layer)

    # PIT coverage stopping short of the easternmost lot, AIVA coverage short of the westernmost one.
    k_pit = edge_lot(lot_u_max >= lot_u_max.max() - 1e-6)
    pugs_geoms = carve(pugs, local_box(k_pit, None, ext_u1 + 1.0))
    k_aiva = edge_lot(lot_u_min <= lot_u_min.min() + 1e-6)
    aiva_geoms = carve(aiva, local_box(k_aiva, ext_u0 - 1.0, None))
    # One-lot zones carved out of the others: an AIVA zone without value, a PIT with an unknown use code.
    k_cero = nearest(0.4, 0.25)
    aiva_geoms = carve(aiva.set_geometry(aiva_geoms, crs=aiva.crs), geom[[k_cero]])
    codigo_aiva = f"AIVA-{len(aiva) + 1:04d}"
    layers["aiva"] = with_zone(aiva, aiva_geoms, geom[k_cero], {"codigo_aiva": codigo_aiva, "valor_m2": 0.0})
    k_uso = nearest(0.55, 0.7)
    pugs_geoms = carve(pugs.set_geometry(pugs_geoms, crs=pugs.crs), geom[[k_uso]])
    codigo_pit = f"PIT-{len(pugs) + 1:04d}"
    layers["pugs"] = with_zone(
        pugs, pugs_geoms, geom[k_uso], {"codigo_pit": codigo_pit, "uso_principal": USO_NO_HOMOLOGADO}
    )
    # A bow tie: the lot's back vertices swapped (p0 p1 p2 p3 → p0 p1 p3 p2), a classic digitising slip.
    k_bow = nearest(0.35, 0.55)
    ring = shapely.get_coordinates(geom[k_bow])
    geom[k_bow] = shapely.polygons(ring[[0, 1, 3, 2, 0]])
    # Two neighbouring lots of one block sharing a clave (a subdivision that kept the mother lot's clave).
    has_twin = np.zeros(n, dtype=bool)  # the next lot is in the same block and still free
    has_twin[:-1] = (lot_block[:-1] == lot_block[1:]) & ~taken[1:]
    k_dup = nearest(0.65, 0.45, has_twin)
    k_twin = take(k_dup + 1)
    clave[k_twin] = clave[k_dup]
    # A deed without area (3 % of lots have none already; this one is guaranteed whatever the sample's size).
    k_deed = nearest(0.45, 0.8)
    escritura[k_deed] = np.nan

    planted += [
        ("fuera_de_pit", clave[k_pit], "predios", clave[k_pit]),
        ("fuera_de_aiva", clave[k_aiva], "predios", clave[k_aiva]),
        ("aiva_cero", clave[k_cero], "aiva", codigo_aiva),
        ("uso_no_homologado", clave[k_uso], "pugs", codigo_pit),
        ("geometria_invalida", clave[k_bow], "predios", clave[k_bow]),
        ("clave_duplicada", clave[k_dup], "predios", clave[k_dup]),
        ("clave_duplicada", clave[k_twin], "predios", clave[k_twin]),
        ("sin_area_escritura", clave[k_deed], "predios", clave[k_deed]),
    ]
    predios = predios.set_geometry(geom, crs=predios.crs)
    predios["clave_catastral"] = clave
    predios["area_escritura"] = escritura
    predios.attrs[_ATTRS_KEY] = tuple(planted)
    layers["predios"] = predios


def planted_problems(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """List the data problems :func:`make_sample_project` planted in a sample, one row per affected lot.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        What :func:`make_sample_project` returned (the record lives in ``predios.attrs``, which a GeoPackage
        does not keep: for the embedded sample see ``data/README.md``).

    Returns
    -------
    DataFrame
        Columns ``problema`` (a key of :data:`PLANTED_PROBLEMS`), ``clave_catastral`` (the lot),
        ``capa`` and ``id`` (the layer and id ``quitogeo validate`` names), ``descripcion`` and
        ``estado_esperado`` (the ``estado`` the run gives the lot). Empty when nothing was recorded.
    """
    rows = layers["predios"].attrs.get(_ATTRS_KEY, ())
    frame = pd.DataFrame(list(rows), columns=["problema", "clave_catastral", "capa", "id"])
    frame["descripcion"] = frame["problema"].map(lambda k: PLANTED_PROBLEMS[k][0])
    frame["estado_esperado"] = frame["problema"].map(lambda k: PLANTED_PROBLEMS[k][1])
    return frame


def write_sample_project(
    path: str | Path, *, n_lotes: int = 4000, seed: int = 2024, overwrite: bool = False
) -> Path:
    """Generate a sample project and write it as one GeoPackage.

    Parameters
    ----------
    path : str or Path
        The GeoPackage to write.
    n_lotes : int, optional
        Number of lots.
    seed : int, optional
        Seed (same seed → same layers).
    overwrite : bool, optional
        Replace ``path`` when it exists.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is False.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} ya existe; use --overwrite para reemplazarlo")
    layers = make_sample_project(n_lotes, seed=seed)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary file first so an interrupted run never leaves a half project under the name.
    fd, tmp_name = tempfile.mkstemp(suffix=".gpkg", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        for name, frame in layers.items():
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", use_arrow=True)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


__all__ = [
    "METRO_STATIONS",
    "PLANTED_PROBLEMS",
    "USO_NO_HOMOLOGADO",
    "make_sample_project",
    "planted_problems",
    "write_sample_project",
]
