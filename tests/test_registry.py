"""The PPCCAAMM registry package: build, check, and the CLI (normativa.md §4)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from quitogeo.cli.main import cli
from quitogeo.errors import OutputExistsError, RegistryError
from quitogeo.export.registry import (
    FIELD_NAMES,
    MAX_FIELD_LEN,
    build_registry,
    check_registry,
    dbf_field_names,
    field_mapping,
    package_name,
)
from quitogeo.io.crs import TM_QUITO

TM = TM_QUITO
X0, Y0 = 498_600.0, 9_975_600.0  # near Plaza Grande


def small_project() -> dict[str, gpd.GeoDataFrame]:
    """Three lots and one feature per context layer, in TM-Quito."""
    boxes = [shapely.box(X0 + 30 * i, Y0, X0 + 30 * i + 25, Y0 + 20) for i in range(3)]
    predios = gpd.GeoDataFrame(
        {
            "clave_catastral": ["0010203001", "0010203002", "0010203003"],
            "area_escritura": [500.0, 480.5, 510.0],
            "avaluo_instalaciones_especiales": [0.0, 1200.0, 0.0],
            "parroquia": ["Iñaquito", "Iñaquito", "Belisario Quevedo"],
        },
        geometry=boxes,
        crs=TM,
    )
    area = shapely.box(X0 - 50, Y0 - 50, X0 + 150, Y0 + 100)
    pugs = gpd.GeoDataFrame(
        {
            "codigo_pit": ["PIT-1", "PIT-2"],
            "uso_principal": ["RU2", "M"],
            "clasificacion": ["urbano", "urbano"],
            "subclasificacion": ["consolidado", "consolidado"],
            "cos_total_maximo": [300.0, 400.0],
        },
        geometry=[
            shapely.box(X0 - 50, Y0 - 50, X0 + 50, Y0 + 100),
            shapely.box(X0 + 50, Y0 - 50, X0 + 150, Y0 + 100),
        ],
        crs=TM,
    )
    return {
        "predios": predios,
        "pugs": pugs,
        "aiva": gpd.GeoDataFrame({"codigo_aiva": ["A-17"], "valor_m2": [420.0]}, geometry=[area], crs=TM),
        "zuae": gpd.GeoDataFrame(
            {"codigo_zuae": ["Z1"], "nombre": ["Eje Amazonas"]}, geometry=[area], crs=TM
        ),
        "vias": gpd.GeoDataFrame(
            {"ancho_m": [14.0], "nombre": ["Av. 10 de Agosto"]},
            geometry=[shapely.LineString([(X0 - 50, Y0 - 2), (X0 + 150, Y0 - 2)])],
            crs=TM,
        ),
        "estaciones": gpd.GeoDataFrame(
            {"nombre": ["La Carolina"], "sistema": ["metro"]}, geometry=[shapely.Point(X0, Y0 + 60)], crs=TM
        ),
        "planes_especiales": gpd.GeoDataFrame({"nombre": ["Plan Parcial Norte"]}, geometry=[area], crs=TM),
    }


@pytest.fixture()
def package(tmp_path: Path) -> Path:
    return build_registry(small_project(), fecha="2026-11", out_dir=tmp_path, zip=True)


def blocking(problems: pd.DataFrame) -> pd.DataFrame:
    return problems[problems["bloqueante"]]


def test_package_name_quito_november_2026() -> None:
    # 17 Pichincha, 01 Quito, 26 = 2026, 11 = November
    assert package_name("2026-11") == "17012611"
    for bad in ("2026-13", "2026-00", "26-11", "2026/11", "noviembre"):
        with pytest.raises(RegistryError, match="AAAA-MM"):
            package_name(bad)


def test_build_writes_four_subfolders_complete_shapefiles_and_zip(package: Path) -> None:
    assert package.name == "17012611"
    assert sorted(p.name for p in package.iterdir()) == ["DIAG", "ORD", "PUC", "PUGS"]
    assert (package / "DIAG" / "predios.shp").is_file()
    assert (package / "PUGS" / "pugs.shp").is_file()
    assert (package / "PUGS" / "clasificacion_suelo.shp").is_file()
    assert (package / "PUC" / "planes_especiales.shp").is_file()
    for shp in package.rglob("*.shp"):
        for part in (".shx", ".dbf", ".prj", ".cpg"):
            assert shp.with_suffix(part).is_file(), shp.with_suffix(part)
        assert shp.with_suffix(".cpg").read_text().strip() == "UTF-8"
        assert pyogrio.read_dataframe(shp).crs.equals(TM)
        assert all(len(n) <= MAX_FIELD_LEN for n in dbf_field_names(shp.with_suffix(".dbf")))
    with zipfile.ZipFile(package.with_suffix(".zip")) as archive:
        names = set(archive.namelist())
    assert "17012611/DIAG/predios.shp" in names
    assert "17012611/PUGS/diccionario_campos.csv" in names


def test_renaming_is_explicit_and_documented(package: Path) -> None:
    predios = pyogrio.read_dataframe(package / "DIAG" / "predios.shp")
    # the 31-character column goes through the table, never GDAL's truncation ('avaluo_ins')
    assert "AVAL_INST" in predios.columns and "avaluo_ins" not in predios.columns
    assert list(predios["CLAVE_CAT"]) == ["0010203001", "0010203002", "0010203003"]  # leading zeros kept
    assert predios["PARROQUIA"].iloc[0] == "Iñaquito"  # UTF-8 survives
    dictionary = pd.read_csv(package / "DIAG" / "diccionario_campos.csv", dtype=str)
    row = dictionary[(dictionary["capa"] == "predios") & (dictionary["nombre_original"] == "clave_catastral")]
    assert row["nombre_shapefile"].tolist() == ["CLAVE_CAT"]
    assert (package / "ORD" / "diccionario_campos.csv").is_file()
    # clasificacion_suelo: two PIT of the same class dissolve to one polygon
    clasif = pyogrio.read_dataframe(package / "PUGS" / "clasificacion_suelo.shp")
    assert len(clasif) == 1


def test_field_table_names_fit_and_long_unknown_columns_get_generated_names() -> None:
    assert all(len(name) <= MAX_FIELD_LEN for name, _ in FIELD_NAMES.values())
    mapping = field_mapping(["superficie_construida_total", "superficie_construida_parcial", "x"], layer="t")
    names = [new for _, new, _ in mapping]
    assert names == ["SUPERFI_01", "SUPERFI_02", "X"]
    assert "nombre generado" in mapping[0][2]


def test_check_passes_on_built_package(package: Path) -> None:
    problems = check_registry(package)
    assert blocking(problems).empty, problems.to_string()
    # without --ordenanza, ORD/ is empty: a note, not a blocking problem
    assert problems["problema"].str.contains("ordenanza").any()


def test_ordinance_is_copied_and_then_nothing_to_note(tmp_path: Path) -> None:
    pdf = tmp_path / "ordenanza_pugs_001.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    package = build_registry(small_project(), fecha="2026-11", out_dir=tmp_path / "out", ordenanza_pdf=pdf)
    assert (package / "ORD" / "ordenanza_pugs_001.pdf").read_bytes() == pdf.read_bytes()
    assert check_registry(package).empty


def test_refuses_to_overwrite(package: Path) -> None:
    with pytest.raises(OutputExistsError, match="17012611"):
        build_registry(small_project(), fecha="2026-11", out_dir=package.parent)
    again = build_registry(small_project(), fecha="2026-11", out_dir=package.parent, zip=True, overwrite=True)
    assert again == package


def test_check_names_a_missing_prj(package: Path) -> None:
    (package / "DIAG" / "predios.prj").unlink()
    problems = blocking(check_registry(package))
    assert len(problems) == 1
    assert problems["ruta"].iloc[0] == "17012611/DIAG/predios.prj"
    assert "predios.prj" in problems["problema"].iloc[0]


def test_check_names_an_11_character_field(package: Path) -> None:
    dbf = package / "DIAG" / "predios.dbf"
    data = bytearray(dbf.read_bytes())
    # field descriptors start at byte 32, 32 bytes each, name in the first 11: make 'CLAVE_CAT' 11 characters
    assert data[32:41] == b"CLAVE_CAT"
    data[32:43] = b"CLAVE_CATAS"
    dbf.write_bytes(bytes(data))
    problems = blocking(check_registry(package))
    assert problems["problema"].str.contains("'CLAVE_CATAS' tiene 11 caracteres").any(), problems.to_string()


def test_check_names_a_wrongly_named_folder(package: Path) -> None:
    wrong = package.rename(package.parent / "quito_2611")
    problems = blocking(check_registry(wrong))
    assert problems["problema"].str.contains("PPCCAAMM").any()
    month13 = wrong.rename(package.parent / "17012613")
    assert blocking(check_registry(month13))["problema"].str.contains("mes '13'").any()


def test_check_names_a_missing_subfolder(package: Path) -> None:
    (package / "PUC" / "planes_especiales.shp").unlink()
    for f in (package / "PUC").iterdir():
        f.unlink()
    (package / "PUC").rmdir()
    problems = blocking(check_registry(package))
    assert problems["problema"].tolist() == ["falta la subcarpeta PUC"]


def test_cli_builds_and_checks(tmp_path: Path) -> None:
    project_path = tmp_path / "proyecto.gpkg"
    for name, layer in small_project().items():
        layer.to_file(project_path, layer=name, driver="GPKG")
    runner = CliRunner()
    out = tmp_path / "salida"
    result = runner.invoke(
        cli, ["registry", str(project_path), "--fecha", "2026-11", "--out", str(out), "--zip"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "17012611.zip").is_file()
    ok = runner.invoke(cli, ["registry", "--check", str(out / "17012611")])
    assert ok.exit_code == 0, ok.output
    assert "Paquete válido" in ok.output
    (out / "17012611" / "PUGS" / "zuae.prj").unlink()
    bad = runner.invoke(cli, ["registry", "--check", str(out / "17012611")])
    assert bad.exit_code == 1
    assert "ERROR: 17012611/PUGS/zuae.prj" in bad.output


def test_cli_usage_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["registry"])
    assert result.exit_code == 2
    assert "--fecha" in result.output


@pytest.mark.slow
def test_sample_project_package(tmp_path: Path) -> None:
    from quitogeo.io import read_project, sample_project_path

    if not sample_project_path().is_file():
        pytest.skip(f"no está el proyecto de muestra {sample_project_path()}")
    package = build_registry(read_project(), fecha="2026-11", out_dir=tmp_path, zip=True)
    assert package.name == "17012611" and package.with_suffix(".zip").is_file()
    assert sorted(p.name for p in package.iterdir()) == ["DIAG", "ORD", "PUC", "PUGS"]
    assert (package / "DIAG" / "predios.shp").is_file() and (package / "PUGS" / "pugs.shp").is_file()
    assert blocking(check_registry(package)).empty
