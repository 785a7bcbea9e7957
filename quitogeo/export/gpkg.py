"""Write and read a run's results: ``resultados.gpkg`` (layers.md, "Outputs of a run") and ``resumen.csv``.

``resultados.gpkg`` holds ``predios_resultado`` (polygons in TM-Quito) and the attribute tables ``resumen``,
``problemas`` and ``metadatos``. Each file is written under a temporary name in the output folder and renamed
when complete, so a crash never leaves a half-written file with the final name; existing outputs are refused
unless ``overwrite=True``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from quitogeo.errors import OutputExistsError, ProjectNotFoundError

#: File names of a run's outputs inside the output folder.
RESULTS_FILE = "resultados.gpkg"
SUMMARY_FILE = "resumen.csv"

#: Layer names inside :data:`RESULTS_FILE`.
LAYERS: tuple[str, ...] = ("predios_resultado", "resumen", "problemas", "metadatos")

#  Integer columns of ``predios_resultado`` that may hold nulls (GDAL returns them as float; restored as
# Int64).
INT_COLUMNS: tuple[str, ...] = (
    "n_vias_frente",
    "pisos_adicionales_max",
    "pisos_adicionales_zuae",
    "beta_fila",
    "beta_columna",
    "cod_centavos",
    "n_pit",
    "n_aiva",
)


def _is_bool_column(name: str) -> bool:
    from quitogeo.eligibility import CONDITIONS

    conditions = {c for names in CONDITIONS.values() for c in names}
    return (
        name in conditions
        or name.startswith(("en_", "elegible_"))
        or name in ("frente_sin_continuidad", "riesgo_no_mitigable")
    )


def _tmp(folder: Path, name: str) -> Path:
    stem, dot, ext = name.rpartition(".")
    return folder / f".{stem}.tmp-{uuid.uuid4().hex[:8]}{dot}{ext}"


def write_results(result: object, out_dir: str | Path, *, overwrite: bool = False) -> dict[str, Path]:
    """Write a :class:`~quitogeo.pipeline.RunResult` to ``out_dir``.

    Parameters
    ----------
    result : RunResult
        From :func:`quitogeo.pipeline.run` (or :func:`read_results`).
    out_dir : str or Path
        Output folder (created when missing).
    overwrite : bool, optional
        Replace existing ``resultados.gpkg`` / ``resumen.csv``; without it they are refused.

    Returns
    -------
    dict of str to Path
        ``{"resultados": …/resultados.gpkg, "resumen": …/resumen.csv}``.

    Raises
    ------
    OutputExistsError
        When an output exists and ``overwrite`` is False.
    """
    folder = Path(out_dir)
    targets = {"resultados": folder / RESULTS_FILE, "resumen": folder / SUMMARY_FILE}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"ya existe {', '.join(existing)}; use --overwrite (overwrite=True) para reemplazar o elija otra "
            "carpeta de salida"
        )
    folder.mkdir(parents=True, exist_ok=True)
    predios: gpd.GeoDataFrame = result.predios  # type: ignore[attr-defined]
    tables = {
        "resumen": result.resumen,  # type: ignore[attr-defined]
        "problemas": result.problemas,  # type: ignore[attr-defined]
        "metadatos": result.metadatos,  # type: ignore[attr-defined]
    }
    tmp_gpkg = _tmp(folder, RESULTS_FILE)
    tmp_csv = _tmp(folder, SUMMARY_FILE)
    try:
        pyogrio.write_dataframe(
            predios.reset_index(drop=True),
            tmp_gpkg,
            layer="predios_resultado",
            driver="GPKG",
            use_arrow=True,
        )
        for name, table in tables.items():
            pyogrio.write_dataframe(
                pd.DataFrame(table).reset_index(drop=True),
                tmp_gpkg,
                layer=name,
                driver="GPKG",
                use_arrow=True,
                append=False,
            )
        # utf-8 with BOM so that a planner opening it in a spreadsheet sees the accents right
        pd.DataFrame(tables["resumen"]).to_csv(tmp_csv, index=False, encoding="utf-8-sig")
        os.replace(tmp_gpkg, targets["resultados"])
        os.replace(tmp_csv, targets["resumen"])
    finally:
        for tmp in (tmp_gpkg, tmp_csv):
            if tmp.exists():
                tmp.unlink()
    return targets


def _restore_types(frame: pd.DataFrame) -> pd.DataFrame:
    for col in frame.columns:
        if col == "geometry":
            continue
        s = frame[col]
        if col in INT_COLUMNS:
            frame[col] = pd.array(s.to_numpy(dtype=np.float64, na_value=np.nan), dtype="Float64").astype(
                "Int64"
            )
        elif _is_bool_column(col):
            frame[col] = s.astype("boolean")
    return frame


def read_results(path: str | Path) -> object:
    """Read a results GeoPackage (or the folder holding ``resultados.gpkg``) back into a RunResult.

    Parameters
    ----------
    path : str or Path
        ``resultados.gpkg`` or its folder.

    Returns
    -------
    RunResult
        With nullable booleans and integers restored as in :func:`quitogeo.pipeline.run`.
    """
    from quitogeo.pipeline import RunResult

    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_FILE
    if not p.is_file():
        raise ProjectNotFoundError(f"no existe el archivo de resultados {p}; ejecute 'quitogeo run' primero")
    present = {str(row[0]) for row in pyogrio.list_layers(p)}
    missing = [name for name in LAYERS if name not in present]
    if missing:
        raise ProjectNotFoundError(
            f"{p} no es un resultado de quitogeo: faltan las capas {', '.join(missing)}"
        )
    predios = pyogrio.read_dataframe(p, layer="predios_resultado", use_arrow=True)
    tables = {
        name: pd.DataFrame(pyogrio.read_dataframe(p, layer=name, use_arrow=True, read_geometry=False))
        for name in ("resumen", "problemas", "metadatos")
    }
    if "bloqueante" in tables["problemas"].columns:
        tables["problemas"]["bloqueante"] = tables["problemas"]["bloqueante"].astype(bool)
    return RunResult(
        predios=_restore_types(predios),
        resumen=tables["resumen"],
        problemas=tables["problemas"],
        metadatos=tables["metadatos"],
    )


__all__ = ["INT_COLUMNS", "LAYERS", "RESULTS_FILE", "SUMMARY_FILE", "read_results", "write_results"]
