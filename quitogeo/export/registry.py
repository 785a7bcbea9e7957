"""The PPCCAAMM registry package of norma técnica 0005-CTUGS-2020, Anexo 1 (normativa.md §4).

The package the municipality delivers to the national PUGS registry is a folder named ``PPCCAAMM`` (INEC
province and canton codes from the rules file's ``[registro]`` table, then the last two digits of the delivery
year and the month: Quito, November 2026 → ``17012611``) with the subfolders ``DIAG``, ``PUGS``, ``ORD`` and
``PUC``. Graphic data go as shapefiles (``.shp .shx .dbf .prj .cpg``), here always UTF-8 and in TM-Quito.

Where each layer goes (:data:`LAYER_PLACEMENT`, following the Anexo's description of each subfolder):

- ``DIAG`` (diagnóstico: the cantonal view and the human settlements): ``administraciones_zonales``,
  ``riesgo``, ``vias``, ``estaciones``, ``areas_influencia``, ``aiva`` and the cadastral lots ``predios``.
- ``PUGS`` (componente estructurante — urban/rural structure and land classification — and componente
  urbanístico — use and buildability, management instruments): ``clasificacion_suelo`` (the ``pugs`` layer
  dissolved by ``clasificacion``/``subclasificacion``, when those columns exist), ``pugs`` (PIT: use and
  buildability), ``zuae`` and ``proyectos_especiales`` (PUAE and priority projects: management instruments).
- ``PUC`` (planes urbanísticos complementarios, optional): ``planes_especiales``.
- ``ORD``: the approving ordinance (PDF), copied when given.

The previous plan (``puos``) is not part of the PUGS registry and is not written.

Shapefile field names are limited to 10 characters. GDAL would truncate longer names silently (and could make
two columns collide), so every canonical column is renamed through :data:`FIELD_NAMES`, an explicit table, and
each subfolder gets a ``diccionario_campos.csv`` (layer, original name, shapefile name, description). A column
outside the table keeps its name when it already fits; otherwise it gets a generated name that is logged and
written to the dictionary, never a silent truncation.
"""

from __future__ import annotations

import csv
import logging
import re
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from quitogeo.errors import OutputExistsError, RegistryError
from quitogeo.rules import Rules, load_rules

logger = logging.getLogger(__name__)

#: Files every shapefile must have in the package (the .cpg declares the UTF-8 encoding).
SHAPEFILE_PARTS: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg")

#: Maximum length of a dBASE field name.
MAX_FIELD_LEN = 10

#: Name of the per-folder field dictionary.
DICTIONARY_NAME = "diccionario_campos.csv"

#: Columns of the field dictionary.
DICTIONARY_COLUMNS: tuple[str, ...] = ("capa", "nombre_original", "nombre_shapefile", "descripcion")

#: Columns of the table returned by :func:`check_registry`.
CHECK_COLUMNS: tuple[str, ...] = ("ruta", "problema", "correccion", "bloqueante")


@dataclass(frozen=True)
class Placement:
    """Where a project layer goes in the package.

    Parameters
    ----------
    layer : str
        Canonical layer name (layers.md) or ``clasificacion_suelo`` (derived from ``pugs``).
    folder : str
        Subfolder of the package.
    description : str
        What the layer is, in the terms of the Anexo.
    """

    layer: str
    folder: str
    description: str


