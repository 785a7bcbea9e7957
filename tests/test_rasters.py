import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from quitogeo.io.crs import TM_QUITO
from quitogeo.io.rasters import sample_raster, zonal_stats

X0, Y0 = 498_000.0, 9_976_000.0


def write_raster(path, data, *, res=10.0, crs=None, nodata=-9999.0):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs or rasterio.crs.CRS.from_wkt(TM_QUITO.to_wkt()),
        transform=from_origin(X0, Y0, res, res),
        nodata=nodata,
    ) as ds:
        ds.write(data, 1)
    return path


def lots():
    # Two 40 × 40 m lots: one on the west half of the raster, one on the east half; one missing geometry.
    return gpd.GeoSeries(
        [
            shapely.box(X0 + 10, Y0 - 90, X0 + 50, Y0 - 50),
            shapely.box(X0 + 110, Y0 - 90, X0 + 150, Y0 - 50),
            None,
        ],
        crs=TM_QUITO,
        index=[7, 8, 9],
    )


def test_mean_and_majority(tmp_path):
    data = np.zeros((20, 20), dtype="float32")
    data[:, :10] = 2800.0  # west: flat 2800 m
    data[:, 10:] = 3000.0  # east: 3000 m
    path = write_raster(tmp_path / "dem.tif", data)
    mean = zonal_stats(lots(), path, stat="mean", resolution=10.0)
    assert list(mean.index) == [7, 8, 9]
    assert mean[7] == pytest.approx(2800.0, abs=1e-6)
    assert mean[8] == pytest.approx(3000.0, abs=1e-6)
    assert np.isnan(mean[9])
    classes = np.ones((20, 20), dtype="int16")
    classes[:, 12:] = 3
    cpath = write_raster(tmp_path / "riesgo.tif", classes, nodata=0)
    major = zonal_stats(lots(), cpath, stat="majority", resolution=10.0)
    # Lot 8 spans columns 11–14: one column of class 1, three of class 3 → 3.
    assert major[7] == 1 and major[8] == 3


def test_slope_of_a_plane(tmp_path):
    # z rises 1 m per metre eastward: slope 45°.
    xs = np.arange(40) * 5.0
    data = np.tile(xs, (40, 1)).astype("float32")
    path = write_raster(tmp_path / "plano.tif", data, res=5.0)
    slope = zonal_stats(lots().iloc[:2], path, stat="slope_mean", resolution=5.0)
    np.testing.assert_allclose(slope.to_numpy(), 45.0, atol=0.5)


def test_reprojected_raster_in_degrees(tmp_path):
    # The same west/east raster written in EPSG:4326 (cells ~10 m) still gives the right means.
    from pyproj import Transformer

    tr = Transformer.from_crs(TM_QUITO, "EPSG:4326", always_xy=True)
    lon0, lat0 = tr.transform(X0, Y0)
    deg = 10.0 / 111_320.0
    data = np.zeros((40, 40), dtype="float32")
    data[:, :20] = 100.0
    data[:, 20:] = 200.0
    with rasterio.open(
        tmp_path / "geo.tif",
        "w",
        driver="GTiff",
        width=40,
        height=40,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(lon0, lat0, deg, deg),
    ) as ds:
        ds.write(data, 1)
    near = gpd.GeoSeries(
        [
            shapely.box(X0 + 20, Y0 - 120, X0 + 60, Y0 - 80),
            shapely.box(X0 + 300, Y0 - 120, X0 + 340, Y0 - 80),
        ],
        crs=TM_QUITO,
    )
    mean = zonal_stats(near, tmp_path / "geo.tif")
    assert mean.iloc[0] == pytest.approx(100.0, abs=1.0)
    assert mean.iloc[1] == pytest.approx(200.0, abs=1.0)
    vals = sample_raster(near.centroid, tmp_path / "geo.tif")
    np.testing.assert_allclose(vals, [100.0, 200.0])


def test_small_lot_gets_a_value(tmp_path):
    data = np.full((20, 20), 5.0, dtype="float32")
    path = write_raster(tmp_path / "r.tif", data, res=50.0)
    tiny = gpd.GeoSeries([shapely.box(X0 + 101, Y0 - 199, X0 + 104, Y0 - 196)], crs=TM_QUITO)
    assert zonal_stats(tiny, path, resolution=50.0).iloc[0] == pytest.approx(5.0)
