"""The command group itself: version, help, every subcommand of cli.md is registered."""

from __future__ import annotations

from click.testing import CliRunner

import quitogeo
from quitogeo.cli.main import COMMANDS, cli


def test_version_matches_package() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert quitogeo.__version__ in result.output


def test_every_command_of_the_contract_is_registered() -> None:
    # cli.md names these verbs; issue 7 adds iprus and liquidacion.
    expected = {"run", "validate", "calc", "map", "registry", "sample", "iprus", "liquidacion"}
    assert expected <= set(COMMANDS)
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in expected:
        assert name in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["no-existe"])
    assert result.exit_code == 2


def test_flat_api_names_resolve_lazily() -> None:
    assert "load_rules" in dir(quitogeo)
    rules = quitogeo.load_rules()
    assert rules.version.startswith("quito-")


def test_every_name_of_the_flat_api_resolves() -> None:
    # A renamed function behind the lazy table would otherwise only fail when a user first touches it.
    for name in quitogeo._LAZY:
        assert callable(getattr(quitogeo, name)) or name == "TM_QUITO", name
    assert quitogeo.TM_QUITO.is_projected
