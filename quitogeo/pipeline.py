"""The run: project → joins → eligibility → scenario → COD → :class:`RunResult`.

Each stage is a function a notebook can call on its own; every one takes the lots (the whole project or one
chunk), a :class:`Context` prepared once per run (the other layers, the road network, the rules and the
scenario) and a :class:`~quitogeo.spatial.LotIndex` built for those lots, and returns a DataFrame aligned to
the
lots' index. :func:`process_lots` chains them for one chunk; :func:`run` reads the project, prepares the
context,
processes the lots, checks that every input lot is in the output exactly once and assembles the result tables.

>>> import quitogeo
>>> result = quitogeo.run()                      # doctest: +SKIP
>>> result.predios[["clave_catastral", "elegible_zuae", "motivos", "cod"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from quitogeo import ambitos as _ambitos  # optional PUOS → PUGS stages (issue 6)
from quitogeo import parallel
from quitogeo._memory import release_free_memory
from quitogeo._version import __version__
from quitogeo.eligibility import CONDITIONS, evaluate, use_categories
from quitogeo.errors import DataIntegrityError, QuitogeoError
from quitogeo.rules import Rules, load_rules
from quitogeo.scenarios import area_excedente
from quitogeo.spatial import LotIndex
from quitogeo.spatial.frontage import RoadNetwork, empty_frontage, join_frontage, road_network
from quitogeo.spatial.influence import join_influence
from quitogeo.spatial.joins import PIT_COLUMNS, join_aiva, join_membership, join_pit

log = logging.getLogger("quitogeo.pipeline")

#: Layers a run needs (layers.md); the others are optional.
REQUIRED_LAYERS: tuple[str, ...] = ("predios", "pugs", "aiva")

#: Columns layers.md requires in ``predios_resultado``, in this order (extras follow).
OUTPUT_COLUMNS: tuple[str, ...] = (
    "clave_catastral",
    "area_m2",
    "area_fuente",
    "codigo_pit",
    "uso_principal",
    "aiva_valor",
    "en_zuae",
    "influencia",
    "influencia_fuente",
    "n_vias_frente",
    "min_ancho_frente_m",
    "frente_sin_continuidad",
    "riesgo_no_mitigable",
    "en_plan_especial",
    "elegible_zuae",
    "elegible_cos_pb",
    "elegible_ecoeficiencia",
    "pisos_adicionales_max",
    "motivos",
    "ae_m2",
    "ic",
    "beta",
    "cod",
    "estado",
)

#: Extra columns, in this order, after :data:`OUTPUT_COLUMNS`.
EXTRA_COLUMNS: tuple[str, ...] = (
    "escenario",
    "administracion_zonal",
    "parroquia",
    "pit_fraccion",
    "n_pit",
    "uso_categoria",
    *PIT_COLUMNS,
    "aiva_codigos",
    "n_aiva",
    "zuae_codigo",
    "plan_especial",
    "en_proyecto_especial",
    "proyecto_especial",
    "riesgo_categoria",
    "riesgo_ids",
    "en_influencia_metro",
    "en_influencia_cet",
    "estacion_cercana",
    "estacion_sistema",
    "distancia_estacion_m",
    "vias_frente_ids",
    "vias_frente_nombres",
    "vias_frente_anchos",
    "via_mas_angosta",
    "vias_sin_continuidad",
    *(c for conds in CONDITIONS.values() for c in conds),
    "pisos_adicionales_zuae",
    "motivos_zuae",
    "motivos_cos_pb",
    "motivos_eco",
    "alfa",
    "vc",
    "fu",
    "vs",
    "beta_fila",
    "beta_columna",
    "cod_centavos",
)

#: Internal helper columns dropped from the output.
_INTERNAL = ("ancho_desconocido", "ae_problema")


@dataclass(frozen=True)
class Context:
    """What every chunk of lots needs, prepared once per run.

    Attributes
    ----------
    rules : Rules
        The rules in force.
    escenario : dict
        The priced scenario (:meth:`Rules.scenario`).
    layers : dict of str to GeoDataFrame
        The project's layers other than ``predios`` (absent layers are simply not keys).
    network : RoadNetwork or None
        The prepared ``vias`` layer when it is given already built (a partition's clipped network); None to
        build it from ``layers["vias"]`` on first use of :attr:`red`.
    """

    rules: Rules
    escenario: dict[str, Any]
    layers: dict[str, gpd.GeoDataFrame]
    network: RoadNetwork | None = None

    @cached_property
    def red(self) -> RoadNetwork | None:
        """The prepared ``vias`` layer (None when the project has none).

        Built on first use, not by :func:`prepare`: the frontage stage is its only reader, and building it
        there puts its cost (0.5 s at 1 M lots) in the stage, which runs beside the overlap joins, rather than
        before every stage. (``cached_property`` writes the instance's ``__dict__``, so it works on a frozen
        dataclass; a backend that ships the context to workers builds it first, once.)
        """
        if self.network is not None:
            return self.network
        vias = self.layers.get("vias")
        return road_network(vias, rules=self.rules) if vias is not None else None

    @property
    def missing(self) -> list[str]:
        """Optional layers the project does not have."""
        optional = (
            "zuae",
            "vias",
            "estaciones",
            "areas_influencia",
            "riesgo",
            "planes_especiales",
            "administraciones_zonales",
            "proyectos_especiales",
        )
        return [name for name in optional if name not in self.layers]


@dataclass
class RunResult:
    """The four tables of a run (layers.md, "Outputs of a run").

    Attributes
    ----------
    predios : GeoDataFrame
        ``predios_resultado``: one row per input lot, in input order.
    resumen : DataFrame
        Potential recaudación by administración zonal, parroquia and AIVA band
        (:func:`quitogeo.summary.resumen`).
    problemas : DataFrame
        Data problems: those found reading the project plus those found during the run.
    metadatos : DataFrame
        ``clave``/``valor`` pairs: run time, version, rules identity, parameters, input hashes.
    tiempos : dict of str to float
        Seconds per stage of this run (empty for results read from a file).
    project : Project, optional
        The project the run read (not written to the results; the map uses its context layers).
    """

    predios: gpd.GeoDataFrame
    resumen: pd.DataFrame
    problemas: pd.DataFrame
    metadatos: pd.DataFrame
    tiempos: dict[str, float] = field(default_factory=dict)
    project: Any = field(default=None, repr=False, compare=False)

    def meta(self) -> dict[str, str]:
        """:attr:`metadatos` as a dict."""
        return dict(
            zip(self.metadatos["clave"].astype(str), self.metadatos["valor"].astype(str), strict=True)
        )


# --------------------------------------------------------------------------------------------------- stages


def prepare(layers: dict[str, gpd.GeoDataFrame], *, rules: Rules, escenario: str | None = None) -> Context:
    """Prepare the non-lot layers once: choose the scenario (the road network is built on first use).

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        The project's layers (``predios`` is ignored here).
    rules : Rules
        The rules in force.
    escenario : str, optional
        Scenario name (the rules' default when None).

    Returns
    -------
    Context
    """
    missing = [name for name in REQUIRED_LAYERS if name not in layers]
    if missing:
        from quitogeo.errors import LayerError

        raise LayerError(
            f"el proyecto no tiene la(s) capa(s) {', '.join(missing)}, necesarias para una corrida "
            "(layers.md); agréguelas al proyecto",
            layer=missing[0],
        )
    sc = rules.scenario(escenario)
    others = {k: v for k, v in layers.items() if k != "predios"}
    return Context(rules=rules, escenario=sc, layers=others)


def stage_predio(lots: gpd.GeoDataFrame, ctx: Context, index: LotIndex) -> pd.DataFrame:
    """Lot attributes.

    ``clave_catastral``, ``area_m2`` (deed area when given and > 0, else geometric),
    ``area_fuente`` and ``parroquia``.
    """
    out = pd.DataFrame(index=lots.index)
    out["clave_catastral"] = lots["clave_catastral"].astype(str).to_numpy(dtype=object)
    deed = (
        pd.to_numeric(lots["area_escritura"], errors="coerce").to_numpy(dtype=np.float64)
        if "area_escritura" in lots.columns
        else np.full(len(lots), np.nan)
    )
    use_deed = np.isfinite(deed) & (deed > 0)
    out["area_m2"] = np.where(use_deed, deed, index.area)
    fuente = np.full(len(lots), None, dtype=object)
    fuente[np.isfinite(index.area)] = "geometria"
    fuente[use_deed] = "escritura"
    out["area_fuente"] = fuente
    out["parroquia"] = lots["parroquia"].to_numpy(dtype=object) if "parroquia" in lots.columns else None
    return out


def stage_pit(lots: gpd.GeoDataFrame, ctx: Context, index: LotIndex) -> pd.DataFrame:
    """PIT by largest overlap (:func:`quitogeo.spatial.joins.join_pit`) plus the homologated use category."""
    out = join_pit(lots, ctx.layers["pugs"], rules=ctx.rules, index=index)
    out["uso_categoria"] = use_categories(out["uso_principal"], rules=ctx.rules)
    return out


def stage_aiva(lots: gpd.GeoDataFrame, ctx: Context, index: LotIndex) -> pd.DataFrame:
    """Highest registered AIVA (:func:`quitogeo.spatial.joins.join_aiva`)."""
    return join_aiva(lots, ctx.layers["aiva"], rules=ctx.rules, index=index)


def stage_zonas(lots: gpd.GeoDataFrame, ctx: Context, index: LotIndex) -> pd.DataFrame:
    """ZUAE, plans, special projects, risk and administración zonal (:func:`.joins.join_membership`)."""
    return join_membership(lots, ctx.layers, rules=ctx.rules, index=index)


def stage_influencia(lots: gpd.GeoDataFrame, ctx: Context, index: LotIndex) -> pd.DataFrame:
    """Metro/CET influence and nearest station (:func:`quitogeo.spatial.influence.join_influence`)."""
    return join_influence(
        lots,
        estaciones=ctx.layers.get("estaciones"),
        areas_influencia=ctx.layers.get("areas_influencia"),
        rules=ctx.rules,
        index=index,
    )


def stage_frente(lots: gpd.GeoDataFrame, ctx: Context, index: LotIndex) -> pd.DataFrame:
    """Fronting roads and continuity (:func:`quitogeo.spatial.frontage.join_frontage`)."""
    if ctx.red is None:
        return empty_frontage(lots)
    return join_frontage(lots, ctx.red, rules=ctx.rules, index=index)


def stage_elegibilidad(joined: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Conditions, ``elegible_*``, ``pisos_adicionales_*`` and ``motivos`` (:func:`.eligibility.evaluate`)."""
    return evaluate(joined, rules=ctx.rules, escenario=ctx.escenario, missing=ctx.missing)


def stage_escenario(joined: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Ae of the scenario (:func:`quitogeo.scenarios.area_excedente`)."""
    return area_excedente(joined, rules=ctx.rules, escenario=ctx.escenario)


def stage_cod(joined: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """COD of the ``edificabilidad`` ámbito through the calc core's vectorised :func:`.calc.cod_frame`.

    (Its array form :func:`.calc.vectorized.cod_arrays`: the same computation without a frame around it.)

    α is the rules' ``valor_suelo.alfa``; Vc the cost of ``valor_suelo.estructura_predeterminada``; Fu comes
    from
    the lot's use category (``usos.categorias.<cat>.fu`` → ``valor_suelo.fu``). Lots lacking Ae, area, AIVA
    or a
    known use get a null COD and their reason in ``estado`` (``ok`` otherwise), a categorical as
    :func:`compact_text` makes it (built from codes, never a string per lot).
    """
    from quitogeo.calc.vectorized import cod_arrays
    from quitogeo.categories import labelled

    rules = ctx.rules
    n = len(joined)
    vs_rules = rules["valor_suelo"]
    cats = rules["usos"]["categorias"]
    fu_by_cat = {cat: float(vs_rules["fu"][spec["fu"]]) for cat, spec in cats.items()}
    cat_codes, cat_values = _text_codes(joined["uso_categoria"])
    fu = np.array([*(fu_by_cat.get(c, np.nan) for c in cat_values), np.nan], dtype=np.float64)[cat_codes]
    alfa = float(rules.alfa)
    vc = float(vs_rules["vc"][vs_rules["estructura_predeterminada"]])
    ae = joined["ae_m2"].to_numpy(dtype=np.float64)
    area = joined["area_m2"].to_numpy(dtype=np.float64)
    aiva = joined["aiva_valor"].to_numpy(dtype=np.float64)

    # estado: the lot's problems joined by "; " in this order. Each problem is a code per lot (0: none);
    # the text is built once per distinct combination of codes, then taken for every lot.
    sin_pit = joined["codigo_pit"].isna().to_numpy()
    flags = (
        (~np.isfinite(area) & joined["area_fuente"].isna().to_numpy()).astype(np.int64)
        + 2 * sin_pit
        + 4 * ~np.isfinite(aiva)
    )
    fixed = ("sin geometría ni área de escritura", "sin PIT", "sin AIVA registrada")
    uso_codes, uso_values = _text_codes(joined["uso_principal"])
    unknown_use = (uso_codes >= 0) & (cat_codes < 0)
    uso_key = np.where(unknown_use, uso_codes + 1, 0)
    ae_codes, ae_values = _text_codes(joined["ae_problema"])
    ae_key = np.where((ae_codes >= 0) & ~sin_pit, ae_codes + 1, 0)
    ok = np.isfinite(ae) & np.isfinite(area) & (area > 0) & np.isfinite(aiva) & np.isfinite(fu)
    key = ((flags * (len(uso_values) + 1) + uso_key) * (len(ae_values) + 1) + ae_key) * 2 + ok
    group, distinct = pd.factorize(key)
    texts = np.empty(len(distinct), dtype=object)
    for g, k in enumerate(distinct.tolist()):
        k, is_ok = divmod(k, 2)
        k, a_k = divmod(k, len(ae_values) + 1)
        f_k, u_k = divmod(k, len(uso_values) + 1)
        parts = [text for bit, text in enumerate(fixed) if f_k & (1 << bit)]
        if u_k:
            parts.append(f"uso desconocido ({uso_values[u_k - 1]})")
        if a_k:
            parts.append(str(ae_values[a_k - 1]))
        texts[g] = "; ".join(p for p in parts if p) or ("ok" if is_ok else "sin datos para el COD")
    estado = group  # per lot a code into ``texts``; refused rows get codes after them
    ok = np.array([t == "ok" for t in texts], dtype=bool)[group]

    del flags, uso_key, ae_key, key  # fresh pages cost more than the arithmetic: keep few arrays alive
    # The calc core on every lot's arrays as they are (no copy of the lots it prices; α and Vc one value
    # for all); only the lots whose estado is "ok" are priced (the others are invalid rows of the calc core
    # anyway: a NaN input).
    res = cod_arrays(
        {
            "alfa": np.broadcast_to(alfa, n),
            "vc": np.broadcast_to(vc, n),
            "fu": fu,
            "ae": ae,
            "area_terreno": area,
            "aiva": aiva,
        },
        n=n,
        ambito="edificabilidad",
        rules=rules,
        outputs=_COD_OUTPUTS,
    )
    valid = res["valido"]
    refused_rows = ok & ~valid
    refused: list[str] = []
    if refused_rows.any():
        # the calc core refused these rows (e.g. a value out of range): say why, the COD stays null
        motivo = res["motivo_calc"]
        estado[refused_rows] = len(texts) + motivo.codes[refused_rows]
        refused = ["COD no calculable: " + str(m) for m in motivo.categories]
    columns = {name: res[name] for name in _COD_OUTPUTS[2:]}  # each a new array of the calc core
    priced = valid
    if (valid & ~ok).any():
        # rows the calc core could price but whose estado says otherwise: not priced
        priced = ok & valid
        unpriced = ~priced
        for name in ("ic", "beta", "vs", "cod"):
            columns[name] = np.where(priced, columns[name], np.nan)
        for name in ("beta_fila", "beta_columna", "cod_centavos"):
            values = np.where(priced, columns[name].to_numpy(dtype=np.int64, na_value=0), 0)
            columns[name] = pd.arrays.IntegerArray(values, unpriced.copy())
    return pd.DataFrame(
        {
            "alfa": np.where(priced, alfa, np.nan),
            "vc": np.where(priced, vc, np.nan),
            "fu": np.where(priced, fu, np.nan),
            # COD in USD with two decimals from the exact cents (cents / 100 is the nearest double to it)
            **columns,
            "estado": labelled(estado, np.array([*texts, *refused], dtype=object)),
        },
        index=joined.index,
        copy=False,
    )


#: The calc core's columns :func:`stage_cod` uses (the VIS exoneration's are not computed).
_COD_OUTPUTS: tuple[str, ...] = (
    "valido",
    "motivo_calc",
    "ic",
    "beta",
    "vs",
    "cod",
    "beta_fila",
    "beta_columna",
    "cod_centavos",
)


def _text_codes(series: pd.Series) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Return a text column as (code per lot, -1 for null; its distinct values): a categorical's own codes."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.intp), np.asarray(series.cat.categories, dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.intp), np.asarray(uniques, dtype=object)


#: Spatial stages, in order: name → function(lots, ctx, index).
SPATIAL_STAGES: dict[str, Callable[[gpd.GeoDataFrame, Context, LotIndex], pd.DataFrame]] = {
    "predio": stage_predio,
    "pit": stage_pit,
    "aiva": stage_aiva,
    "zonas": stage_zonas,
    "influencia": stage_influencia,
    "frente": stage_frente,
    # ámbitos PUOS → PUGS (quitogeo.ambitos, issue 6): no columns unless the project has a `puos` layer
    "puos": _ambitos.stage_puos,
}

#: The order in which the spatial stages are handed to the threads. ``frente`` and ``aiva`` first: ``frente``
#: begins with the road network (built on first use, :attr:`Context.red`) and needs the caches the overlap
#: joins share (lot vertices, quadtree, convex lots) only after it, so ``aiva`` builds them meanwhile instead
#: of one join waiting for the other (1.8 s at 1 M lots when two overlap joins started together). ``puos``,
#: the longest, only after ``pit``: its columns are read by the last attribute stage alone
#: (:data:`SPATIAL_FIRST_READER`), so it runs beside the short stages and then beside ``elegibilidad``, which
#: needs every other spatial stage. Measured at 1 M lots: 12.3 s for the stages against 13.2 s with ``puos``
#: first and 12.7 s with ``puos`` last (whose end then runs alone).
_STAGE_COST: dict[str, int] = {
    name: rank for rank, name in enumerate(("frente", "aiva", "pit", "puos", "zonas", "influencia", "predio"))
}


def _stage_rank(name: str) -> int:
    return _STAGE_COST.get(name, len(_STAGE_COST))


#: Lot-index caches no stage reads after the one named here: dropped when it ends. ``vertices`` (165 MB at 1 M
#: lots) is read by ``frente`` and copied into the convex quadrilaterals, which the overlap joins build first;
#: dropped, it no longer adds to the run's peak (``elegibilidad`` beside ``puos``). Were it asked for again it
#: would be rebuilt, with the same values.
CACHE_LAST_READER: dict[str, tuple[str, ...]] = {"frente": ("vertices",)}

#: Spatial stages no table stage reads before the one named here (the PUOS columns are the ámbitos'): with the
#: stages side by side, the table stages before it do not wait for them.
SPATIAL_FIRST_READER: dict[str, str] = {"puos": "ambitos"}


def _needed_by(spatial: str, table: str) -> bool:
    """Whether the table stage ``table`` (or one before it) reads the columns of the stage ``spatial``."""
    first = SPATIAL_FIRST_READER.get(spatial)
    if first is None:
        return True
    order = list(TABLE_STAGES)
    return order.index(table) >= order.index(first)


#: Attribute stages, in order, each fed the columns produced so far: name → function(joined, ctx).
TABLE_STAGES: dict[str, Callable[[pd.DataFrame, Context], pd.DataFrame]] = {
    "elegibilidad": stage_elegibilidad,
    "escenario": stage_escenario,
    "cod": stage_cod,
    # ámbitos PUOS → PUGS (quitogeo.ambitos, issue 6): no columns unless the project has a `puos` layer
    "ambitos": _ambitos.stage_ambitos,
}


#: Fewest lots for :func:`process_lots` to run the spatial stages side by side in threads (below, one after
#: the other: the threads cost more than they overlap).
STAGE_THREADS_MIN_LOTS: int = 50_000

#: Fewest lots for :func:`process_lots` to return freed memory to the system after each stage
#: (:func:`quitogeo._memory.release_free_memory`; a few milliseconds each).
TRIM_MIN_LOTS: int = 50_000


def _spatial_threads(n_lots: int, threads: int | None) -> int:
    if threads is not None:
        return max(1, int(threads))
    if n_lots < STAGE_THREADS_MIN_LOTS:
        return 1
    return parallel.n_threads()


#: Rows per slice of the attribute stages of :data:`TABLE_SLICED_STAGES` (row by row computations): their
#: temporaries then take a slice's memory, not the whole district's.
TABLE_SLICE_ROWS: int = 250_000

#: Attribute stages run in row slices: ``ambitos`` peaked 0.9 GB above its start at 1 M lots (the run's peak).
#: The others gain little memory and would pay for putting their many distinct texts back together
#: (``elegibilidad``: +1.2 s at 1 M).
TABLE_SLICED_STAGES: frozenset[str] = frozenset({"ambitos"})


def _table_stage(
    name: str, tfunc: Callable[[pd.DataFrame, Context], pd.DataFrame], joined: pd.DataFrame, ctx: Context
) -> pd.DataFrame:
    """Run an attribute stage on ``joined``, in row slices of :data:`TABLE_SLICE_ROWS` if it is sliced.

    Every attribute stage computes each lot from its own row (and the rules), so the slices put back together
    (:func:`quitogeo.backends.chunks.assemble`: texts as categoricals of the sorted distinct values) are the
    frame of one call.
    """
    n = len(joined)
    if name not in TABLE_SLICED_STAGES or n <= TABLE_SLICE_ROWS:
        return compact_text(tfunc(joined, ctx))
    from quitogeo.backends.chunks import assemble

    bounds = [*range(0, n, TABLE_SLICE_ROWS), n]
    positions = [np.arange(a, b, dtype=np.intp) for a, b in itertools.pairwise(bounds)]
    frames = []
    for pos in positions:
        frames.append(compact_text(tfunc(joined.iloc[pos[0] : pos[-1] + 1], ctx)))
        release_free_memory()
    return assemble(frames, positions, joined.index)


def process_lots(
    lots: gpd.GeoDataFrame,
    ctx: Context,
    *,
    progress: bool = False,
    timings: dict[str, float] | None = None,
    on_stage: Callable[[str, float], None] | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Run every stage on ``lots`` (a whole project or one chunk) and return the per-lot columns.

    Parameters
    ----------
    lots : GeoDataFrame
        Lots in TM-Quito with ``clave_catastral``.
    ctx : Context
        From :func:`prepare`.
    progress : bool, optional
        Show a tqdm bar over the stages.
    timings : dict, optional
        Filled with the seconds spent per stage (added to existing values, so chunks accumulate).
    on_stage : callable, optional
        Called as ``on_stage(name, seconds)`` when each stage ends (benchmarks sample memory there).
    threads : int, optional
        Spatial stages run side by side on this many threads (the cores shared among the stages running,
        :func:`quitogeo.parallel.shared_cores`: each stage's GEOS calls stay in its thread while others run,
        and spread again over the cores left idle). By default one per core from
        :data:`STAGE_THREADS_MIN_LOTS` lots, else 1 (one after the other, each stage splitting its GEOS calls
        over the cores). The stages only read the lots, their index and the context, so the result is the
        same; their seconds then overlap.

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``, without geometry.
    """
    names = ["indice", *SPATIAL_STAGES, *TABLE_STAGES, "ensamblado"]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), desc="quitogeo run", unit="etapa")

    trim = len(lots) >= TRIM_MIN_LOTS

    def tick(name: str, t0: float) -> None:
        seconds = time.perf_counter() - t0
        if trim:
            release_free_memory()  # the stage's freed temporaries back to the system (quitogeo._memory)
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + seconds
        if on_stage is not None:
            on_stage(name, seconds)
        if bar is not None:
            bar.set_postfix_str(name)
            bar.update(1)

    t0 = time.perf_counter()
    index = LotIndex.from_lots(lots)
    tick("indice", t0)
    workers = _spatial_threads(len(lots), threads)
    spatial: dict[str, pd.DataFrame] = {}
    table: dict[str, pd.DataFrame] = {}
    if workers <= 1:
        for name, func in SPATIAL_STAGES.items():
            t0 = time.perf_counter()
            # each stage's texts compacted as soon as it returns: its per-lot strings are freed before the
            # next stage allocates (the run's peak is in the late stages), not after all of them
            spatial[name] = compact_text(func(lots, ctx, index))
            index.drop(*CACHE_LAST_READER.get(name, ()))
            tick(name, t0)
        del index  # the lots' tree and areas are not needed by the table stages
        # Under pandas' copy-on-write, concatenating along columns shares the parts' blocks: the growing frame
        # the table stages read costs no copy of the earlier columns.
        joined = pd.concat(list(spatial.values()), axis=1)
        for name, tfunc in TABLE_STAGES.items():
            t0 = time.perf_counter()
            table[name] = _table_stage(name, tfunc, joined, ctx)
            joined = pd.concat([joined, table[name]], axis=1)
            tick(name, t0)
    else:

        def one(name: str, idx: LotIndex) -> pd.DataFrame:
            # one core per stage while two run; the last one running takes both (parallel.shared_cores)
            with parallel.shared_cores():
                t0 = time.perf_counter()
                out = compact_text(SPATIAL_STAGES[name](lots, ctx, idx))
                idx.drop(*CACHE_LAST_READER.get(name, ()))
                tick(name, t0)
                return out

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quitogeo-etapa") as pool:
            # in the order of _STAGE_COST; the caches the stages share (quadtree, convex lots) are built by
            # the first stage that needs them, the others wait for it
            ranked = sorted(SPATIAL_STAGES, key=_stage_rank)
            futures = {name: pool.submit(one, name, index) for name in ranked}
            del index
            # a table stage starts as soon as the spatial stages it reads are done: the attribute stages
            # before the ámbitos run while the PUOS join (the longest) still runs on the other core
            joined = pd.DataFrame(index=lots.index)
            for name, tfunc in TABLE_STAGES.items():
                ready = [s for s in SPATIAL_STAGES if s not in spatial and _needed_by(s, name)]
                for s in ready:
                    spatial[s] = futures[s].result()
                if ready:
                    joined = pd.concat([joined, *(spatial[s] for s in ready)], axis=1)
                t0 = time.perf_counter()
                with parallel.shared_cores():  # a core of its own while a spatial stage still runs
                    table[name] = _table_stage(name, tfunc, joined, ctx)
                joined = pd.concat([joined, table[name]], axis=1)
                tick(name, t0)
            for s in SPATIAL_STAGES:
                if s not in spatial:
                    spatial[s] = futures[s].result()
    # the same columns in the same order whichever way the stages ran
    parts = [*(spatial[s] for s in SPATIAL_STAGES), *(table[t] for t in TABLE_STAGES)]
    del joined
    t0 = time.perf_counter()
    named = pd.CategoricalDtype(pd.Index([str(ctx.escenario["nombre"])], dtype=object))
    escenario = pd.Categorical.from_codes(np.zeros(len(lots), dtype=np.int8), dtype=named)
    parts.append(pd.DataFrame({"escenario": escenario}, index=lots.index))
    # text columns are categoricals (object with None only where a column is all null or unique by nature),
    # whatever pandas inferred for this chunk: chunks and backends must give identical frames
    out = pd.concat(parts, axis=1)
    tick("ensamblado", t0)
    if bar is not None:
        bar.close()
    return out


#: Text columns kept as object: one distinct value per lot, a categorical would only add its codes.
_UNIQUE_TEXT: frozenset[str] = frozenset({"clave_catastral"})


def compact_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns of ``frame`` as pandas categoricals (other columns untouched).

    Most result texts repeat (a handful of ``estado``, ``uso_*``, ``ambitos`` values; a few thousand
    ``motivos`` combinations for 1 M lots): a categorical holds each distinct string once plus a small
    integer code per lot, instead of one Python string (or at least one 8-byte pointer) per lot in ~50
    columns. Categories are the sorted distinct values, so a chunked run (``backend="dask"``) and a
    whole-frame run give identical frames (the dask backend re-applies this to the columns that concatenating
    its partitions turned back into object). Columns that are null throughout stay object (None), and
    :data:`_UNIQUE_TEXT` columns stay object with None for null. The GeoPackage writer writes categoricals as
    plain text (same file).

    Parameters
    ----------
    frame : DataFrame
        Any frame; object and ``str``/``string`` columns are the text columns.

    Returns
    -------
    DataFrame
        ``frame`` itself when it has no text column, else a new frame sharing the other columns.
    """
    if not len(frame.columns):
        return frame
    out: dict[Any, Any] = {}
    changed = False
    for col in frame.columns:
        series = frame[col]
        dtype = series.dtype
        if not (isinstance(dtype, pd.StringDtype) or dtype == np.dtype(object)):
            out[col] = series
            continue
        if col in _UNIQUE_TEXT:
            texts = series.to_numpy(dtype=object)
            na = pd.isna(texts)
            if na.any() or dtype != np.dtype(object):
                texts = texts.copy()  # writable: never write into the stage's own array
                texts[na] = None
            out[col] = pd.Series(texts, index=frame.index, dtype="object")  # type: ignore[call-overload]
            changed = True
            continue
        codes, found = pd.factorize(series, use_na_sentinel=True)
        uniques = np.asarray(found, dtype=object)
        kind = pd.api.types.infer_dtype(uniques, skipna=True)
        if dtype == np.dtype(object) and kind not in ("string", "empty"):
            out[col] = series  # numbers or mixed values: not a text column, left as the stage made it
            continue
        if not len(uniques):
            out[col] = pd.Series(np.full(len(frame), None, dtype=object), index=frame.index, dtype="object")
            changed = True
            continue
        # sorted categories: the same frame whatever the chunking (sorting the few uniques, not the lots)
        order = np.argsort(uniques, kind="stable")
        remap = np.empty(len(order) + 1, dtype=codes.dtype)
        remap[order] = np.arange(len(order), dtype=codes.dtype)
        remap[-1] = -1
        cats = pd.Index(uniques[order], dtype=object)
        out[col] = pd.Series(pd.Categorical.from_codes(remap[codes], categories=cats), index=frame.index)
        changed = True
    if not changed:
        return frame
    return pd.concat(out, axis=1)


# ------------------------------------------------------------------------------------------------- assembly


def _order_columns(frame: pd.DataFrame) -> list[str]:
    first = [c for c in (*OUTPUT_COLUMNS, *EXTRA_COLUMNS) if c in frame.columns]
    rest = [c for c in frame.columns if c not in first and c not in _INTERNAL and c != "geometry"]
    return first + rest


def check_integrity(lots: gpd.GeoDataFrame, result: pd.DataFrame) -> None:
    """Every input lot exactly once, in input order, with its clave catastral.

    Raises
    ------
    DataIntegrityError
        Naming how many lots were lost or duplicated.
    """
    if len(result) != len(lots) or not result.index.equals(lots.index):
        raise DataIntegrityError(
            f"predios_resultado tiene {len(result)} filas para {len(lots)} predios de entrada: se "
            "perderían o "
            "duplicarían predios; no se escribe nada (informe este error)"
        )
    got = result["clave_catastral"].to_numpy(dtype=object)
    given = lots["clave_catastral"].to_numpy(dtype=object)
    # the claves as given compare equal element by element in the common case (0.05 s at 1 M lots); only
    # otherwise (a null, a number among texts) are both sides compared as text (0.2 s)
    same = got is given or bool((got == given).all())
    if not same and not np.array_equal(got.astype(str), given.astype(str)):
        raise DataIntegrityError(
            "predios_resultado no conserva las claves catastrales de entrada en su orden; no se escribe nada"
        )


def run_problems(predios: pd.DataFrame) -> pd.DataFrame:
    """Problems found during the run: one row per lot whose ``estado`` is not ``ok``."""
    bad = predios["estado"] != "ok"
    sub = predios.loc[bad]
    return pd.DataFrame(
        {
            "capa": "predios",
            "id": sub["clave_catastral"].astype(str).to_numpy(dtype=object),
            "problema": sub["estado"].to_numpy(dtype=object),
            "accion": "COD no calculado (nulo); el predio se conserva en predios_resultado con su estado",
            "correccion": (
                "complete el dato que falta (PIT, AIVA, uso, edificabilidad o geometría) y vuelva a correr"
            ),
            "bloqueante": False,
        }
    )


def _metadatos(
    *,
    rules: Rules,
    ctx: Context,
    project: Any,
    started: datetime,
    seconds: float,
    n: int,
    backend: str,
    timings: dict[str, float],
) -> pd.DataFrame:
    params = {
        "escenario": ctx.escenario,
        "alfa": rules.alfa,
        "estructura": rules["valor_suelo"]["estructura_predeterminada"],
        "vc": rules["valor_suelo"]["vc"][rules["valor_suelo"]["estructura_predeterminada"]],
        "umbrales": rules["umbrales"],
        "tolerancias": rules["tolerancias"],
        "influencia": rules["influencia"],
    }
    rows: list[tuple[str, str]] = [
        ("fecha_ejecucion", started.isoformat(timespec="seconds")),
        ("duracion_s", f"{seconds:.3f}"),
        ("quitogeo_version", __version__),
        *((k, str(v)) for k, v in rules.metadata().items()),
        ("escenario", str(ctx.escenario["nombre"])),
        ("escenario_tipo", str(ctx.escenario["tipo"])),
        ("parametros", json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)),
        ("proyecto", str(getattr(project, "source", ""))),
        ("n_predios", str(n)),
        ("backend", backend),
        ("capas_ausentes", ", ".join(ctx.missing)),
        ("tiempos_s", json.dumps({k: round(v, 3) for k, v in timings.items()})),
    ]
    for layer, digest in sorted(getattr(project, "hashes", {}).items()):
        rows.append((f"sha256_{layer}", str(digest)))
    if not rules.verificado:
        rows.append(("nota", "reglas con verificado = false: valores PARAM ilustrativos, no oficiales"))
    return pd.DataFrame(rows, columns=["clave", "valor"])


def _load_project(project: Any, rules: Rules) -> Any:
    if project is None or isinstance(project, (str, Path)):
        from quitogeo.io import read_project

        return read_project(project, rules=rules)
    if not hasattr(project, "layers"):
        raise QuitogeoError(
            "run() espera un Project, una ruta o None (proyecto de muestra); "
            f"recibió {type(project).__name__}"
        )
    return project


def _refuse_blocking(project: Any) -> None:
    problems = getattr(project, "problems", None)
    if problems is None or not len(problems) or "bloqueante" not in problems.columns:
        return
    blocking = problems[problems["bloqueante"].astype(bool)]
    if len(blocking):
        from quitogeo.errors import LayerError

        first = "; ".join(f"{r.capa} [{r.id}]: {r.problema}" for r in blocking.head(3).itertuples())
        raise LayerError(
            f"el proyecto {getattr(project, 'source', '')} tiene {len(blocking)} problema(s) que impiden la "
            f"corrida: {first}. Ejecute 'quitogeo validate' para ver todos y cómo corregirlos",
            layer=str(blocking["capa"].iloc[0]),
        )


def run(
    project: Any = None,
    *,
    rules: Rules | str | Path | None = None,
    escenario: str | None = None,
    backend: str = "local",
    progress: bool = False,
    scheduler: str | None = None,
    on_stage: Callable[[str, float], None] | None = None,
) -> RunResult:
    """Run the whole pipeline on a project.

    Parameters
    ----------
    project : Project, str, Path or None
        A :class:`quitogeo.io.Project`, a path :func:`quitogeo.io.read_project` accepts, or None for the
        embedded
        sample project.
    rules : Rules, str or Path, optional
        Rules (or a rules file); the packaged default when None.
    escenario : str, optional
        Scenario of the rules' ``[escenarios]`` (its ``predeterminado`` when None).
    backend : str, optional
        ``"local"`` (this process) or ``"dask"`` (:mod:`quitogeo.backends.dask`, when installed).
    progress : bool, optional
        Show a progress bar per stage.
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler for ``backend="dask"`` (a local cluster when None).
    on_stage : callable, optional
        Called as ``on_stage(name, seconds)`` when each stage ends (``scripts/benchmark.py`` uses it).

    Returns
    -------
    RunResult

    Raises
    ------
    DataIntegrityError
        When a lot would be lost or duplicated.
    """
    started = datetime.now(timezone.utc)
    t_start = time.perf_counter()
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    proj = _load_project(project, rules)
    _refuse_blocking(proj)
    if len(proj.layers.get("predios", ())) >= TRIM_MIN_LOTS:
        release_free_memory()  # reading and checking freed as much as the lots take
    timings: dict[str, float] = {"lectura": time.perf_counter() - t_start}
    if on_stage is not None:
        on_stage("lectura", timings["lectura"])
    t0 = time.perf_counter()
    ctx = prepare(proj.layers, rules=rules, escenario=escenario)
    timings["preparacion"] = time.perf_counter() - t0
    if on_stage is not None:
        on_stage("preparacion", timings["preparacion"])
    lots: gpd.GeoDataFrame = proj.layers["predios"]
    if backend == "local":
        joined = process_lots(lots, ctx, progress=progress, timings=timings, on_stage=on_stage)
    elif backend == "dask":
        try:
            dask_backend: Any = importlib.import_module("quitogeo.backends.dask")
        except ImportError as exc:
            raise QuitogeoError(
                "el backend 'dask' no está disponible en esta instalación; use backend='local'"
            ) from exc
        t0 = time.perf_counter()
        joined = dask_backend.process(lots, ctx, progress=progress, timings=timings, scheduler=scheduler)
        if on_stage is not None:
            on_stage("dask", time.perf_counter() - t0)
    else:
        raise QuitogeoError(f"backend {backend!r} desconocido; use 'local' o 'dask'")
    check_integrity(lots, joined)
    # copy=False: the columns are already one block each; consolidating them would copy the whole table
    predios = gpd.GeoDataFrame(
        joined[_order_columns(joined)], geometry=lots.geometry.array, crs=lots.crs, copy=False
    )
    del joined
    if len(lots) >= TRIM_MIN_LOTS:
        release_free_memory()
    from quitogeo.summary import resumen

    t0 = time.perf_counter()
    res = resumen(predios, rules=rules)
    timings["resumen"] = time.perf_counter() - t0
    if on_stage is not None:
        on_stage("resumen", timings["resumen"])
    base = getattr(proj, "problems", None)
    problem_cols = ["capa", "id", "problema", "accion", "correccion", "bloqueante"]
    frames = [f for f in (base, run_problems(predios)) if f is not None and len(f)]
    problemas = (
        pd.concat([f[problem_cols] for f in frames], ignore_index=True)
        if frames
        else pd.DataFrame({c: pd.Series(dtype=object) for c in problem_cols})
    )
    problemas["bloqueante"] = problemas["bloqueante"].astype(bool)
    seconds = time.perf_counter() - t_start
    meta = _metadatos(
        rules=rules,
        ctx=ctx,
        project=proj,
        started=started,
        seconds=seconds,
        n=len(predios),
        backend=backend,
        timings=timings,
    )
    log.info("corrida: %d predios en %.2f s", len(predios), seconds)
    return RunResult(
        predios=predios, resumen=res, problemas=problemas, metadatos=meta, tiempos=timings, project=proj
    )


__all__ = [
    "EXTRA_COLUMNS",
    "OUTPUT_COLUMNS",
    "REQUIRED_LAYERS",
    "SPATIAL_STAGES",
    "TABLE_STAGES",
    "Context",
    "RunResult",
    "check_integrity",
    "compact_text",
    "prepare",
    "process_lots",
    "run",
    "run_problems",
]
