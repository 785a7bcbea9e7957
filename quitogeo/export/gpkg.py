"""Write and read a run's results: ``resultados.gpkg`` (layers.md, "Outputs of a run") and ``resumen.csv``.

Two formats (``formato=``):

* ``"gpkg"`` (default): ``resultados.gpkg`` holds ``predios_resultado`` (polygons in TM-Quito) and the
  attribute tables ``resumen``, ``problemas`` and ``metadatos``.
* ``"parquet"`` (district scale): the same four tables as files next to each other — ``resultados.parquet``
  (GeoParquet of ``predios_resultado``: WKB geometry, the CRS in its ``geo`` metadata as PROJJSON, column
  dtypes kept, text categoricals as dictionaries), ``resumen.parquet``, ``problemas.parquet`` and
  ``metadatos.json`` (the ``clave``/``valor`` pairs as a JSON list). GDAL's GeoPackage write costs ≈ 10 µs per
  lot for the ~150 result columns (≈ 11 s at 1 M lots); Arrow writes the same table several times faster.
  GDAL ≥ 3.5 (and so a QGIS built on it) reads GeoParquet directly.

Both write ``resumen.csv`` (for spreadsheets) and :func:`read_results` reads either. Each file is written
under a temporary name in the output folder and renamed when complete, so a crash never leaves a
half-written file with the final name; existing outputs are refused unless ``overwrite=True``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from quitogeo.errors import OutputExistsError, ProjectNotFoundError, QuitogeoError
from quitogeo.parallel import elementwise

#: File names of a run's outputs inside the output folder.
RESULTS_FILE = "resultados.gpkg"
SUMMARY_FILE = "resumen.csv"

#: Output formats of :func:`write_results`.
FORMATS: tuple[str, ...] = ("gpkg", "parquet")

#: Files of the ``"parquet"`` format, by table (next to :data:`SUMMARY_FILE`).
PARQUET_FILES: dict[str, str] = {
    "resultados": "resultados.parquet",
    "resumen_parquet": "resumen.parquet",
    "problemas": "problemas.parquet",
    "metadatos": "metadatos.json",
}

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


#: Lots per Arrow batch when writing ``predios_resultado`` (≈ 75 MB of Arrow for the ~150 result columns).
WRITE_CHUNK_ROWS = 50_000


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


#: GEOS type ids → the names geopandas (and so pyogrio) gives them.
_GEOM_NAMES = (
    "Point",
    "LineString",
    "LinearRing",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)


class _NotText(Exception):
    """An object column holds something other than text: the chunked writer cannot type it up front."""


def _layer_geometry_type(geoms: np.ndarray) -> tuple[str, int | None]:
    """Return the layer geometry type pyogrio would declare for ``geoms`` in a GPKG, and what to promote.

    Returns the type name and the shapely type id of the single-part geometries to promote to multi-part
    (None when nothing is promoted).

    pyogrio (``write_dataframe``) names the single geometry type present, promotes a Polygon/MultiPolygon
    (LineString…, Point…) mix to the multi type (GeoPackage wants one type per layer), and otherwise writes
    ``Unknown``; the same rule here keeps the file identical to the one-call write.
    """
    types = shapely.get_type_id(geoms)
    present = np.unique(types[types >= 0])
    found = {_GEOM_NAMES[int(t)] for t in present}
    solid = geoms[types >= 0]
    solid = solid[~shapely.is_empty(solid)]
    has_z = bool(shapely.has_z(solid).any()) if len(solid) else False
    if has_z and not bool(shapely.has_z(solid).all()):
        raise QuitogeoError(  # GDAL's GPKG driver refuses a layer mixing dimensions
            "predios_resultado mezcla geometrías 2D y 3D; un GeoPackage no lo admite: quite la Z "
            "(shapely.force_2d) de las geometrías de entrada"
        )
    promote: int | None = None
    singles = {"Point": 0, "LineString": 1, "Polygon": 3}
    if len(found) == 1:
        kind = found.pop()
    elif len(found) == 2 and any({single, f"Multi{single}"} == found for single in singles):
        single = next(f for f in found if not f.startswith("Multi"))
        kind, promote = f"Multi{single}", singles[single]
    else:
        kind = "Unknown"
    if has_z and kind != "Unknown":
        kind = f"{kind} Z"
    return kind, promote


def _gdal_crs(crs: object) -> str | None:
    """Return the CRS as pyogrio hands it to GDAL: ``EPSG:n`` when it has one, else WKT1 (TM-Quito)."""
    if crs is None:
        return None
    epsg = crs.to_epsg()  # type: ignore[attr-defined]
    return f"EPSG:{epsg}" if epsg else str(crs.to_wkt("WKT1_GDAL"))  # type: ignore[attr-defined]


def _string_categories(values: pd.Series) -> bool:
    """Whether ``values`` is a categorical of text held as object (as ``compact_text`` makes them)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return False
    cats = values.cat.categories
    return cats.dtype == np.dtype(object) and pd.api.types.infer_dtype(cats, skipna=False) == "string"


