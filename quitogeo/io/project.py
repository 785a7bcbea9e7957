"""Reading a project: a GeoPackage, a folder of layer files, or a ``quitogeo.toml``.

Every layer comes out with the canonical names of layers.md, in TM-Quito, with a fresh RangeIndex, numbers as
float, geometries repaired (``make_valid``) and every fix or doubt written to the problems table. Nothing is
dropped silently: a lot with a null or empty geometry stays in ``predios`` so the run can give it an
``estado``.

A ``quitogeo.toml`` looks like::

    [layers.predios]
    source = "catastro/LOTES.shp"      # any OGR source, relative to this file
    layer = "LOTE"                      # optional: a layer inside the source
    preset = "catastro_lote"            # optional: a mapping of PRESETS
    crs = "EPSG:32717"                  # optional: declares the CRS (required when the file has none)
    columns = { clave_catastral = "CLAVE" }   # canonical = source column, applied over the preset

    [layers.aiva]
    source = "aiva.gpkg"

    [rasters]
    dem = "dem.tif"                     # or { source = "dem.tif", crs = "EPSG:4326" }
"""

from __future__ import annotations

import gc
import hashlib
import logging
import sys
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyproj import CRS

import quitogeo
from quitogeo.errors import CRSError, LayerError, ProjectNotFoundError
from quitogeo.io.checks import _first_vertices, _lot_index, _repeated
from quitogeo.io.columns import (
    LAYER_SPECS,
    MUNICIPAL_LAYER_NAMES,
    LayerSpec,
    apply_mapping,
    preset_mapping,
)
from quitogeo.io.crs import TM_QUITO, check_extent, recognise_crs, to_tm_quito
from quitogeo.io.encoding import detect_encoding, mojibake_mask
from quitogeo.io.problems import ProblemLog
from quitogeo.io.zoning_codes import parse_zoning_codes
from quitogeo.parallel import elementwise, n_threads
from quitogeo.rules import Rules, load_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

#: File name of the embedded sample project, in ``<repo>/data/``.
SAMPLE_FILE = "muestra_quito.gpkg"
#: Vector file suffixes of a folder project, in order of preference when a layer has several.
VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet")
RASTER_SUFFIXES = (".tif", ".tiff")
#: Name of the project file inside a folder.
PROJECT_FILE = "quitogeo.toml"

_GEOM_TYPES = {"polygon": (3, 6), "line": (1, 2, 5), "point": (4, 0)}
_GEOM_WORDS = {"polygon": "polígonos", "line": "líneas", "point": "puntos"}


@dataclass
class Project:
    """A project read and checked, ready for the run.

    Attributes
    ----------
    layers : dict of str to GeoDataFrame
        Canonical layer name → layer in TM-Quito with canonical columns. Optional layers that are absent are
        simply not in the dict.
    rasters : dict of str to Path
        Raster layers (a DEM, a risk grid) by name.
    problems : DataFrame
        The problems table (``capa, id, problema, accion, correccion, bloqueante``).
    source : str
        What was read (a path).
    hashes : dict of str to str
        sha256 of each input layer's data (geometry WKB and attributes as read), for the run's metadatos.
    crs : pyproj.CRS
        Always :data:`quitogeo.io.crs.TM_QUITO`.
    """

    layers: dict[str, gpd.GeoDataFrame]
    rasters: dict[str, Path]
    problems: pd.DataFrame
    source: str
    hashes: dict[str, str]
    crs: CRS = field(default=TM_QUITO)

    @property
    def blocking(self) -> pd.DataFrame:
        """The problems that prevent a run (``bloqueante`` True)."""
        return self.problems[self.problems["bloqueante"]]

    @property
    def can_run(self) -> bool:
        """Whether no problem blocks a run."""
        return not bool(self.problems["bloqueante"].any())


@dataclass
class _LayerSource:
    name: str
    path: Path
    layer: str | None = None
    preset: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    crs: Any = None


def sample_project_path() -> Path:
    """Return the path of the embedded sample project (``<repo>/data/muestra_quito.gpkg``).

    Returns
    -------
    Path
        The GeoPackage, located relative to the package (it is not checked for existence here).
    """
    return Path(quitogeo.__file__).resolve().parents[1] / "data" / SAMPLE_FILE


def _load_rules(rules: Rules | str | Path | None) -> Rules:
    if isinstance(rules, Rules):
        return rules
    return load_rules(rules)


def _layer_key(name: str) -> tuple[str, str | None] | None:
    """Map a layer/file name to (canonical layer, preset or None)."""
    key = name.strip().lower()
    if key in LAYER_SPECS:
        return key, None
    if key in MUNICIPAL_LAYER_NAMES:
        return MUNICIPAL_LAYER_NAMES[key]
    return None


def _resolve(source: Path, problems: ProblemLog) -> tuple[list[_LayerSource], dict[str, tuple[Path, Any]]]:
    """Find the layer sources and rasters of a project."""
    if source.is_dir() and (source / PROJECT_FILE).exists():
        source = source / PROJECT_FILE
    if source.suffix.lower() == ".toml":
        return _resolve_toml(source, problems)
    layers: list[_LayerSource] = []
    rasters: dict[str, tuple[Path, Any]] = {}
    if source.is_dir() and source.suffix.lower() != ".gdb":
        files = sorted(p for p in source.iterdir() if p.is_file())
        for suffix in VECTOR_SUFFIXES:
            for path in files:
                if path.suffix.lower() != suffix:
                    continue
                found = _layer_key(path.stem)
                if found is None:
                    continue
                name, preset = found
                if any(ls.name == name for ls in layers):
                    problems.add(
                        name,
                        "*",
                        f"capa '{name}' repetida en la carpeta: {path.name} no se usa",
                        "se usa el primer archivo",
                        f"deje un solo archivo para '{name}'",
                    )
                    continue
                layers.append(_LayerSource(name, path, preset=preset))
        for path in files:
            if path.suffix.lower() in RASTER_SUFFIXES:
                rasters[path.stem] = (path, None)
        return layers, rasters
    try:
        listed = pyogrio.list_layers(source)
    except Exception as exc:  # pyogrio.errors.DataSourceError and OS errors alike: report with the fix
        raise ProjectNotFoundError(
            f"no se pudo abrir el proyecto {source}: {exc}; indique un GeoPackage, una carpeta de capas o un "
            "quitogeo.toml"
        ) from exc
    for layer_name, _geom in listed:
        found = _layer_key(str(layer_name))
        if found is None:
            if not str(layer_name).startswith(("gpkg_", "layer_styles", "rtree_")):
                problems.add(
                    str(layer_name),
                    "*",
                    f"capa '{layer_name}' de {source.name} no es del contrato (layers.md)",
                    "se ignora",
                    "renómbrela con un nombre de layers.md o declárela en quitogeo.toml",
                )
            continue
        name, preset = found
        if any(ls.name == name for ls in layers):
            continue
        layers.append(_LayerSource(name, source, layer=str(layer_name), preset=preset))
    return layers, rasters


def _resolve_toml(path: Path, problems: ProblemLog) -> tuple[list[_LayerSource], dict[str, tuple[Path, Any]]]:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProjectNotFoundError(f"no se pudo leer {path}: {exc}; corrija la sintaxis TOML") from exc
    base = path.parent
    layers: list[_LayerSource] = []
    unknown_top = set(config) - {"layers", "rasters", "nombre", "descripcion"}
    if unknown_top:
        raise LayerError(
            f"{path}: secciones desconocidas {sorted(unknown_top)}; use [layers.<capa>] y [rasters]",
            source=str(path),
        )
    for name, entry in config.get("layers", {}).items():
        if name not in LAYER_SPECS:
            raise LayerError(
                f"{path}: capa desconocida '{name}'; las capas son: {', '.join(LAYER_SPECS)}",
                source=str(path),
            )
        if isinstance(entry, str):
            entry = {"source": entry}
        unknown = set(entry) - {"source", "layer", "preset", "crs", "columns"}
        if unknown or "source" not in entry:
            raise LayerError(
                f"{path}: [layers.{name}] necesita 'source' y admite layer, preset, crs, columns "
                f"(sobran: {sorted(unknown)})",
                layer=name,
                source=str(path),
            )
        columns = {str(k): str(v) for k, v in entry.get("columns", {}).items()}
        preset = entry.get("preset")
        if preset is not None:
            preset_layer, _ = preset_mapping(preset)
            if preset_layer != name:
                raise LayerError(
                    f"{path}: el preset '{preset}' es para la capa '{preset_layer}', no '{name}'",
                    layer=name,
                    source=str(path),
                )
        layers.append(
            _LayerSource(
                name, (base / entry["source"]), entry.get("layer"), preset, columns, entry.get("crs")
            )
        )
    rasters: dict[str, tuple[Path, Any]] = {}
    for name, entry in config.get("rasters", {}).items():
        if isinstance(entry, str):
            rasters[name] = (base / entry, None)
        else:
            rasters[name] = (base / entry["source"], entry.get("crs"))
    return layers, rasters


