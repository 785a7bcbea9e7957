"""The recaudación web map: one self-contained HTML file a planner opens in any browser, online or not.

What the map shows (layer names as the planner sees them):

- Thematic layers of the lots (radio buttons, one at a time): ``COD potencial (USD)`` (classed choropleth:
  lots without COD in grey, then quantile classes of the positive COD, legend in USD), ``Elegibilidad ZUAE``,
  ``Elegibilidad COS PB``, ``Elegibilidad eco-eficiencia`` (elegible / no elegible / sin dato). A click on a
  lot opens its popup: clave catastral, area, PIT and use, AIVA, fronting roads and widths, each section's
  verdict and ``motivos``, Ae, β, COD.
- Context layers (check boxes): ``Áreas de influencia Metro/CET`` (with the stations), ``ZUAE`` and
  ``Bandas AIVA`` (the AIVA polygons coloured by the β-table rows of the rules: ≤ lim1, between, ≥ lim2
  $/m²). A results GeoPackage does not necessarily carry them: they are drawn from ``project=`` (a Project,
  its layers or a project path) or, when absent, from layers of the same canonical names inside the results
  GeoPackage. When neither has them the map lists them as not available (never an empty layer). Without an
  ``areas_influencia`` layer, influence areas are the buffers of ``estaciones`` with the rules' radii, as the
  run does. Context polygons are not clickable, so a click always reaches the lot below.
- A totals panel by administración zonal (lots, lots eligible per section, potential COD), the numbers of the
  run's ``resumen``.
- A red banner ``Reglas no verificadas`` when the rules that produced the results have ``verificado = false``
  (read from ``metadatos``; also shown when the results do not record it).

Self-contained: folium loads Leaflet, jQuery, Bootstrap and Font Awesome from CDNs by default. None of them
is fetched here: the map uses only Leaflet, whose JS and CSS (1.9.4, BSD-2-Clause,
``templates/LEAFLET_LICENSE``) are vendored in ``quitogeo/export/templates`` and inlined, with the CSS images
as data URIs; popups, legend and panels are plain HTML. After rendering, the HTML is checked for any
remaining external ``<script src>``/``<link href>``/``<img src>`` and refused if one is left. The only thing
ever fetched is a background tile layer, and only when ``tiles=`` is given (e.g. ``"OpenStreetMap"``); by
default there is none, so the map works offline. (``GeoDataFrame.explore`` is not used: it would embed one
GeoJSON per layer and add folium's CDN assets.)

Large runs: above ``max_lotes`` lots (default :data:`MAX_LOTES`) the lots are aggregated into square cells of
``celda_m`` metres (TM-Quito) with the lot count, the share of eligible lots per section and the summed COD,
so the file stays light; below it, lot geometries are simplified by ``simplificar_m`` metres and coordinates
are rounded to 6 decimals (≈ 0.1 m). The data travel as columns (one array per attribute) rather than one
GeoJSON object per layer, and the four thematic layers share them.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import pyogrio
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from quitogeo.errors import DataIntegrityError, LayerError, OutputExistsError
from quitogeo.formatting import format_number
from quitogeo.rules import Rules, load_rules

logger = logging.getLogger(__name__)

#: Above this many lots the map aggregates them into cells. Measured on synthetic square lots: 30 000 lots →
#: 8.4 MB of HTML, 100 000 lots drawn one by one → 27 MB, 100 000 lots in 250 m cells → 0.4 MB.
MAX_LOTES = 30_000

#: Default cell size (m) for aggregated maps: a few blocks in central Quito.
CELDA_M = 250.0

#: Default simplification tolerance (m) for lot outlines; cadastral vertices closer than this are not visible
#: at the zoom levels a planner uses for a city-wide map.
SIMPLIFICAR_M = 0.5

#: Thematic layer names (Spanish, as shown in the layer control) → key in the map's data.
CAPAS_TEMATICAS: dict[str, str] = {
    "COD potencial (USD)": "cod",
    "Elegibilidad ZUAE": "el_zuae",
    "Elegibilidad COS PB": "el_cos",
    "Elegibilidad eco-eficiencia": "el_eco",
}

#: Context layer names as shown in the layer control.
CAPA_INFLUENCIA = "Áreas de influencia Metro/CET"
CAPA_ZUAE = "ZUAE"
CAPA_AIVA = "Bandas AIVA"

#: Results columns the map needs (layers.md); a file without them is not a quitogeo result.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "clave_catastral",
    "cod",
    "elegible_zuae",
    "elegible_cos_pb",
    "elegible_ecoeficiencia",
)

# result column → key in the map's data (popup). Optional columns become "sin dato" when absent.
_POPUP_COLUMNS: dict[str, str] = {
    "clave_catastral": "clave",
    "area_m2": "area",
    "area_fuente": "area_fuente",
    "codigo_pit": "pit",
    "uso_principal": "uso",
    "aiva_valor": "aiva",
    "vias_frente_nombres": "vias",
    "vias_frente_anchos": "anchos",
    "n_vias_frente": "n_vias",
    "min_ancho_frente_m": "ancho",
    "elegible_zuae": "el_zuae",
    "elegible_cos_pb": "el_cos",
    "elegible_ecoeficiencia": "el_eco",
    "motivos_zuae": "mot_zuae",
    "motivos_cos_pb": "mot_cos",
    "motivos_eco": "mot_eco",
    "motivos": "motivos",
    "ae_m2": "ae",
    "beta": "beta",
    "cod": "cod",
    "estado": "estado",
    # ámbitos PUOS → PUGS (issue 6), present when the run had a `puos` layer
    "ambitos": "ambitos",
    "ambito_aplicado": "amb_apl",
    "ir": "ir",
    "ir_fuente": "ir_fuente",
    "cod_ambito": "cod_amb",
}
_ELIG = {"elegible_zuae": "el_zuae", "elegible_cos_pb": "el_cos", "elegible_ecoeficiencia": "el_eco"}

# Colour palettes (ColorBrewer YlOrRd 5 for COD, a 4-step green ramp for eligible shares); presentation only.
_COD_PALETTE = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
_SIN_COD = "#d9d9d9"
_SIN_DATO = "#ffffff"
_ELIG_COLORS = {"si": "#1a9641", "no": "#d7191c", "nd": "#bdbdbd"}
_SHARE_COLORS = ["#edf8e9", "#bae4b3", "#74c476", "#238b45"]
_AIVA_COLORS = ["#fee6ce", "#fdae6b", "#e6550d"]
_SISTEMA_COLORS = {"metro": "#6a3d9a", "cet": "#1f78b4"}

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_LEAFLET = "leaflet-1.9.4"
_EXTERNAL_RE = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


# --------------------------------------------------------------------------------------------------- inputs
def _metadatos_dict(meta: Any) -> dict[str, Any]:
    """Return a ``metadatos`` table as a dict, whatever its layout (key/value rows, one wide row, a dict)."""
    if meta is None:
        return {}
    if isinstance(meta, Mapping):
        return dict(meta)
    if isinstance(meta, pd.DataFrame) and len(meta):
        cols = [c for c in meta.columns if c != "geometry"]
        for key_col in ("clave", "parametro", "nombre", "campo", "key"):
            if key_col in cols and "valor" in cols:
                return dict(zip(meta[key_col].astype(str), meta["valor"], strict=False))
        if len(meta) == 1:
            return {str(k): v for k, v in meta.iloc[0][cols].items()}
    return {}


def _as_bool(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().casefold()
    if text in ("true", "1", "si", "sí", "verdadero"):
        return True
    if text in ("false", "0", "no", "falso"):
        return False
    return None


def reglas_verificadas(metadatos: Any) -> bool | None:
    """Whether the rules of a run were verified, from its ``metadatos`` (None when not recorded).

    Parameters
    ----------
    metadatos : DataFrame, mapping or None
        The run's ``metadatos`` (key/value rows or one wide row).

    Returns
    -------
    bool or None
        The ``reglas_verificado`` (or ``verificado``) flag.
    """
    meta = _metadatos_dict(metadatos)
    for key in ("reglas_verificado", "verificado"):
        if key in meta:
            return _as_bool(meta[key])
    return None


def _load_results(results: Any) -> tuple[gpd.GeoDataFrame, Any, dict[str, gpd.GeoDataFrame], str]:
    """(predios_resultado, metadatos, context layers found in the file, description of the source)."""
    context: dict[str, gpd.GeoDataFrame] = {}
    if isinstance(results, gpd.GeoDataFrame):
        return results, None, context, "GeoDataFrame"
    if isinstance(results, (str, Path)):
        path = Path(results)
        if not path.is_file():
            raise LayerError(
                f"no existe el archivo de resultados '{path}'; indique resultados.gpkg de 'quitogeo run'",
                source=str(path),
            )
        from quitogeo.export.gpkg import read_results

        if path.suffix.lower() == ".parquet":  # quitogeo run --formato parquet: no context layers inside
            pq: Any = read_results(path)
            return pq.predios, pq.metadatos, context, str(path)
        names = {str(n) for n in pyogrio.list_layers(path)[:, 0]}
        if "predios_resultado" not in names:
            raise LayerError(
                f"'{path}' no contiene la capa predios_resultado; ¿es un resultado de 'quitogeo run'?",
                layer="predios_resultado",
                source=str(path),
            )
        run: Any = read_results(path)
        predios, meta = run.predios, run.metadatos
        for layer in ("areas_influencia", "estaciones", "zuae", "aiva", "administraciones_zonales"):
            if layer in names:
                context[layer] = gpd.read_file(path, layer=layer)
        return predios, meta, context, str(path)
    if hasattr(results, "predios"):
        return results.predios, getattr(results, "metadatos", None), context, "RunResult"
    raise TypeError(
        "results debe ser un RunResult, la ruta de resultados.gpkg o el GeoDataFrame predios_resultado"
    )


def _project_layers(project: Any) -> dict[str, gpd.GeoDataFrame]:
    if project is None:
        return {}
    if isinstance(project, Mapping):
        return dict(project)
    if hasattr(project, "layers"):
        return dict(project.layers)
    from quitogeo.io import read_project

    return dict(read_project(project).layers)


def _check_results(predios: gpd.GeoDataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in predios.columns]
    if missing:
        raise LayerError(
            f"predios_resultado no tiene las columnas {', '.join(missing)} (layers.md); "
            "regenere los resultados con 'quitogeo run'",
            layer="predios_resultado",
        )
    if predios.crs is None:
        raise LayerError(
            "predios_resultado no tiene CRS; regenere los resultados con 'quitogeo run'",
            layer="predios_resultado",
        )


# --------------------------------------------------------------------------------------------------- totals
_TOTAL_COLUMNS = [
    "administracion_zonal",
    "n_predios",
    "elegibles_zuae",
    "elegibles_cos_pb",
    "elegibles_ecoeficiencia",
    "cod_potencial",
]


def totales_por_administracion(predios: pd.DataFrame, *, rules: Rules | None = None) -> pd.DataFrame:
    """Lots, eligible lots per section and potential COD by administración zonal (the map's totals panel).

    The numbers are those of the run's ``resumen`` (:func:`quitogeo.summary.resumen`, summed from exact cents)
    when ``predios`` has the columns it needs; otherwise (e.g. a results layer without ``cod_centavos``) the
    same sums are taken from ``cod``.

    Parameters
    ----------
    predios : DataFrame
        ``predios_resultado`` (lots without ``administracion_zonal`` are grouped as ``sin dato``).
    rules : Rules, optional
        Passed to :func:`quitogeo.summary.resumen` (packaged rules by default).

    Returns
    -------
    pandas.DataFrame
        Columns ``administracion_zonal``, ``n_predios``, ``elegibles_zuae``, ``elegibles_cos_pb``,
        ``elegibles_ecoeficiencia``, ``cod_potencial`` (USD); one row per zone sorted by COD descending, then
        a ``Total`` row.
    """
    from quitogeo.summary import SIN_DATO, resumen

    frame = predios
    if "administracion_zonal" not in frame.columns:
        frame = frame.assign(administracion_zonal=SIN_DATO)
    needed = ("parroquia", "aiva_valor", "ae_m2", "cod_centavos", *_ELIG)
    if all(c in frame.columns for c in needed):
        table = resumen(frame, rules=rules if rules is not None else load_rules())
        table = table.rename(columns={"grupo": "administracion_zonal"})
        zones = table[table["agrupacion"] == "administracion_zonal"]
        total = table[table["agrupacion"] == "total"].assign(administracion_zonal="Total")
    else:
        base = pd.DataFrame(
            {
                "administracion_zonal": frame["administracion_zonal"]
                .astype(object)
                .where(frame["administracion_zonal"].notna(), SIN_DATO)
                .astype(str),
                "n_predios": 1,
                **{
                    f"elegibles_{c.removeprefix('elegible_')}": frame[c]
                    .astype("boolean")
                    .fillna(False)
                    .astype(np.int64)
                    for c in _ELIG
                },
                "cod_potencial": pd.to_numeric(frame["cod"], errors="coerce").fillna(0.0),
            }
        )
        zones = base.groupby("administracion_zonal", sort=True).sum().reset_index()
        total = (
            zones.drop(columns="administracion_zonal").sum().to_frame().T.assign(administracion_zonal="Total")
        )
    zones = zones.sort_values("cod_potencial", ascending=False, kind="stable")
    return pd.concat([zones[_TOTAL_COLUMNS], total[_TOTAL_COLUMNS]], ignore_index=True)


def _with_administracion(
    predios: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame]
) -> gpd.GeoDataFrame:
    """Add ``administracion_zonal`` from the zones layer when the results do not carry it."""
    if "administracion_zonal" in predios.columns or "administraciones_zonales" not in layers:
        return predios
    zonas = layers["administraciones_zonales"].to_crs(predios.crs)[["nombre", "geometry"]]
    points = gpd.GeoDataFrame(geometry=predios.geometry.representative_point(), crs=predios.crs)
    joined = gpd.sjoin(points, zonas, how="left", predicate="within")
    first = joined[~joined.index.duplicated(keep="first")]["nombre"]
    return predios.assign(administracion_zonal=first.reindex(predios.index).to_numpy())


# --------------------------------------------------------------------------------------------------- data
def _round_coords(geoms: np.ndarray) -> np.ndarray:
    # 6 decimals of a degree ≈ 0.11 m at the equator: below cadastral precision, and shorter JSON.
    return shapely.transform(geoms, lambda xy: np.round(xy, 6))


def _geojson_array(frame: gpd.GeoDataFrame) -> str:
    geoms = _round_coords(frame.geometry.to_crs(4326).to_numpy())
    return "[" + ",".join(shapely.to_geojson(geoms).tolist()) + "]"


def _columns_json(columns: Mapping[str, pd.Series]) -> str:
    # Series.to_json writes NaN/None as null, which the popups show as "sin dato".
    parts = [
        f"{json.dumps(key)}:{series.to_json(orient='values', double_precision=2)}"  # type: ignore[call-overload]
        for key, series in columns.items()
    ]
    return "{" + ",".join(parts) + "}"


def _cod_classes(cod: pd.Series, k: int = 5) -> tuple[np.ndarray, list[tuple[str, str]], list[str]]:
    """Class per lot (0 = no COD, 1..k quantiles of the positive COD, k+1 = sin dato), legend, colours."""
    values = pd.to_numeric(cod, errors="coerce").to_numpy(dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    classes = np.zeros(len(values), dtype=np.int64)
    legend: list[tuple[str, str]] = [(_SIN_COD, "Sin COD")]
    colors = [_SIN_COD]
    if len(positive):
        n_classes = int(min(k, len(np.unique(positive))))
        bins = np.asarray(mapclassify.Quantiles(positive, k=n_classes).bins, dtype=float)
        idx = np.searchsorted(bins, values, side="left") + 1
        mask = np.isfinite(values) & (values > 0)
        classes[mask] = np.minimum(idx[mask], len(bins))
        palette = _COD_PALETTE[-len(bins) :] if len(bins) < len(_COD_PALETTE) else _COD_PALETTE
        lower = float(positive.min())
        for i, upper in enumerate(bins):
            legend.append((palette[i], f"{_usd(lower)} – {_usd(float(upper))}"))
            colors.append(palette[i])
            lower = float(upper)
    nan = ~np.isfinite(values)
    if nan.any():
        classes[nan] = len(colors)
        legend.append((_SIN_DATO, "Sin dato"))
        colors.append(_SIN_DATO)
    return classes, legend, colors


def _usd(value: float) -> str:
    # the one money convention of quitogeo (quitogeo.formatting), to the dollar: class limits and totals are
    # read at a glance; the popups and documents carry the cents
    return "USD\u00a0" + format_number(value, 0)


def _lot_data(predios: gpd.GeoDataFrame, simplificar_m: float, classes: np.ndarray) -> tuple[str, str]:
    geoms = predios.geometry
    if simplificar_m > 0:
        geoms = geoms.simplify(simplificar_m, preserve_topology=True)
    columns: dict[str, pd.Series] = {}
    for col, key in _POPUP_COLUMNS.items():
        if col not in predios.columns:
            continue
        series = predios[col]
        if col in _ELIG:
            series = series.astype("boolean")
        elif col == "clave_catastral":
            series = series.astype(str)
        columns[key] = series.reset_index(drop=True)
    columns["clase"] = pd.Series(classes)
    frame = gpd.GeoDataFrame(geometry=geoms.reset_index(drop=True), crs=predios.crs)
    return _geojson_array(frame), _columns_json(columns)


def _cells(predios: gpd.GeoDataFrame, celda_m: float) -> gpd.GeoDataFrame:
    """Aggregate lots into square cells of ``celda_m`` metres (TM-Quito) by their representative point."""
    pts = predios.geometry.representative_point()
    ix = np.floor(pts.x.to_numpy() / celda_m).astype(np.int64)
    iy = np.floor(pts.y.to_numpy() / celda_m).astype(np.int64)
    frame = pd.DataFrame(
        {"ix": ix, "iy": iy, "cod": pd.to_numeric(predios["cod"], errors="coerce").to_numpy(dtype=float)}
    )
    for col, key in _ELIG.items():
        frame[key] = predios[col].astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    agg = (
        frame.groupby(["ix", "iy"], sort=True)
        .agg(
            n=("cod", "size"),
            cod=("cod", lambda s: s.sum(min_count=1)),
            el_zuae=("el_zuae", "mean"),
            el_cos=("el_cos", "mean"),
            el_eco=("el_eco", "mean"),
        )
        .reset_index()
    )
    x0 = agg["ix"].to_numpy() * celda_m
    y0 = agg["iy"].to_numpy() * celda_m
    agg["clave"] = (
        "E "
        + pd.Series(x0.astype(np.int64)).astype(str)
        + " N "
        + pd.Series(y0.astype(np.int64)).astype(str)
        + f" ({celda_m:g} m)"
    )
    return gpd.GeoDataFrame(agg, geometry=shapely.box(x0, y0, x0 + celda_m, y0 + celda_m), crs=predios.crs)


def _cell_data(cells: gpd.GeoDataFrame, classes: np.ndarray) -> tuple[str, str]:
    columns = {
        key: cells[key].reset_index(drop=True) for key in ("clave", "n", "el_zuae", "el_cos", "el_eco", "cod")
    }
    columns["clase"] = pd.Series(classes)
    return _geojson_array(cells), _columns_json(columns)


# --------------------------------------------------------------------------------------------------- assets
def _asset(name: str) -> str:
    return (_TEMPLATES / name).read_text(encoding="utf-8")


def _leaflet_inline() -> str:
    js = _asset(f"{_LEAFLET}.js")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)  # no map file to fetch
    css = _asset(f"{_LEAFLET}.css")

    def data_uri(match: re.Match[str]) -> str:
        png = (_TEMPLATES / f"leaflet-{match.group(1)}.png").read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(png).decode("ascii") + ")"

    css = re.sub(r"url\(images/([\w-]+)\.png\)", data_uri, css)
    return f"<style>{css}</style>\n<script>{js}</script>"


_PAGE_CSS = """
<style>
html, body {width: 100%; height: 100%; margin: 0; padding: 0;
  font-family: "Helvetica Neue", Arial, sans-serif; font-size: 13px;}
.qg-box {position: fixed; z-index: 1000; background: rgba(255,255,255,0.95); border: 1px solid #999;
  border-radius: 4px; padding: 6px 9px; box-shadow: 0 1px 4px rgba(0,0,0,0.3);}
#qg-aviso-reglas {top: 10px; left: 50%; transform: translateX(-50%); background: #b30000; color: #fff;
  font-weight: bold; font-size: 15px; border-color: #600;}
#qg-leyenda {bottom: 28px; right: 10px; max-width: 260px;}
#qg-totales {bottom: 56px; left: 10px; max-height: 45%; overflow: auto;}
.qg-box h4 {margin: 2px 0 4px; font-size: 13px;}
.qg-sw {display: inline-block; width: 14px; height: 11px; border: 1px solid #555; margin-right: 5px;
  vertical-align: middle;}
.qg-box table, .qg-popup table {border-collapse: collapse;}
.qg-box td, .qg-box th, .qg-popup td, .qg-popup th {padding: 1px 5px; text-align: left; vertical-align: top;}
.qg-box td.n {text-align: right;}
.qg-popup h4 {margin: 0 0 4px;}
.qg-popup th {font-weight: normal; color: #555;}
.qg-si {color: #1a9641; font-weight: bold;} .qg-no {color: #d7191c; font-weight: bold;} .qg-nd {color: #777;}
</style>
"""


class _ThemeLayer(folium.map.Layer):
    """A thematic lot layer built in the page from the shared data (``quitogeo.layer(theme)`` in mapa.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = quitogeo.layer({{ this.theme|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, theme: str, *, name: str, show: bool) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "QuitogeoTheme"
        self.theme = theme


def _legend_html(
    cod_legend: list[tuple[str, str]], modo: str, context: list[str], aiva_legend: list[str], titulo_cod: str
) -> str:
    def item(color: str, label: str, border: str = "#555") -> str:
        return (
            f"<div><span class='qg-sw' style='background:{color};border-color:{border}'></span>"
            f"{html.escape(label)}</div>"
        )

    parts = ["<div id='qg-leyenda' class='qg-box'>", f"<h4>{html.escape(titulo_cod)}</h4>"]
    parts += [item(c, label) for c, label in cod_legend]
    parts.append("<h4>Elegibilidad</h4>")
    if modo == "celdas":
        n = len(_SHARE_COLORS)
        parts += [
            item(c, f"{100 * i // n}–{100 * (i + 1) // n} % de predios elegibles")
            for i, c in enumerate(_SHARE_COLORS)
        ]
    else:
        parts += [item(_ELIG_COLORS["si"], "Elegible"), item(_ELIG_COLORS["no"], "No elegible")]
    parts.append(item(_ELIG_COLORS["nd"], "Sin dato"))
    if CAPA_AIVA in context:
        parts.append(f"<h4>{CAPA_AIVA} ($/m²)</h4>")
        parts += [item(c, label) for c, label in zip(_AIVA_COLORS, aiva_legend, strict=False)]
    if CAPA_INFLUENCIA in context:
        parts.append(f"<h4>{CAPA_INFLUENCIA}</h4>")
        parts += [item(_SISTEMA_COLORS["metro"], "Metro"), item(_SISTEMA_COLORS["cet"], "CET")]
    if CAPA_ZUAE in context:
        parts.append(f"<h4>{CAPA_ZUAE}</h4>")
        parts.append(item("transparent", "Contorno de la ZUAE", border="#7b3294"))
    parts.append("</div>")
    return "".join(parts)


def totales_por_ambito(predios: pd.DataFrame, *, rules: Rules | None = None) -> pd.DataFrame:
    """Lots and potential COD by ámbito applied (PUOS → PUGS, Anexo 01 §2), from the run's ``resumen``.

    Parameters
    ----------
    predios : DataFrame
        ``predios_resultado`` of a run with ámbitos (columns ``ambito_aplicado``, ``cod_ambito_centavos``).
    rules : Rules, optional
        Passed to :func:`quitogeo.summary.resumen` (packaged rules by default).

    Returns
    -------
    pandas.DataFrame
        Columns ``ambito``, ``n_predios``, ``n_con_cod_ambito``, ``cod_ambito_potencial`` (USD), sorted by COD
        descending; empty when the run had no ámbitos.
    """
    from quitogeo.summary import resumen

    columns = ["ambito", "n_predios", "n_con_cod_ambito", "cod_ambito_potencial"]
    needed = (
        "administracion_zonal",
        "parroquia",
        "aiva_valor",
        "ae_m2",
        "cod_centavos",
        "cod_ambito_centavos",
    )
    if not all(c in predios.columns for c in (*needed, *_ELIG)):
        return pd.DataFrame(columns=columns)
    table = resumen(predios, rules=rules if rules is not None else load_rules())
    rows = table[table["agrupacion"] == "ambito"].rename(columns={"grupo": "ambito"})
    return rows[columns].sort_values("cod_ambito_potencial", ascending=False).reset_index(drop=True)


def _totals_html(totals: pd.DataFrame, notes: list[str], ambitos: pd.DataFrame | None = None) -> str:
    def n(value: Any) -> str:
        return f"{int(value):,}".replace(",", ".")

    ambitos_html = ""
    if ambitos is not None and len(ambitos):
        amb_rows = "".join(
            f"<tr><td>{html.escape(str(r.ambito))}</td><td class='n'>{n(r.n_predios)}</td>"
            f"<td class='n'>{_usd(float(r.cod_ambito_potencial))}</td></tr>"  # type: ignore[arg-type]
            for r in ambitos.itertuples(index=False)  # one row per ámbito (a handful)
        )
        ambitos_html = (
            "<div id='qg-totales-ambito'><b>Por ámbito aplicado (PUOS → PUGS, Anexo 01 §2)</b><table>"
            "<tr><th>Ámbito</th><th>Predios</th><th>COD potencial</th></tr>"
            f"{amb_rows}</table></div>"
        )

    rows = "".join(
        f"<tr><td>{html.escape(str(r.administracion_zonal))}</td><td class='n'>{n(r.n_predios)}</td>"
        f"<td class='n'>{n(r.elegibles_zuae)}</td><td class='n'>{n(r.elegibles_cos_pb)}</td>"
        f"<td class='n'>{n(r.elegibles_ecoeficiencia)}</td>"
        f"<td class='n'>{_usd(float(r.cod_potencial))}</td></tr>"  # type: ignore[arg-type]
        for r in totals.itertuples(index=False)  # one row per administración zonal (a handful), not per lot
    )
    note_html = "".join(f"<div><small>{html.escape(note)}</small></div>" for note in notes)
    return (
        "<details id='qg-totales' class='qg-box' open><summary><b>Recaudación potencial por administración "
        "zonal</b></summary><table><tr><th>Administración zonal</th><th>Predios</th><th>Eleg. ZUAE</th>"
        "<th>Eleg. COS PB</th><th>Eleg. eco</th><th>COD potencial</th></tr>"
        f"{rows}</table>{ambitos_html}{note_html}</details>"
    )


# --------------------------------------------------------------------------------------------------- context
def _context_layers(
    m: folium.Map, layers: Mapping[str, gpd.GeoDataFrame], rules: Rules, simplificar_m: float
) -> tuple[list[str], list[str], list[str]]:
    """Draw influence areas + stations, ZUAE and AIVA bands; return (drawn, missing, AIVA legend labels)."""
    drawn: list[str] = []
    missing: list[str] = []

    def prep(frame: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
        if frame.crs is None:
            raise LayerError("una capa de contexto no tiene CRS; corrija el proyecto", layer=str(columns))
        keep = [c for c in columns if c in frame.columns]
        out = frame[[*keep, frame.geometry.name]].copy()
        if simplificar_m > 0 and not (out.geom_type == "Point").all():
            out = out.set_geometry(out.geometry.simplify(simplificar_m, preserve_topology=True))
        out = out.to_crs(4326)
        out = out.set_geometry(_round_coords(out.geometry.to_numpy()), crs=4326)
        for col in keep:
            if not pd.api.types.is_numeric_dtype(out[col]):
                out[col] = out[col].astype("object").where(out[col].notna(), None)
        return out

    areas = layers.get("areas_influencia")
    estaciones = layers.get("estaciones")
    if areas is None and estaciones is not None and len(estaciones):
        # Same rule as the run when the official polygons are missing: buffers with the rules' radii.
        radios = {
            "metro": float(rules["influencia"]["radio_metro_m"]),
            "cet": float(rules["influencia"]["radio_cet_m"]),
        }
        est = estaciones.to_crs(layers["predios"].crs) if "predios" in layers else estaciones
        radius = est["sistema"].astype(str).str.lower().map(radios).fillna(0.0).to_numpy()
        areas = gpd.GeoDataFrame(
            {"sistema": est["sistema"].to_numpy(), "nombre": est["nombre"].to_numpy()},
            geometry=est.geometry.buffer(radius),
            crs=est.crs,
        )
    if areas is not None and len(areas):
        group = folium.FeatureGroup(name=CAPA_INFLUENCIA, overlay=True, show=True)
        data = prep(areas, ["sistema", "nombre"])
        folium.GeoJson(
            data.to_json(drop_id=True),
            style_function=lambda f: {
                "fillColor": _SISTEMA_COLORS.get(str(f["properties"].get("sistema")).lower(), "#999"),
                "color": _SISTEMA_COLORS.get(str(f["properties"].get("sistema")).lower(), "#999"),
                "weight": 1,
                "fillOpacity": 0.12,
            },
            interactive=False,  # clicks go through to the lot below (its popup says whether it is inside)
        ).add_to(group)
        if estaciones is not None and len(estaciones):
            st = prep(estaciones, ["nombre", "sistema"])
            folium.GeoJson(
                st.to_json(drop_id=True),
                marker=folium.CircleMarker(radius=5, weight=1, color="#222", fill=True, fill_opacity=1),
                style_function=lambda f: {
                    "fillColor": _SISTEMA_COLORS.get(str(f["properties"].get("sistema")).lower(), "#999")
                },
                tooltip=folium.GeoJsonTooltip(
                    fields=[c for c in ("nombre", "sistema") if c in st.columns],
                    aliases=["Estación", "Sistema"][: len(st.columns) - 1],
                ),
            ).add_to(group)
        group.add_to(m)
        drawn.append(CAPA_INFLUENCIA)
    else:
        missing.append(CAPA_INFLUENCIA)

    zuae = layers.get("zuae")
    if zuae is not None and len(zuae):
        data = prep(zuae, ["codigo_zuae", "nombre"])
        folium.GeoJson(
            data.to_json(drop_id=True),
            name=CAPA_ZUAE,
            overlay=True,
            show=False,
            style_function=lambda f: {
                "color": "#7b3294",
                "weight": 2,
                "fillOpacity": 0.0,
                "dashArray": "4 3",
            },
            interactive=False,
        ).add_to(m)
        drawn.append(CAPA_ZUAE)
    else:
        missing.append(CAPA_ZUAE)

    lo, hi = (float(x) for x in rules["beta"]["aiva_limites"])
    aiva_legend = [f"≤ {lo:g}", f"{lo:g} – {hi:g}", f"≥ {hi:g}"]
    aiva = layers.get("aiva")
    if aiva is not None and len(aiva):
        data = prep(aiva, ["codigo_aiva", "valor_m2"])
        valor = pd.to_numeric(data["valor_m2"], errors="coerce").to_numpy(dtype=float)
        # Same rows as the β table: ≤ lim1 → 1; lim1 < AIVA < lim2 → 2; ≥ lim2 → 3 (quitogeo.calc.beta).
        banda = 1 + (valor > lo).astype(int) + (valor >= hi).astype(int)
        data["banda"] = np.where(
            np.isfinite(valor), pd.Series(banda).map(dict(enumerate(aiva_legend, 1))), "sin dato"
        )
        colors = dict(zip(aiva_legend, _AIVA_COLORS, strict=False))
        folium.GeoJson(
            data.to_json(drop_id=True),
            name=CAPA_AIVA,
            overlay=True,
            show=False,
            style_function=lambda f: {
                "fillColor": colors.get(f["properties"]["banda"], _SIN_DATO),
                "color": "#8c2d04",
                "weight": 0.5,
                "fillOpacity": 0.45,
            },
            interactive=False,
        ).add_to(m)
        drawn.append(CAPA_AIVA)
    else:
        missing.append(CAPA_AIVA)
    return drawn, missing, aiva_legend


# --------------------------------------------------------------------------------------------------- main
def make_map(
    results: Any,
    *,
    out: str | Path | None = None,
    project: Any = None,
    rules: Rules | None = None,
    rules_verificado: bool | None = None,
    max_lotes: int = MAX_LOTES,
    celda_m: float = CELDA_M,
    simplificar_m: float = SIMPLIFICAR_M,
    tiles: str | None = None,
    overwrite: bool = False,
) -> Path | folium.Map:
    """Build the recaudación web map of a run.

    Parameters
    ----------
    results : RunResult, str, Path or GeoDataFrame
        A run's result, the path of its results GeoPackage, or its ``predios_resultado`` layer.
    out : str or Path, optional
        HTML file to write. Without it the :class:`folium.Map` is returned (for notebooks).
    project : Project, mapping of GeoDataFrames or path, optional
        Where to draw the context layers from (influence areas and stations, ZUAE, AIVA, administraciones
        zonales). Without it, layers of those names inside the results GeoPackage are used, if any.
    rules : Rules, optional
        For the AIVA band limits and the station buffer radii (packaged rules by default).
    rules_verificado : bool, optional
        Overrides the ``verificado`` flag read from ``metadatos`` (the banner shows unless it is True).
    max_lotes : int, default :data:`MAX_LOTES`
        Above this many lots, lots are aggregated into cells of ``celda_m`` metres.
    celda_m : float, default :data:`CELDA_M`
        Cell size (m, TM-Quito) for aggregated maps.
    simplificar_m : float, default :data:`SIMPLIFICAR_M`
        Simplification tolerance (m) for outlines; 0 keeps them as they are.
    tiles : str, optional
        A folium tile layer name (e.g. ``"OpenStreetMap"``) as background. It is fetched from the internet;
        by default there is none and the file needs no network.
    overwrite : bool, default False
        Replace ``out`` if it exists.

    Returns
    -------
    Path or folium.Map
        The written file when ``out`` is given, else the map.

    Raises
    ------
    LayerError
        The results lack the columns of layers.md or a CRS.
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    """
    if out is not None and Path(out).exists() and not overwrite:
        raise OutputExistsError(f"'{out}' ya existe; use --overwrite para reemplazarlo")
    rules = rules if rules is not None else load_rules()
    predios, metadatos, file_layers, source = _load_results(results)
    _check_results(predios)
    layers = {**file_layers, **_project_layers(project)}
    predios = _with_administracion(predios, layers)
    verificado = rules_verificado if rules_verificado is not None else reglas_verificadas(metadatos)

    empty = predios.geometry.isna() | predios.geometry.is_empty
    notes: list[str] = []
    if empty.any():
        notes.append(f"{int(empty.sum())} predios sin geometría no se dibujan (sí cuentan en los totales).")
    drawable = predios[~empty]
    modo = "predios" if len(drawable) <= max_lotes else "celdas"
    if modo == "predios":
        classes, cod_legend, cod_colors = _cod_classes(drawable["cod"])
        geom_json, cols_json = _lot_data(drawable, simplificar_m, classes)
        titulo_cod = "COD potencial por predio (USD)"
    else:
        cells = _cells(drawable, celda_m)
        classes, cod_legend, cod_colors = _cod_classes(cells["cod"])
        geom_json, cols_json = _cell_data(cells, classes)
        titulo_cod = f"COD potencial por celda de {celda_m:g} m (USD)"
        notes.append(
            f"{len(drawable):,} predios (más de {max_lotes:,}) agregados en {len(cells):,} celdas de "
            f"{celda_m:g} m; para ver cada predio, filtre los resultados o suba max_lotes.".replace(",", ".")
        )

    bounds = drawable.to_crs(4326).total_bounds if len(drawable) else np.array([-78.6, -0.4, -78.4, 0.0])
    m = folium.Map(tiles=tiles, prefer_canvas=True, control_scale=True)
    # Only Leaflet is used, inlined below: drop folium's CDN links (jQuery, Bootstrap, Font Awesome, …).
    m.default_js = []
    m.default_css = []
    root: Any = m.get_root()  # a branca Figure (header, html, script)
    root.header.add_child(Element(_leaflet_inline()), name="leaflet_inline")
    root.header.add_child(Element(_PAGE_CSS), name="quitogeo_css")
    data_js = (
        "{" + f'"modo":{json.dumps(modo)},"geom":{geom_json},"cols":{cols_json},'
        f'"cod_colors":{json.dumps(cod_colors)},"elig_colors":{json.dumps(_ELIG_COLORS)},'
        f'"share_colors":{json.dumps(_SHARE_COLORS)}' + "}"
    )
    root.header.add_child(
        Element("<script>" + _asset("mapa.js").replace("__QUITOGEO_DATA__", data_js) + "</script>"),
        name="quitogeo_data",
    )

    for i, (name, theme) in enumerate(CAPAS_TEMATICAS.items()):
        _ThemeLayer(theme, name=name, show=i == 0).add_to(m)
    drawn, missing, aiva_legend = _context_layers(m, layers, rules, simplificar_m)
    if missing:
        notes.append(
            "Capas de contexto no disponibles: "
            + ", ".join(missing)
            + " (pase el proyecto: quitogeo map RESULTADOS --project PROYECTO)."
        )
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.fit_bounds([[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]])

    totals = totales_por_administracion(predios, rules=rules)
    meta = _metadatos_dict(metadatos)
    if meta.get("reglas_version"):
        notes.append(f"Reglas {meta['reglas_version']}; resultados: {Path(source).name}.")
    root.html.add_child(Element(_legend_html(cod_legend, modo, drawn, aiva_legend, titulo_cod)))
    root.html.add_child(Element(_totals_html(totals, notes, totales_por_ambito(predios, rules=rules))))
    if verificado is not True:
        why = "" if verificado is False else ": los resultados no registran si las reglas fueron verificadas"
        root.html.add_child(
            Element(
                f"<div id='qg-aviso-reglas' class='qg-box'>Reglas no verificadas{html.escape(why)} — valores "
                "ilustrativos, no usar para liquidar</div>"
            )
        )
    m.add_child(_TitleElement())

    if out is None:
        return m
    page = root.render()
    external = _EXTERNAL_RE.search(page)
    if external is not None:
        raise DataIntegrityError(
            f"el mapa aún referencia un recurso externo ({external.group(0)}…); no sería autocontenido"
        )
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    logger.info("mapa escrito en %s (%.1f MB, modo %s)", path, path.stat().st_size / 1e6, modo)
    return path


class _TitleElement(MacroElement):
    """The page title (``<title>``) of the map."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <title>quitogeo: recaudación potencial de la COD</title>
        {% endmacro %}
        """
    )


__all__ = [
    "CAPAS_TEMATICAS",
    "CAPA_AIVA",
    "CAPA_INFLUENCIA",
    "CAPA_ZUAE",
    "CELDA_M",
    "MAX_LOTES",
    "SIMPLIFICAR_M",
    "make_map",
    "reglas_verificadas",
    "totales_por_administracion",
    "totales_por_ambito",
]