def _arrow_column(values: pd.Series, text: bool) -> pa.Array:
    """Convert one column slice to Arrow as ``pa.Table.from_pandas`` does (NaN and None become null)."""
    if text:
        try:
            return pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
            raise _NotText(str(values.name)) from exc
    arr = pa.Array.from_pandas(values)
    if pa.types.is_dictionary(arr.type):
        # categoricals (repeated text held once): GDAL gets plain values, as for the same column as text
        arr = arr.dictionary_decode()
    return arr


def _write_lots_arrow(frame: gpd.GeoDataFrame, path: Path, layer: str, *, chunk_rows: int) -> None:
    """Stream ``frame`` to a new GeoPackage layer in Arrow record batches of ``chunk_rows`` rows.

    The file is the one ``pyogrio.write_dataframe(frame, use_arrow=True)`` writes (same field types, layer
    geometry type and CRS), but only one batch is ever converted at a time: the whole ~150-column table is
    never held as Arrow next to the DataFrame (at 1 M lots that copy alone was ~1.5 GB), and GDAL writes the
    batches in one transaction stream. (GDAL's own write, ~10 µs per lot for the ~150 result columns, is the
    larger share and holds the GIL; a child process fed through a pipe to overlap it with the conversion was
    tried and cost more CPU than it saved on 2 cores.)

    Raises
    ------
    _NotText
        When an object column holds non-text values (the caller falls back to the one-call write).
    """
    geom_name = frame.geometry.name
    geoms = frame.geometry.to_numpy()
    geometry_type, promote = _layer_geometry_type(geoms)
    columns = [c for c in frame.columns if c != geom_name]
    # Object columns are text in a run's results; each slice is converted with an explicit string type (a
    # slice whose values are all null would otherwise come out as Arrow's null type, which GDAL refuses, and
    # pyogrio itself writes those as string).
    text = {c: frame[c].dtype == object for c in columns}
    # text categoricals: the codes and the Arrow dictionary once, then each batch takes its values from it
    # (converting each slice with from_pandas re-converted the whole dictionary — ~10⁵ strings for
    # ``motivos`` at 1 M lots — for every batch)
    decoded = {
        c: (
            frame[c].cat.codes.to_numpy(),
            pa.array(frame[c].cat.categories.to_numpy(dtype=object), pa.string()),
        )
        for c in columns
        if _string_categories(frame[c])
    }
    n = len(frame)
    starts = range(0, max(n, 1), chunk_rows)

    def batch(start: int) -> pa.RecordBatch:
        stop = min(start + chunk_rows, n)
        arrays: list[pa.Array] = []
        names: list[str] = []
        for col in frame.columns:
            if col == geom_name:
                part = geoms[start:stop]
                if promote is not None:
                    single = shapely.get_type_id(part) == promote
                    if single.any():
                        part = part.copy()
                        part[single] = elementwise(_to_multi, part[single])
                arrays.append(pa.array(elementwise(shapely.to_wkb, part), type=pa.binary()))
            elif col in decoded:
                codes, dictionary = decoded[col]
                part_codes = codes[start:stop]
                null = part_codes < 0
                indices = pa.array(part_codes, mask=null if null.any() else None)
                arrays.append(dictionary.take(indices))
            else:
                arrays.append(_arrow_column(frame[col].iloc[start:stop], text[col]))
            names.append(str(col))
        return pa.RecordBatch.from_arrays(arrays, names=names)

    first = batch(0)
    schema = first.schema

    def batches() -> Any:
        yield first
        for start in starts[1:]:
            out = batch(start)
            # nullable integer/boolean slices may infer the same types; anything else must match exactly
            yield out if out.schema.equals(schema) else out.cast(schema)

    options = {
        "layer": layer,
        "driver": "GPKG",
        "geometry_name": str(geom_name),
        "geometry_type": geometry_type,
        "crs": _gdal_crs(frame.crs),
    }
    pyogrio.write_arrow(pa.RecordBatchReader.from_batches(schema, batches()), path, **options)


