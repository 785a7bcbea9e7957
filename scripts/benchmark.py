#!/usr/bin/env python
"""District-scale benchmark of ``quitogeo run``: time and memory per stage, against the I/O floor.

For each ``--lotes N`` it generates (or reuses, cached by size and seed under ``scripts/.cache/``) a
synthetic project with :func:`quitogeo.sample.write_sample_project`, then, each in a fresh child process so
that peak RSS is the measurement's own:

* **pipeline**: :func:`quitogeo.pipeline.run` on the project file (reading and validating it included),
  recording the seconds and the RSS (peak within the stage, sampled every 5 ms, and at its end) of every
  stage — read, prepare, lot index, each join, frontage, eligibility, scenario, COD, summary — through
  ``run(on_stage=...)`` when the pipeline offers that hook (else from ``RunResult.tiempos`` and the sampled
  RSS), then :func:`quitogeo.export.gpkg.write_results` (the write stage);
* **floor**: the same lots read with ``pyogrio.read_dataframe(use_arrow=True)`` and the same number of rows
  written back to a GeoPackage with ``pyogrio.write_dataframe(use_arrow=True)`` — nothing else. The ratio
  pipeline / floor stays meaningful on a noisy machine (both run in the same invocation);
* **calc**: the calc core's vectorised :func:`quitogeo.calc.cod_frame` on ``N`` rows, in lots per second.

Results are merged into a JSON file (one entry per size × backend × scenario; re-running one size keeps the
others) and rendered as a Markdown table between the ``<!-- benchmark:inicio -->`` and
``<!-- benchmark:fin -->`` markers of ``docs/benchmarks.md`` (commentary outside the markers is kept).

Usage::

    python scripts/benchmark.py                          # 100 000 and 1 000 000 lots
    python scripts/benchmark.py --lotes 1000000
    python scripts/benchmark.py --lotes 100000 --backend dask
    python scripts/benchmark.py --lotes 100000 --perfil  # also a pyinstrument profile of the pipeline
    python scripts/benchmark.py --lotes 1000000 --formato ambos  # GeoPackage and GeoParquet writes, same run

``--formato gpkg|parquet|ambos`` chooses the results format of the write stage (``write_results(formato=)``);
``ambos`` (the default) writes both, one after the other, in the same child process: GeoParquet first — the
results format for the whole district (``quitogeo run --formato parquet``), counted in the total — then the
GeoPackage, whose write is reported beside it (``escritura_gpkg``; GDAL writes the ~150 result columns at
≈ 15 µs a lot, several times the Arrow write) and in a "total con GeoPackage" column. The floor is unchanged:
read the lots, write the same number of rows with pyogrio/Arrow (a GeoPackage).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "scripts" / ".cache"
DEFAULT_JSON = ROOT / "docs" / "benchmarks.json"
DEFAULT_MD = ROOT / "docs" / "benchmarks.md"
MARK_START = "<!-- benchmark:inicio -->"
MARK_END = "<!-- benchmark:fin -->"
#: Targets of issue 8 (this 2-core machine, 1 M lots).
TARGETS = {"total_s": 20.0, "pico_rss_mb": 3072.0, "razon": 4.0, "calc_lotes_s": 1_000_000.0}
LIBRARIES = (
    "quitogeo",
    "numpy",
    "pandas",
    "shapely",
    "geopandas",
    "pyogrio",
    "pyarrow",
    "pyproj",
    "dask",
    "distributed",
    "dask-geopandas",
)
MB = 1024.0 * 1024.0


# ----------------------------------------------------------------------------------------------- memory


class RssSampler:
    """Samples this process's RSS every ``every`` seconds in a thread; :meth:`mark` closes a stage window.

    Used where :class:`HighWaterMark` is not available (not Linux, or ``/proc/self/clear_refs`` not writable)
    and to time a ``run()`` without a per-stage hook (the samples are then attributed by time).

    The peak of a window is the highest sample taken since the previous mark (and the RSS at the mark itself),
    so a short spike inside a stage is caught within the sampling period.
    """

    method = "muestreo cada 5 ms"

    def __init__(self, every: float = 0.005) -> None:
        import psutil

        self._proc = psutil.Process()
        self._every = every
        self._peak = self.rss()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.history: list[tuple[float, int]] = []

    def window_peak(self, start: float, end: float) -> int:
        """Highest sample taken between ``start`` and ``end`` (``time.perf_counter`` values); for a window
        shorter
        than the sampling period, the last sample before ``end``."""
        inside = [r for t, r in self.history if start <= t <= end]
        if inside:
            return max(inside)
        before = [r for t, r in self.history if t <= end]
        return before[-1] if before else (self.history[0][1] if self.history else self.rss())

    def rss(self) -> int:
        """Current resident set size in bytes."""
        return int(self._proc.memory_info().rss)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            value = self.rss()
            self.history.append((time.perf_counter(), value))
            with self._lock:
                self._peak = max(self._peak, value)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self) -> tuple[int, int]:
        """(peak since the last mark, RSS now), and start a new window."""
        now = self.rss()
        with self._lock:
            peak = max(self._peak, now)
            self._peak = now
        return peak, now


class HighWaterMark:
    """Exact peak RSS per stage from the kernel's high-water mark; :meth:`mark` closes a stage window.

    Linux keeps each process's peak RSS (``VmHWM`` in ``/proc/self/status``) and resets it to the current RSS
    when ``5`` is written to ``/proc/self/clear_refs``: reading and resetting it at every stage boundary gives
    each stage's true peak without a sampling thread. (The 5 ms sampling thread of :class:`RssSampler` took
    the GIL 200 times a second from the stages running side by side: 0.2–0.8 s of a 1 M-lot run.)
    """

    method = "VmHWM"

    @staticmethod
    def available() -> bool:
        """Whether this system lets the process read and reset its high-water mark."""
        try:
            HighWaterMark._reset()
            HighWaterMark._hwm()
        except (OSError, ValueError):
            return False
        return True

    @staticmethod
    def _reset() -> None:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")

    @staticmethod
    def _hwm() -> int:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise ValueError("VmHWM no figura en /proc/self/status")

    def __enter__(self) -> HighWaterMark:
        self._reset()
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def rss(self) -> int:
        """Current resident set size in bytes."""
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def mark(self) -> tuple[int, int]:
        """(peak since the last mark, RSS now), and start a new window."""
        peak = self._hwm()
        now = self.rss()
        self._reset()
        return max(peak, now), now


def peak_rss_mb() -> float:
    """This process's peak RSS so far (``ru_maxrss``, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------------------ measurements


