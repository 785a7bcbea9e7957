"""Outputs of a run: results GeoPackage, web map, PPCCAAMM registry package and documents.

Modules: :mod:`quitogeo.export.gpkg`, :mod:`quitogeo.export.map`, :mod:`quitogeo.export.registry`.

Submodules are imported on use so that reading results does not load folium or the document renderers.
"""

from __future__ import annotations
