"""`quitogeo calc`: the JSON of cli.md, the readable breakdown, and exit 2 with one line for invalid input."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from quitogeo.cli.main import cli

ACCEPTANCE = [
    "calc",
    "edificabilidad",
    "--alfa",
    "0.12",
    "--vc",
    "500",
    "--fu",
    "1.0",
    "--ae",
    "300",
    "--area-terreno",
    "400",
    "--aiva",
    "450",
]
PRE_OK = [
    "--lote-minimo-anterior",
    "600",
    "--lote-minimo-nuevo",
    "400",
    "--lote-resultante-menor",
    "450",
    "--cos-pb-anterior",
    "35",
    "--cos-pb-nuevo",
    "40",
    "--pisos-anterior",
    "3",
    "--pisos-nuevo",
    "3",
]
LOTE = ["calc", "lote-minimo", "--vsa", "250000", "--ir", "0.15", "--aiva", "520"]


def run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args)


def assert_usage_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # one clear line, no traceback
    assert lines[0].startswith("Error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert result.stdout == ""


def test_acceptance_example_json() -> None:
    # Vs = 0.12 × 500 × 1.0 = 60; IC = 0.75, AIVA 450 → β = 0.22; 60 × 300 × 0.22 = 3960.00
    result = run([*ACCEPTANCE, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cod"] == "3960.00"
    expected_types = {
        "ambito": str,
        "cod": str,
        "beta": float,
        "beta_fila": int,
        "beta_columna": int,
        "ic": float,
        "vs": float,
        "exoneracion": float,
        "cod_exonerado": str,
        "formula": str,
        "fuente": str,
        "verificado": bool,
    }
    for key, typ in expected_types.items():
        assert isinstance(data[key], typ), key
    assert (data["ambito"], data["beta"], data["beta_fila"], data["beta_columna"]) == (
        "edificabilidad",
        0.22,
        2,
        1,
    )
    assert (data["ic"], data["vs"], data["exoneracion"], data["cod_exonerado"]) == (
        0.75,
        60.0,
        0.0,
        "3960.00",
    )
    assert data["formula"] == "COD = Vs × Ae × β; Vs = α × Vc × Fu"
    assert data["verificado"] is False


def test_readable_breakdown() -> None:
    result = run(ACCEPTANCE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in [
        "Ámbito: edificabilidad",
        "Vs ($/m²): 60.0000",
        "IC: 0.7500",
        "β: 0.22 (fila 2",
        "COD: $ 3960.00",
        "REGLAS NO VERIFICADAS",
    ]:
        assert text in out, text
    assert len(out.splitlines()) >= 10  # one line per quantity


def test_verified_rules_file_drops_the_warning(tmp_path: Path) -> None:
    text = resources.files("quitogeo.rules").joinpath("quito_2024.toml").read_text(encoding="utf-8")
    path = tmp_path / "verificadas.toml"
    path.write_text(text.replace("verificado = false", "verificado = true", 1), encoding="utf-8")
    result = run([*ACCEPTANCE, "--rules", str(path)])
    assert result.exit_code == 0 and "REGLAS NO VERIFICADAS" not in result.stdout
    data = json.loads(run([*ACCEPTANCE, "--rules", str(path), "--json"]).stdout)
    assert data["verificado"] is True


def test_user_rules_change_the_result(tmp_path: Path) -> None:
    text = resources.files("quitogeo.rules").joinpath("quito_2024.toml").read_text(encoding="utf-8")
    path = tmp_path / "beta.toml"
    path.write_text(text.replace("[0.22, 0.23, 0.25]", "[0.50, 0.23, 0.25]", 1), encoding="utf-8")
    # 60 × 300 × 0.50 = 9000.00
    assert json.loads(run([*ACCEPTANCE, "--rules", str(path), "--json"]).stdout)["cod"] == "9000.00"


def test_lote_minimo_preconditions_not_verified_note() -> None:
    result = run(LOTE)
    assert result.exit_code == 0
    assert "NO VERIFICADA" in result.stdout and "COD: $ 9750.00" in result.stdout
    result = run([*LOTE, *PRE_OK, "--json"])
    data = json.loads(result.stdout)
    assert data["cod"] == "9750.00" and data["precondiciones_verificadas"] is True and data["vs"] is None


def test_vis_and_beneficio_options() -> None:
    # 3960 × (1 − 80/300) = 2904.00
    data = json.loads(run([*ACCEPTANCE, "--vis", "80", "--area-util-proyecto", "400", "--json"]).stdout)
    assert data["cod"] == "3960.00" and data["cod_exonerado"] == "2904.00"
    # beneficio: 60 × 300 = 18000.00, β = 1
    data = json.loads(run([*ACCEPTANCE, "--beneficio", "--json"]).stdout)
    assert data["cod"] == "18000.00" and data["beta"] == 1.0


def test_uso_with_components_and_regimen() -> None:
    # Vcc PH = (30000 + 2000) / 80 + 600 / 20 = 430; Vs_c = 43; 43 × 0.4 × 80 × 0.22 = 302.72
    result = run(
        [
            "calc",
            "uso",
            "--alfa",
            "0.10",
            "--avaluo-cubiertas",
            "30000",
            "--area-cubiertas",
            "80",
            "--avaluo-comunal",
            "2000",
            "--avaluo-abiertas",
            "600",
            "--area-abiertas",
            "20",
            "--regimen",
            "propiedad-horizontal",
            "--ir",
            "0.4",
            "--auv",
            "80",
            "--aiva",
            "200",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cod"] == "302.72"


def test_weighted_fu_option() -> None:
    # Fu = (1.0 × 300 + 1.2 × 100) / 400 = 1.05; 0.12 × 500 × 1.05 × 300 × 0.22 = 4158.00
    args = [a for a in ACCEPTANCE if a not in ("--fu", "1.0")]
    result = run([*args, "--fu-uso", "1.0:300", "--fu-uso", "1.2:100", "--json"])
    assert json.loads(result.stdout)["cod"] == "4158.00"


# ----------------------------------------------------------------------------------------------- errors
def _with(option: str, value: str) -> list[str]:
    args = list(ACCEPTANCE)
    args[args.index(option) + 1] = value
    return args


@pytest.mark.parametrize(
    ("option", "value", "needles"),
    [
        ("--area-terreno", "-400", ("area_terreno", "negativo")),
        ("--ae", "-1", ("ae", "negativo")),
        ("--alfa", "0.05", ("alfa", "[0.07, 0.2]", "Anexo 01")),
        ("--alfa", "0.21", ("alfa", "[0.07, 0.2]")),
        ("--fu", "1,5", ("--fu", "punto decimal")),
        ("--vc", "1,000", ("--vc", "separador de miles")),
        ("--aiva", "inf", ("--aiva", "no es un número")),
        ("--ae", "nan", ("--ae", "no es un número")),
        ("--area-terreno", "0", ("area_terreno", "= 0")),
    ],
)
def test_invalid_values_exit_2_with_one_line(option: str, value: str, needles: tuple[str, ...]) -> None:
    assert_usage_error(run(_with(option, value)), *needles)


@pytest.mark.parametrize("missing", ["--alfa", "--vc", "--ae", "--area-terreno", "--aiva"])
def test_missing_parameter_exits_2(missing: str) -> None:
    args = list(ACCEPTANCE)
    i = args.index(missing)
    del args[i : i + 2]
    assert_usage_error(run(args), "falta el parámetro", missing, "edificabilidad")


@pytest.mark.parametrize(
    ("option", "value", "needles"),
    [
        ("--lote-minimo-nuevo", "600", ("§2.2.2 a)", "--lote-minimo-nuevo")),
        ("--lote-resultante-menor", "650", ("§2.2.2 a)", "--lote-resultante-menor")),
        ("--cos-pb-nuevo", "30", ("§2.2.2 b)", "--cos-pb-nuevo")),
        ("--pisos-nuevo", "2", ("§2.2.2 b)", "--pisos-nuevo")),
    ],
)
def test_each_failing_precondition_exits_2(option: str, value: str, needles: tuple[str, ...]) -> None:
    args = [*LOTE, *PRE_OK]
    args[args.index(option) + 1] = value
    assert_usage_error(run(args), *needles)


def test_superfluous_parameter_and_unknown_ambito_exit_2() -> None:
    assert_usage_error(run([*ACCEPTANCE, "--vsa", "100"]), "--vsa", "no interviene")
    assert_usage_error(run(["calc", "edificacion", "--ae", "1"]), "edificacion", "desconocido")


def test_invalid_rules_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "malas.toml"
    path.write_text('version = "x"\n', encoding="utf-8")
    assert_usage_error(run([*ACCEPTANCE, "--rules", str(path)]), "falta la clave")


def test_help_lists_every_option_of_cli_md() -> None:
    result = run(["calc", "--help"])
    assert result.exit_code == 0
    for opt in [
        "--alfa",
        "--vc",
        "--fu",
        "--vcc",
        "--avaluo-cubiertas",
        "--area-cubiertas",
        "--regimen",
        "--avaluo-terreno",
        "--ae",
        "--area-terreno",
        "--aiva",
        "--ir",
        "--auv",
        "--vsa",
        "--lote-minimo-anterior",
        "--lote-minimo-nuevo",
        "--lote-resultante-menor",
        "--cos-pb-anterior",
        "--cos-pb-nuevo",
        "--pisos-anterior",
        "--pisos-nuevo",
        "--vis",
        "--area-util-proyecto",
        "--beneficio",
        "--json",
        "--rules",
    ]:
        assert opt in result.output, opt