#: Write stage name per results format.
WRITE_STAGES = {"gpkg": "escritura_gpkg", "parquet": "escritura_parquet"}


def _formats(formato: str) -> list[str]:
    """Formats to write for ``--formato`` (the first one counts in the total).

    ``ambos`` writes GeoParquet first — the district format, counted in the total — then the GeoPackage, whose
    seconds are reported beside it.
    """
    return ["parquet", "gpkg"] if formato == "ambos" else [formato]


def measure_pipeline(
    project: Path,
    *,
    escenario: str | None,
    backend: str,
    scheduler: str | None,
    perfil: Path | None,
    formato: str = "gpkg",
) -> dict[str, Any]:
    """Run the pipeline on ``project`` and write its results; seconds and RSS per stage.

    With ``formato="ambos"`` both formats are written (GeoParquet first); the total includes only the first
    write, and ``escrituras_s`` holds each write's seconds.
    """
    import quitogeo.io  # noqa: F401 - imported before the clock starts, as the floor imports pyogrio
    from quitogeo.export.gpkg import write_results
    from quitogeo.pipeline import run
    from quitogeo.rules import load_rules

    rules = load_rules()
    stages: list[dict[str, Any]] = []
    profiler = None
    if perfil is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002)
    params = inspect.signature(run).parameters
    hooked = "on_stage" in params
    meter: HighWaterMark | RssSampler = (
        HighWaterMark() if hooked and HighWaterMark.available() else RssSampler()
    )
    with meter as sampler, tempfile.TemporaryDirectory(prefix="qg-bench-") as tmp:

        def on_stage(name: str, seconds: float) -> None:
            peak, now = sampler.mark()
            stages.append(
                {
                    "etapa": name,
                    "segundos": round(seconds, 3),
                    "rss_pico_mb": round(peak / MB, 1),
                    "rss_fin_mb": round(now / MB, 1),
                }
            )

        sampler.mark()
        rss0 = sampler.rss()
        if profiler is not None:
            profiler.start()
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = {"rules": rules, "escenario": escenario, "backend": backend}
        if hooked:
            kwargs["on_stage"] = on_stage
        if scheduler:
            if "scheduler" in params:
                kwargs["scheduler"] = scheduler
            else:  # dask's own configuration key, read by quitogeo.backends.dask when run() cannot pass it
                os.environ["DASK_SCHEDULER_ADDRESS"] = scheduler
        result = run(project, **kwargs)
        t_run = time.perf_counter() - t0
        if not hooked:
            # no per-stage hook in this version of run(): attribute the sampled RSS to the stages by their
            # recorded durations, laid end to end from the start (the short gaps between stages go unassigned)
            assert isinstance(sampler, RssSampler)
            t = t0
            for name, seconds in result.tiempos.items():
                peak = sampler.window_peak(t, t + seconds)
                t += seconds
                now = sampler.window_peak(t, t)
                stages.append(
                    {
                        "etapa": name,
                        "segundos": round(seconds, 3),
                        "rss_pico_mb": round(peak / MB, 1),
                        "rss_fin_mb": round(now / MB, 1),
                    }
                )
            sampler.mark()
        writes: dict[str, float] = {}
        extra = 0.0  # seconds of the writes after the first (not in the total)
        for i, fmt in enumerate(_formats(formato)):
            t1 = time.perf_counter()
            write_results(result, Path(tmp) / fmt, overwrite=True, formato=fmt)
            writes[fmt] = time.perf_counter() - t1
            on_stage(WRITE_STAGES[fmt], writes[fmt])
            if i:
                extra += writes[fmt]
        total = time.perf_counter() - t0 - extra
        if profiler is not None and perfil is not None:
            profiler.stop()
            perfil.write_text(
                profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
            )
        n = len(result.predios)
        n_ok = int((result.predios["estado"] == "ok").sum())
    return {
        "n_predios": n,
        "n_con_cod": n_ok,
        "etapas": stages,
        "corrida_s": round(t_run, 3),
        "formato": formato,
        "escrituras_s": {k: round(v, 3) for k, v in writes.items()},
        "total_s": round(total, 3),
        "sin_asignar_s": round(total + extra - sum(s["segundos"] for s in stages), 3),
        "rss_medicion": meter.method,
        "rss_inicial_mb": round(rss0 / MB, 1),
        # the stages' peaks cover the whole run (ru_maxrss too, unless a reset of the high-water mark hid it)
        "pico_rss_mb": round(max(peak_rss_mb(), *(s["rss_pico_mb"] for s in stages)), 1),
    }


