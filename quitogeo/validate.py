"""Validation of a project against the layer contract (layers.md).

The problems table of ``quitogeo validate``.

Reading a project already checks everything (:func:`quitogeo.io.read_project` never raises on bad data, it
reports); this module is the public, report-oriented face of those checks.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quitogeo.io import read_project
from quitogeo.io.columns import LAYER_SPECS
from quitogeo.rules import Rules


def validate_project(source: str | Path | None, *, rules: Rules | str | Path | None = None) -> pd.DataFrame:
    """Check a project and return its problems table.

    Parameters
    ----------
    source : str or Path or None
        A GeoPackage, a folder of layer files or a ``quitogeo.toml``; None checks the embedded sample.
    rules : Rules, str or Path, optional
        The rules the checks use (packaged ones when None).

    Returns
    -------
    DataFrame
        Columns ``capa, id, problema, accion, correccion, bloqueante``, blocking problems first, then by
        layer in the order of layers.md. Empty when the project is clean.

    Raises
    ------
    ProjectNotFoundError
        When ``source`` does not exist or holds no layer of the contract.
    """
    problems = read_project(source, rules=rules).problems
    order = {name: i for i, name in enumerate(LAYER_SPECS)}
    key = problems["capa"].map(order).fillna(len(order))
    return (
        problems.assign(_b=~problems["bloqueante"], _k=key)
        .sort_values(["_b", "_k"], kind="stable")
        .drop(columns=["_b", "_k"])
        .reset_index(drop=True)
    )


__all__ = ["validate_project"]