def _to_multi(single: np.ndarray) -> np.ndarray:
    """Make one-part multi geometries of single-part ones (as pyogrio's ``promote_to_multi`` builds them)."""
    builders: dict[int, Callable[..., Any]] = {
        0: shapely.multipoints,
        1: shapely.multilinestrings,
        3: shapely.multipolygons,
    }
    build = builders[int(shapely.get_type_id(single[0]))]
    return np.asarray(build(np.atleast_2d(single), axis=0))


def write_results(
    result: object,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    chunk_rows: int = WRITE_CHUNK_ROWS,
    formato: str = "gpkg",
) -> dict[str, Path]:
    """Write a :class:`~quitogeo.pipeline.RunResult` to ``out_dir``.

    ``predios_resultado`` is streamed to GDAL in Arrow batches of ``chunk_rows`` lots, so memory stays flat
    whatever the number of lots; the tables are small and written in one call each. With
    ``formato="parquet"`` the tables are written as GeoParquet/Parquet files instead (see the module
    docstring), in row groups of ``chunk_rows`` lots.

    Parameters
    ----------
    result : RunResult
        From :func:`quitogeo.pipeline.run` (or :func:`read_results`).
    out_dir : str or Path
        Output folder (created when missing).
    overwrite : bool, optional
        Replace existing ``resultados.gpkg`` / ``resumen.csv``; without it they are refused.
    chunk_rows : int, optional
        Lots per Arrow batch (memory of the write ≈ one batch of all columns).
    formato : {"gpkg", "parquet"}, optional
        ``"gpkg"`` (one GeoPackage) or ``"parquet"`` (GeoParquet + Parquet + JSON files, faster at district
        scale).

    Returns
    -------
    dict of str to Path
        ``{"resultados": …/resultados.gpkg, "resumen": …/resumen.csv}``; with ``"parquet"``,
        ``"resultados"`` is ``…/resultados.parquet`` and the keys of :data:`PARQUET_FILES` are added.

    Raises
    ------
    OutputExistsError
        When an output exists and ``overwrite`` is False.
    QuitogeoError
        When ``formato`` is unknown.
    """
    if formato not in FORMATS:
        raise QuitogeoError(f"formato de resultados {formato!r} desconocido; use 'gpkg' o 'parquet'")
    folder = Path(out_dir)
    if formato == "parquet":
        return _write_parquet(result, folder, overwrite=overwrite, chunk_rows=max(1, int(chunk_rows)))
    targets = {"resultados": folder / RESULTS_FILE, "resumen": folder / SUMMARY_FILE}
    _refuse_existing(targets.values(), overwrite=overwrite)
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
        try:
            _write_lots_arrow(predios, tmp_gpkg, "predios_resultado", chunk_rows=max(1, int(chunk_rows)))
        except _NotText:
            # an object column with numbers or mixed values: pyogrio types it from the whole column (rare;
            # a run's text columns are always text)
            if tmp_gpkg.exists():
                tmp_gpkg.unlink()
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


#: pandas-metadata key of the categorical columns written with one compact dictionary per row group.
_SORTED_CATEGORIES_KEY = b"quitogeo:categorias_ordenadas"


#: Values Arrow's Parquet writer encodes at a time (its default is 1,024): per write batch it computes a
#: dictionary column's statistics with a hash of the indices and a take of the texts, and checks the page
#: size, so a data page holds up to this many values (a row group's WKB, ~5 MB at 50,000 lots, becomes
#: one page instead of five; page sizes are not part of what a reader sees).
_PARQUET_WRITE_BATCH = 65_536


#: Fewest categories for a column to get per-row-group dictionaries (below, the whole dictionary is cheap).
_COMPACT_MIN_CATEGORIES = 1024


