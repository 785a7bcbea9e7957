"""TM-Quito (SIRES-DMQ), the district's own CRS, and the checks that keep layers honest about their CRS.

Every area and distance in quitogeo is measured in TM-Quito (normativa §5). This module recognises that CRS
however it is written (PROJ string, WKT, ArcGIS's ``quitow84`` .prj, whose projection ArcGIS calls
``Transverse_Mercator_Complex``), reprojects anything else with pyproj, and reports what would otherwise go
wrong silently: coordinates that fall outside the district for their declared CRS (e.g. metres labelled as
degrees) and layers in PSAD56 TM-Quito labelled as WGS84 (same projection, a few hundred metres apart).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from quitogeo.errors import CRSError

#: TM-Quito / SIRES-DMQ on WGS84 (normativa §5). There is no EPSG code: compare with ``.equals`` or
#: :func:`is_tm_quito`, never by name.
TM_QUITO_PROJ = (
    "+proj=tmerc +lat_0=0 +lon_0=-78.5 +k=1.0004584 +x_0=500000 +y_0=10000000 +ellps=WGS84 +units=m +no_defs"
)
TM_QUITO: CRS = CRS.from_proj4(TM_QUITO_PROJ)

#: The same projection on PSAD56 (International 1924 ellipsoid), with the Helmert parameters of normativa §5.
PSAD56_TM_QUITO_PROJ = (
    "+proj=tmerc +lat_0=0 +lon_0=-78.5 +k=1.0004584 +x_0=500000 +y_0=10000000 +ellps=intl "
    "+towgs84=-60.31,245.935,31.008,-12.324,-3.755,7.37,0.447 +units=m +no_defs"
)
PSAD56_TM_QUITO: CRS = CRS.from_proj4(PSAD56_TM_QUITO_PROJ)

#: The DMQ's extent in TM-Quito (normativa §5: about E 450 000–537 000, N 9 934 000–10 029 000), as
#: (minx, miny, maxx, maxy).
DMQ_EXTENT: tuple[float, float, float, float] = (450_000.0, 9_934_000.0, 537_000.0, 10_029_000.0)
#: Margin around :data:`DMQ_EXTENT` before a layer counts as "outside the district" (m): layers clipped a
#: little beyond the boundary (a buffer, a neighbouring parish) are normal; kilometres off are not.
EXTENT_MARGIN_M = 5_000.0

# TM-Quito's defining parameters, by EPSG parameter code (lat origin, central meridian, scale, FE, FN).
_TM_PARAMS = {8801: 0.0, 8802: -78.5, 8805: 1.0004584, 8806: 500_000.0, 8807: 10_000_000.0}
_WGS84_AXES = (6_378_137.0, 298.257223563)
_INTL_AXES = (6_378_388.0, 297.0)

# Datum-mislabel detection (a technical check, not a norm figure): a layer is taken as PSAD56 labelled WGS84
# when, against a reference layer, its misfit shrinks to less than this fraction once the PSAD56 shift is
# applied, and the misfit as read is at least this fraction of the shift itself.
_MISLABEL_IMPROVEMENT = 0.25
_MISLABEL_MIN_MISFIT = 0.25
_MISLABEL_SAMPLE = 2_000
# Geometries per slice when scanning a layer's vertices for the extent check (memory, not results).
_EXTENT_SLICE = 100_000


_WGS84_GEOGRAPHIC: CRS = CRS.from_epsg(4326)


def _same_datum_as_wgs84(crs: CRS) -> bool:
    return crs.equals(_WGS84_GEOGRAPHIC, ignore_axis_order=True)


#: Names a project file may use for the district's CRSs (quitogeo.toml ``crs = "tm_quito"``).
CRS_ALIASES: dict[str, str] = {
    "tm_quito": TM_QUITO_PROJ,
    "tm-quito": TM_QUITO_PROJ,
    "sires-dmq": TM_QUITO_PROJ,
    "psad56_tm_quito": PSAD56_TM_QUITO_PROJ,
    "psad56-tm-quito": PSAD56_TM_QUITO_PROJ,
}


def _as_crs(crs: Any) -> CRS:
    if isinstance(crs, CRS):
        return crs
    if isinstance(crs, str) and crs.strip().lower() in CRS_ALIASES:
        crs = CRS_ALIASES[crs.strip().lower()]
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError of its own; re-raise ours with the fix
        raise CRSError(
            f"CRS no reconocido: {crs!r} ({exc}); indíquelo como código EPSG, WKT o cadena PROJ"
        ) from exc


def _tm_quito_family(crs: CRS) -> str | None:
    """Return ``"wgs84"`` or ``"psad56"`` when ``crs`` is the TM-Quito projection on that datum, else None."""
    if not crs.is_projected:
        return None
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower().replace("_", " "):
        return None
    values: dict[int, float] = {}
    for param in op.params:
        param_code = param.code
        if param_code and param_code.isdigit():
            values[int(param_code)] = float(param.value)
    for code, expected in _TM_PARAMS.items():
        got = values.get(code)
        if got is None or not np.isclose(got, expected, rtol=0, atol=1e-9 * max(1.0, abs(expected))):
            return None
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    if not np.isclose(unit, 1.0):
        return None
    ellipsoid = crs.ellipsoid
    if ellipsoid is None:
        return None
    axes = (ellipsoid.semi_major_metre, ellipsoid.inverse_flattening)
    if np.allclose(axes, _WGS84_AXES, rtol=0, atol=1e-6):
        return "wgs84"
    if np.allclose(axes, _INTL_AXES, rtol=0, atol=1e-6):
        return "psad56"
    return None


def is_tm_quito(crs: Any) -> bool:
    """Whether ``crs`` is TM-Quito on WGS84, however it is written.

    Parameters
    ----------
    crs : pyproj.CRS, str or int
        Any CRS pyproj understands (WKT, PROJ string, ``EPSG:…``, ArcGIS's ``quitow84`` WKT).

    Returns
    -------
    bool
        True for the projection of normativa §5 on the WGS84 ellipsoid (``+datum=WGS84`` or
        ``+ellps=WGS84``), False otherwise (PSAD56 TM-Quito included).

    Examples
    --------
    >>> is_tm_quito("+proj=tmerc +lat_0=0 +lon_0=-78.5 +k=1.0004584 +x_0=500000 +y_0=10000000 +datum=WGS84")
    True
    >>> is_tm_quito("EPSG:32717")
    False
    """
    return _tm_quito_family(_as_crs(crs)) == "wgs84"


def recognise_crs(crs: Any) -> CRS:
    """Return the canonical CRS object for ``crs``.

    TM-Quito written any way becomes :data:`TM_QUITO`; PSAD56 TM-Quito (International 1924 ellipsoid, with or
    without ``towgs84``) becomes :data:`PSAD56_TM_QUITO`, so its datum shift is applied when reprojecting (a
    .prj without the Helmert parameters would otherwise be reprojected as if no shift existed); any other CRS
    is returned as pyproj reads it.

    Parameters
    ----------
    crs : pyproj.CRS, str or int
        The declared CRS.

    Returns
    -------
    pyproj.CRS
        The recognised CRS.

    Raises
    ------
    CRSError
        When pyproj cannot read ``crs``.
    """
    parsed = _as_crs(crs)
    family = _tm_quito_family(parsed)
    if family == "wgs84":
        return TM_QUITO
    if family == "psad56":
        return PSAD56_TM_QUITO
    return parsed


def to_tm_quito(frame: gpd.GeoDataFrame, *, crs: Any = None) -> gpd.GeoDataFrame:
    """Return ``frame`` in TM-Quito (a copy; the input is not modified).

    Parameters
    ----------
    frame : GeoDataFrame
        The layer.
    crs : pyproj.CRS or str, optional
        The CRS to assume for ``frame``, overriding the one it carries (the project's declaration for a layer
        whose file has none or a wrong one).

    Returns
    -------
    GeoDataFrame
        The layer with CRS :data:`TM_QUITO`; coordinates unchanged when the layer already was TM-Quito
        written another way.

    Raises
    ------
    CRSError
        When the layer has no CRS and none is given: quitogeo never guesses it.
    """
    declared = crs if crs is not None else frame.crs
    if declared is None:
        raise CRSError(
            'la capa no tiene sistema de coordenadas; declárelo (p. ej. crs = "EPSG:32717" en quitogeo.toml '
            "o un archivo .prj)"
        )
    source = recognise_crs(declared)
    out = frame.set_crs(source, allow_override=True)
    if source is TM_QUITO:
        return out
    # TM_QUITO is written on the WGS84 *ellipsoid* (normativa §5), so PROJ treats its datum as unknown and a
    # direct transformation from another datum would silently skip the datum shift (PSAD56 → ~480 m off).
    # Going through EPSG:4326 applies the source's shift, and 4326 → TM-Quito is then a pure projection.
    if not source.is_geographic or not _same_datum_as_wgs84(source):
        out = out.to_crs(_WGS84_GEOGRAPHIC)
    return out.set_crs(_WGS84_GEOGRAPHIC, allow_override=True).to_crs(TM_QUITO)


@dataclass(frozen=True)
class ExtentCheck:
    """Where a layer's coordinates fall relative to the DMQ.

    Attributes
    ----------
    inside : bool
        Whether the layer's bounds in TM-Quito lie within the DMQ extent plus its margin.
    bounds : tuple of float
        The layer's bounds in TM-Quito (NaN when it has no finite coordinate).
    hint : str
        A likely cause when outside (e.g. metres declared as degrees), empty otherwise.
    """

    inside: bool
    bounds: tuple[float, float, float, float]
    hint: str


def check_extent(
    frame_tm: gpd.GeoDataFrame,
    *,
    declared_crs: Any = None,
    valid: np.ndarray | None = None,
    present: np.ndarray | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> ExtentCheck:
    """Check that a layer already in TM-Quito falls inside the DMQ.

    Parameters
    ----------
    frame_tm : GeoDataFrame
        The layer after :func:`to_tm_quito`.
    declared_crs : pyproj.CRS or str, optional
        The CRS the layer declared before reprojection, to word the likely cause.
    valid : numpy.ndarray of bool, optional
        ``shapely.is_valid`` of the layer's geometries, when the caller has it already: a valid geometry has
        only finite coordinates (GEOS reports a NaN or infinite x or y as "Invalid Coordinate"), so only the
        vertices of the others are scanned.
    present : numpy.ndarray of bool, optional
        Which geometries are neither missing nor empty, when the caller has it already.
    bounds : tuple of float, optional
        ``shapely.total_bounds`` of the layer's geometries, when the caller has it already (the read computes
        it beside the parsing).

    Returns
    -------
    ExtentCheck
        ``inside`` False when any coordinate is non-finite or the bounds leave the extent plus
        :data:`EXTENT_MARGIN_M`.
    """
    geoms = frame_tm.geometry.to_numpy()
    if present is None:
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return ExtentCheck(True, (np.nan, np.nan, np.nan, np.nan), "")
    # Every vertex is looked at (a NaN coordinate hides from GEOS' envelopes), but in slices, so the
    # coordinates of a million lots are never one array. Valid geometries have been looked at by GEOS'
    # validity check already (it starts with every coordinate's finiteness): only the others are scanned.
    scanned = geoms[present if valid is None else present & ~np.asarray(valid, dtype=bool)]
    finite = all(
        np.isfinite(shapely.get_coordinates(scanned[start : start + _EXTENT_SLICE])).all()
        for start in range(0, len(scanned), _EXTENT_SLICE)
    )
    if not finite:
        bounds = (np.nan, np.nan, np.nan, np.nan)
    elif bounds is None:
        # the missing and empty geometries have NaN bounds, which total_bounds leaves out
        minx_, miny_, maxx_, maxy_ = (float(v) for v in shapely.total_bounds(geoms[present]))
        bounds = (minx_, miny_, maxx_, maxy_)
    minx, miny, maxx, maxy = DMQ_EXTENT
    m = EXTENT_MARGIN_M
    inside = bool(
        finite
        and bounds[0] >= minx - m
        and bounds[1] >= miny - m
        and bounds[2] <= maxx + m
        and bounds[3] <= maxy + m
    )
    hint = ""
    if not inside:
        declared = _as_crs(declared_crs) if declared_crs is not None else None
        if declared is not None and declared.is_geographic:
            hint = (
                "las coordenadas no son grados en el DMQ: probablemente están en metros "
                "(TM-Quito o UTM 17S); "
                "declare el CRS correcto"
            )
        elif (
            declared is not None
            and np.isfinite(bounds[0])
            and max(abs(bounds[0]), abs(bounds[2])) <= 180.0
            and max(abs(bounds[1]), abs(bounds[3])) <= 90.0
        ):
            hint = 'las coordenadas parecen grados declarados como metros; declare crs = "EPSG:4326"'
        else:
            hint = "revise el CRS declarado: las coordenadas no corresponden al DMQ"
    return ExtentCheck(inside, bounds, hint)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1)
def _psad56_transformers() -> tuple[Transformer, Transformer]:
    # Built once (0.1 s each time otherwise, and the datum check asks for one shift per layer).
    # Via EPSG:4326 for the reason given in to_tm_quito (TM_QUITO's datum is the bare WGS84 ellipsoid).
    return (
        Transformer.from_crs(PSAD56_TM_QUITO, _WGS84_GEOGRAPHIC, always_xy=True),
        Transformer.from_crs(_WGS84_GEOGRAPHIC, TM_QUITO, always_xy=True),
    )


def psad56_shift(x: float, y: float) -> tuple[float, float]:
    """Return the (dE, dN) that moves PSAD56 TM-Quito coordinates mislabelled as WGS84 to their true place.

    Parameters
    ----------
    x, y : float
        A TM-Quito position (metres) near which the shift is evaluated (it varies slowly over the DMQ).

    Returns
    -------
    tuple of float
        The shift in metres (about +218 m E, +428 m N at Plaza Grande with normativa §5's parameters).
    """
    to_geo, to_tm = _psad56_transformers()
    x2, y2 = to_tm.transform(*to_geo.transform(x, y))
    return float(x2 - x), float(y2 - y)


def _misfit(points: np.ndarray, tree: shapely.STRtree | Callable[[np.ndarray], np.ndarray]) -> float:
    if isinstance(tree, shapely.STRtree):
        _, dist = tree.query_nearest(points, return_distance=True, all_matches=False)
    else:
        dist = tree(points)
    return float(np.median(dist)) if len(dist) else float("nan")


@dataclass(frozen=True)
class MislabelCheck:
    """Result of :func:`detect_psad56_mislabel`.

    Attributes
    ----------
    mislabelled : bool
        True when the layer fits the reference far better once treated as PSAD56.
    direction : int
        +1 when the layer itself looks like PSAD56 labelled WGS84, −1 when the reference does, 0 otherwise.
    shift_m : float
        Length of the PSAD56 → WGS84 shift at the layer (m).
    misfit_m : float
        Median distance of the layer's vertices to the reference as read (m).
    misfit_corrected_m : float
        The same after applying the shift in the best direction (m).
    """

    mislabelled: bool
    direction: int
    shift_m: float
    misfit_m: float
    misfit_corrected_m: float


def reference_tree(reference: gpd.GeoSeries) -> shapely.STRtree:
    """Build the spatial index :func:`detect_psad56_mislabel` measures against (polygons by their boundaries).

    Parameters
    ----------
    reference : GeoSeries
        The trusted layer (the cadastre), in TM-Quito.

    Returns
    -------
    shapely.STRtree
        Index of the reference's lines and points; build it once to check several layers.
    """
    rg = reference.to_numpy()
    rg = rg[~(shapely.is_missing(rg) | shapely.is_empty(rg))]
    poly = shapely.get_type_id(rg) >= 3
    rg = np.where(poly, shapely.boundary(rg), rg)
    return shapely.STRtree(rg)


def detect_psad56_mislabel(
    layer: gpd.GeoSeries,
    reference: gpd.GeoSeries | shapely.STRtree | Callable[[np.ndarray], np.ndarray],
    *,
    seed: int = 0,
    bound: Callable[[np.ndarray], np.ndarray] | None = None,
) -> MislabelCheck:
    """Detect a layer in PSAD56 TM-Quito labelled as WGS84 by comparing it with a trusted reference layer.

    Both layers are in TM-Quito as read. A sample of the layer's vertices is measured against the reference's
    boundaries as read and after the PSAD56 → WGS84 shift (both directions, since the reference itself may be
    the mislabelled one); a much better fit after the shift means the two layers are on different datums.

    Parameters
    ----------
    layer, reference : GeoSeries
        Geometries in TM-Quito (polygons are compared by their boundaries). ``reference`` may also be its
        :func:`reference_tree`, or a function giving each point's distance to the nearest reference boundary
        (what a nearest query on that tree gives; the caller ensures the reference is not empty).
    seed : int, optional
        Seed of the vertex sample (the check is deterministic for a given seed).
    bound : callable, optional
        A cheap upper bound of each sampled point's distance to the reference (``(n, 2)`` coordinates →
        ``(n,)`` metres), e.g. the distance to some reference vertex. When the median of the bounds already
        lies below the misfit a mislabel needs, the layer cannot be mislabelled and nothing more is measured:
        the verdict is False with ``misfit_m`` and ``misfit_corrected_m`` NaN. The verdict never differs from
        the one without ``bound``.

    Returns
    -------
    MislabelCheck
        The verdict and the distances that support it.
    """
    lg = layer.to_numpy()
    lg = lg[~(shapely.is_missing(lg) | shapely.is_empty(lg))]
    tree = (
        reference
        if isinstance(reference, shapely.STRtree) or callable(reference)
        else reference_tree(reference)
    )
    if len(lg) == 0 or (isinstance(tree, shapely.STRtree) and len(tree) == 0):
        return MislabelCheck(False, 0, float("nan"), float("nan"), float("nan"))
    coords = shapely.get_coordinates(lg)
    rng = np.random.default_rng(seed)
    if len(coords) > _MISLABEL_SAMPLE:
        coords = coords[rng.choice(len(coords), _MISLABEL_SAMPLE, replace=False)]
    cx, cy = coords.mean(axis=0)
    dx, dy = psad56_shift(float(cx), float(cy))
    shift = float(np.hypot(dx, dy))
    shift_xy = np.array([dx, dy])
    # Each distance is at most its bound, so the median misfit is at most the bounds' median (the factor
    # covers the last-bit rounding between two ways of computing one distance).
    if bound is not None and float(np.median(bound(coords))) * (1 + 1e-9) < _MISLABEL_MIN_MISFIT * shift:
        return MislabelCheck(False, 0, shift, float("nan"), float("nan"))
    as_read = _misfit(np.asarray(shapely.points(coords)), tree)
    plus = _misfit(np.asarray(shapely.points(coords + shift_xy)), tree)
    minus = _misfit(np.asarray(shapely.points(coords - shift_xy)), tree)
    best, direction = (plus, 1) if plus <= minus else (minus, -1)
    mislabelled = bool(as_read >= _MISLABEL_MIN_MISFIT * shift and best < _MISLABEL_IMPROVEMENT * as_read)
    return MislabelCheck(mislabelled, direction if mislabelled else 0, shift, as_read, best)


__all__ = [
    "CRS_ALIASES",
    "DMQ_EXTENT",
    "EXTENT_MARGIN_M",
    "PSAD56_TM_QUITO",
    "TM_QUITO",
    "ExtentCheck",
    "MislabelCheck",
    "check_extent",
    "detect_psad56_mislabel",
    "is_tm_quito",
    "psad56_shift",
    "recognise_crs",
    "reference_tree",
    "to_tm_quito",
]