def measure_floor(project: Path) -> dict[str, Any]:
    """Read the lots and write as many rows back with pyogrio/Arrow, nothing else."""
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="qg-floor-") as tmp:
        t0 = time.perf_counter()
        lots = pyogrio.read_dataframe(project, layer="predios", use_arrow=True)
        t_read = time.perf_counter() - t0
        t1 = time.perf_counter()
        pyogrio.write_dataframe(
            lots, Path(tmp) / "piso.gpkg", layer="predios_resultado", driver="GPKG", use_arrow=True
        )
        t_write = time.perf_counter() - t1
    return {
        "n_filas": len(lots),
        "lectura_s": round(t_read, 3),
        "escritura_s": round(t_write, 3),
        "total_s": round(t_read + t_write, 3),
        "pico_rss_mb": round(peak_rss_mb(), 1),
    }


def measure_calc(n: int, *, seed: int = 2024) -> dict[str, Any]:
    """Lots per second of the calc core's vectorised COD (ámbito edificabilidad) on ``n`` plausible rows."""
    import numpy as np
    import pandas as pd

    from quitogeo.calc import cod_frame
    from quitogeo.rules import load_rules

    rules = load_rules()
    rng = np.random.default_rng(seed)
    nan = np.full(n, np.nan)
    frame = pd.DataFrame(
        {
            "alfa": np.full(n, float(rules.alfa)),
            "vc": np.full(n, 450.0),
            "fu": rng.choice([1.0, 1.2, 0.8], n),
            "ae": np.round(rng.uniform(0.0, 3000.0, n), 2),
            "area_terreno": np.round(rng.uniform(150, 3000, n), 2),
            "aiva": np.round(rng.uniform(100.0, 1900.0, n) / 5) * 5,
            "ir": nan,
            "auv": nan,
            "vsa": nan,
            "vs_c": nan,
            "vis": nan,
            "area_util_proyecto": nan,
        }
    )
    cod_frame(frame.iloc[:1000], ambito="edificabilidad", rules=rules)  # warm-up (imports, table parsing)
    t0 = time.perf_counter()
    cod_frame(frame, ambito="edificabilidad", rules=rules)
    seconds = time.perf_counter() - t0
    return {"n": n, "segundos": round(seconds, 3), "lotes_por_s": round(n / seconds) if seconds > 0 else None}


