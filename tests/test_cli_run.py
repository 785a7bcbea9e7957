"""`quitogeo run` on a hand-built project: outputs, summary, refusal to overwrite, exit codes."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner

from quitogeo.cli.main import cli
from quitogeo.io.crs import TM_QUITO
from quitogeo.testing import golden_layers


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("proj") / "golden.gpkg"
    for name, frame in golden_layers().items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", append=path.exists())
    return path


def test_run_writes_outputs_and_prints_summary(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "salida"
    result = CliRunner().invoke(cli, ["run", str(project), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "resultados.gpkg").is_file() and (out / "resumen.csv").is_file()
    text = result.output
    assert "Predios leídos: 12" in text
    assert "ZUAE 3 · COS PB 4 · eco-eficiencia 2" in text
    assert "Eugenio Espejo" in text and "USD\u00a0335.275,20" in text  # quitogeo.formatting
    assert "NOTA: reglas NO verificadas" in text
    assert "quito-2024.1" in text
    info = pyogrio.read_info(out / "resultados.gpkg", layer="predios_resultado")
    assert info["features"] == 12
    assert pyogrio.read_dataframe(
        out / "resultados.gpkg", layer="predios_resultado", max_features=1
    ).crs.equals(TM_QUITO)


def test_run_refuses_existing_outputs(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "salida"
    assert CliRunner().invoke(cli, ["run", str(project), "--out", str(out)]).exit_code == 0
    again = CliRunner().invoke(cli, ["run", str(project), "--out", str(out)])
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    assert CliRunner().invoke(cli, ["run", str(project), "--out", str(out), "--overwrite"]).exit_code == 0


def test_unknown_scenario_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(tmp_path), "--escenario", "no_existe"]
    )
    assert result.exit_code == 2
    assert "pugs_maxima" in result.output  # lists the ones that exist


def test_scenario_option_is_used(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(tmp_path), "--escenario", "zuae_2_pisos"]
    )
    assert result.exit_code == 0, result.output
    assert "Escenario: zuae_2_pisos" in result.output
    meta = pyogrio.read_dataframe(tmp_path / "resultados.gpkg", layer="metadatos", read_geometry=False)
    assert dict(zip(meta["clave"], meta["valor"], strict=True))["escenario"] == "zuae_2_pisos"


def test_missing_project_is_a_data_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "nada.gpkg"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "nada.gpkg" in result.output