def _layer_hash(frame: gpd.GeoDataFrame) -> str:
    """sha256 of a layer's data: column names, attribute values and geometry WKB, in row order.

    For sources not read through Arrow (the non-Arrow fallback, GeoParquet); see :func:`_arrow_hash`.
    """
    digest = hashlib.sha256()
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    digest.update("\x1f".join(map(str, attrs.columns)).encode("utf-8"))
    if len(attrs.columns):
        digest.update(pd.util.hash_pandas_object(attrs, index=False).to_numpy().tobytes())
    wkb = shapely.to_wkb(frame.geometry.to_numpy(), hex=False)
    digest.update(b"".join(b if b is not None else b"\x00" for b in wkb))
    return digest.hexdigest()


_TEXT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)

#: Bytes gathered before one update of a layer hash (see :class:`_Digest`).
_HASH_PIECE = 16 << 20


class _Digest:
    """sha256 fed in large pieces: the digest of the same bytes fed one by one, with fewer GIL round trips.

    hashlib releases the GIL while it hashes a piece of 2 KiB or more and takes it back afterwards. On the
    read's extra thread, beside a thread that holds the GIL for long stretches (WKB parsing, pandas), every
    take-back waits for it (5 ms or more): a layer fed one column chunk at a time took it back hundreds of
    times (1 s of wall time for 0.2 s of hashing per million lots). Gathered into pieces of
    :data:`_HASH_PIECE` bytes, it takes it back some tens of times.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._pending: list[memoryview] = []
        self._size = 0

    def update(self, piece: Any) -> None:
        """Feed ``piece`` (any contiguous buffer) after everything fed before."""
        view = memoryview(piece).cast("B")
        if view.nbytes >= _HASH_PIECE:
            self._flush()
            self._sha.update(view)
            return
        self._pending.append(view)
        self._size += view.nbytes
        if self._size >= _HASH_PIECE:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._sha.update(b"".join(self._pending))
            self._pending, self._size = [], 0

    def hexdigest(self) -> str:
        """Return the sha256 of everything fed, in hexadecimal."""
        self._flush()
        return self._sha.hexdigest()


def _fill_value(kind: pa.DataType) -> Any:
    """Return what :func:`_hash_arrow_array` puts in the null slots of a ``kind`` array (None: nothing)."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pa.scalar("", type=kind)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.scalar(b"", type=kind)
    if pa.types.is_boolean(kind):
        return False
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return 0
    return None


def _hash_arrow_array(
    digest: _Digest, arr: pa.Array, *, is_null: pa.Array | None = None, filled: pa.Array | None = None
) -> None:
    """Feed one Arrow array's values to ``digest``, whatever its null slots or padding bytes hold.

    ``is_null`` and ``filled`` are ``arr.is_null()`` and ``arr.fill_null(_fill_value(arr.type))`` when the
    caller computed them already (for a whole column: see :func:`_hash_column`).
    """
    kind = arr.type
    fill = _fill_value(kind)
    if arr.null_count:
        mask = arr.is_null() if is_null is None else is_null
        digest.update(np.packbits(mask.to_numpy(zero_copy_only=False)))
        if fill is not None and filled is None:
            filled = arr.fill_null(fill)
    else:
        filled = arr
    if any(test(kind) for test in _TEXT_TYPES):
        assert filled is not None
        buffers = filled.buffers()
        wide = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
        width = 8 if wide else 4
        offsets = np.frombuffer(
            buffers[1],
            dtype=np.int64 if wide else np.int32,
            count=len(filled) + 1,
            offset=filled.offset * width,
        )
        digest.update(offsets - offsets[0])
        if buffers[2] is not None:
            digest.update(memoryview(buffers[2])[int(offsets[0]) : int(offsets[-1])])
    elif pa.types.is_boolean(kind):
        assert filled is not None
        digest.update(np.packbits(filled.to_numpy(zero_copy_only=False)))
    elif fill is not None:  # integers and floats
        assert filled is not None
        digest.update(filled.to_numpy(zero_copy_only=False))
    else:  # dates, times, decimals…: rare, and small in the contract's layers
        digest.update(repr(arr.to_pylist()).encode("utf-8"))


def _hash_column(digest: _Digest, column: pa.ChunkedArray) -> None:
    """Feed one column's type, then its chunks in order, to ``digest``.

    The null masks and filled values of a column with nulls are computed for the whole column at once: each
    Arrow compute call releases the GIL and takes it back, so once per column rather than once per chunk.
    They have the column's chunks (an element-wise kernel keeps them); were they cut otherwise, each chunk
    computes its own.
    """
    digest.update(str(column.type).encode("utf-8"))
    is_null: pa.ChunkedArray | None = None
    filled: pa.ChunkedArray | None = None
    if column.null_count and column.num_chunks > 1:
        sizes = [len(chunk) for chunk in column.chunks]
        is_null = column.is_null()
        fill = _fill_value(column.type)
        filled = column.fill_null(fill) if fill is not None else None
        if [len(c) for c in is_null.chunks] != sizes or (
            filled is not None and [len(c) for c in filled.chunks] != sizes
        ):
            is_null = filled = None
    for i, chunk in enumerate(column.chunks):
        if is_null is None or not chunk.null_count:
            _hash_arrow_array(digest, chunk)
        else:
            _hash_arrow_array(
                digest, chunk, is_null=is_null.chunk(i), filled=None if filled is None else filled.chunk(i)
            )


def _columns_hash(names: list[str], columns: list[pa.ChunkedArray]) -> str:
    """sha256 of a table given by its column names and columns: see :func:`_arrow_hash`."""
    digest = _Digest()
    digest.update("\x1f".join(names).encode("utf-8"))
    for column in columns:
        _hash_column(digest, column)
    return digest.hexdigest()


def _arrow_hash(table: pa.Table) -> str:
    """sha256 of a layer read as Arrow: column names and types, then every column's values in row order.

    The geometry is hashed as the WKB GDAL hands over, straight from the Arrow buffers: no pandas copy and
    no re-encoding (hashing the DataFrame, :func:`_layer_hash`, cost ~2 s per million lots). Text offsets
    and null masks are fed chunk by chunk: the digest follows the chunks pyogrio reads (batches of
    :data:`_ARROW_BATCH` features).
    """
    return _columns_hash(table.column_names, table.columns)


@dataclass
class _Geometry:
    """What the read learnt of a layer's geometries beside the parsing (aligned to its rows).

    Attributes
    ----------
    valid : numpy.ndarray
        ``shapely.is_valid``.
    bounds : tuple of float
        ``shapely.total_bounds`` (NaN when no geometry has coordinates).
    first : numpy.ndarray or None
        For the lots: ``(n, 2)`` first vertices, as :func:`quitogeo.io.checks._first_vertices` gives them,
        where ``first_known`` (read from the WKB); elsewhere not known.
    first_known : numpy.ndarray or None
        Where ``first`` holds the first vertex.
    """

    valid: np.ndarray
    bounds: tuple[float, float, float, float]
    first: np.ndarray | None = None
    first_known: np.ndarray | None = None