# ------------------------------------------------------------------------------------------------ driver


def generator_fingerprint() -> str:
    """Short hash of the sample generator's source: a cached project never outlives the code that made it."""
    import hashlib

    import quitogeo.sample
    import quitogeo.sample_puos

    digest = hashlib.sha256()
    for module in (quitogeo.sample, quitogeo.sample_puos):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:10]


def sample_path(n: int, seed: int, cache: Path) -> Path:
    """Cached sample project of ``n`` lots and ``seed`` made by the current generator."""
    return cache / f"muestra_{n}_semilla{seed}_gen{generator_fingerprint()}.gpkg"


def ensure_sample(n: int, seed: int, cache: Path) -> tuple[Path, float | None]:
    """The cached project, generated in a child process when missing; (path, seconds spent generating)."""
    path = sample_path(n, seed, cache)
    if path.exists():
        return path, None
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    code = (
        "import sys; from quitogeo.sample import write_sample_project; "
        "write_sample_project(sys.argv[1], n_lotes=int(sys.argv[2]), seed=int(sys.argv[3]))"
    )
    subprocess.run([sys.executable, "-c", code, str(path), str(n), str(seed)], check=True)
    return path, round(time.perf_counter() - t0, 1)


def _child(args: list[str]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (clean peak RSS) and return its JSON."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    try:
        subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--_medir", *args, "--_salida", str(out)],
            check=True,
        )
        return dict(json.loads(out.read_text(encoding="utf-8")))
    finally:
        out.unlink(missing_ok=True)


def machine() -> dict[str, Any]:
    """Core count, memory, Python and library versions."""
    versions: dict[str, str] = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "no instalado"
    try:
        import shapely

        versions["GEOS"] = shapely.geos_version_string
        import pyogrio

        versions["GDAL"] = pyogrio.__gdal_version_string__
    except ImportError:  # pragma: no cover - both are dependencies
        pass
    ram = None
    try:
        import psutil

        ram = round(psutil.virtual_memory().total / 1024**3, 1)
    except ImportError:  # pragma: no cover - psutil is in the bench extra
        pass
    return {
        "nucleos": os.cpu_count(),
        "ram_gb": ram,
        "python": platform.python_version(),
        "plataforma": platform.platform(),
        "procesador": platform.processor() or platform.machine(),
        "versiones": versions,
    }


