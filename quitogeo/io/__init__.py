"""Inputs: reading a project's layers into the canonical contract (layers.md), in TM-Quito.

The public entry point is :func:`read_project`; :mod:`quitogeo.io.crs` holds TM-Quito and the CRS checks,
:mod:`quitogeo.io.zoning_codes` the zoning-code parser, :mod:`quitogeo.io.columns` the contract and the
presets,
:mod:`quitogeo.io.rasters` the per-lot raster summaries.
"""

from __future__ import annotations

from quitogeo.io.project import Project, read_project, sample_project_path

__all__ = ["Project", "read_project", "sample_project_path"]
