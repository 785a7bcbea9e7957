"""A small, dependency-free map of one lot for the documents: inline SVG drawn from TM-Quito geometries.

The lot in the middle, its neighbours (with their claves), the roads around it (fronting ones highlighted,
with name and width), a north arrow and a scale bar. Geometries must be in a projected CRS in metres
(TM-Quito): the drawing is a plain affine scaling, y up.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from quitogeo.formatting import format_number

_NICE_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000)


def _scale_bar_length(extent_m: float) -> int:
    """Return the largest 'nice' length not exceeding a quarter of the map's width."""
    target = extent_m / 4
    best = _NICE_STEPS[0]
    for step in _NICE_STEPS:
        if step <= target:
            best = step
    return best


class _Frame:
    """World (metres, y up) → SVG pixels (y down)."""

    def __init__(self, bounds: tuple[float, float, float, float], width: int, height: int, pad: int) -> None:
        minx, miny, maxx, maxy = bounds
        span_x, span_y = max(maxx - minx, 1e-6), max(maxy - miny, 1e-6)
        self.scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
        # centre the drawing
        self.ox = pad + ((width - 2 * pad) - span_x * self.scale) / 2 - minx * self.scale
        self.oy = pad + ((height - 2 * pad) - span_y * self.scale) / 2 + maxy * self.scale

    def xy(self, coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords, dtype=float)
        out[:, 0] = self.ox + coords[:, 0] * self.scale
        out[:, 1] = self.oy - coords[:, 1] * self.scale
        return out


def _ring_path(coords: np.ndarray, frame: _Frame, close: bool) -> str:
    pts = frame.xy(coords[:, :2])
    body = " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return f"M{body}{' Z' if close else ''}"


def geometry_path(geom: BaseGeometry, frame: _Frame) -> str:
    """SVG path data of a (multi)polygon or (multi)line string."""
    parts: list[str] = []
    for part in shapely.get_parts(np.asarray([geom], dtype=object)):
        kind = shapely.get_type_id(part)
        if kind == 3:  # Polygon
            rings = [part.exterior, *part.interiors]
            parts.extend(_ring_path(np.asarray(r.coords), frame, True) for r in rings)
        elif kind in (1, 2):  # LineString, LinearRing
            parts.append(_ring_path(np.asarray(part.coords), frame, False))
    return " ".join(parts)


def _label_point(visible: BaseGeometry) -> np.ndarray | None:
    """Midpoint of the longest visible piece of a road, or None when nothing is visible."""
    pieces = [p for p in shapely.get_parts(np.asarray([visible], dtype=object)) if p.length > 0]
    if not pieces:
        return None
    longest = max(pieces, key=lambda p: p.length)
    return np.asarray(longest.interpolate(0.5, normalized=True).coords)[:, :2]