def bench_one(
    n: int,
    *,
    seed: int,
    escenario: str | None,
    backend: str,
    scheduler: str | None,
    cache: Path,
    floor: bool,
    perfil: bool,
    log: Callable[[str], None],
    formato: str = "gpkg",
) -> dict[str, Any]:
    """Every measurement for one size."""
    project, gen_s = ensure_sample(n, seed, cache)
    log(f"[{n} predios] proyecto {project}" + (f" (generado en {gen_s} s)" if gen_s else " (en caché)"))
    common = ["--proyecto", str(project)]
    perfil_path = cache / f"perfil_{n}_{backend}.txt" if perfil else None
    pipe_args = [*common, "--tipo", "pipeline", "--backend", backend, "--formato", formato]
    if escenario:
        pipe_args += ["--escenario", escenario]
    if scheduler:
        pipe_args += ["--scheduler", scheduler]
    if perfil_path is not None:
        pipe_args += ["--_perfil", str(perfil_path)]
    pipe = _child(pipe_args)
    piso = _child([*common, "--tipo", "piso"]) if floor else None
    calc = _child(["--tipo", "calc", "--n", str(n)])
    entry: dict[str, Any] = {
        "n_lotes": n,
        "semilla": seed,
        "backend": backend,
        "escenario": escenario or "(predeterminado)",
        "proyecto": str(project.relative_to(ROOT) if project.is_relative_to(ROOT) else project),
        "generacion_s": gen_s,
        "fecha": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pipeline": pipe,
        "piso": piso,
        "calc": calc,
        "razon": round(pipe["total_s"] / piso["total_s"], 2) if piso and piso["total_s"] > 0 else None,
        "perfil": str(perfil_path.relative_to(ROOT))
        if perfil_path and perfil_path.is_relative_to(ROOT)
        else (str(perfil_path) if perfil_path else None),
    }
    log(
        f"[{n} predios] pipeline {pipe['total_s']:.2f} s, pico RSS {pipe['pico_rss_mb']:.0f} MB"
        + (f"; piso {piso['total_s']:.2f} s → razón {entry['razon']}" if piso else "")
        + f"; calc {calc['lotes_por_s']:,} predios/s"
        + "".join(f"; escritura {k} {v:.2f} s" for k, v in pipe.get("escrituras_s", {}).items())
    )
    for st in pipe["etapas"]:
        log(f"    {st['etapa']:<14} {st['segundos']:8.3f} s   pico {st['rss_pico_mb']:8.0f} MB")
    return entry


def _key(entry: dict[str, Any]) -> tuple[int, str, str]:
    return int(entry["n_lotes"]), str(entry["backend"]), str(entry["escenario"])


def merge(path: Path, new: list[dict[str, Any]], info: dict[str, Any]) -> dict[str, Any]:
    """Merge ``new`` runs into the JSON at ``path`` (same size × backend × scenario replaced)."""
    data: dict[str, Any] = {"maquina": info, "corridas": []}
    if path.exists():
        try:
            data = dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):  # a broken file is replaced, not fatal
            pass
    keep = {_key(e): e for e in data.get("corridas", [])}
    for e in new:
        keep[_key(e)] = e
    data["maquina"] = info
    data["objetivos"] = TARGETS
    data["corridas"] = sorted(keep.values(), key=_key)
    return data


def _ok(value: float | None, target: float, *, higher: bool = False) -> str:
    if value is None:
        return "—"
    good = value >= target if higher else value <= target
    return "✔" if good else "✘"


