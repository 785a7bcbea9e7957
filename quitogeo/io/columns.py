"""The layer contract of layers.md (canonical names, geometry, column types) and the column mapping.

Real municipal files use their own column names; a mapping ``{canonical: source}`` renames them. Presets hold
the mappings of the known municipal schemas (the end of layers.md); a GeoPackage layer or a file named like a
municipal layer (``LOTE``, ``ba003_uso_suelo_edificabilidad_a`` …) gets its preset without being asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from quitogeo.errors import LayerError


@dataclass(frozen=True)
class LayerSpec:
    """What layers.md requires of one layer.

    Attributes
    ----------
    name : str
        Canonical layer name.
    geometry : str
        ``polygon``, ``line`` or ``point``.
    required : tuple of str
        Columns without which the layer cannot be used.
    numeric : tuple of str
        Columns coerced to float (text numbers, decimal commas included, are converted and reported).
    text : tuple of str
        Columns kept as text.
    boolean : tuple of str
        Columns coerced to a nullable boolean.
    id_column : str or None
        The column that identifies a feature in the problems table (else the row number).
    needed_for_run : bool
        Whether a run cannot proceed without the layer (``predios``, ``pugs``, ``aiva``).
    """

    name: str
    geometry: str
    required: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()
    id_column: str | None = None
    needed_for_run: bool = False
    optional: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        """Every canonical column of the layer (required first)."""
        seen: dict[str, None] = {}
        for col in (*self.required, *self.numeric, *self.text, *self.boolean, *self.optional):
            seen.setdefault(col, None)
        return tuple(seen)


_AVALUO = (
    "area_escritura",
    "avaluo_terreno",
    "avaluo_cubiertas",
    "area_cubiertas",
    "avaluo_abiertas",
    "area_abiertas",
    "avaluo_adicionales",
    "area_adicionales",
    "avaluo_instalaciones_especiales",
    "avaluo_comunal",
    "pisos_existentes",
)

#: The layers of layers.md, in the order they are read and reported.
LAYER_SPECS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "predios",
            "polygon",
            ("clave_catastral",),
            numeric=_AVALUO,
            text=("clave_catastral", "numero_predio", "regimen", "administracion_zonal", "parroquia"),
            id_column="clave_catastral",
            needed_for_run=True,
        ),
        LayerSpec(
            "pugs",
            "polygon",
            ("codigo_pit", "uso_principal"),
            numeric=(
                "lote_minimo",
                "frente_minimo",
                "cos_pb",
                "pisos_basicos",
                "pisos_maximos",
                "cos_total_basico",
                "cos_total_maximo",
            ),
            text=(
                "codigo_pit",
                "uso_principal",
                "clasificacion",
                "subclasificacion",
                "tratamiento",
                "forma_ocupacion",
                "codigo_edificabilidad",
            ),
            id_column="codigo_pit",
            needed_for_run=True,
        ),
        LayerSpec(
            "aiva",
            "polygon",
            ("codigo_aiva", "valor_m2"),
            numeric=("valor_m2",),
            text=("codigo_aiva",),
            id_column="codigo_aiva",
            needed_for_run=True,
        ),
        LayerSpec(
            "zuae", "polygon", ("codigo_zuae",), text=("codigo_zuae", "nombre"), id_column="codigo_zuae"
        ),
        LayerSpec(
            "vias", "line", ("ancho_m",), numeric=("ancho_m",), text=("nombre",), boolean=("sin_continuidad",)
        ),
        LayerSpec(
            "estaciones",
            "point",
            ("nombre", "sistema"),
            text=("nombre", "sistema", "corredor"),
            id_column="nombre",
        ),
        LayerSpec("areas_influencia", "polygon", ("sistema",), text=("sistema", "nombre")),
        LayerSpec("riesgo", "polygon", ("categoria",), text=("categoria", "amenaza")),
        LayerSpec("planes_especiales", "polygon", ("nombre",), text=("nombre",), id_column="nombre"),
        LayerSpec(
            "administraciones_zonales", "polygon", ("nombre",), text=("nombre", "codigo"), id_column="nombre"
        ),
        LayerSpec(
            "proyectos_especiales", "polygon", ("nombre", "tipo"), text=("nombre", "tipo"), id_column="nombre"
        ),
        LayerSpec(
            "puos",
            "polygon",
            ("uso_principal",),
            numeric=("lote_minimo", "pisos", "cos_pb", "cos_total"),
            text=("uso_principal", "clasificacion", "forma_ocupacion", "codigo_edificabilidad"),
        ),
        # Optional (quitogeo.ambitos): planes parciales / UAU, whose lots get the beneficio without β
        # (Anexo 01 §5); the layer's name is the rules' ambitos.capa_beneficios.
        LayerSpec("planes_parciales", "polygon", ("nombre",), text=("nombre",), id_column="nombre"),
    )
}

#: Layers a run cannot do without.
REQUIRED_LAYERS: tuple[str, ...] = tuple(n for n, s in LAYER_SPECS.items() if s.needed_for_run)

#: Column presets of the municipal schemas (layers.md, "Known municipal schemas"): preset → (layer,
#: {canonical: source column}). Source names match case-insensitively. Where the municipal schema has no
#: column for a canonical one, the mapping says which column plays that role (an assumption, noted here):
#: the Catastro ``LOTE`` layer has no ``clave_catastral``, so its ``NUMERO_LOTE`` identifies the lot; the
#: PUGS ``ba003`` layer's ``cod_uso_gr`` (code of the use/buildability group) stands for ``codigo_pit``.
PRESETS: dict[str, tuple[str, dict[str, str]]] = {
    "catastro_lote": (
        "predios",
        {
            "clave_catastral": "NUMERO_LOTE",
            "numero_predio": "NUMERO_LOTE",
            "area_escritura": "AREA_TERRENO_ESCRITURA",
            "regimen": "PROPIEDAD",
            "frente_total": "FRENTE_TOTAL",
            "zonificacion": "ZONIFICACION",
        },
    ),
    "catastro_predio": (
        "predios",
        {
            "estado_catastral": "estado",
            "regimen": "propiedad",
            "area_escritura": "arterrpredio",
            "area_construccion": "arconstruccion",
            "avaluo_terreno": "valterreno",
            "avaluo_total": "valtotal",
            "parroquia": "parroquia",
            "administracion_zonal": "admzonal",
        },
    ),
    "catastro_aivas": ("aiva", {"codigo_aiva": "TIPO", "valor_m2": "RANGO_VALORATION"}),
    "pugs_2024_ba003": (
        "pugs",
        {
            "codigo_pit": "cod_uso_gr",
            "uso_general": "uso_gral",
            "uso_principal": "uso_prin",
            "cos_pb": "cos_pb_ba",
            "pisos_basicos": "pisos_ba",
            "clasificacion": "clasifica",
            "subclasificacion": "subclasif",
        },
    ),
    "organizacion_territorial_zonal": (
        "administraciones_zonales",
        {"codigo": "cod_adm_zo", "nombre": "adm_zonal"},
    ),
}

#: Municipal layer / file names (case-insensitive) → (canonical layer, preset).
MUNICIPAL_LAYER_NAMES: dict[str, tuple[str, str]] = {
    "lote": ("predios", "catastro_lote"),
    "predio": ("predios", "catastro_predio"),
    "aivas": ("aiva", "catastro_aivas"),
    "ba003_uso_suelo_edificabilidad_a": ("pugs", "pugs_2024_ba003"),
    "organizacion_territorial_zonal_a": ("administraciones_zonales", "organizacion_territorial_zonal"),
}


def preset_mapping(name: str) -> tuple[str, dict[str, str]]:
    """Return ``(layer, {canonical: source})`` of a preset.

    Parameters
    ----------
    name : str
        One of :data:`PRESETS`.

    Returns
    -------
    tuple
        The canonical layer the preset is for and its column mapping.

    Raises
    ------
    LayerError
        When the preset does not exist (the message lists those that do).
    """
    if name not in PRESETS:
        raise LayerError(f"preset de columnas desconocido {name!r}; use uno de: {', '.join(sorted(PRESETS))}")
    layer, mapping = PRESETS[name]
    return layer, dict(mapping)


def apply_mapping(frame: pd.DataFrame, mapping: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """Rename source columns to canonical names.

    Source names match exactly first, then ignoring case; canonical names that are already present are left
    alone. Canonical columns present only with another case (``CLAVE_CATASTRAL``) are renamed too.

    Parameters
    ----------
    frame : DataFrame
        The layer as read.
    mapping : dict
        ``{canonical: source}``; several canonical names may take the same source (it is copied).

    Returns
    -------
    tuple
        The renamed frame (a copy) and the mapping entries whose source column was not found
        (``"canonical ← source"``), for the problems table.
    """
    # shallow: pandas copy-on-write copies a column only if it is modified (a deep copy of a million lots
    # cost 0.15 s and their memory once more)
    out = frame.copy(deep=False)
    lower = {str(c).lower(): c for c in out.columns}
    missing: list[str] = []
    geometry_name = getattr(frame, "_geometry_column_name", None)
    for canonical, source in mapping.items():
        if canonical in out.columns and canonical != source:
            continue
        col = source if source in out.columns else lower.get(str(source).lower())
        if col is None:
            missing.append(f"{canonical} ← {source}")
            continue
        if col == geometry_name:
            continue
        out[canonical] = out[col]
    dropped = [src for canonical, src in mapping.items() if src in out.columns and src != canonical]
    dropped = [c for c in dict.fromkeys(dropped) if c not in mapping and c != geometry_name]
    if dropped:
        out = out.drop(columns=dropped)
    # Canonical names written in another case, or cut to the 10 characters of a dBase (shapefile) field.
    lower = {str(c).lower(): c for c in out.columns}
    renames: dict[str, str] = {}
    for spec in LAYER_SPECS.values():
        for col in spec.columns:
            if col in out.columns or col in renames.values():
                continue
            src = lower.get(col)
            if src is None and len(col) > 10:
                src = lower.get(col[:10])
            if src is not None and src != col and src not in renames:
                renames[src] = col
    if renames:
        out = out.rename(columns=renames)
    return out, missing


__all__ = [
    "LAYER_SPECS",
    "MUNICIPAL_LAYER_NAMES",
    "PRESETS",
    "REQUIRED_LAYERS",
    "LayerSpec",
    "apply_mapping",
    "preset_mapping",
]
