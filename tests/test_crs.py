import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS

from quitogeo.errors import CRSError
from quitogeo.io.crs import (
    PSAD56_TM_QUITO,
    TM_QUITO,
    check_extent,
    detect_psad56_mislabel,
    is_tm_quito,
    psad56_shift,
    recognise_crs,
    to_tm_quito,
)

# The .prj ArcGIS writes for TM-Quito (as in the municipal limite_dmq.shp):
# projection "Transverse_Mercator_Complex".
QUITOW84_PRJ = (
    'PROJCS["quitow84",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator_Complex"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",10000000.0],'
    'PARAMETER["Central_Meridian",-78.5],PARAMETER["Scale_Factor",1.0004584],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


def _pt(x, y, crs):
    return gpd.GeoDataFrame(geometry=[shapely.Point(x, y)], crs=crs)


def test_plaza_grande_to_tm_quito():
    # normativa §5 check: Plaza Grande (lat −0.2201, lon −78.5123) → E 498 630.15, N 9 975 651.44.
    p = to_tm_quito(_pt(-78.5123, -0.2201, "EPSG:4326")).geometry.iloc[0]
    assert p.x == pytest.approx(498_630.15, abs=0.01)
    assert p.y == pytest.approx(9_975_651.44, abs=0.01)


@pytest.mark.parametrize(
    "definition",
    [
        TM_QUITO.to_wkt(),
        "+proj=tmerc +lat_0=0 +lon_0=-78.5 +k=1.0004584 +x_0=500000 +y_0=10000000 +datum=WGS84 +units=m",
        "+proj=tmerc +lat_0=0 +lon_0=-78.5 +k=1.0004584 +x_0=500000 +y_0=10000000 +ellps=WGS84 +units=m",
        "tm_quito",
    ],
)
def test_tm_quito_recognised_however_written(definition):
    assert is_tm_quito(definition)
    assert recognise_crs(definition) is TM_QUITO


def test_arcgis_quitow84_prj_recognised():
    crs = CRS.from_user_input(QUITOW84_PRJ) if _esri_ok() else None
    if crs is None:
        pytest.skip("esta versión de PROJ no lee el WKT ESRI directamente")
    assert is_tm_quito(crs)


def _esri_ok():
    try:
        CRS.from_user_input(QUITOW84_PRJ)
        return True
    except Exception:
        return False


def test_other_crs_not_tm_quito():
    assert not is_tm_quito("EPSG:32717")
    assert not is_tm_quito("EPSG:4326")
    # A different scale factor is another projection.
    assert not is_tm_quito(
        "+proj=tmerc +lat_0=0 +lon_0=-78.5 +k=0.9996 +x_0=500000 +y_0=10000000 +ellps=WGS84"
    )


def test_psad56_recognised_and_shift_applied():
    # A PSAD56 .prj without Helmert parameters still gets normativa §5's shift.
    bare = "+proj=tmerc +lat_0=0 +lon_0=-78.5 +k=1.0004584 +x_0=500000 +y_0=10000000 +ellps=intl +units=m"
    assert recognise_crs(bare) is PSAD56_TM_QUITO
    assert not is_tm_quito(bare)
    dx, dy = psad56_shift(498_630.0, 9_975_651.0)
    # Measured with pyproj: about +218 m E, +428 m N (≈ 480 m) at Plaza Grande.
    assert 150 < dx < 300 and 350 < dy < 500
    moved = to_tm_quito(_pt(498_412.07, 9_975_223.66, bare)).geometry.iloc[0]
    assert moved.x == pytest.approx(498_412.07 + dx, abs=0.5)
    assert moved.y == pytest.approx(9_975_223.66 + dy, abs=0.5)


def test_utm_reprojected_and_never_in_degrees():
    utm = _pt(-78.5123, -0.2201, "EPSG:4326").to_crs("EPSG:32717")
    out = to_tm_quito(utm)
    assert out.crs.equals(TM_QUITO)
    assert out.geometry.iloc[0].x == pytest.approx(498_630.15, abs=0.05)


def test_missing_crs_is_an_error():
    with pytest.raises(CRSError, match="sistema de coordenadas"):
        to_tm_quito(gpd.GeoDataFrame(geometry=[shapely.Point(1, 2)]))


def test_extent_metres_declared_as_degrees():
    # TM-Quito metres labelled EPSG:4326: reprojecting gives inf/absurd values → outside, with the hint.
    frame = _pt(498_630.0, 9_975_651.0, "EPSG:4326")
    try:
        tm = to_tm_quito(frame)
    except Exception:
        pytest.skip("PROJ rechaza las coordenadas")
    check = check_extent(tm, declared_crs="EPSG:4326")
    assert not check.inside
    assert "metros" in check.hint


def test_extent_degrees_declared_as_tm_quito():
    tm = to_tm_quito(_pt(-78.5, -0.2, TM_QUITO))
    check = check_extent(tm, declared_crs=TM_QUITO)
    assert not check.inside
    assert "grados" in check.hint


def test_extent_inside():
    assert check_extent(to_tm_quito(_pt(-78.5123, -0.2201, "EPSG:4326"))).inside


def test_detect_psad56_mislabel_on_a_grid():
    # A reference of 10 m lots; the same lines shifted as PSAD56 read as WGS84 would be.
    xs = 498_000 + np.arange(0, 600, 20.0)
    boxes = shapely.box(xs[:, None], 9_975_000.0, xs[:, None] + 20.0, 9_975_400.0).ravel()
    ref = gpd.GeoSeries(boxes, crs=TM_QUITO)
    dx, dy = psad56_shift(498_300.0, 9_975_200.0)
    wrong = gpd.GeoSeries(shapely.transform(boxes, lambda c: c - [dx, dy]), crs=TM_QUITO)
    verdict = detect_psad56_mislabel(wrong, ref)
    assert verdict.mislabelled and verdict.direction == 1
    assert verdict.misfit_corrected_m < 1.0
    assert not detect_psad56_mislabel(ref, ref).mislabelled


def test_extent_with_validity_known_scans_the_invalid_only():
    import warnings

    inside = shapely.box(498_000.0, 9_975_000.0, 498_020.0, 9_975_020.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nan_ring = shapely.Polygon([(498_000.0, 9_975_000.0), (498_010.0, np.nan), (498_020.0, 9_975_000.0)])
    frame = gpd.GeoDataFrame(geometry=[inside, nan_ring, None], crs=TM_QUITO)
    valid = shapely.is_valid(frame.geometry.to_numpy())
    # GEOS reports a NaN coordinate as invalid: the ring is scanned and the extent is not trusted
    assert valid.tolist() == [True, False, False]
    for known in (None, valid):
        check = check_extent(frame, valid=known)
        assert not check.inside and np.isnan(check.bounds[0])
    ok = frame.iloc[[0, 2]]
    check = check_extent(ok, valid=valid[[0, 2]])
    assert check.inside and check.bounds == (498_000.0, 9_975_000.0, 498_020.0, 9_975_020.0)