def _compactable(values: pd.Series) -> bool:
    """Whether a categorical column is worth writing with per-row-group dictionaries, rebuilt on read.

    True for a large dictionary whose categories are sorted and all used (as
    :func:`quitogeo.pipeline.compact_text` builds them): the reader then gets back exactly the same
    categories by sorting the union of the row groups' (:func:`_restore_categories`).
    """
    cats = values.cat.categories
    if (
        len(cats) < _COMPACT_MIN_CATEGORIES
        or values.cat.ordered
        or cats.dtype != np.dtype(object)
        or not cats.is_monotonic_increasing
    ):
        return False
    codes = values.cat.codes.to_numpy()
    used = np.bincount(codes[codes >= 0].astype(np.intp), minlength=len(cats))
    return bool((used > 0).all())


def _dictionary_slice(
    codes: np.ndarray, dictionary: pa.Array, index_type: pa.DataType, *, compact: bool
) -> pa.Array:
    """Make a slice of ``codes`` as an Arrow dictionary (only the used categories if ``compact``).

    The compact form keeps the categories' order (a sorted subset stays sorted) and is built with a
    bincount over the categories, not a sort of the lots.
    """
    null = codes < 0
    mask = null if null.any() else None
    if not compact:
        indices = pa.array(codes.astype(index_type.to_pandas_dtype(), copy=False), type=index_type, mask=mask)
        return pa.DictionaryArray.from_arrays(indices, dictionary)
    valid = codes[~null].astype(np.intp) if mask is not None else codes.astype(np.intp)
    used = np.flatnonzero(np.bincount(valid, minlength=len(dictionary)))
    remap = np.zeros(len(dictionary), dtype=index_type.to_pandas_dtype())
    remap[used] = np.arange(len(used))
    local = remap[np.where(null, 0, codes)]
    indices = pa.array(local, type=index_type, mask=mask)
    return pa.DictionaryArray.from_arrays(indices, dictionary.take(pa.array(used)))


def _text_objects(frame: gpd.GeoDataFrame) -> bool:
    """Whether every object column of ``frame`` holds only text or nulls (so a slice can type it)."""
    geom_name = frame.geometry.name
    return all(
        pd.api.types.infer_dtype(frame[c], skipna=True) in ("string", "empty")
        for c in frame.columns
        if c != geom_name and frame[c].dtype == np.dtype(object)
    )


