"""The rules loader: the packaged file loads, and every kind of mistake is a RulesError naming the key."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from quitogeo.errors import RulesError
from quitogeo.rules import SCHEMA, Rules, load_rules, packaged_rules, parse_rules

PACKAGED = resources.files("quitogeo.rules").joinpath("quito_2024.toml").read_text(encoding="utf-8")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"el archivo empaquetado ya no contiene {old!r}: actualice la prueba"
    return text.replace(old, new, 1)


def test_packaged_rules_load_with_identity() -> None:
    rules = load_rules()
    assert isinstance(rules, Rules)
    assert rules.version == "quito-2024.1"
    assert rules.verificado is False  # illustrative PARAM values ship unverified
    assert rules.source == "package:quito_2024.toml"
    assert re.fullmatch(r"[0-9a-f]{64}", rules.sha256)
    assert "quito_2024.toml" in packaged_rules()
    # Tabla 1 exactly as Anexo 01 prints it.
    assert rules["beta"]["tabla"] == [[0.17, 0.20, 0.21], [0.22, 0.23, 0.25], [0.26, 0.28, 0.30]]
    assert rules["beta"]["aiva_limites"] == [120.0, 500.0]
    assert rules["beta"]["ic_limites"] == [1.0, 2.0]
    assert (rules["valor_suelo"]["alfa_min"], rules["valor_suelo"]["alfa_max"]) == (0.07, 0.20)
    assert rules["umbrales"]["vis_fraccion_min"] == 0.20
    assert rules["ir"]["interpretacion"] in ("indice", "multiplicador")
    assert (rules["ir"]["ircu_residencial"], rules["ir"]["ircu_industrial"]) == (0.20, 1.18)
    assert set(rules["exoneracion"]["ambitos"]) == {
        "edificabilidad",
        "edificabilidad-uso",
        "edificabilidad-lote-minimo",
    }
    meta = rules.metadata()
    assert meta["reglas_version"] == "quito-2024.1" and meta["reglas_verificado"] is False


def test_packaged_name_and_default_are_the_same_file() -> None:
    assert load_rules("quito_2024.toml").sha256 == load_rules().sha256


def test_every_schema_section_is_in_the_packaged_file() -> None:
    rules = load_rules()
    for key in SCHEMA:
        if key != "nota":
            assert key in rules, key


def test_user_file_overrides_packaged(tmp_path: Path) -> None:
    text = _replace(PACKAGED, 'version = "quito-2024.1"', 'version = "usuario-2025"')
    text = _replace(text, "verificado = false", "verificado = true")
    text = _replace(text, "alfa = 0.12 ", "alfa = 0.15 ")
    path = tmp_path / "mis_reglas.toml"
    path.write_text(text, encoding="utf-8")
    rules = load_rules(path)
    assert rules.version == "usuario-2025"
    assert rules.verificado is True
    assert rules.alfa == 0.15
    assert rules.source == str(path)
    assert rules.sha256 != load_rules().sha256


def test_missing_user_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no existe"):
        load_rules(tmp_path / "no_hay.toml")


def test_unknown_top_level_key_is_named() -> None:
    text = "clave_rara = 1\n" + PACKAGED  # before the first [table], so it is a top-level key
    with pytest.raises(RulesError, match=r"clave desconocida 'clave_rara'"):
        parse_rules(text)


def test_unknown_nested_key_is_named_with_its_table() -> None:
    text = _replace(PACKAGED, "alfa_min = 0.07", "alfa_minimo = 0.07\nalfa_min = 0.07")
    with pytest.raises(RulesError, match=r"valor_suelo\.alfa_minimo"):
        parse_rules(text)


def test_missing_key_is_named() -> None:
    text = _replace(PACKAGED, "vis_fraccion_min = 0.20", "")
    with pytest.raises(RulesError, match=r"falta la clave 'umbrales\.vis_fraccion_min'"):
        parse_rules(text)


@pytest.mark.parametrize("alfa", ["0.05", "0.25"])
def test_alfa_out_of_range_is_refused(alfa: str) -> None:
    # Anexo 01 §2.1: α between 7 % and 20 %.
    text = _replace(PACKAGED, "alfa = 0.12 ", f"alfa = {alfa} ")
    with pytest.raises(RulesError, match=r"valor_suelo\.alfa = .* fuera de \[0\.07, 0\.2\]"):
        parse_rules(text)


def test_alfa_range_itself_must_be_valid() -> None:
    text = _replace(PACKAGED, "alfa_max = 0.20", "alfa_max = 1.5")
    with pytest.raises(RulesError, match="alfa_min"):
        parse_rules(text)


def test_missing_beta_cell_is_refused() -> None:
    text = _replace(PACKAGED, "[0.22, 0.23, 0.25]", "[0.22, 0.23]")
    with pytest.raises(RulesError, match=r"beta\.tabla .*3 filas × 3 columnas.*8 celdas"):
        parse_rules(text)


def test_beta_cell_of_wrong_type_is_named() -> None:
    text = _replace(PACKAGED, "[0.22, 0.23, 0.25]", '[0.22, "0.23", 0.25]')
    with pytest.raises(RulesError, match=r"beta\.tabla\[1\]\[1\].*debe ser número"):
        parse_rules(text)


def test_bad_type_is_named() -> None:
    text = _replace(PACKAGED, "verificado = false", 'verificado = "no"')
    with pytest.raises(RulesError, match=r"clave 'verificado' = 'no' debe ser booleano"):
        parse_rules(text)


def test_boolean_is_not_a_number() -> None:
    text = _replace(PACKAGED, "radio_metro_m = 500.0", "radio_metro_m = true")
    with pytest.raises(RulesError, match=r"influencia\.radio_metro_m"):
        parse_rules(text)


def test_non_finite_number_is_refused() -> None:
    text = _replace(PACKAGED, "alfa = 0.12 ", "alfa = nan ")
    with pytest.raises(RulesError, match=r"'valor_suelo\.alfa' = nan no es un número finito"):
        parse_rules(text)


def test_ir_switch_must_be_a_known_reading() -> None:
    text = _replace(PACKAGED, 'interpretacion = "indice"', 'interpretacion = "otro"')
    with pytest.raises(RulesError, match=r"ir\.interpretacion"):
        parse_rules(text)


def test_decreasing_band_limits_are_refused() -> None:
    text = _replace(PACKAGED, "aiva_limites = [120.0, 500.0]", "aiva_limites = [500.0, 120.0]")
    with pytest.raises(RulesError, match="crecientes"):
        parse_rules(text)


def test_unknown_ambito_in_exoneracion_is_refused() -> None:
    text = _replace(PACKAGED, 'ambitos = ["edificabilidad", ', 'ambitos = ["edificabilidades", ')
    with pytest.raises(RulesError, match=r"exoneracion\.ambitos contiene 'edificabilidades'"):
        parse_rules(text)


def test_vis_threshold_must_be_a_fraction() -> None:
    text = _replace(PACKAGED, "vis_fraccion_min = 0.20", "vis_fraccion_min = 20.0")
    with pytest.raises(RulesError, match=r"vis_fraccion_min"):
        parse_rules(text)


def test_invalid_toml_is_a_rules_error() -> None:
    with pytest.raises(RulesError, match="no es TOML válido"):
        parse_rules("version = ", source="roto.toml")
