"""IPRUS — Informe Predial de Regulaciones de Uso del Suelo (norma técnica 0005-CTUGS-2020, Art. 37).

One document per lot, built from a results file of ``quitogeo run``: every field Art. 37 lists (clave
catastral, propietario, clasificación, subclasificación, tratamiento, uso general, usos específicos,
compatibilidades, retiros, frente mínimo, predio mínimo, COS, COST, edificabilidad básica and máxima,
afectaciones vial, riesgos, hídrica, ambiental and servidumbres), a small map of the lot with its neighbours
and fronting roads, the eligibility verdicts of Res. STHV 13-2016 with their ``motivos``, the rules version
with a visible warning when the rules are not ``verificado``, and the date. A value the results do not
carry prints **"sin dato"**: nothing is invented. HTML prints on A4 (CSS ``@page``); the PDF is headless
Chromium's print of the same HTML.

Money and dates follow :mod:`quitogeo.formatting` (``USD 1.234,56``, ``dd/mm/aaaa``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from markupsafe import Markup

from quitogeo._version import __version__
from quitogeo.errors import DocumentError, OutputExistsError
from quitogeo.export.documents.render import check_writable, html_to_pdf, render_html
from quitogeo.export.documents.svgmap import lot_map_svg, view_margin
from quitogeo.formatting import SIN_DATO, format_bool, format_money, format_number
from quitogeo.rules import Rules, load_rules
from quitogeo.spatial import feature_labels

_FORMAS = {"A": "aislada", "B": "pareada", "C": "continua con retiro", "D": "sobre línea de fábrica"}


@dataclass(frozen=True)
class Campo:
    """One field of the IPRUS.

    Parameters
    ----------
    clave : str
        Stable identifier (the HTML element's ``data-campo``).
    etiqueta : str
        Label as printed.
    valor : str
        Printed value (``"sin dato"`` when the results do not carry it).
    sin_dato : bool
        Whether the value is missing.
    nota : str
        Where it comes from (column names), printed small.
    """

    clave: str
    etiqueta: str
    valor: str
    sin_dato: bool
    nota: str = ""


#: The fields of Art. 37 in the order of the norm: (clave, etiqueta). Afectaciones are the last five.
ART37_CAMPOS: tuple[tuple[str, str], ...] = (
    ("clave_catastral", "Clave catastral"),
    ("propietario", "Propietario o posesionario"),
    ("clasificacion", "Clasificación del suelo"),
    ("subclasificacion", "Subclasificación del suelo"),
    ("tratamiento", "Tratamiento"),
    ("uso_general", "Uso del suelo general"),
    ("usos_especificos", "Usos del suelo específicos"),
    ("compatibilidades", "Compatibilidades de uso"),
    ("retiros", "Retiros"),
    ("frente_minimo", "Frente mínimo"),
    ("predio_minimo", "Predio mínimo"),
    ("cos", "COS (coeficiente de ocupación del suelo en planta baja)"),
    ("cost", "COST (coeficiente de ocupación del suelo total)"),
    ("edificabilidad_basica", "Edificabilidad básica"),
    ("edificabilidad_maxima", "Edificabilidad máxima"),
    ("afectacion_vial", "Afectación vial"),
    ("afectacion_riesgos", "Afectación por riesgos naturales"),
    ("afectacion_hidrica", "Afectación hídrica"),
    ("afectacion_ambiental", "Afectación ambiental"),
    ("afectacion_servidumbres", "Servidumbres de paso"),
)
_AFECTACIONES = {c for c, _ in ART37_CAMPOS if c.startswith("afectacion_")}

#: Eligibility sections of Res. STHV 13-2016 reported per lot: (column, sección, name).
SECCIONES: tuple[tuple[str, str, str], ...] = (
    ("elegible_zuae", "Sección II", "Zonas urbanísticas de asignación especial (ZUAE), Art. 5"),
    ("elegible_cos_pb", "Sección V", "Incremento del COS en planta baja, Art. 13"),
    ("elegible_ecoeficiencia", "Sección VI", "Eco-eficiencia, Art. 16"),
)


def _value(row: pd.Series, *columns: str) -> Any:
    """First non-missing value of ``columns`` in ``row`` (None when none)."""
    for col in columns:
        if col in row.index:
            val = row[col]
            if val is None or (not isinstance(val, (list, tuple, np.ndarray)) and pd.isna(val)):
                continue
            if isinstance(val, str) and not val.strip():
                continue
            return val
    return None


def _num(row: pd.Series, col: str, decimals: int, unit: str = "") -> str | None:
    val = _value(row, col)
    if val is None:
        return None
    try:
        return format_number(float(val), decimals) + unit
    except (TypeError, ValueError):
        return str(val)


def _money_m2(row: pd.Series, col: str) -> str | None:
    val = _value(row, col)
    return None if val is None else format_money(val) + "/m²"


def _join(parts: Iterable[str | None], sep: str = "; ") -> str | None:
    kept = [p for p in parts if p]
    return sep.join(kept) if kept else None


def _pct(row: pd.Series, col: str) -> str | None:
    val = _value(row, col)
    if val is None:
        return None
    return format_number(float(val), 0 if float(val) == int(float(val)) else 1) + " %"


def _uso_general(row: pd.Series, rules: Rules) -> str | None:
    code = _value(row, "uso_general", "uso_principal")
    if code is None:
        return None
    cat = rules.homologate_use(code)
    if cat is None:
        return f"{code} (código no homologado en las reglas {rules.version})"
    name = rules["usos"]["categorias"][cat]["nombre"]
    return f"{code} — {name}"


def _retiros(row: pd.Series) -> str | None:
    explicit = _value(row, "retiros")
    forma = _value(row, "forma_ocupacion")
    if explicit is not None:
        return str(explicit)
    if forma is None:
        return None
    name = _FORMAS.get(str(forma).strip().upper())
    # the distances themselves are not in the results: say what is known, never invent metres
    return f"{SIN_DATO} (forma de ocupación {forma}{' — ' + name if name else ''})"


def _edificabilidad(row: pd.Series, pisos: str, cos_total: str, codigo: bool) -> str | None:
    parts = [
        f"{_num(row, pisos, 0)} pisos" if _value(row, pisos) is not None else None,
        f"COS total {_pct(row, cos_total)}" if _value(row, cos_total) is not None else None,
        f"código {_value(row, 'codigo_edificabilidad')}"
        if codigo and _value(row, "codigo_edificabilidad") is not None
        else None,
    ]
    return _join(parts, ", ")


def _riesgos(row: pd.Series) -> str | None:
    cat = _value(row, "riesgo_categoria")
    nm = _value(row, "riesgo_no_mitigable")
    ids = _value(row, "riesgo_ids")
    if cat is None and nm is None:
        return None
    if cat is None:
        cat = "no_mitigable" if bool(nm) else "ninguno"
    text = {
        "no_mitigable": "Riesgo no mitigable",
        "mitigable": "Riesgo mitigable",
        "ninguno": "Ninguna registrada en la capa de riesgos",
    }.get(str(cat), str(cat))
    return f"{text} ({ids})" if ids and str(cat) != "ninguno" else text


def _vial(row: pd.Series) -> str | None:
    return None if _value(row, "afectacion_vial") is None else str(_value(row, "afectacion_vial"))


_EXTRACTORS: dict[str, Callable[[pd.Series, Rules], str | None]] = {
    "clave_catastral": lambda r, _: _value(r, "clave_catastral"),
    "propietario": lambda r, _: _value(r, "propietario", "posesionario"),
    "clasificacion": lambda r, _: _value(r, "clasificacion"),
    "subclasificacion": lambda r, _: _value(r, "subclasificacion"),
    "tratamiento": lambda r, _: _value(r, "tratamiento"),
    "uso_general": _uso_general,
    "usos_especificos": lambda r, _: _value(r, "usos_especificos"),
    "compatibilidades": lambda r, _: _value(r, "compatibilidades", "usos_compatibles"),
    "retiros": lambda r, _: _retiros(r),
    "frente_minimo": lambda r, _: _num(r, "frente_minimo", 2, " m"),
    "predio_minimo": lambda r, _: _num(r, "lote_minimo", 0, " m²"),
    "cos": lambda r, _: _pct(r, "cos_pb"),
    "cost": lambda r, _: _join(
        [
            f"básico {_pct(r, 'cos_total_basico')}" if _value(r, "cos_total_basico") is not None else None,
            f"máximo {_pct(r, 'cos_total_maximo')}" if _value(r, "cos_total_maximo") is not None else None,
        ],
        ", ",
    ),
    "edificabilidad_basica": lambda r, _: _edificabilidad(r, "pisos_basicos", "cos_total_basico", True),
    "edificabilidad_maxima": lambda r, _: _edificabilidad(r, "pisos_maximos", "cos_total_maximo", False),
    "afectacion_vial": lambda r, _: _vial(r),
    "afectacion_riesgos": lambda r, _: _riesgos(r),
    "afectacion_hidrica": lambda r, _: _value(r, "afectacion_hidrica"),
    "afectacion_ambiental": lambda r, _: _value(r, "afectacion_ambiental"),
    "afectacion_servidumbres": lambda r, _: _value(r, "servidumbres", "afectacion_servidumbres"),
}

_NOTAS = {
    "propietario": "catastro (columna propietario)",
    "uso_general": "PIT del PUGS, homologado con las reglas",
    "usos_especificos": "PUGS (columna usos_especificos)",
    "compatibilidades": "PUGS (columna compatibilidades)",
    "retiros": "PUGS (columna retiros)",
    "afectacion_vial": "capa de afectaciones viales",
    "afectacion_riesgos": "capa riesgo",
    "afectacion_hidrica": "capa de afectaciones hídricas",
    "afectacion_ambiental": "capa de afectaciones ambientales",
    "afectacion_servidumbres": "capa de servidumbres",
}


def art37_campos(row: pd.Series, *, rules: Rules) -> list[Campo]:
    """Return the Art. 37 fields of one lot's result row.

    Parameters
    ----------
    row : pandas.Series
        A row of ``predios_resultado``.
    rules : Rules
        For the use-code homologation (names of the categories).

    Returns
    -------
    list of Campo
        In the order of :data:`ART37_CAMPOS`; missing values print ``"sin dato"``.
    """
    out = []
    for clave, etiqueta in ART37_CAMPOS:
        raw = _EXTRACTORS[clave](row, rules)
        missing = raw is None
        out.append(Campo(clave, etiqueta, SIN_DATO if missing else str(raw), missing, _NOTAS.get(clave, "")))
    return out


def _metadata(results: Any) -> dict[str, Any]:
    meta = getattr(results, "metadatos", None)
    if meta is None:
        return {}
    if isinstance(meta, dict):
        return dict(meta)
    if isinstance(meta, pd.DataFrame):
        if {"clave", "valor"} <= set(meta.columns):
            return {str(k): v for k, v in zip(meta["clave"], meta["valor"], strict=False)}
        if len(meta) == 1:
            return {str(k): v for k, v in meta.iloc[0].items()}
    return {}


def _truthy(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().casefold() in ("true", "1", "sí", "si", "yes")
    return bool(value)


def _predios(results: Any) -> gpd.GeoDataFrame:
    if isinstance(results, gpd.GeoDataFrame):
        return results
    predios = getattr(results, "predios", None)
    if not isinstance(predios, gpd.GeoDataFrame):
        raise DocumentError("los resultados no tienen la capa predios_resultado (use 'quitogeo run')")
    return predios


def load_results(results: Any) -> Any:
    """Return ``results``, read with :func:`quitogeo.export.gpkg.read_results` when it is a path.

    The path read is remembered (attribute ``documentos_origen``) so that the documents can name it.
    """
    if isinstance(results, (str, Path)):
        from quitogeo.export.gpkg import read_results

        loaded: Any = read_results(results)
        try:
            loaded.documentos_origen = str(results)
        except AttributeError:  # a frozen result type: the documents fall back to the metadata
            pass
        return loaded
    return results


def results_source(results: Any) -> str:
    """How the documents name a results object: its file, else the project in its metadata."""
    origin = getattr(results, "documentos_origen", None)
    if origin:
        return str(origin)
    project = _metadata(results).get("proyecto")
    return f"resultados del proyecto {project}" if project else "resultados"


@dataclass(frozen=True)
class _Indexed:
    """Arrays of one layer prepared once and reused by every document of a batch."""

    frame: gpd.GeoDataFrame
    geoms: np.ndarray
    tree: shapely.STRtree
    labels: np.ndarray


# One entry per layer object: a batch of thousands of documents builds its arrays and STRtree once, not per
# lot. Keyed by id() and holding the frame itself, so a reused id of a freed frame never matches.
_INDEX_CACHE: dict[tuple[int, str], _Indexed] = {}


def _indexed(frame: gpd.GeoDataFrame, label_column: str | None) -> _Indexed:
    key = (id(frame), label_column or "")
    hit = _INDEX_CACHE.get(key)
    if hit is not None and hit.frame is frame and len(hit.geoms) == len(frame):
        return hit
    geoms = np.asarray(frame.geometry.array, dtype=object)
    if label_column == "clave_catastral":
        labels = frame["clave_catastral"].astype(str).str.strip().to_numpy(dtype=object)
    else:
        labels = np.asarray(
            [str(x).strip() for x in feature_labels(frame, ("id_via", "id", "codigo"), "")], dtype=object
        )
    if len(_INDEX_CACHE) > 8:
        _INDEX_CACHE.clear()
    built = _Indexed(frame, geoms, shapely.STRtree(geoms), labels)
    _INDEX_CACHE[key] = built
    return built


def _position(predios: gpd.GeoDataFrame, clave: str, source: str) -> int:
    claves = _indexed(predios, "clave_catastral").labels
    hits = np.flatnonzero(claves == str(clave).strip())
    if len(hits) == 0:
        raise DocumentError(
            f"{source}: la clave catastral {clave!r} no está en predios_resultado; revise la clave (se "
            "conservan los ceros a la izquierda)"
        )
    return int(hits[0])


def _roads_near(
    project: Any, lot: Any, margin: float, row: pd.Series, rules: Rules
) -> tuple[list[Any], list[str], list[bool], str]:
    """Roads of the project's ``vias`` layer around the lot, with labels and which ones front it."""
    layers = getattr(project, "layers", None) or {}
    vias = layers.get("vias") if isinstance(layers, dict) else None
    if vias is None or len(vias) == 0:
        note = "Vías: sin dato en el mapa (indique el proyecto con --proyecto para dibujarlas)."
        return [], [], [], note
    prepared = _indexed(vias, None)
    geoms = prepared.geoms
    near = np.sort(prepared.tree.query(lot, predicate="dwithin", distance=margin * 1.5))
    width = (
        pd.to_numeric(vias["ancho_m"], errors="coerce").to_numpy(dtype=float) if "ancho_m" in vias else None
    )
    names = vias["nombre"].astype("string").to_numpy(dtype=object) if "nombre" in vias else None
    # the run lists the fronting roads by id (quitogeo.spatial.frontage): use them when the results have them
    fronting_ids: set[str] | None = None
    if "vias_frente_ids" in row.index:
        ids_text = _value(row, "vias_frente_ids")
        fronting_ids = set()
        if ids_text is not None:
            fronting_ids = {t for t in re.split(r"\s*;\s*", str(ids_text)) if t}
    road_ids = prepared.labels
    tol = float(rules["tolerancias"]["frente_tolerancia_m"])
    labels, fronting = [], []
    for pos in near:
        w = width[pos] if width is not None else np.nan
        name = names[pos] if names is not None and not pd.isna(names[pos]) else None
        width_text = f"{format_number(w, 1)} m" if np.isfinite(w) else None
        text = _join([str(name) if name else None, width_text], " · ")
        labels.append(text or "")
        if fronting_ids is not None:
            fronting.append(road_ids[pos] in fronting_ids)
        else:
            # the results do not list the fronting roads: the frontage test of normativa §3 (distance only)
            fronting.append(bool(np.isfinite(w) and lot.distance(geoms[pos]) <= w / 2 + tol))
    return list(geoms[near]), labels, fronting, ""


def iprus_context(
    results: Any,
    clave: str,
    *,
    project: Any | None = None,
    rules: Rules | None = None,
    fecha: dt.date | None = None,
) -> dict[str, Any]:
    """Everything the IPRUS template prints for one lot.

    Parameters
    ----------
    results : RunResult, GeoDataFrame, str or Path
        The results of ``quitogeo run`` (or the path of its GeoPackage).
    clave : str
        Clave catastral of the lot.
    project : Project, optional
        The input project, to draw the roads (its ``vias`` layer) on the map.
    rules : Rules, optional
        Rules for the use-code names; the packaged ones when omitted. The rules *version* printed is the one
        recorded in the results' ``metadatos`` (the rules that produced them), falling back to these.
    fecha : date, optional
        Date of issue (today when omitted).

    Returns
    -------
    dict
    """
    results = load_results(results)
    rules = rules or load_rules()
    predios = _predios(results)
    meta = _metadata(results)
    source = results_source(results)
    pos = _position(predios, clave, source)
    row = predios.iloc[pos]
    prepared = _indexed(predios, "clave_catastral")
    geoms = prepared.geoms
    lot = geoms[pos]
    campos = art37_campos(row, rules=rules)

    margin = view_margin(lot)
    hits = prepared.tree.query(lot, predicate="dwithin", distance=margin * 1.5)
    near = np.sort(hits[hits != pos])
    roads, road_labels, fronting, map_note = _roads_near(project, lot, margin, row, rules)
    clave_col = prepared.labels
    svg = lot_map_svg(
        lot,
        neighbours=list(geoms[near]),
        neighbour_labels=[str(c) for c in clave_col[near]],
        roads=roads,
        road_labels=road_labels,
        road_fronting=fronting,
        label=str(row["clave_catastral"]),
        margin_m=margin,
    )

    elegibilidad = []
    for col, seccion, nombre in SECCIONES:
        val = _value(row, col)
        veredicto = SIN_DATO if val is None else ("Elegible" if bool(val) else "No elegible")
        clase = "sin-dato" if val is None else ("si" if bool(val) else "no")
        elegibilidad.append(
            {"columna": col, "seccion": seccion, "nombre": nombre, "veredicto": veredicto, "clase": clase}
        )
    motivos_raw = _value(row, "motivos")
    motivos = [m.strip() for m in re.split(r"[;\n]", str(motivos_raw)) if m.strip()] if motivos_raw else []
    estado = _value(row, "estado")
    problema = None if estado is None or str(estado).strip().casefold() == "ok" else str(estado)

    verificado = _truthy(meta.get("reglas_verificado"))
    version = meta.get("reglas_version")
    reglas_de = "metadatos de los resultados"
    if verificado is None or version is None:
        verificado, version, reglas_de = rules.verificado, rules.version, f"reglas {rules.source}"

    area = _num(row, "area_m2", 2, " m²")
    area_fuente = _value(row, "area_fuente")
    vias_frente = _join(
        [
            f"{int(_value(row, 'n_vias_frente'))} vía(s) frentista(s)"
            if _value(row, "n_vias_frente") is not None
            else None,
            f"ancho mínimo {_num(row, 'min_ancho_frente_m', 1, ' m')}"
            if _value(row, "min_ancho_frente_m") is not None
            else None,
            "con vía sin continuidad" if _truthy(_value(row, "frente_sin_continuidad")) else None,
        ],
        ", ",
    )
    otros = [
        (
            "area",
            "Área del predio",
            _join([area, f"según {area_fuente}" if area and area_fuente else None], " "),
        ),
        ("administracion_zonal", "Administración zonal", _value(row, "administracion_zonal")),
        ("parroquia", "Parroquia", _value(row, "parroquia")),
        ("codigo_pit", "Polígono de intervención territorial (PIT)", _value(row, "codigo_pit")),
        ("forma_ocupacion", "Forma de ocupación", _value(row, "forma_ocupacion")),
        (
            "aiva",
            "AIVA (valor más alto)",
            _join([_money_m2(row, "aiva_valor"), _value(row, "aiva_codigos")], " — "),
        ),
        (
            "zuae",
            "ZUAE",
            _value(row, "zuae_codigo")
            or (format_bool(_value(row, "en_zuae")) if _value(row, "en_zuae") is not None else None),
        ),
        (
            "influencia",
            "Área de influencia SITM",
            _join([_value(row, "influencia"), _value(row, "influencia_fuente")], " — fuente: "),
        ),
        ("vias_frente", "Vías frentistas", vias_frente),
        (
            "plan_especial",
            "Plan especial",
            _value(row, "plan_especial")
            or (
                format_bool(_value(row, "en_plan_especial"))
                if _value(row, "en_plan_especial") is not None
                else None
            ),
        ),
        (
            "pisos_adicionales_max",
            "Pisos adicionales máximos (eco-eficiencia, escenario)",
            _num(row, "pisos_adicionales_max", 0),
        ),
    ]
    if "ambitos" in row.index or "ambito_aplicado" in row.index:
        # the ámbito detection PUOS → PUGS ran (quitogeo.ambitos): say which changes the COD would price
        otros.append(
            (
                "ambitos",
                "Cambios PUOS → PUGS (ámbitos de la COD)",
                _join([_value(row, "ambitos"), _value(row, "ambito_aplicado")], " — aplicado: "),
            )
        )
    return {
        "titulo": "Informe Predial de Regulaciones de Uso del Suelo (IPRUS)",
        "clave": str(row["clave_catastral"]),
        "fecha": fecha or dt.date.today(),
        "fecha_calculo": meta.get("fecha") or meta.get("fecha_ejecucion") or meta.get("run_time"),
        "campos": [c for c in campos if c.clave not in _AFECTACIONES],
        "afectaciones": [c for c in campos if c.clave in _AFECTACIONES],
        "otros": [
            {"clave": k, "etiqueta": e, "valor": SIN_DATO if v is None else str(v), "sin_dato": v is None}
            for k, e, v in otros
        ],
        "elegibilidad": elegibilidad,
        "motivos": motivos,
        "estado": "sin dato" if estado is None else str(estado),
        "problema": problema,
        "mapa_svg": Markup(svg),
        "mapa_nota": map_note,
        "reglas_version": str(version),
        "reglas_verificado": bool(verificado),
        "reglas_de": reglas_de,
        "resultados_origen": source,
        "quitogeo_version": __version__,
    }


def render_iprus(
    results: Any,
    clave: str,
    *,
    project: Any | None = None,
    rules: Rules | None = None,
    fecha: dt.date | None = None,
) -> str:
    """Render the IPRUS of one lot as a self-contained HTML document (A4 print CSS, inline SVG map).

    Parameters
    ----------
    results, clave, project, rules, fecha
        As in :func:`iprus_context`.

    Returns
    -------
    str
    """
    return render_html("iprus.html", iprus_context(results, clave, project=project, rules=rules, fecha=fecha))


def _safe_name(clave: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", clave).strip("_") or "predio"


def write_iprus(
    results: Any,
    clave: str,
    *,
    out: str | Path,
    pdf: bool = False,
    overwrite: bool = False,
    project: Any | None = None,
    rules: Rules | None = None,
    fecha: dt.date | None = None,
    chromium: str | Path | None = None,
) -> Path:
    """Write the IPRUS of one lot as HTML, or as PDF when ``pdf``.

    Parameters
    ----------
    results : RunResult, str or Path
        Results of ``quitogeo run``.
    clave : str
        Clave catastral.
    out : str or Path
        Output file.
    pdf : bool, optional
        Print to PDF (headless Chromium) instead of writing HTML.
    overwrite : bool, optional
        Replace an existing file.
    project, rules, fecha
        As in :func:`iprus_context`.
    chromium : str or Path, optional
        Chromium executable for the PDF.

    Returns
    -------
    Path
    """
    path = Path(out)
    check_writable(path, overwrite=overwrite)
    html = render_iprus(results, clave, project=project, rules=rules, fecha=fecha)
    if pdf:
        html_to_pdf([html], [path], chromium=chromium, overwrite=True)
    else:
        path.write_text(html, encoding="utf-8")
    return path


def select_claves(results: Any, *, claves: Sequence[str] | None = None, zona: str | None = None) -> list[str]:
    """Return the claves of a batch: a given list (checked) or every lot of an administración zonal.

    Parameters
    ----------
    results : RunResult
        Results of ``quitogeo run``.
    claves : sequence of str, optional
        Explicit claves; an unknown one is an error naming it.
    zona : str, optional
        Name of an administración zonal (column ``administracion_zonal``; case and accents as written).

    Returns
    -------
    list of str
    """
    predios = _predios(results)
    known = predios["clave_catastral"].astype(str)
    if (claves is None) == (zona is None):
        raise DocumentError(
            "indique una lista de claves (--claves) o una administración zonal (--zona), una de las dos"
        )
    if claves is not None:
        wanted = [str(c).strip() for c in claves if str(c).strip()]
        missing = sorted(set(wanted) - set(known))
        if missing:
            raise DocumentError(
                f"{len(missing)} clave(s) no están en predios_resultado: {', '.join(missing[:10])}; "
                "revise la lista"
            )
        return list(dict.fromkeys(wanted))
    if "administracion_zonal" not in predios.columns:
        raise DocumentError("los resultados no tienen la columna administracion_zonal; use --claves")
    zonas = predios["administracion_zonal"].astype("string").str.strip()
    mask = (zonas.str.casefold() == str(zona).strip().casefold()).fillna(False).to_numpy(dtype=bool)
    if not mask.any():
        available = ", ".join(sorted(zonas.dropna().unique()))
        raise DocumentError(
            f"ningún predio en la administración zonal {zona!r}; las zonas presentes son: {available}"
        )
    return list(known[mask])


def write_iprus_batch(
    results: Any,
    *,
    out_dir: str | Path,
    claves: Sequence[str] | None = None,
    zona: str | None = None,
    pdf: bool = False,
    overwrite: bool = False,
    project: Any | None = None,
    rules: Rules | None = None,
    fecha: dt.date | None = None,
    chromium: str | Path | None = None,
) -> list[Path]:
    """Write one IPRUS per lot into ``out_dir`` (``IPRUS_<clave>.html`` or ``.pdf``).

    Parameters
    ----------
    results : RunResult, str or Path
        Results of ``quitogeo run``.
    out_dir : str or Path
        Folder for the documents (created when absent).
    claves, zona
        The selection (see :func:`select_claves`).
    pdf, overwrite, project, rules, fecha, chromium
        As in :func:`write_iprus`. Without ``overwrite`` nothing is written when any target exists.

    Returns
    -------
    list of Path
    """
    results = load_results(results)
    rules = rules or load_rules()
    chosen = select_claves(results, claves=claves, zona=zona)
    folder = Path(out_dir)
    ext = ".pdf" if pdf else ".html"
    paths = [folder / f"IPRUS_{_safe_name(c)}{ext}" for c in chosen]
    if len(set(paths)) != len(paths):
        raise DocumentError("dos claves dan el mismo nombre de archivo; revise la lista de claves")
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{len(existing)} documento(s) ya existen en {folder} (p. ej. {existing[0].name}); "
            "use --overwrite"
        )
    folder.mkdir(parents=True, exist_ok=True)
    docs = [render_iprus(results, c, project=project, rules=rules, fecha=fecha) for c in chosen]
    if pdf:
        html_to_pdf(docs, paths, chromium=chromium, overwrite=True)
    else:
        for html, path in zip(docs, paths, strict=True):
            path.write_text(html, encoding="utf-8")
    return paths


__all__ = [
    "ART37_CAMPOS",
    "SECCIONES",
    "Campo",
    "art37_campos",
    "iprus_context",
    "load_results",
    "render_iprus",
    "select_claves",
    "write_iprus",
    "write_iprus_batch",
]
