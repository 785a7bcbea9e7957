"""Outputs of a run: the results GeoPackage (:mod:`quitogeo.export.gpkg`), the web map
(:mod:`quitogeo.export.map`), the PPCCAAMM registry package (:mod:`quitogeo.export.registry`) and documents.

Submodules are imported on use so that reading results does not load folium or the document renderers.
"""

from __future__ import annotations