#: Which layer goes in which subfolder (see the module docstring for the reasoning).
LAYER_PLACEMENT: tuple[Placement, ...] = (
    Placement("administraciones_zonales", "DIAG", "Enfoque cantonal: administraciones zonales"),
    Placement("riesgo", "DIAG", "Enfoque cantonal: zonas de riesgo"),
    Placement("vias", "DIAG", "Enfoque cantonal: red vial con anchos"),
    Placement("estaciones", "DIAG", "Enfoque cantonal: estaciones Metro y corredores CET"),
    Placement("areas_influencia", "DIAG", "Enfoque cantonal: áreas de influencia del transporte masivo"),
    Placement("aiva", "DIAG", "Asentamientos humanos: áreas de intervención valorativa (AIVA)"),
    Placement("predios", "DIAG", "Asentamientos humanos: predios catastrales"),
    Placement(
        "clasificacion_suelo", "PUGS", "Componente estructurante: clasificación y subclasificación del suelo"
    ),
    Placement("pugs", "PUGS", "Componente urbanístico: uso y edificabilidad (PIT)"),
    Placement("zuae", "PUGS", "Componente urbanístico: zonas urbanísticas de asignación especial (ZUAE)"),
    Placement("proyectos_especiales", "PUGS", "Instrumentos de gestión: PUAE y proyectos prioritarios"),
    Placement(
        "planes_especiales", "PUC", "Planes urbanísticos complementarios: planes especiales y parciales"
    ),
)

#: Canonical column → (shapefile field name ≤ 10 characters, description). Names are upper case, as is
# customary : in dBASE, and unique within any one layer.
FIELD_NAMES: dict[str, tuple[str, str]] = {
    # predios
    "clave_catastral": ("CLAVE_CAT", "Clave catastral del predio"),
    "numero_predio": ("NUM_PRED", "Número de predio"),
    "area_escritura": ("AREA_ESC", "Área de terreno según escritura (m²)"),
    "regimen": ("REGIMEN", "Régimen: unipropiedad o propiedad horizontal"),
    "avaluo_terreno": ("AVAL_TERR", "Avalúo del terreno (USD)"),
    "avaluo_cubiertas": ("AVAL_CUB", "Avalúo de construcciones cubiertas (USD)"),
    "area_cubiertas": ("AREA_CUB", "Área de construcciones cubiertas (m²)"),
    "avaluo_abiertas": ("AVAL_ABI", "Avalúo de construcciones abiertas (USD)"),
    "area_abiertas": ("AREA_ABI", "Área de construcciones abiertas (m²)"),
    "avaluo_adicionales": ("AVAL_ADIC", "Avalúo de construcciones adicionales (USD)"),
    "area_adicionales": ("AREA_ADIC", "Área de construcciones adicionales (m²)"),
    "avaluo_instalaciones_especiales": ("AVAL_INST", "Avalúo de instalaciones especiales (USD)"),
    "avaluo_comunal": ("AVAL_COM", "Avalúo de áreas comunales (USD)"),
    "pisos_existentes": ("PISOS_EX", "Número de pisos existentes"),
    "administracion_zonal": ("ADM_ZONAL", "Administración zonal"),
    "parroquia": ("PARROQUIA", "Parroquia"),
    # pugs (PIT) and puos
    "codigo_pit": ("COD_PIT", "Código del polígono de intervención territorial (PIT)"),
    "uso_principal": ("USO_PRIN", "Uso principal del suelo"),
    "clasificacion": ("CLASIF", "Clasificación del suelo (urbano/rural)"),
    "subclasificacion": ("SUBCLASIF", "Subclasificación del suelo"),
    "tratamiento": ("TRATAM", "Tratamiento urbanístico"),
    "forma_ocupacion": ("FORMA_OCU", "Forma de ocupación (A/B/C/D)"),
    "lote_minimo": ("LOTE_MIN", "Lote mínimo (m²)"),
    "frente_minimo": ("FRENTE_MIN", "Frente mínimo (m)"),
    "cos_pb": ("COS_PB", "Coeficiente de ocupación en planta baja (%)"),
    "pisos_basicos": ("PISOS_BAS", "Número de pisos básicos"),
    "pisos_maximos": ("PISOS_MAX", "Número de pisos máximos"),
    "cos_total_basico": ("COS_T_BAS", "COS total básico (%)"),
    "cos_total_maximo": ("COS_T_MAX", "COS total máximo (%)"),
    "codigo_edificabilidad": ("COD_EDIF", "Código de edificabilidad (p. ej. A608-50)"),
    "pisos": ("PISOS", "Número de pisos"),
    "cos_total": ("COS_TOTAL", "COS total (%)"),
    # aiva, zuae, vias, estaciones, areas_influencia, riesgo, others
    "codigo_aiva": ("COD_AIVA", "Código del AIVA"),
    "valor_m2": ("VALOR_M2", "Valor del suelo del AIVA (USD/m²)"),
    "codigo_zuae": ("COD_ZUAE", "Código de la ZUAE"),
    "nombre": ("NOMBRE", "Nombre"),
    "ancho_m": ("ANCHO_M", "Ancho total de la vía incluidas aceras (m)"),
    "sin_continuidad": ("SIN_CONT", "Vía sin continuidad (verdadero/falso)"),
    "sistema": ("SISTEMA", "Sistema de transporte (metro/cet)"),
    "corredor": ("CORREDOR", "Corredor de transporte"),
    "categoria": ("CATEGORIA", "Categoría de riesgo (no_mitigable/mitigable)"),
    "amenaza": ("AMENAZA", "Tipo de amenaza"),
    "tipo": ("TIPO", "Tipo (PUAE/prioritario)"),
}