def _write_geoparquet(frame: gpd.GeoDataFrame, path: Path, *, chunk_rows: int) -> None:
    """Write ``frame`` as GeoParquet, one row group of ``chunk_rows`` lots at a time.

    The file is the one ``GeoDataFrame.to_parquet(index=False)`` writes (same schema, pandas and ``geo``
    metadata, so it reads back with the same dtypes), built batch by batch so that the whole table is never
    held as Arrow next to the DataFrame. What made the write slow at 1 M lots, and what is done instead:

    * Parquet stores a dictionary per row group, so a categorical with ~10⁵ distinct texts (``motivos``…)
      had its whole dictionary written again in every row group — here each row group gets only the
      categories it uses (sorted back on read, :func:`_restore_categories`).
    * Parquet tries dictionary encoding on every column: hopeless for the measured floats and for the
      free text (``clave_catastral``, one value per lot, which falls back to plain after filling a 1 MB
      dictionary page), so it is asked only for the categoricals, which are dictionaries already.
    * Min/max statistics of a dictionary column cost Arrow a hash of the indices, a take and a min/max of
      the used texts per write batch of values (1,024 by default: a quarter of the encoding time at 200 k
      lots). Batches of :data:`_PARQUET_WRITE_BATCH` values make that once per row group; and the
      statistics are not written for the compacted columns (``motivos``, lists of vías or AIVA…), whose
      row groups span practically the whole range of texts so that no reader could skip one with them
      (the small categoricals, ``codigo_pit``…, keep theirs: lots come in clave order and their row groups
      do differ).
    * The schema comes from a one-row conversion, and the categoricals' dictionaries from it (converting
      the first whole row group only to learn the types cost as much as a batch).

    Arrow's encoding is single-threaded (pyarrow does not expose the C++ writer's column-parallel option)
    and releases the GIL: the next batch (WKB, Arrow arrays) is built on a second thread while the current
    one is encoded and written. Everything before the first write (schema, dictionaries, ``geo`` bounds,
    first batch, WKB included: shapely holds the GIL making it) needs the GIL, so it runs on this thread
    alone; moving the GEOS parts to the worker was measured to gain nothing. At 200 k lots the write
    takes ≈ 0.1 s of that preparation, then ≈ 0.08 s of Arrow encoding per row group, the floor.
    """
    import pyarrow.parquet as pq
    from geopandas.io.arrow import _create_metadata

    geom_name = frame.geometry.name
    geoms = frame.geometry.to_numpy()
    n = len(frame)
    columns = list(frame.columns)
    geo = _create_metadata(frame[[geom_name]], schema_version=None)
    schema, codes, dictionaries, compact = _geoparquet_schema(frame, geo)
    fields = list(schema)
    wkb_options: dict[str, Any] = {"flavor": "iso"} if shapely.geos_version > (3, 10, 0) else {}

    def batch(start: int) -> pa.RecordBatch:
        stop = min(start + chunk_rows, n)
        arrays: list[pa.Array] = []
        for col, field in zip(columns, fields, strict=True):
            if col == geom_name:
                # shapely makes one Python bytes per lot and holds the GIL meanwhile: split over threads
                # (quitogeo.parallel) the WKB took as long, and only slowed the other thread
                wkb = shapely.to_wkb(geoms[start:stop], **wkb_options)
                arrays.append(pa.array(wkb, type=pa.binary()))
            elif col in codes:
                arrays.append(
                    _dictionary_slice(
                        codes[col][start:stop],
                        dictionaries[col],
                        field.type.index_type,
                        compact=col in compact,
                    )
                )
            else:
                arr = pa.Array.from_pandas(frame[col].iloc[start:stop])
                arrays.append(arr if arr.type.equals(field.type) else arr.cast(field.type))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    starts = list(range(0, max(n, 1), chunk_rows))
    ready = batch(starts[0])
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        pq.ParquetWriter(
            path,
            schema,
            compression="snappy",
            use_dictionary=[f.name for f in fields if pa.types.is_dictionary(f.type)],
            write_statistics=[f.name for f in fields if f.name not in {str(c) for c in compact}],
            write_batch_size=_PARQUET_WRITE_BATCH,
        ) as writer,
    ):
        # the next batch is built on the worker while Arrow encodes and writes the current one here: both
        # cores busy, as Arrow releases the GIL
        for following in [*starts[1:], None]:
            pending = pool.submit(batch, following) if following is not None else None
            writer.write_batch(ready, row_group_size=chunk_rows)
            if pending is not None:
                ready = pending.result()


def _geoparquet_schema(
    frame: gpd.GeoDataFrame, geo: dict[str, Any]
) -> tuple[pa.Schema, dict[str, np.ndarray], dict[str, pa.Array], set[str]]:
    """Return the Arrow schema of :func:`_write_geoparquet` and what its text categoricals are made of.

    The schema and its pandas metadata are exactly those geopandas builds; ``geo`` is the ``geo``
    metadata. Also returns, for the text categoricals, the codes and the whole Arrow dictionary by
    column, and the columns written with per-row-group dictionaries (:func:`_compactable`, listed under
    :data:`_SORTED_CATEGORIES_KEY`).
    """
    geom_name = frame.geometry.name
    n = len(frame)
    columns = list(frame.columns)
    # schema and pandas metadata as geopandas builds them (geometry as a null placeholder); one row types
    # every column but free text, whose nulls are typed below (the types and the pandas metadata follow
    # the dtypes, not the number of rows)
    head = pd.DataFrame(frame.iloc[: min(n, 1)].copy(deep=False))
    head[geom_name] = None
    template = pa.Table.from_pandas(head, preserve_index=False)
    del head
    # text categoricals: codes and Arrow dictionaries once per column (not per row group); others (numbers
    # as categories, str-dtype categories) are converted slice by slice by pyarrow
    text_categorical = [
        c
        for c in columns
        if c != geom_name and _string_categories(frame[c]) and pa.types.is_dictionary(template[str(c)].type)
    ]
    codes = {c: np.asarray(frame[c].array.codes) for c in text_categorical}
    # the template converted every category to Arrow already (the dictionary of its one-row slice)
    dictionaries = {c: _whole_dictionary(template, frame, c) for c in text_categorical}
    compact = {c for c in text_categorical if _compactable(frame[c])}
    geom_meta = {"ARROW:extension:name": "geoarrow.wkb"}
    geom_meta["ARROW:extension:metadata"] = (
        json.dumps({"crs": frame.crs.to_json_dict()}) if frame.crs is not None else "{}"
    )
    fields = [
        pa.field(str(geom_name), pa.binary(), nullable=True, metadata=geom_meta)
        if c == geom_name
        else template.schema.field(str(c))
        for c in columns
    ]
    metadata = dict(template.schema.metadata or {})
    # A text column null in the template row comes out of it as Arrow's null type, which later text could
    # not be cast to: such a column is typed (and its pandas metadata written) from its first value, as
    # the whole-column conversion of ``to_parquet`` types it.
    pandas_meta = json.loads(metadata[b"pandas"]) if b"pandas" in metadata else None
    for i, c in enumerate(columns):
        if c == geom_name or not pa.types.is_null(fields[i].type):
            continue
        valid = np.flatnonzero(frame[c].notna().to_numpy())
        if not len(valid):
            continue
        first = pd.DataFrame({c: frame[c].iloc[valid[:1]].reset_index(drop=True)})
        one = pa.Table.from_pandas(first, preserve_index=False)
        fields[i] = one.schema.field(str(c))
        if pandas_meta is not None and one.schema.metadata and b"pandas" in one.schema.metadata:
            entry = json.loads(one.schema.metadata[b"pandas"])["columns"][0]
            pandas_meta["columns"] = [entry if e.get("name") == str(c) else e for e in pandas_meta["columns"]]
            metadata[b"pandas"] = json.dumps(pandas_meta).encode("utf-8")
    metadata[b"geo"] = json.dumps(geo).encode("utf-8")
    metadata[_SORTED_CATEGORIES_KEY] = json.dumps(sorted(str(c) for c in compact)).encode("utf-8")
    return pa.schema(fields, metadata=metadata), codes, dictionaries, compact