def render_markdown(data: dict[str, Any]) -> str:
    """The generated section of docs/benchmarks.md (between the markers)."""
    info = data["maquina"]
    lines = [MARK_START, "", "_Sección generada por `scripts/benchmark.py`; no la edite a mano._", ""]
    lines.append(
        f"Máquina: {info['nucleos']} núcleos, {info.get('ram_gb')} GB RAM, Python {info['python']}, "
        f"{info['plataforma']}."
    )
    lines.append("")
    lines.append("Versiones: " + ", ".join(f"{k} {v}" for k, v in info["versiones"].items()) + ".")
    lines.append("")
    lines.append(
        "| predios | backend | formato del total | total (s) | pico RSS (MB) | piso E/S (s) | razón "
        "| calc (predios/s) | escritura GeoParquet (s) | escritura GeoPackage (s) "
        "| total con GeoPackage (s) |"
    )
    lines.append("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for e in data["corridas"]:
        p, piso, calc = e["pipeline"], e.get("piso"), e["calc"]
        big = e["n_lotes"] >= 1_000_000
        writes = p.get("escrituras_s", {})
        first = _formats(p.get("formato", "gpkg"))[0]
        with_gpkg = p["total_s"] + (writes["gpkg"] if first != "gpkg" and "gpkg" in writes else 0.0)
        cells = [
            f"{e['n_lotes']:,}",
            str(e["backend"]),
            {"parquet": "GeoParquet", "gpkg": "GeoPackage"}.get(first, first),
            f"{p['total_s']:.2f}" + (f" {_ok(p['total_s'], TARGETS['total_s'])}" if big else ""),
            f"{p['pico_rss_mb']:.0f}" + (f" {_ok(p['pico_rss_mb'], TARGETS['pico_rss_mb'])}" if big else ""),
            f"{piso['total_s']:.2f}" if piso else "—",
            f"{e['razon']} {_ok(e['razon'], TARGETS['razon'])}" if e.get("razon") else "—",
            (
                f"{calc['lotes_por_s']:,} {_ok(calc['lotes_por_s'], TARGETS['calc_lotes_s'], higher=True)}"
                if calc.get("lotes_por_s")
                else "—"
            ),
            *(f"{writes[fmt]:.2f}" if fmt in writes else "—" for fmt in ("parquet", "gpkg")),
            f"{with_gpkg:.2f}" if "gpkg" in writes else "—",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Objetivos (1 M predios, esta máquina): total ≤ {TARGETS['total_s']:.0f} s, pico RSS ≤ "
        f"{TARGETS['pico_rss_mb']:.0f} MB, razón pipeline/piso ≤ {TARGETS['razon']:.0f}, calc ≥ 1 000 000 "
        "predios/s. El piso lee los mismos predios y escribe el mismo número de filas con pyogrio/Arrow "
        "y nada más (un GeoPackage). El total cuenta la escritura del formato de su columna: GeoParquet con "
        "`--formato ambos` (el formato de resultados para el distrito, `quitogeo run --formato parquet`); "
        "la escritura del GeoPackage se informa aparte y en «total con GeoPackage»."
    )
    for e in data["corridas"]:
        p = e["pipeline"]
        lines += [
            "",
            f"### {e['n_lotes']:,} predios — backend {e['backend']}, escenario {e['escenario']}",
            "",
            f"Fecha {e['fecha']}; proyecto `{e['proyecto']}` (semilla {e['semilla']}); "
            f"{p['n_con_cod']:,} de {p['n_predios']:,} predios con COD; RSS al empezar "
            f"{p['rss_inicial_mb']:.0f} MB.",
            "",
            "| etapa | s | % | pico RSS en la etapa (MB) | RSS al final (MB) |",
            "|---|---:|---:|---:|---:|",
        ]
        for st in p["etapas"]:
            pct = 100.0 * st["segundos"] / p["total_s"] if p["total_s"] else 0.0
            lines.append(
                f"| {st['etapa']} | {st['segundos']:.3f} | {pct:.0f} | {st['rss_pico_mb']:.0f} | "
                f"{st['rss_fin_mb']:.0f} |"
            )
        if p["sin_asignar_s"] >= 0:
            lines.append(f"| *(sin asignar)* | {p['sin_asignar_s']:.3f} | | | |")
        else:
            # the spatial stages ran side by side: each row is its own wall time, and together they exceed
            # the run (by these seconds)
            lines.append(
                f"| *(etapas solapadas: suman {-p['sin_asignar_s']:.3f} s más que la corrida)* | | | | |"
            )
        lines.append(
            f"| **total** | **{p['total_s']:.3f}** | | **{p['pico_rss_mb']:.0f}** (pico del proceso) | |"
        )
        piso = e.get("piso")
        if piso:
            lines += [
                "",
                f"Piso de E/S: lectura {piso['lectura_s']:.3f} s + escritura {piso['escritura_s']:.3f} s = "
                f"{piso['total_s']:.3f} s (pico {piso['pico_rss_mb']:.0f} MB); razón {e['razon']}.",
            ]
        lines += [
            "",
            f"Calc vectorizado: {e['calc']['n']:,} filas en {e['calc']['segundos']:.3f} s "
            f"({e['calc']['lotes_por_s']:,} predios/s).",
        ]
    lines += ["", MARK_END]
    return "\n".join(lines)


def write_markdown(path: Path, data: dict[str, Any]) -> None:
    """Replace the generated section of ``path`` (kept commentary outside the markers; created when
    missing)."""
    section = render_markdown(data)
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if MARK_START in text and MARK_END in text:
            head, rest = text.split(MARK_START, 1)
            tail = rest.split(MARK_END, 1)[1]
            path.write_text(head + section + tail, encoding="utf-8")
            return
        path.write_text(text.rstrip() + "\n\n" + section + "\n", encoding="utf-8")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Benchmarks\n\n" + section + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--lotes",
        type=int,
        action="append",
        help="predios del proyecto sintético (repetible); por defecto 100000 y 1000000",
    )
    ap.add_argument("--semilla", "--seed", dest="semilla", type=int, default=2024)
    ap.add_argument("--escenario", default=None)
    ap.add_argument("--backend", choices=["local", "dask"], default="local")
    ap.add_argument("--scheduler", default=None, help="dirección de un scheduler dask.distributed")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON)
    ap.add_argument("--markdown", type=Path, default=DEFAULT_MD)
    ap.add_argument("--sin-piso", action="store_true", help="no medir el piso de E/S")
    ap.add_argument("--perfil", action="store_true", help="perfil pyinstrument del pipeline (en --cache)")
    ap.add_argument(
        "--formato",
        choices=["gpkg", "parquet", "ambos"],
        default="ambos",
        help="formato de los resultados escritos (ambos: GeoPackage y GeoParquet en la misma corrida)",
    )
    # internal: one measurement in a child process
    ap.add_argument("--_medir", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_salida", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--_perfil", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--tipo", choices=["pipeline", "piso", "calc"], help=argparse.SUPPRESS)
    ap.add_argument("--proyecto", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    if args._medir:
        if args.tipo == "pipeline":
            out = measure_pipeline(
                args.proyecto,
                escenario=args.escenario,
                backend=args.backend,
                scheduler=args.scheduler,
                perfil=args._perfil,
                formato=args.formato,
            )
        elif args.tipo == "piso":
            out = measure_floor(args.proyecto)
        else:
            out = measure_calc(int(args.n))
        args._salida.write_text(json.dumps(out), encoding="utf-8")
        return 0
    sizes = args.lotes or [100_000, 1_000_000]
    info = machine()
    print(
        f"Máquina: {info['nucleos']} núcleos, {info['ram_gb']} GB; "
        + ", ".join(f"{k} {v}" for k, v in info["versiones"].items()),
        flush=True,
    )
    entries = [
        bench_one(
            n,
            seed=args.semilla,
            escenario=args.escenario,
            backend=args.backend,
            scheduler=args.scheduler,
            cache=args.cache,
            floor=not args.sin_piso,
            perfil=args.perfil,
            log=lambda s: print(s, flush=True),
            formato=args.formato,
        )
        for n in sizes
    ]
    data = merge(args.json, entries, info)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_markdown(args.markdown, data)
    print(f"Escrito {args.json} y {args.markdown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