def _total_bounds(bounds: np.ndarray) -> np.ndarray:
    """Reduce ``(n, 4)`` bounds as ``shapely.total_bounds`` does (NaN rows ignored), without its warning.

    Minima and maxima are exact: total bounds of batches' total bounds are the layer's.
    """
    if not len(bounds) or np.isnan(bounds).all():
        return np.full(4, np.nan)
    return np.array(
        [
            np.nanmin(bounds[:, 0]),
            np.nanmin(bounds[:, 1]),
            np.nanmax(bounds[:, 2]),
            np.nanmax(bounds[:, 3]),
        ]
    )


def _wkb_first_vertices(wkb: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """First vertex of each WKB polygon or multipolygon, read from the WKB bytes; and where it was found.

    Only little-endian 2D polygons (type 3) and multipolygons (type 6) whose first ring has a point are read
    (the WKB GDAL gives for a cadastre); any other row is left to :func:`quitogeo.io.checks._first_vertices`
    (``known`` False). The doubles are the WKB's own, so the same as the parsed geometry's first coordinate:
    taking them from the bytes spares copying every coordinate of a million lots (0.4 s).
    """
    n = len(wkb)
    xy = np.full((n, 2), np.nan)
    known = np.zeros(n, dtype=bool)
    buffers = wkb.buffers()
    binary = pa.types.is_binary(wkb.type) or pa.types.is_large_binary(wkb.type)
    if not n or not binary or buffers[2] is None:
        return xy, known
    wide = pa.types.is_large_binary(wkb.type)
    offsets = np.frombuffer(
        buffers[1], dtype=np.int64 if wide else np.int32, count=n + 1, offset=wkb.offset * (8 if wide else 4)
    ).astype(np.int64)
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    start, size = offsets[:-1], np.diff(offsets)
    present = size >= 29  # the shortest: order, type, rings, points, x, y of a polygon
    if wkb.null_count:
        present &= ~wkb.is_null().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(present)
    at = start[rows]

    def u32(pos: np.ndarray) -> np.ndarray:
        return data[pos[:, None] + np.arange(4)].view("<u4")[:, 0]

    def f64(pos: np.ndarray) -> np.ndarray:
        return data[pos[:, None] + np.arange(8)].view("<f8")[:, 0]

    little = data[at] == 1
    rows, at = rows[little], at[little]
    kind = u32(at + 1)
    # a polygon: x at byte 13 when it has a ring with a point
    poly = kind == 3
    p_rows, p_at = rows[poly], at[poly]
    ok = (u32(p_at + 5) > 0) & (u32(p_at + 9) > 0)
    p_rows, p_at = p_rows[ok], p_at[ok]
    xy[p_rows, 0], xy[p_rows, 1] = f64(p_at + 13), f64(p_at + 21)
    known[p_rows] = True
    # a multipolygon: its first polygon's header at byte 9, x at byte 22
    multi = (kind == 6) & (size[rows] >= 38)
    m_rows, m_at = rows[multi], at[multi]
    ok = (u32(m_at + 5) > 0) & (data[m_at + 9] == 1)
    m_rows, m_at = m_rows[ok], m_at[ok]
    ok = (u32(m_at + 10) == 3) & (u32(m_at + 14) > 0) & (u32(m_at + 18) > 0)
    m_rows, m_at = m_rows[ok], m_at[ok]
    xy[m_rows, 0], xy[m_rows, 1] = f64(m_at + 22), f64(m_at + 30)
    known[m_rows] = True
    return xy, known


def _check_batch(
    parts: list[np.ndarray], wkb: pa.Array | None
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Return the validity, total bounds and (given the WKB) first vertices of a batch of geometries."""
    geoms = np.concatenate(parts) if len(parts) != 1 else parts[0]
    valid = np.asarray(shapely.is_valid(geoms), dtype=bool)
    return valid, _total_bounds(shapely.bounds(geoms)), None if wkb is None else _wkb_first_vertices(wkb)


def _arrow_frame(
    meta: dict[str, Any],
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    *,
    vertices: bool = False,
) -> tuple[gpd.GeoDataFrame, Future[str], _Geometry | None]:
    """Build the GeoDataFrame ``pyogrio.read_dataframe(use_arrow=True)`` builds, its hash and geometry facts.

    The batches come as GDAL reads them (``pyogrio.open_arrow``), so the WKB of one batch is parsed while GDAL
    reads the next. ``shapely.from_wkb`` holds the GIL (it reads Python bytes objects), so it gains nothing
    from more threads (measured: two threads slower than one); it parses :data:`_WKB_SLICE` features at a
    time, which lets the read's extra thread take the GIL back often. That thread checks each parsed batch
    (``is_valid``, 0.6 s per million lots, and its bounds: GEOS work that releases the GIL; for the lots,
    their first vertices read from the WKB), one call per batch, since each call waits for the GIL once. When
    the last batch is parsed it hashes the table (:func:`_arrow_hash`) while pandas takes the attribute
    columns over (``self_destruct``: the hash holds its own references to the columns' buffers). The same
    geometries and verdicts as one call of each.

    Returns
    -------
    tuple
        The frame, the future of the table's hash, and what the checks learnt of its geometries (None for a
        table without geometry).
    """
    geometry_name = meta["geometry_name"] or "wkb_geometry"
    has_geometry = geometry_name in schema.names
    kept: list[pa.RecordBatch] = []
    parts: list[np.ndarray] = []
    checks: list[Future[Any]] = []
    inputs: list[tuple[list[np.ndarray], pa.Array | None]] = []
    for batch in batches:
        kept.append(batch)
        if not has_geometry:
            continue
        wkb = batch.column(geometry_name)
        mine = [
            shapely.from_wkb(wkb.slice(a, _WKB_SLICE).to_numpy(zero_copy_only=False))
            for a in range(0, len(wkb), _WKB_SLICE)
        ]
        if mine:
            parts.extend(mine)
            inputs.append((mine, wkb if vertices else None))
            checks.append(_beside(_check_batch, *inputs[-1]))
    table = pa.Table.from_batches(kept, schema=schema)
    del kept
    digest = _beside(_columns_hash, table.column_names, table.columns)
    # With the collector paused (read_project) the parsing outruns the checks: the checks the extra thread
    # has not started yet are taken back and run here, from the last, while it ends its current one and
    # hashes the table.
    for k in range(len(checks) - 1, -1, -1):
        if not checks[k].cancel():
            break  # started or done: so are those before it (the thread takes them in order)
        checks[k] = _done(_check_batch(*inputs[k]))
    del inputs
    geometry = None
    if has_geometry:
        table = table.drop_columns([geometry_name])
    frame = table.to_pandas(self_destruct=True)
    del table
    if not has_geometry:
        return gpd.GeoDataFrame(frame), digest, None
    geoms = np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else np.zeros(0, dtype=object)
    done = [c.result() for c in checks]
    bounds = _total_bounds(np.array([b for _, b, _ in done])) if done else np.full(4, np.nan)
    geometry = _Geometry(
        valid=np.concatenate([v for v, _, _ in done]) if done else np.zeros(0, dtype=bool),
        bounds=(float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])),
    )
    if vertices:
        firsts = [f for _, _, f in done if f is not None]
        geometry.first = np.concatenate([xy for xy, _ in firsts]) if firsts else np.zeros((0, 2))
        geometry.first_known = np.concatenate([k for _, k in firsts]) if firsts else np.zeros(0, dtype=bool)
    series = gpd.GeoSeries(geoms, index=frame.index, crs=meta["crs"])
    return gpd.GeoDataFrame(frame, geometry=series), digest, geometry


#: Features per Arrow batch: those of ``pyogrio.read_arrow``, whose chunks the layer hash follows.
_ARROW_BATCH = 65_536
#: Features parsed per ``from_wkb`` call (which holds the GIL some 5 ms per 8,000 lots): the extra thread
#: waits at most that long to take the GIL back.
_WKB_SLICE = 8_192


_side: ThreadPoolExecutor | None = None
_side_lock = threading.Lock()
#: The long job on the extra thread (the lot checks), if any: short jobs do not queue behind it.
_side_long: Future[Any] | None = None


def _beside(func: Any, *args: Any, long: bool = False, **kwargs: Any) -> Future[Any]:
    """Start ``func(*args, **kwargs)`` on the read's one extra thread; its result is the future's.

    For work that releases the GIL (hashing large buffers, GEOS predicates) while the calling thread does
    GIL-bound work (parsing WKB, pandas): the read runs alone, so both cores are its own. (On a thread other
    than the main one, shapely's GEOS calls release the GIL for the whole call: on the main thread they take
    it back every 10,000 geometries to look for Ctrl-C.) The call runs in the calling thread instead, at
    once, when the pool is off (:func:`quitogeo.parallel.serial`) or while a ``long`` job occupies the extra
    thread (a short job queued behind it would only make its caller wait). The results are the same either
    way.
    """
    global _side, _side_long
    if n_threads() <= 1 or (_side_long is not None and not _side_long.done()):
        done: Future[Any] = Future()
        try:
            done.set_result(func(*args, **kwargs))
        except BaseException as exc:  # handed to .result(), as the thread would
            done.set_exception(exc)
        return done
    with _side_lock:
        if _side is None:
            _side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quitogeo-lectura")
        future = _side.submit(func, *args, **kwargs)
        if long:
            _side_long = future
    return future


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def _read_source(
    src: _LayerSource, problems: ProblemLog
) -> tuple[gpd.GeoDataFrame, Future[str], _Geometry | None]:
    """Read one layer; return it (as pyogrio reads it), the future sha256 of its data and its geometry facts.

    The geometry facts (validity, bounds, the lots' first vertices) come with a layer read through Arrow.
    """
    path = src.path
    if path.suffix.lower() == ".parquet":
        frame = gpd.read_parquet(path)
        return frame, _done(_layer_hash(frame)), None
    choice = detect_encoding(path)
    if not choice.declared and choice.encoding == "cp1252":
        problems.add(
            src.name,
            "*",
            f"{path.name}: codificación no declarada (sin .cpg) y el texto no es UTF-8",
            "se leyó como cp1252 (Windows)",
            f"agregue {path.with_suffix('.cpg').name} con la codificación",
        )
    try:
        # the batches read_arrow reads, one by one (see _arrow_frame)
        with pyogrio.open_arrow(
            path,
            layer=src.layer,
            encoding=choice.encoding,
            datetime_as_string=True,
            use_pyarrow=True,
            batch_size=_ARROW_BATCH,
        ) as (meta, reader):
            special = any(str(d).startswith("datetime") for d in meta["dtypes"] if d is not None) or any(
                sub == "OFSTJSON" for sub in meta.get("ogr_subtypes", ())
            )
            if special:
                digest = _arrow_hash(reader.read_all())
            else:
                frame, hashing, geometry = _arrow_frame(
                    meta, reader, reader.schema, vertices=src.name == "predios"
                )
                return frame, hashing, geometry
        # dates and JSON fields need pyogrio's own parsing: let it read them (rare in cadastral layers)
        frame = pyogrio.read_dataframe(path, layer=src.layer, use_arrow=True, encoding=choice.encoding)
        return frame, _done(digest), None
    except Exception as exc:
        # Arrow cannot take every source (e.g. some drivers' odd field types or text that does not decode in
        # the declared encoding); plain pyogrio reads those feature by feature inside GDAL, still vectorised.
        log.debug("lectura Arrow falló para %s (%s); se reintenta sin Arrow", path, exc)
        frame = pyogrio.read_dataframe(path, layer=src.layer, use_arrow=False, encoding=choice.encoding)
        return frame, _done(_layer_hash(frame)), None


class _Ids:
    """Feature ids for the problems table, built only for the rows that have a problem.

    The id is the layer's id column when filled (as text, e.g. the clave catastral), else ``"fila i"`` (the
    0-based row). Building it for every row cost a second per million lots and almost no row is ever
    reported; here it is taken from a snapshot of the id column (pandas copy-on-write: later edits of the
    frame do not show) for the rows asked.
    """

    def __init__(self, frame: pd.DataFrame, spec: LayerSpec) -> None:
        self._n = len(frame)
        self._own = frame[spec.id_column] if spec.id_column and spec.id_column in frame.columns else None

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, key: Any) -> np.ndarray:
        """Ids of the rows selected by a boolean mask or by row positions (an array, Series or Index)."""
        sel = np.asarray(key.to_numpy() if isinstance(key, (pd.Series, pd.Index)) else key)
        positions = np.flatnonzero(sel) if sel.dtype == bool else sel.astype(np.intp, copy=False)
        rows = np.array([f"fila {i}" for i in positions.tolist()], dtype=object)
        if self._own is None or not len(positions):
            return rows
        own = self._own.iloc[positions].astype("string")
        filled = (own.notna() & (own.str.strip() != "")).to_numpy(dtype=bool)
        return np.where(filled, own.astype(object).to_numpy(), rows)


def _ids(frame: pd.DataFrame, spec: LayerSpec) -> _Ids:
    """Feature ids for the problems table: the layer's id column when filled, else the row number."""
    return _Ids(frame, spec)


_NUM_THOUSANDS_DOT = r"^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?$"
_NUM_THOUSANDS_COMMA = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"


def coerce_numbers(values: pd.Series) -> tuple[pd.Series, int, int, np.ndarray]:
    """Convert a column to float, accepting numbers written as text.

    Decimal commas (``"1234,5"``), thousands dots with a decimal comma (``"1.234,5"``) and thousands commas
    with a decimal point (``"1,234.5"``) are understood; blanks become NaN.

    Parameters
    ----------
    values : Series
        The column as read.

    Returns
    -------
    tuple
        ``(floats, n_text, n_comma, bad)``: the float column, how many values were text numbers, how many of
        those used a decimal comma, and a boolean mask of values that are not numbers (they become NaN).
    """
    if values.dtype.kind in "biuf":
        return values.astype(float), 0, 0, np.zeros(len(values), dtype=bool)
    text = values.astype("string").str.strip()
    blank = text.isna() | (text == "")
    thousands_dot = text.str.match(_NUM_THOUSANDS_DOT).fillna(False)
    thousands_comma = text.str.match(_NUM_THOUSANDS_COMMA).fillna(False)
    decimal_comma = text.str.contains(",", regex=False).fillna(False) & ~thousands_comma
    cleaned = text.where(~thousands_dot, text.str.replace(".", "", regex=False))
    cleaned = cleaned.where(~thousands_comma, cleaned.str.replace(",", "", regex=False))
    cleaned = cleaned.where(~decimal_comma, cleaned.str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(cleaned.where(~blank), errors="coerce").astype(float)
    # Values that were real numbers already (mixed object columns) are not "text".
    is_text = (
        values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if values.dtype == object
        else (np.ones(len(values), dtype=bool))
    )
    bad = (~blank & numbers.isna()).to_numpy(dtype=bool)
    ok_text = is_text & ~blank.to_numpy(dtype=bool) & ~bad
    n_comma = int((ok_text & decimal_comma.to_numpy(dtype=bool)).sum())
    return pd.Series(numbers.to_numpy(), index=values.index), int(ok_text.sum()), n_comma, bad


_TRUE = {"true", "t", "1", "si", "sí", "s", "yes", "y", "verdadero", "v"}
_FALSE = {"false", "f", "0", "no", "n", "falso"}


def _coerce_bool(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if values.dtype == bool or str(values.dtype) == "boolean":
        return values.astype("boolean"), np.zeros(len(values), dtype=bool)
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
    out[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
    bad = (text.notna() & (text != "") & out.isna()).to_numpy(dtype=bool)
    return out, bad


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def _normalise_categories(
    frame: gpd.GeoDataFrame,
    column: str,
    mapping: dict[str, str],
    allowed: set[str],
    capa: str,
    ids: _Ids,
    problems: ProblemLog,
    fix: str,
    *,
    coded: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Map spelling variants of a categorical column to the canonical values, reporting what is unknown.

    ``coded`` is the column's factorisation when known (:func:`_text_codes`, the same codes and distinct
    values ``pd.factorize`` gives).
    """
    if column not in frame.columns:
        return
    raw = frame[column].to_numpy(dtype=object)
    # Spelling is normalised once per distinct value (a handful), then taken back over the column by code.
    codes, uniques = coded if coded is not None else pd.factorize(raw, use_na_sentinel=True)
    canon = [mapping.get(_strip_accents(str(u).strip()).replace("_", " ").replace("-", " ")) for u in uniques]
    spelled = np.array(
        [c if c is not None else u for c, u in zip(canon, uniques, strict=True)] + [None], dtype=object
    )
    # code -1 (missing) takes the trailing None
    frame[column] = pd.Series(spelled[codes], index=frame.index, dtype=object, copy=False)
    unknown_code = np.array(
        [c is None and u not in allowed for c, u in zip(canon, uniques, strict=True)] + [False]
    )
    unknown = unknown_code[codes]
    if unknown.any():
        problems.add_many(
            capa,
            ids[unknown],
            [f"valor desconocido en '{column}': {v!r}" for v in raw[unknown]],
            "las reglas que lo usan dan 'sin dato' para estos elementos",
            fix,
        )


def _repair_geometries(
    frame: gpd.GeoDataFrame,
    spec: LayerSpec,
    ids: _Ids,
    problems: ProblemLog,
    *,
    valid: np.ndarray,
    missing: np.ndarray,
    empty: np.ndarray,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Report null, empty and wrongly typed geometries; repair the invalid.

    ``valid``, ``missing`` and ``empty`` are ``shapely.is_valid``, ``is_missing`` and (not missing and)
    ``is_empty`` of the geometries. Returns the layer and where its geometries changed.
    """
    # the layer's own array: copied before the first change (most layers need none)
    geoms = frame.geometry.to_numpy()
    owned = False
    if missing.any() or empty.any():
        bad = missing | empty
        problems.add_many(
            spec.name,
            ids[bad],
            np.where(missing[bad], "geometría nula", "geometría vacía").tolist(),
            "se conserva el elemento sin geometría"
            + (" (estado: sin geometría)" if spec.name == "predios" else ""),
            "dibuje la geometría del elemento en el archivo de origen",
        )
    present = ~(missing | empty)
    types = shapely.get_type_id(geoms)
    wrong = present & ~np.isin(types, _GEOM_TYPES[spec.geometry]) & (types != 7)
    if wrong.any():
        problems.add_many(
            spec.name,
            ids[wrong],
            [
                f"tipo de geometría {t} en una capa de {_GEOM_WORDS[spec.geometry]}"
                for t in shapely.get_type_id(geoms[wrong])
            ],
            "se descarta la geometría (el elemento queda sin geometría)",
            f"la capa '{spec.name}' debe tener {_GEOM_WORDS[spec.geometry]}",
        )
        geoms, owned = geoms if owned else geoms.copy(), True
        geoms[wrong] = None
        present &= ~wrong
    invalid = present & ~valid
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        if spec.geometry == "polygon":
            # "structure" keeps the rings' meaning (shells minus holes) instead of re-tracing every line.
            fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        else:
            fixed = shapely.make_valid(geoms[invalid])
        geoms, owned = geoms if owned else geoms.copy(), True
        geoms[invalid] = fixed
        types = types.copy()
        types[invalid] = shapely.get_type_id(fixed)
        problems.add_many(
            spec.name,
            ids[invalid],
            [f"geometría inválida ({r})" for r in reasons],
            "reparada con make_valid",
            "corrija la geometría en el archivo de origen",
        )
    # make_valid (or the source) may leave collections: keep only the parts of the layer's geometry type.
    # (``types`` holds the repaired geometries' types; the discarded ones are out of ``present``.)
    collections = present & (types == 7)
    if collections.any():
        rows = np.flatnonzero(collections)
        parts, index = shapely.get_parts(geoms[rows], return_index=True)
        keep = np.isin(shapely.get_type_id(parts), _GEOM_TYPES[spec.geometry])
        parts, index = parts[keep], index[keep]
        builder: dict[str, Any] = {
            "polygon": shapely.multipolygons,
            "line": shapely.multilinestrings,
            "point": shapely.multipoints,
        }
        rebuilt = np.full(len(rows), None, dtype=object)
        if len(parts):
            flat = shapely.get_parts(parts)
            flat_index = np.repeat(index, shapely.get_num_geometries(parts))
            built = builder[spec.geometry](flat, indices=flat_index)
            rebuilt[np.unique(flat_index)] = built
        geoms, owned = geoms if owned else geoms.copy(), True
        geoms[rows] = rebuilt
        empty_now = shapely.is_missing(rebuilt)
        if empty_now.any():
            problems.add_many(
                spec.name,
                ids[rows[empty_now]],
                "la geometría no tiene partes del tipo de la capa",
                "se conserva sin geometría",
                "corrija la geometría en el archivo de origen",
            )
    changed = wrong | invalid | collections
    if not changed.any():
        return frame, changed
    return frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)), changed


def _fill_from_codes(
    frame: gpd.GeoDataFrame,
    capa: str,
    targets: dict[str, str],
    code_columns: tuple[str, ...],
    ids: _Ids,
    problems: ProblemLog,
    *,
    pisos_col: str,
    cos_pb_col: str,
    cos_total_col: str,
) -> None:
    """Fill missing buildability columns from the zoning code (normativa §5)."""
    numeric_targets = [c for c in targets if c != "forma_ocupacion"]
    for col in targets:
        if col not in frame.columns:
            frame[col] = np.nan if col != "forma_ocupacion" else None
    missing = frame[numeric_targets].isna().any(axis=1)
    if not missing.any():
        return
    codes = pd.Series(None, index=frame.index, dtype=object)
    for col in code_columns:
        if col in frame.columns:
            codes = codes.where(
                codes.notna(), frame[col].where(frame[col].astype("string").str.strip() != "")
            )
    # Only rows with a value to fill need their code parsed (a handful among thousands of polygons); the
    # parsed values are taken where the column is empty, so the other rows' codes would go unused.
    need = frame[list(targets)].isna().any(axis=1)
    parsed = parse_zoning_codes(codes[need])
    # The code is used only where it parses; codigo_pit only counts when it is a zoning code.
    for col, parsed_col in targets.items():
        before = frame[col].isna()
        frame[col] = frame[col].where(~before, parsed[parsed_col])
        filled = before & frame[col].notna()
        if filled.any():
            problems.add(
                capa,
                "*",
                f"columna '{col}' vacía en {int(filled.sum())} elementos",
                "completada desde el código de edificabilidad (normativa §5)",
                f"informe '{col}' en la capa si el código no la describe",
            )
    # COS total = pisos × COS PB where only the total is missing.
    total_missing = frame[cos_total_col].isna() & frame[pisos_col].notna() & frame[cos_pb_col].notna()
    frame.loc[total_missing, cos_total_col] = (
        frame.loc[total_missing, pisos_col] * frame.loc[total_missing, cos_pb_col]
    )
    still = frame[numeric_targets].isna().any(axis=1)
    if still.any():
        has_code = codes.notna() & still
        no_code = ~codes.notna() & still
        problems.add_many(
            capa,
            ids[has_code],
            [f"código de edificabilidad no reconocido: {c!r}" for c in codes[has_code]],
            "edificabilidad sin dato para este polígono",
            "use la forma A603-35 (forma, lote mínimo en centenas de m², pisos, COS PB) "
            "o informe las columnas",
        )
        problems.add_many(
            capa,
            ids[no_code],
            "sin datos de edificabilidad ni código",
            "edificabilidad sin dato para este polígono",
            f"informe {', '.join(numeric_targets)} o codigo_edificabilidad",
        )


def _normalise_layer(
    raw: gpd.GeoDataFrame,
    src: _LayerSource,
    spec: LayerSpec,
    rules: Rules,
    problems: ProblemLog,
    *,
    geometry: _Geometry | None = None,
) -> tuple[gpd.GeoDataFrame | None, dict[str, Any]]:
    """Canonical columns, TM-Quito, repaired geometries and coerced types for one layer.

    ``geometry`` is what the read learnt of ``raw``'s geometries, when it did. Returns the layer (None when it
    cannot be used) and, for the lots, what :func:`quitogeo.io.checks._lot_checks` can take from here instead
    of computing it again: ``repeated`` (the future of its repeated keys) and, when the read gave them,
    ``first_vertices`` (of each final geometry).
    """
    name = spec.name
    hints: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    if src.preset:
        mapping.update(preset_mapping(src.preset)[1])
    mapping.update(src.columns)
    frame, unmapped = apply_mapping(raw, mapping)
    for entry in unmapped:
        canonical = entry.split(" ← ")[0]
        if canonical in spec.required and canonical not in frame.columns:
            continue  # reported below as a missing required column
        if canonical in spec.columns:
            problems.add(
                name,
                "*",
                f"columna de origen no encontrada ({entry})",
                "la columna queda sin dato",
                "corrija el mapeo de columnas en quitogeo.toml",
            )
    frame = frame.reset_index(drop=True)
    blocking = spec.needed_for_run
    missing_required = [c for c in spec.required if c not in frame.columns]
    if missing_required:
        problems.add(
            name,
            "*",
            f"falta la columna obligatoria {', '.join(missing_required)} (columnas: "
            f"{', '.join(map(str, frame.columns[:20]))})",
            "la capa no se puede usar" if blocking else "la capa se ignora",
            'renombre la columna o declare el mapeo en quitogeo.toml (columns = { canonica = "ORIGEN" })',
            bloqueante=blocking,
        )
        return None, {}
    # CRS: declared in the project, else the file's; never guessed.
    declared = src.crs if src.crs is not None else frame.crs
    try:
        frame = to_tm_quito(frame, crs=declared)
    except CRSError as exc:
        problems.add(
            name,
            "*",
            f"{src.path.name}: {exc}",
            "la capa no se puede usar" if blocking else "la capa se ignora",
            "agregue el .prj o declare crs en quitogeo.toml",
            bloqueante=blocking,
        )
        return None, {}
    # Validity once, for the extent check (a valid geometry has finite coordinates: only the others need
    # their vertices scanned) and the repair. The read computed it beside the parsing, with the bounds and
    # the lots' first vertices; they still hold when the layer was TM-Quito already (same geometries), else
    # the validity and bounds are computed here, on the thread pool.
    geoms = frame.geometry.to_numpy()
    if geometry is None or recognise_crs(declared) is not TM_QUITO:
        geometry = None
        valid = np.asarray(elementwise(shapely.is_valid, geoms), dtype=bool)
    else:
        valid = geometry.valid
    no_geometry = shapely.is_missing(geoms)
    empty_geometry = ~no_geometry & shapely.is_empty(geoms)
    extent = check_extent(
        frame,
        declared_crs=declared,
        valid=valid,
        present=~(no_geometry | empty_geometry),
        bounds=None if geometry is None else geometry.bounds,
    )
    if not extent.inside:
        b = extent.bounds
        problems.add(
            name,
            "*",
            f"coordenadas fuera del DMQ para el CRS declarado (límites TM-Quito {b[0]:.0f}, {b[1]:.0f}, "
            f"{b[2]:.0f}, {b[3]:.0f})",
            "no se corrige: los cruces espaciales con esta capa no serían válidos",
            extent.hint,
            bloqueante=True,
        )
    # Text columns first (ids need them), with mojibake repair where the code page was wrong.
    # The repetitive Arrow text columns are dictionary-encoded once here: the mojibake test, the object
    # column and the spelling checks (_check_values) all work per distinct value and go back by these codes.
    ids = _ids(frame, spec)
    coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for col in frame.columns:
        if col == frame.geometry.name or not _is_text(frame[col]):
            continue
        encoded = _text_codes(frame[col])
        bad = _mojibake_rows(frame[col], encoded)
        if encoded is not None and not bad.any():
            coded[col] = encoded  # the codes hold only for the column as read
        if bad.any():
            original = frame.loc[bad, col].astype(str)
            repaired = original.map(_undo_mojibake)
            frame.loc[bad, col] = repaired
            problems.add_many(
                name,
                ids[bad],
                [f"texto con codificación incorrecta en '{col}': {o!r}" for o in original],
                [f"se corrigió a {r!r}" for r in repaired],
                "guarde el archivo en UTF-8 o declare su codificación en un .cpg",
            )
    if spec.id_column == "clave_catastral":
        coded.pop("clave_catastral", None)  # stripped below: its codes would no longer hold
        clave = frame["clave_catastral"]
        if clave.dtype.kind in "iuf":
            problems.add(
                name,
                "*",
                "clave_catastral guardada como número: se pudieron perder ceros a la izquierda",
                "convertida a texto",
                "guarde clave_catastral como texto en el archivo de origen",
            )
            as_int = clave.astype("Int64") if clave.dtype.kind == "f" else clave
            frame["clave_catastral"] = as_int.astype("string").astype(object).where(clave.notna(), None)
        # strip and test on the Arrow-backed strings, then one conversion to the object column the run uses
        stripped = frame["clave_catastral"].astype("string").str.strip()
        if isinstance(stripped.array, pd.arrays.ArrowStringArray):
            # the repeated keys of the lot checks, on the Arrow strings (GIL-free), beside the rest of this
            hints["repeated"] = _beside(_repeated, pa.array(stripped.array))  # the values of the column below
        empty = (stripped.isna() | (stripped == "")).to_numpy(dtype=bool, na_value=True)
        frame["clave_catastral"] = pd.Series(
            _object_text(stripped), index=frame.index, dtype=object, copy=False
        )
        if empty.any():
            problems.add_many(
                name,
                ids[empty],
                "predio sin clave_catastral",
                "se conserva; se identifica por su fila",
                "informe la clave catastral del predio",
            )
        ids = _ids(frame, spec)
    for col in spec.text:
        if col in frame.columns and col != "clave_catastral":
            values = frame[col]
            if values.dtype.kind in "iuf":
                as_text = (
                    values.astype("Int64").astype("string")
                    if values.dtype.kind == "f" and (values.dropna() % 1 == 0).all()
                    else values.astype("string")
                )
                frame[col] = as_text.astype(object).where(values.notna(), None)
            elif col in coded:
                # the same str and None _object_text gives, one object per distinct value
                codes, uniques = coded[col]
                shared = np.concatenate([uniques, np.array([None], dtype=object)])
                frame[col] = pd.Series(shared[codes], index=frame.index, dtype=object, copy=False)
            elif not _is_text(values) or values.dtype != object:
                frame[col] = pd.Series(
                    _object_text(values.astype("string")), index=frame.index, dtype=object, copy=False
                )
    for col in spec.numeric:
        if col not in frame.columns:
            continue
        numbers, n_text, n_comma, bad = coerce_numbers(frame[col])
        if n_text:
            comma = f", {n_comma} con coma decimal" if n_comma else ""
            problems.add(
                name,
                "*",
                f"columna '{col}' con números guardados como texto ({n_text} valores{comma})",
                "convertidos a número",
                f"guarde '{col}' como número en el archivo de origen",
            )
        if bad.any():
            problems.add_many(
                name,
                ids[bad],
                [f"valor no numérico en '{col}': {v!r}" for v in frame.loc[bad, col]],
                "se deja sin dato",
                f"corrija '{col}' (un número, punto o coma decimal)",
            )
        frame[col] = numbers
    for col in spec.boolean:
        if col in frame.columns:
            values, bad = _coerce_bool(frame[col])
            if bad.any():
                problems.add_many(
                    name,
                    ids[bad],
                    [f"valor no booleano en '{col}': {v!r}" for v in frame.loc[bad, col]],
                    "se deja sin dato",
                    f"use sí/no o true/false en '{col}'",
                )
            frame[col] = values
    frame, changed = _repair_geometries(
        frame, spec, ids, problems, valid=valid, missing=no_geometry, empty=empty_geometry
    )
    _check_values(frame, spec, ids, rules, problems, coded=coded)
    if geometry is not None and geometry.first is not None and geometry.first_known is not None:
        # the WKB's first vertices hold where the repair left the geometry as parsed
        first = geometry.first.copy()
        unknown = ~geometry.first_known | changed
        if unknown.any():
            first[unknown] = _first_vertices(frame.geometry.to_numpy()[unknown])
        hints["first_vertices"] = first
    return frame, hints


#: Rows looked at to tell a column of nearly unique text from one of a few repeated values.
_TEXT_PROBE = 10_000


def _object_text(text: pd.Series) -> np.ndarray:
    """Return a pandas string column as the object array of ``str`` (None for missing) the run works on.

    Columns with few distinct values (régimen, parroquia, administración zonal) build each distinct string
    once and share it, instead of one Python object per lot (time and memory).
    """
    # A look at the first rows settles the columns of (nearly) unique values, such as the clave catastral,
    # without hashing a million strings for nothing.
    head = text.iloc[:_TEXT_PROBE]
    if len(head) >= _TEXT_PROBE and head.nunique() * 4 > len(head):
        return text.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload, no-any-return]
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    if len(uniques) * 4 > len(text):
        return text.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload, no-any-return]
    values = np.concatenate([np.asarray(uniques, dtype=object), np.array([None], dtype=object)])
    return values[codes]  # code -1 (missing) takes the trailing None


def _text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the codes (-1 for missing) and distinct ``str`` values of a repetitive Arrow text column.

    Arrow's dictionary encoding (C++, distinct values in order of first appearance, as ``pd.factorize``)
    replaces the several factorisations each such column had: pandas' on the Arrow strings (mojibake test,
    object column), then pandas' hashing of the object column's values (spelling checks). None for columns
    that are not Arrow strings, short, or of (nearly) unique values, such as the clave catastral.
    """
    if not isinstance(values.array, pd.arrays.ArrowStringArray) or len(values) <= _TEXT_PROBE:
        return None
    head = values.iloc[:_TEXT_PROBE]
    if head.nunique() * 4 > len(head):
        return None
    text = pa.array(values.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()  # one dictionary for the whole column
    encoded = text.dictionary_encode()
    if len(encoded.dictionary) * 4 > len(values):
        return None
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return codes, encoded.dictionary.to_numpy(zero_copy_only=False)


def _mojibake_rows(values: pd.Series, coded: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """:func:`quitogeo.io.encoding.mojibake_mask`, tested once per distinct value in repetitive columns.

    Parroquia or administración zonal names repeat a few dozen values over every lot: the regular expression
    runs on those values, and the verdict goes back to the rows by code (``coded``, from :func:`_text_codes`,
    when given).
    """
    if coded is not None:
        return np.append(mojibake_mask(pd.Series(coded[1], dtype=values.dtype)), False)[coded[0]]
    head = values.iloc[:_TEXT_PROBE]
    if len(values) <= _TEXT_PROBE or head.nunique() * 4 > len(head):
        return mojibake_mask(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) * 4 > len(values):
        return mojibake_mask(values)
    per_value = np.append(mojibake_mask(pd.Series(uniques, dtype=values.dtype)), False)
    return per_value[codes]  # code -1 (missing) takes the trailing False


def _is_text(values: pd.Series) -> bool:
    """Whether a column holds text (object columns or pandas' string dtypes)."""
    return values.dtype == object or pd.api.types.is_string_dtype(values.dtype)


def _undo_mojibake(text: str) -> str:
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


_REGIMEN = {
    "unipropiedad": "unipropiedad",
    "propiedad individual": "unipropiedad",
    "individual": "unipropiedad",
    "propiedad horizontal": "propiedad_horizontal",
    "horizontal": "propiedad_horizontal",
    "ph": "propiedad_horizontal",
}
_CLASIFICACION = {
    "urbano": "urbano",
    "suelo urbano": "urbano",
    "su": "urbano",
    "rural": "rural",
    "suelo rural": "rural",
    "sr": "rural",
}
_SISTEMA = {
    "metro": "metro",
    "metro de quito": "metro",
    "cet": "cet",
    "brt": "cet",
    "trolebus": "cet",
    "ecovia": "cet",
    "corredor": "cet",
}
_CATEGORIA = {"no mitigable": "no_mitigable", "nomitigable": "no_mitigable", "mitigable": "mitigable"}
_TIPO = {"puae": "PUAE", "prioritario": "prioritario", "proyecto prioritario": "prioritario"}


def _check_values(
    frame: gpd.GeoDataFrame,
    spec: LayerSpec,
    ids: _Ids,
    rules: Rules,
    problems: ProblemLog,
    *,
    coded: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> None:
    """Domain checks and spelling normalisation of one layer's values.

    ``coded`` holds, for text columns, their codes and distinct values (:func:`_text_codes`) when they still
    describe the column: the spelling checks then need not factorise it again.
    """
    coded = coded or {}
    name = spec.name
    if name == "predios":
        _normalise_categories(
            frame,
            "regimen",
            _REGIMEN,
            {"unipropiedad", "propiedad_horizontal"},
            name,
            ids,
            problems,
            "use 'unipropiedad' o 'propiedad_horizontal'",
            coded=coded.get("regimen"),
        )
        _normalise_zonal(
            frame, "administracion_zonal", name, ids, rules, problems, coded=coded.get("administracion_zonal")
        )
    elif name in {"pugs", "puos"}:
        codes = frame["uso_principal"]
        uniques = codes.dropna().unique()
        known = {u: rules.homologate_use(u) for u in uniques}
        unknown = codes.notna() & codes.map(known).isna()
        blank = codes.isna()
        if (unknown | blank).any():
            bad = unknown | blank
            problems.add_many(
                name,
                ids[bad],
                [
                    f"código de uso desconocido: {c!r}" if c is not None else "uso_principal vacío"
                    for c in codes[bad]
                ],
                "sin categoría de uso: las reglas que dependen del uso dan 'sin dato'",
                "use un código de [usos.homologacion] de las reglas o agréguelo allí",
            )
        _normalise_categories(
            frame,
            "clasificacion",
            _CLASIFICACION,
            {"urbano", "rural"},
            name,
            ids,
            problems,
            "use 'urbano' o 'rural'",
        )
        if name == "pugs":
            targets = {
                "lote_minimo": "lote_minimo",
                "pisos_basicos": "pisos",
                "cos_pb": "cos_pb",
                "cos_total_basico": "cos_total",
                "forma_ocupacion": "forma_ocupacion",
            }
            _fill_from_codes(
                frame,
                name,
                targets,
                ("codigo_edificabilidad", "codigo_pit"),
                ids,
                problems,
                pisos_col="pisos_basicos",
                cos_pb_col="cos_pb",
                cos_total_col="cos_total_basico",
            )
        else:
            targets = {
                "lote_minimo": "lote_minimo",
                "pisos": "pisos",
                "cos_pb": "cos_pb",
                "cos_total": "cos_total",
                "forma_ocupacion": "forma_ocupacion",
            }
            _fill_from_codes(
                frame,
                name,
                targets,
                ("codigo_edificabilidad",),
                ids,
                problems,
                pisos_col="pisos",
                cos_pb_col="cos_pb",
                cos_total_col="cos_total",
            )
    elif name == "aiva":
        value = frame["valor_m2"]
        bad = ~(value > 0)
        if bad.any():
            problems.add_many(
                name,
                ids[bad],
                [f"valor AIVA no positivo o vacío: {v}" for v in value[bad]],
                "la zona AIVA no se usa para β",
                "informe el valor $/m² vigente de la zona (> 0)",
            )
    elif name == "vias":
        width = frame["ancho_m"]
        bad = ~(width > 0)
        if bad.any():
            problems.add_many(
                name,
                ids[bad],
                [f"ancho de vía no positivo o vacío: {v}" for v in width[bad]],
                "la vía no cuenta para el frente",
                "informe el ancho total con aceras (m)",
            )
    elif name in {"estaciones", "areas_influencia"}:
        _normalise_categories(
            frame, "sistema", _SISTEMA, {"metro", "cet"}, name, ids, problems, "use 'metro' o 'cet'"
        )
    elif name == "riesgo":
        _normalise_categories(
            frame,
            "categoria",
            _CATEGORIA,
            {"no_mitigable", "mitigable"},
            name,
            ids,
            problems,
            "use 'no_mitigable' o 'mitigable'",
        )
    elif name == "proyectos_especiales":
        _normalise_categories(
            frame, "tipo", _TIPO, {"PUAE", "prioritario"}, name, ids, problems, "use 'PUAE' o 'prioritario'"
        )
    elif name == "administraciones_zonales":
        _normalise_zonal(frame, "nombre", name, ids, rules, problems)


def _normalise_zonal(
    frame: gpd.GeoDataFrame,
    column: str,
    capa: str,
    ids: _Ids,
    rules: Rules,
    problems: ProblemLog,
    *,
    coded: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Spell administración zonal names as the rules' IR table does ("Manuela Saenz" → "Manuela Sáenz").

    ``coded`` is the column's factorisation when known (as in :func:`_normalise_categories`).
    """
    if column not in frame.columns:
        return
    table = rules["ir"]["por_administracion_zonal"]
    index = {_strip_accents(k): k for k in table}
    values = frame[column].to_numpy(dtype=object)
    # once per distinct name (a district has a handful), then back over the rows by code
    codes, uniques = coded if coded is not None else pd.factorize(values, use_na_sentinel=True)
    mapped = {u: index.get(_strip_accents(str(u).strip())) for u in uniques}
    changed = {u: m for u, m in mapped.items() if m is not None and m != u}
    if changed:
        spelled = np.array([changed.get(u, u) for u in uniques] + [None], dtype=object)
        out = spelled[codes]
        missing = codes < 0
        out[missing] = values[missing]  # nulls stay as they were
        frame[column] = pd.Series(out, index=frame.index, dtype=object, copy=False)
        for old, new in changed.items():
            problems.add(
                capa,
                "*",
                f"'{column}' escrito {old!r}",
                f"se usa {new!r} (tabla IR de las reglas)",
                "escriba el nombre como en las reglas",
            )
    unknown = np.array([mapped[u] is None for u in uniques] + [False])[codes]
    if unknown.any():
        problems.add_many(
            capa,
            ids[unknown],
            [f"administración zonal desconocida: {v!r}" for v in values[unknown]],
            "sin IR para estos elementos",
            "use un nombre de [ir.por_administracion_zonal] de las reglas",
        )


def _check_raster(name: str, path: Path, declared: Any, problems: ProblemLog) -> bool:
    import rasterio

    if not path.exists():
        problems.add(
            name, "*", f"ráster no encontrado: {path}", "se ignora", "corrija la ruta en quitogeo.toml"
        )
        return False
    try:
        with rasterio.open(path) as ds:
            has_crs = ds.crs is not None
    except Exception as exc:  # rasterio.errors.RasterioIOError and GDAL errors alike
        problems.add(name, "*", f"ráster ilegible {path.name}: {exc}", "se ignora", "revise el archivo")
        return False
    if not has_crs and declared is None:
        problems.add(
            name,
            "*",
            f"ráster {path.name} sin sistema de coordenadas",
            "se ignora",
            "declare crs en [rasters] de quitogeo.toml",
        )
        return False
    return True


def read_project(source: str | Path | None = None, *, rules: Rules | str | Path | None = None) -> Project:
    """Read a project (GeoPackage, folder of layer files, or ``quitogeo.toml``) into canonical layers.

    Parameters
    ----------
    source : str or Path, optional
        The project; None reads the embedded sample (:func:`sample_project_path`).
    rules : Rules, str or Path, optional
        Rules used for the checks that depend on them (use-code homologation, administración zonal names);
        the packaged rules when None.

    Returns
    -------
    Project
        Layers in TM-Quito with canonical columns, the rasters, the problems table and the input hashes.
        Data problems never raise: they are rows of ``problems`` (``bloqueante`` True when a run cannot
        proceed).

    Raises
    ------
    ProjectNotFoundError
        When ``source`` does not exist, cannot be opened, or holds none of the contract's layers.
    LayerError
        When a ``quitogeo.toml`` is malformed (unknown layer, preset or key).
    """
    with _collector_paused():
        return _read_project(source, rules)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the duration of the block (as it was, after).

    A read makes a Python object per feature (a shapely geometry, GC-tracked) and no reference cycles, yet
    the collector, run every 700 new objects, went over the growing heap of new geometries again and again:
    it took 45 % of the WKB parsing (0.09 s → 0.16 s per 200,000 lots). Objects are still freed by their
    reference counts meanwhile; the collector resumes afterwards, as it was.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_project(source: str | Path | None, rules: Rules | str | Path | None) -> Project:
    """:func:`read_project`, with the collector paused by the caller."""
    if source is None:
        path = sample_project_path()
        if not path.exists():
            raise ProjectNotFoundError(
                f"no existe el proyecto de muestra {path}; genérelo con "
                f"'quitogeo sample --lotes 4000 --seed 2024 --out {path}'"
            )
    else:
        path = Path(source)
        if not path.exists():
            raise ProjectNotFoundError(
                f"no existe el proyecto {path}; indique un GeoPackage, una carpeta de capas "
                "o un quitogeo.toml"
            )
    the_rules = _load_rules(rules)
    problems = ProblemLog()
    sources, raster_sources = _resolve(path, problems)
    if not sources and not raster_sources:
        raise ProjectNotFoundError(
            f"{path} no contiene ninguna capa del contrato (predios, pugs, aiva, …); "
            "vea layers.md o genere un "
            "proyecto de ejemplo con 'quitogeo sample --out muestra.gpkg'"
        )
    # checks import nothing from here
    from quitogeo.io.checks import LOT_CHECK_LAYERS, _datum_checks, _lot_checks

    layers: dict[str, gpd.GeoDataFrame] = {}
    hashes: dict[str, Future[str]] = {}
    lot_hints: dict[str, Any] = {}
    # The cross-layer checks on the lots (keys, PIT and AIVA cover, PIT overlaps: GEOS work on the thread
    # pool, mostly GIL-free) start on the read's extra thread once the layers they need are read, while the
    # other layers are read; their problems still come after every layer's own, as check_layers gives them.
    # Their repeated keys and the lots' index start there earlier still, as soon as the lots are read.
    # (At a million lots, the read's critical path: parsing the lots' WKB beside GDAL and the checks of each
    # batch, the lots' normalisation, then these checks beside the other layers' reading.)
    waiting = {s.name for s in sources if s.name in LOT_CHECK_LAYERS}
    lot_checks: Future[Any] | None = None
    for src in sources:
        if lot_checks is None and not waiting:
            lot_checks = _beside(
                _lot_checks,
                {k: layers[k] for k in LOT_CHECK_LAYERS if k in layers},
                rules=the_rules,
                long=True,
                **lot_hints,
            )
        waiting.discard(src.name)
        spec = LAYER_SPECS[src.name]
        try:
            raw, hashes[src.name], geometry = _read_source(src, problems)
        except Exception as exc:  # any reader failure is a reported problem: validation must not crash
            problems.add(
                src.name,
                "*",
                f"no se pudo leer {src.path.name}{':' + src.layer if src.layer else ''}: {exc}",
                "la capa no se usa",
                "revise el archivo o la ruta en quitogeo.toml",
                bloqueante=spec.needed_for_run,
            )
            continue
        frame, hints = _normalise_layer(raw, src, spec, the_rules, problems, geometry=geometry)
        if frame is not None:
            layers[src.name] = frame
            if src.name == "predios":
                # the lots' index (the grid of their first vertices), beside the reading of the next layers
                lot_hints = {
                    "repeated": hints.get("repeated"),
                    "index": _beside(_lot_index, frame, first_vertices=hints.get("first_vertices")),
                }
    for name in LAYER_SPECS:
        if (
            LAYER_SPECS[name].needed_for_run
            and name not in layers
            and not any(s.name == name for s in sources)
        ):
            problems.add(
                name,
                "*",
                f"falta la capa obligatoria '{name}'",
                "no se puede ejecutar",
                f"agregue la capa '{name}' al proyecto (layers.md)",
                bloqueante=True,
            )
    rasters: dict[str, Path] = {}
    for name, (rpath, declared) in raster_sources.items():
        if _check_raster(name, rpath, declared, problems):
            rasters[name] = rpath
    if lot_checks is None:
        lot_checks = _beside(
            _lot_checks,
            {k: layers[k] for k in LOT_CHECK_LAYERS if k in layers},
            rules=the_rules,
            **lot_hints,
        )
    cross, lot_index = lot_checks.result()
    _datum_checks(layers, lot_index, cross)  # what check_layers(layers) gives, in its order
    problems.extend(cross.frame())
    return Project(
        layers=layers,
        rasters=rasters,
        problems=problems.frame(),
        source=str(path),
        hashes={name: digest.result() for name, digest in hashes.items()},
    )


__all__ = ["PROJECT_FILE", "SAMPLE_FILE", "Project", "coerce_numbers", "read_project", "sample_project_path"]