def lot_map_svg(
    lot: BaseGeometry,
    *,
    neighbours: Sequence[BaseGeometry] = (),
    neighbour_labels: Sequence[str] = (),
    roads: Sequence[BaseGeometry] = (),
    road_labels: Sequence[str] = (),
    road_fronting: Sequence[bool] = (),
    label: str = "",
    margin_m: float | None = None,
    width: int = 420,
    height: int = 300,
) -> str:
    """Draw the lot, its neighbours and the roads around it as an inline SVG.

    Parameters
    ----------
    lot : shapely geometry
        The lot, in metres (TM-Quito).
    neighbours : sequence of geometry, optional
        Neighbouring lots.
    neighbour_labels : sequence of str, optional
        Their claves (drawn when the label fits).
    roads : sequence of geometry, optional
        Road centrelines near the lot.
    road_labels : sequence of str, optional
        Text per road (name and width).
    road_fronting : sequence of bool, optional
        Which roads the lot fronts (drawn highlighted).
    label : str, optional
        Text at the lot's centre (its clave).
    margin_m : float, optional
        Ground distance shown around the lot; by default 60 % of its larger side, at least 25 m.
    width, height : int, optional
        Size in CSS pixels.

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    minx, miny, maxx, maxy = lot.bounds
    side = max(maxx - minx, maxy - miny)
    margin = margin_m if margin_m is not None else max(25.0, 0.6 * side)
    view = (minx - margin, miny - margin, maxx + margin, maxy + margin)
    frame = _Frame(view, width, height, pad=6)
    box = shapely.box(*view)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mapa-predio" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="Mapa del predio {escape(label)}">',
        f'<defs><clipPath id="marco"><rect x="0" y="0" width="{width}" height="{height}"/></clipPath></defs>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff" stroke="#888" '
        'stroke-width="0.8"/>',
        '<g clip-path="url(#marco)">',
    ]
    # neighbours under everything
    for geom, text in zip(neighbours, list(neighbour_labels) + [""] * len(neighbours), strict=False):
        if geom is None or geom.is_empty:
            continue
        out.append(
            f'<path class="vecino" d="{geometry_path(geom, frame)}" fill="#f1f1f1" stroke="#9a9a9a" '
            'stroke-width="0.7" fill-rule="evenodd"/>'
        )
        visible = geom.intersection(box)
        if text and not visible.is_empty and visible.area * frame.scale**2 > 2500:
            pt = frame.xy(np.asarray(visible.representative_point().coords))[0]
            out.append(
                f'<text class="etiqueta-vecino" x="{pt[0]:.1f}" y="{pt[1]:.1f}" font-size="7" fill="#777" '
                f'text-anchor="middle">{escape(text)}</text>'
            )
    fronting = list(road_fronting) + [False] * len(roads)
    labels = list(road_labels) + [""] * len(roads)
    for geom, text, front in zip(roads, labels, fronting, strict=False):
        if geom is None or geom.is_empty:
            continue
        colour, widthpx, dash = ("#c0392b", 3.2, "none") if front else ("#7f8c8d", 1.6, "5,3")
        cls = "via via-frente" if front else "via"
        out.append(
            f'<path class="{cls}" d="{geometry_path(geom, frame)}" fill="none" stroke="{colour}" '
            f'stroke-width="{widthpx}" stroke-linecap="round" stroke-dasharray="{dash}"/>'
        )
        anchor = _label_point(geom.intersection(box.buffer(-margin * 0.15)))
        if text and anchor is not None:
            pt = frame.xy(anchor)[0]
            out.append(
                f'<text class="etiqueta-via" x="{pt[0]:.1f}" y="{pt[1] - 4:.1f}" font-size="8" '
                f'fill="{colour}" text-anchor="middle" paint-order="stroke" stroke="#fff" '
                f'stroke-width="2.5">{escape(text)}</text>'
            )
    out.append(
        f'<path class="predio" d="{geometry_path(lot, frame)}" fill="#f6d55c" fill-opacity="0.85" '
        'stroke="#1b4f72" stroke-width="2" fill-rule="evenodd"/>'
    )
    if label:
        pt = frame.xy(np.asarray(lot.representative_point().coords))[0]
        out.append(
            f'<text class="etiqueta-predio" x="{pt[0]:.1f}" y="{pt[1]:.1f}" font-size="9" font-weight="bold" '
            f'fill="#1b4f72" text-anchor="middle">{escape(label)}</text>'
        )
    out.append("</g>")
    # north arrow (TM-Quito grid north)
    out.append(
        f'<g class="norte" transform="translate({width - 22},{22})">'
        '<path d="M0,-14 L6,6 L0,2 L-6,6 Z" fill="#333"/>'
        '<text x="0" y="16" font-size="8" text-anchor="middle">N</text></g>'
    )
    # scale bar
    length = _scale_bar_length(view[2] - view[0])
    px = length * frame.scale
    x0, y0 = 12, height - 14
    out.append(
        f'<g class="escala"><rect x="{x0}" y="{y0}" width="{px:.1f}" height="4" fill="#333"/>'
        f'<text x="{x0}" y="{y0 - 3}" font-size="8">0</text>'
        f'<text x="{x0 + px:.1f}" y="{y0 - 3}" font-size="8" text-anchor="middle">'
        f"{format_number(length, 0)} m</text></g>"
    )
    out.append("</svg>")
    return "".join(out)


def neighbour_positions(geoms: np.ndarray, target: int, *, distance_m: float) -> np.ndarray:
    """Positions of the geometries within ``distance_m`` of ``geoms[target]`` (excluding it), via the STRtree.

    Parameters
    ----------
    geoms : numpy.ndarray of geometry
        All lots.
    target : int
        Position of the lot.
    distance_m : float
        Search distance in metres.

    Returns
    -------
    numpy.ndarray of int
    """
    tree = shapely.STRtree(geoms)
    hits = tree.query(geoms[target], predicate="dwithin", distance=distance_m)
    return np.sort(hits[hits != target])


def view_margin(lot: BaseGeometry) -> float:
    """Return the ground margin the map shows around ``lot`` (same rule as :func:`lot_map_svg`)."""
    minx, miny, maxx, maxy = lot.bounds
    return max(25.0, 0.6 * max(maxx - minx, maxy - miny, 0.0))


__all__ = ["geometry_path", "lot_map_svg", "neighbour_positions", "view_margin"]