_FOLDER_RE = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{2})$")
_FECHA_RE = re.compile(r"^(\d{4})-(\d{2})$")


def _tm_quito() -> CRS:
    from quitogeo.io.crs import TM_QUITO

    return TM_QUITO


def package_name(fecha: str, *, rules: Rules | None = None) -> str:
    """Return the ``PPCCAAMM`` folder name for a delivery date.

    Parameters
    ----------
    fecha : str
        Delivery month as ``YYYY-MM`` (e.g. ``2026-11``).
    rules : Rules, optional
        Rules whose ``[registro]`` table gives the INEC province and canton codes (packaged rules by default).

    Returns
    -------
    str
        E.g. ``17012611`` for Quito (17, 01) in November 2026.

    Raises
    ------
    RegistryError
        When ``fecha`` is not ``YYYY-MM`` with a month from 01 to 12.
    """
    rules = rules if rules is not None else load_rules()
    match = _FECHA_RE.match(fecha.strip()) if isinstance(fecha, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise RegistryError(f"fecha '{fecha}' inválida: use AAAA-MM con un mes de 01 a 12 (p. ej. 2026-11)")
    registro = rules["registro"]
    return f"{registro['provincia_inec']}{registro['canton_inec']}{match.group(1)[2:]}{match.group(2)}"


def field_mapping(columns: list[str], *, layer: str) -> list[tuple[str, str, str]]:
    """Shapefile names for a layer's columns, through :data:`FIELD_NAMES`.

    Parameters
    ----------
    columns : list of str
        The layer's attribute columns (without the geometry).
    layer : str
        Layer name, for messages and the dictionary.

    Returns
    -------
    list of tuple
        ``(original, shapefile_name, description)`` per column, in input order. Names are unique
        (case-insensitively, as dBASE compares them) and at most :data:`MAX_FIELD_LEN` characters.
    """
    out: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for column in columns:
        if column in FIELD_NAMES:
            name, description = FIELD_NAMES[column]
        elif len(column) <= MAX_FIELD_LEN and column.upper() not in used:
            name, description = column.upper(), f"Columna '{column}' (nombre sin cambios)"
        else:
            # Outside the table and too long: a generated, logged and documented name (never GDAL's
            # truncation).
            stem = re.sub(r"[^A-Za-z0-9_]", "_", column).upper()[: MAX_FIELD_LEN - 3]
            n = 1
            name = f"{stem}_{n:02d}"
            while name in used:
                n += 1
                name = f"{stem}_{n:02d}"
            description = f"Columna '{column}' (nombre generado: no figura en la tabla de renombrado)"
            logger.warning(
                "capa %s: la columna '%s' se escribe como '%s' (ver %s)", layer, column, name, DICTIONARY_NAME
            )
        if name in used:
            raise RegistryError(
                f"capa {layer}: el nombre de campo '{name}' de la columna '{column}' se repite; "
                "renombre la columna en el proyecto"
            )
        used.add(name)
        out.append((column, name, description))
    return out


def _project_layers(project: Any, rules: Rules) -> Mapping[str, gpd.GeoDataFrame]:
    if isinstance(project, Mapping):
        return project
    if hasattr(project, "layers"):
        layers: Mapping[str, gpd.GeoDataFrame] = project.layers
        return layers
    from quitogeo.io import read_project

    return read_project(project, rules=rules).layers


def _clasificacion_suelo(pugs: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    keys = [c for c in ("clasificacion", "subclasificacion") if c in pugs.columns]
    if not keys:
        return None
    frame = pugs[[*keys, pugs.geometry.name]].copy()
    for key in keys:
        frame[key] = frame[key].fillna("sin dato").astype(str)
    return frame.dissolve(by=keys, as_index=False)


def _write_shapefile(
    frame: gpd.GeoDataFrame, path: Path, *, layer: str, crs: CRS
) -> list[tuple[str, str, str]]:
    if frame.crs is None:
        raise RegistryError(f"capa {layer}: no tiene CRS; declare el CRS del proyecto antes de empaquetar")
    frame = frame.to_crs(crs) if not frame.crs.equals(crs) else frame
    geometry = frame.geometry.name
    columns = [c for c in frame.columns if c != geometry]
    mapping = field_mapping(columns, layer=layer)
    out = frame.rename(columns={orig: new for orig, new, _ in mapping})
    for _, new, _ in mapping:
        series = out[new]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            too_long = series.dropna().astype(str).str.encode("utf-8").str.len() > 254
            if too_long.any():
                raise RegistryError(
                    f"capa {layer}: la columna '{new}' tiene textos de más de 254 bytes (límite dBASE) en "
                    f"{int(too_long.sum())} filas; acórtelos antes de empaquetar"
                )
    out = out.rename_geometry("geometry") if geometry != "geometry" else out
    pyogrio.write_dataframe(out, path, driver="ESRI Shapefile", encoding="UTF-8")
    return mapping


def _write_dictionary(folder: Path, rows: list[tuple[str, str, str, str]]) -> None:
    with (folder / DICTIONARY_NAME).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(DICTIONARY_COLUMNS)
        writer.writerows(rows)


def build_registry(
    project: Any = None,
    *,
    fecha: str,
    out_dir: str | Path = ".",
    zip: bool = False,
    ordenanza_pdf: str | Path | None = None,
    overwrite: bool = False,
    rules: Rules | None = None,
) -> Path:
    """Write the ``PPCCAAMM`` registry package of a project.

    Parameters
    ----------
    project : Project, mapping of GeoDataFrames, path or None
        A :class:`quitogeo.io.Project`, its ``layers`` mapping, or a source for
        :func:`quitogeo.io.read_project` (None: the embedded sample project).
    fecha : str
        Delivery month ``YYYY-MM``; with the INEC codes of ``rules`` it names the folder.
    out_dir : str or Path, default "."
        Where the ``PPCCAAMM`` folder (and zip) are written.
    zip : bool, default False
        Also write ``PPCCAAMM.zip`` (holding the folder) beside it.
    ordenanza_pdf : str or Path, optional
        The approving ordinance, copied into ``ORD/``. Without it ``ORD/`` is left empty (and
        :func:`check_registry` notes it).
    overwrite : bool, default False
        Replace an existing package of the same name.
    rules : Rules, optional
        Rules with the ``[registro]`` table (packaged rules by default).

    Returns
    -------
    Path
        The package folder.

    Raises
    ------
    RegistryError
        Bad ``fecha``, a missing ordinance file, a layer without CRS, or nothing to write.
    OutputExistsError
        The package (or its zip) exists and ``overwrite`` is false.
    """
    rules = rules if rules is not None else load_rules()
    name = package_name(fecha, rules=rules)
    out_dir = Path(out_dir)
    package = out_dir / name
    zip_path = out_dir / f"{name}.zip"
    if ordenanza_pdf is not None and not Path(ordenanza_pdf).is_file():
        raise RegistryError(
            f"no existe la ordenanza '{ordenanza_pdf}'; indique la ruta del PDF de aprobación"
        )
    for existing in (package, zip_path if zip else None):
        if existing is not None and existing.exists() and not overwrite:
            raise OutputExistsError(f"'{existing}' ya existe; use --overwrite para reemplazarlo")
    layers = _project_layers(project, rules)
    crs = _tm_quito()

    if package.exists():
        shutil.rmtree(package)
    subfolders: list[str] = list(rules["registro"]["subcarpetas"])
    for sub in subfolders:
        (package / sub).mkdir(parents=True, exist_ok=True)

    dictionaries: dict[str, list[tuple[str, str, str, str]]] = {sub: [] for sub in subfolders}
    written = 0
    for placement in LAYER_PLACEMENT:
        if placement.folder not in dictionaries:
            raise RegistryError(
                f"la subcarpeta '{placement.folder}' no figura en [registro].subcarpetas de las reglas; "
                "agréguela"
            )
        if placement.layer == "clasificacion_suelo":
            frame = _clasificacion_suelo(layers["pugs"]) if "pugs" in layers else None
        else:
            frame = layers.get(placement.layer)
        if frame is None or len(frame) == 0:
            logger.info("registro: la capa %s no está en el proyecto; no se escribe", placement.layer)
            continue
        path = package / placement.folder / f"{placement.layer}.shp"
        mapping = _write_shapefile(frame, path, layer=placement.layer, crs=crs)
        dictionaries[placement.folder].extend((placement.layer, o, n, d) for o, n, d in mapping)
        written += 1
    if written == 0:
        raise RegistryError(
            "el proyecto no tiene ninguna capa para el paquete de registro (p. ej. predios, pugs)"
        )
    for sub, rows in dictionaries.items():
        _write_dictionary(package / sub, rows)
    if ordenanza_pdf is not None:
        shutil.copy2(ordenanza_pdf, package / "ORD" / Path(ordenanza_pdf).name)

    if zip:
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(package.rglob("*")):
                archive.write(file, file.relative_to(out_dir).as_posix())
    return package


def dbf_field_names(path: str | Path) -> list[str]:
    """Field names exactly as stored in a dBASE header (no GDAL involved).

    dBASE reserves 11 bytes per name; a writer that fills all 11 leaves no terminator, so an 11-character name
    can exist in a file, which GDAL would read without complaint. Reading the header catches it.

    Parameters
    ----------
    path : str or Path
        The ``.dbf`` file.

    Returns
    -------
    list of str
        The names in field order.
    """
    data = Path(path).read_bytes()
    if len(data) < 32:
        raise RegistryError(f"'{path}' no es un archivo dBASE (cabecera incompleta)")
    header_len = int.from_bytes(data[8:10], "little")
    names: list[str] = []
    offset = 32
    while offset + 32 <= min(header_len, len(data)) and data[offset] != 0x0D:
        raw = data[offset : offset + 11].split(b"\x00", 1)[0]
        names.append(raw.decode("utf-8", errors="replace"))
        offset += 32
    return names


def check_registry(path: str | Path, *, rules: Rules | None = None) -> pd.DataFrame:
    """Validate a ``PPCCAAMM`` package and list every problem.

    Checks the folder name (eight digits, the INEC codes of ``rules``, a month from 01 to 12), the subfolders
    of ``[registro].subcarpetas``, that every shapefile is complete (``.shp .shx .dbf .prj .cpg``) and
    readable, that it has a CRS, that its field names have at most 10 characters and are unique, that each
    folder with shapefiles has its ``diccionario_campos.csv`` naming every field, and whether ``ORD/`` holds
    the ordinance.

    Parameters
    ----------
    path : str or Path
        The package folder.
    rules : Rules, optional
        Rules with the ``[registro]`` table (packaged rules by default).

    Returns
    -------
    pandas.DataFrame
        Columns ``ruta`` (relative to the package's parent), ``problema``, ``correccion`` and ``bloqueante``
        (False for notes that do not invalidate the package). Empty when the package is valid.
    """
    rules = rules if rules is not None else load_rules()
    root = Path(path)
    problems: list[tuple[str, str, str, bool]] = []

    def add(where: Path | str, problem: str, fix: str, blocking: bool = True) -> None:
        rel = where.relative_to(root.parent).as_posix() if isinstance(where, Path) else where
        problems.append((rel, problem, fix, blocking))

    if not root.is_dir():
        add(str(root), "la carpeta del paquete no existe", "indique la carpeta PPCCAAMM generada")
        return pd.DataFrame(problems, columns=list(CHECK_COLUMNS))

    registro = rules["registro"]
    expected_prefix = f"{registro['provincia_inec']}{registro['canton_inec']}"
    match = _FOLDER_RE.match(root.name)
    if match is None:
        add(
            root,
            f"el nombre '{root.name}' no sigue el patrón PPCCAAMM (ocho dígitos)",
            f"renombre la carpeta como {expected_prefix}AAMM (p. ej. {expected_prefix}2611)",
        )
    else:
        if match.group(1) + match.group(2) != expected_prefix:
            add(
                root,
                f"los códigos INEC '{match.group(1)}{match.group(2)}' no son los del cantón "
                f"({expected_prefix})",
                f"renombre la carpeta como {expected_prefix}AAMM",
            )
        if not 1 <= int(match.group(4)) <= 12:
            add(root, f"el mes '{match.group(4)}' del nombre no es válido", "use un mes de 01 a 12")

    subfolders: list[str] = list(registro["subcarpetas"])
    for sub in subfolders:
        if not (root / sub).is_dir():
            add(
                root / sub,
                f"falta la subcarpeta {sub}",
                f"cree {root.name}/{sub}/ (puede quedar vacía si es PUC)",
            )
    for child in sorted(root.iterdir()):
        if child.name not in subfolders:
            add(
                child,
                f"'{child.name}' no es una de las subcarpetas del Anexo 1 ({', '.join(subfolders)})",
                "muévalo a la subcarpeta que corresponda o elimínelo",
                blocking=False,
            )

    crs_quito = _tm_quito()
    for sub in subfolders:
        folder = root / sub
        if not folder.is_dir():
            continue
        stems = sorted({f.with_suffix("") for f in folder.iterdir() if f.suffix.lower() in SHAPEFILE_PARTS})
        dictionary = _read_dictionary(folder, add) if stems else None
        for stem in stems:
            _check_shapefile(stem, dictionary, add, crs_quito)
        if sub == "ORD" and not any(f.suffix.lower() == ".pdf" for f in folder.iterdir()):
            add(
                folder,
                "ORD/ no contiene la ordenanza de aprobación (PDF)",
                "genere el paquete con --ordenanza ARCHIVO.pdf o copie el PDF en ORD/",
                blocking=False,
            )
    return pd.DataFrame(problems, columns=list(CHECK_COLUMNS))


def _read_dictionary(folder: Path, add: Any) -> dict[str, set[str]] | None:
    path = folder / DICTIONARY_NAME
    if not path.is_file():
        add(
            folder,
            f"falta {DICTIONARY_NAME} en {folder.name}/",
            "regenere el paquete con 'quitogeo registry' o escriba el diccionario (capa, nombre_original, "
            "nombre_shapefile, descripcion)",
        )
        return None
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        add(path, f"no se puede leer el diccionario: {exc}", "reescríbalo como CSV UTF-8")
        return None
    missing = [c for c in DICTIONARY_COLUMNS if c not in table.columns]
    if missing:
        add(
            path,
            f"al diccionario le faltan las columnas {', '.join(missing)}",
            f"use las columnas {', '.join(DICTIONARY_COLUMNS)}",
        )
        return None
    out: dict[str, set[str]] = {}
    for layer, name in zip(table["capa"], table["nombre_shapefile"], strict=False):
        out.setdefault(layer, set()).add(name)
    return out


def _check_shapefile(stem: Path, dictionary: dict[str, set[str]] | None, add: Any, crs_quito: CRS) -> None:
    shp = stem.with_suffix(".shp")
    present = {p for p in SHAPEFILE_PARTS if stem.with_suffix(p).is_file()}
    for part in SHAPEFILE_PARTS:
        if part not in present:
            add(
                stem.with_suffix(part),
                f"falta el archivo {stem.name}{part} del shapefile {stem.name}",
                f"regenere la capa {stem.name} con sus cinco archivos (.shp .shx .dbf .prj .cpg)",
            )
    if ".dbf" in present:
        names = dbf_field_names(stem.with_suffix(".dbf"))
        for name in names:
            if len(name) > MAX_FIELD_LEN:
                add(
                    stem.with_suffix(".dbf"),
                    f"el campo '{name}' tiene {len(name)} caracteres (máximo {MAX_FIELD_LEN})",
                    "renómbrelo (≤ 10 caracteres) y regístrelo en el diccionario",
                )
        seen: set[str] = set()
        for name in names:
            if name.upper() in seen:
                add(
                    stem.with_suffix(".dbf"),
                    f"el campo '{name}' está repetido",
                    "dé a cada campo un nombre único",
                )
            seen.add(name.upper())
        if dictionary is not None:
            listed = dictionary.get(stem.name, set())
            for name in names:
                if name not in listed:
                    add(
                        stem.with_suffix(".dbf"),
                        f"el campo '{name}' de {stem.name} no figura en {DICTIONARY_NAME}",
                        "agregue la fila (capa, nombre_original, nombre_shapefile, descripcion)",
                    )
    if ".cpg" in present:
        encoding = stem.with_suffix(".cpg").read_text(errors="replace").strip()
        if encoding.upper().replace("-", "") != "UTF8":
            add(
                stem.with_suffix(".cpg"),
                f"la codificación declarada es '{encoding}', no UTF-8",
                "reescriba la capa en UTF-8 con un .cpg que diga UTF-8",
                blocking=False,
            )
    if ".shp" not in present:
        return
    try:
        info = pyogrio.read_info(shp)
        crs_text = info.get("crs")
        if ".prj" in present and not crs_text:
            add(
                stem.with_suffix(".prj"),
                f"el .prj de {stem.name} no define un CRS legible",
                "escriba el .prj de TM-Quito (regenere la capa)",
            )
        elif crs_text and not CRS.from_user_input(crs_text).equals(crs_quito):
            add(
                stem.with_suffix(".prj"),
                f"{stem.name} no está en TM-Quito",
                "reproyecte la capa a TM-Quito",
                blocking=False,
            )
        if info.get("features", 0) > 0:
            pyogrio.read_dataframe(shp, max_features=1)
    except Exception as exc:  # any GDAL failure means the file is unusable; report it rather than crash
        add(shp, f"no se puede leer {shp.name}: {exc}", "regenere la capa")


__all__ = [
    "CHECK_COLUMNS",
    "DICTIONARY_NAME",
    "FIELD_NAMES",
    "LAYER_PLACEMENT",
    "SHAPEFILE_PARTS",
    "build_registry",
    "check_registry",
    "dbf_field_names",
    "field_mapping",
    "package_name",
]