def _whole_dictionary(template: pa.Table, frame: pd.DataFrame, column: str) -> pa.Array:
    """Return all the categories of text categorical ``column`` as Arrow strings, from ``template``.

    ``pa.Table.from_pandas`` converts a categorical slice with its whole categories as the dictionary, so
    the one-row template holds them already (an empty frame's template may hold no chunk).
    """
    chunks = template.column(str(column)).chunks
    if chunks:
        dictionary = chunks[0].dictionary
        if pa.types.is_string(dictionary.type):
            return dictionary
    return pa.array(frame[column].cat.categories.to_numpy(dtype=object), type=pa.string())


def _restore_categories(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Sort back the categories of ``columns`` (written with one compact dictionary per row group)."""
    for col in columns:
        if col in frame.columns and isinstance(frame[col].dtype, pd.CategoricalDtype):
            cats = frame[col].cat.categories
            if not cats.is_monotonic_increasing:
                values = cats.to_numpy(dtype=object)
                ordered = pd.Index(values[np.argsort(values, kind="stable")], dtype=cats.dtype)
                frame[col] = frame[col].cat.reorder_categories(ordered)
    return frame


def _refuse_existing(paths: Iterable[Path], *, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` naming the outputs that exist, unless ``overwrite``."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"ya existe {', '.join(existing)}; use --overwrite (overwrite=True) para reemplazar o elija otra "
            "carpeta de salida"
        )


def _write_parquet(result: object, folder: Path, *, overwrite: bool, chunk_rows: int) -> dict[str, Path]:
    """Write the ``"parquet"`` format of :func:`write_results` (atomic per file, as the GeoPackage)."""
    targets = {"resultados": folder / PARQUET_FILES["resultados"], "resumen": folder / SUMMARY_FILE}
    targets.update({k: folder / v for k, v in PARQUET_FILES.items() if k != "resultados"})
    _refuse_existing(targets.values(), overwrite=overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    predios: gpd.GeoDataFrame = result.predios  # type: ignore[attr-defined]
    resumen = pd.DataFrame(result.resumen).reset_index(drop=True)  # type: ignore[attr-defined]
    problemas = pd.DataFrame(result.problemas).reset_index(drop=True)  # type: ignore[attr-defined]
    meta = pd.DataFrame(result.metadatos)  # type: ignore[attr-defined]
    tmps = {key: _tmp(folder, path.name) for key, path in targets.items()}
    try:
        # the lots' index is not data (a run's is 0..n-1): not stored, as in the GeoPackage
        if _text_objects(predios):
            _write_geoparquet(predios, tmps["resultados"], chunk_rows=chunk_rows)
        else:
            # an object column with numbers or mixed values: Arrow types it from the whole column (rare; a
            # run's object columns are text)
            predios.to_parquet(
                tmps["resultados"], index=False, compression="snappy", row_group_size=chunk_rows
            )
        resumen.to_parquet(tmps["resumen_parquet"], index=False)
        problemas.to_parquet(tmps["problemas"], index=False)
        pairs = [
            {"clave": str(k), "valor": str(v)} for k, v in zip(meta["clave"], meta["valor"], strict=True)
        ]
        tmps["metadatos"].write_text(json.dumps(pairs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        resumen.to_csv(tmps["resumen"], index=False, encoding="utf-8-sig")
        for key, path in targets.items():
            os.replace(tmps[key], path)
    finally:
        for tmp in tmps.values():
            if tmp.exists():
                tmp.unlink()
    return targets


def _object_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text as a run holds it: pandas reads Parquet strings as ``str``; a run's are object (None for null)."""
    for col in frame.columns:
        dtype = frame[col].dtype
        if isinstance(dtype, pd.StringDtype):
            values = frame[col].to_numpy(dtype=object)
            values[pd.isna(values)] = None
            frame[col] = pd.Series(values, index=frame.index, dtype=object)
        elif isinstance(dtype, pd.CategoricalDtype) and dtype.categories.dtype != np.dtype(object):
            cats = pd.Index(dtype.categories.to_numpy(dtype=object), dtype=object)
            frame[col] = frame[col].cat.set_categories(cats, rename=True)
    return frame


def _read_parquet(path: Path) -> object:
    """Read the ``"parquet"`` format back (``path`` is ``resultados.parquet``; the others are beside it)."""
    from quitogeo.pipeline import RunResult

    folder = path.parent
    others = {k: folder / v for k, v in PARQUET_FILES.items() if k != "resultados"}
    missing = [p.name for p in others.values() if not p.is_file()]
    if missing:
        raise ProjectNotFoundError(
            f"{path} no está completo: faltan {', '.join(missing)} en {folder}; vuelva a ejecutar "
            "'quitogeo run'"
        )
    import pyarrow.parquet as pq

    raw = pq.read_schema(path).metadata or {}
    sorted_cats = json.loads(raw.get(_SORTED_CATEGORIES_KEY, b"[]"))
    predios = _object_text(_restore_categories(gpd.read_parquet(path), sorted_cats))
    pairs = json.loads(others["metadatos"].read_text(encoding="utf-8"))
    metadatos = pd.DataFrame(
        {"clave": [p["clave"] for p in pairs], "valor": [p["valor"] for p in pairs]}, dtype=object
    )
    problemas = _object_text(pd.read_parquet(others["problemas"]))
    if "bloqueante" in problemas.columns:
        problemas["bloqueante"] = problemas["bloqueante"].astype(bool)
    return RunResult(
        predios=predios,
        resumen=_object_text(pd.read_parquet(others["resumen_parquet"])),
        problemas=problemas,
        metadatos=metadatos,
    )


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
    """Read results back into a RunResult: ``resultados.gpkg``, ``resultados.parquet`` or their folder.

    Parameters
    ----------
    path : str or Path
        ``resultados.gpkg``, ``resultados.parquet`` (with its companion files, :data:`PARQUET_FILES`) or the
        output folder of ``quitogeo run``. A folder holding both formats is read in the one written last.

    Returns
    -------
    RunResult
        With nullable booleans and integers restored as in :func:`quitogeo.pipeline.run` (GeoParquet keeps
        the dtypes themselves, text categoricals included).
    """
    from quitogeo.pipeline import RunResult

    p = Path(path)
    if p.is_dir():
        found = [f for f in (p / RESULTS_FILE, p / PARQUET_FILES["resultados"]) if f.is_file()]
        p = max(found, key=lambda f: f.stat().st_mtime_ns) if found else p / RESULTS_FILE
    if not p.is_file():
        raise ProjectNotFoundError(f"no existe el archivo de resultados {p}; ejecute 'quitogeo run' primero")
    if p.suffix.lower() == ".parquet":
        return _read_parquet(p)
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


__all__ = [
    "FORMATS",
    "INT_COLUMNS",
    "LAYERS",
    "PARQUET_FILES",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "read_results",
    "write_results",
]
