"""Smoke run of scripts/benchmark.py on a few hundred lots: JSON and Markdown with the expected keys.

No time is asserted: speed lives in docs/benchmarks.md, measured on purpose, not in the test suite.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "benchmark.py"

pytest.importorskip("psutil")


def _load_script():
    spec = importlib.util.spec_from_file_location("qg_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["qg_benchmark"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    md = tmp / "benchmarks.md"
    md.write_text(
        "# Benchmarks\n\nComentario escrito a mano.\n\n<!-- benchmark:inicio -->\nviejo\n"
        "<!-- benchmark:fin -->\n\nMás comentario.\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--lotes",
            "300",
            "--cache",
            str(tmp / "cache"),
            "--json",
            str(tmp / "b.json"),
            "--markdown",
            str(md),
            "--formato",
            "ambos",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return tmp, out.stdout


def test_json_has_every_measurement(smoke):
    tmp, stdout = smoke
    data = json.loads((tmp / "b.json").read_text(encoding="utf-8"))
    assert data["maquina"]["nucleos"] >= 1
    assert {"numpy", "shapely", "geopandas", "pyogrio", "pyarrow"} <= set(data["maquina"]["versiones"])
    assert len(data["corridas"]) == 1
    run = data["corridas"][0]
    assert run["n_lotes"] == 300 and run["backend"] == "local"
    pipe = run["pipeline"]
    assert pipe["n_predios"] == 300  # every lot in the result
    names = [s["etapa"] for s in pipe["etapas"]]
    # read, each join, frontage, eligibility, calc and write are timed separately
    for stage in (
        "lectura",
        "pit",
        "aiva",
        "zonas",
        "influencia",
        "frente",
        "elegibilidad",
        "cod",
        "escritura_parquet",
        "escritura_gpkg",
    ):
        assert stage in names, names
    for st in pipe["etapas"]:
        assert st["segundos"] >= 0 and st["rss_pico_mb"] > 0
    assert pipe["pico_rss_mb"] >= max(s["rss_pico_mb"] for s in pipe["etapas"]) * 0.9
    floor = run["piso"]
    assert floor["n_filas"] == 300 and floor["total_s"] > 0
    assert run["razon"] == pytest.approx(pipe["total_s"] / floor["total_s"], rel=0.02)
    assert run["calc"]["n"] == 300 and run["calc"]["lotes_por_s"] > 0
    assert "razón" in stdout
    # --formato ambos: the GeoParquet and the GeoPackage writes of the same run, side by side; the total
    # counts the GeoParquet one (the district format), not both
    writes = pipe["escrituras_s"]
    assert set(writes) == {"gpkg", "parquet"} and min(writes.values()) > 0
    assert pipe["total_s"] < pipe["corrida_s"] + writes["gpkg"] + writes["parquet"]
    assert pipe["total_s"] >= pipe["corrida_s"] + writes["parquet"] - 0.05
    # the project was cached by size, seed and the generator's fingerprint (a changed generator → new file)
    bench = _load_script()
    cached = bench.sample_path(300, 2024, tmp / "cache")
    assert cached.exists() and cached.name.startswith("muestra_300_semilla2024_gen")


def test_markdown_keeps_commentary(smoke):
    tmp, _ = smoke
    text = (tmp / "benchmarks.md").read_text(encoding="utf-8")
    assert "Comentario escrito a mano." in text and "Más comentario." in text
    assert "viejo" not in text  # the generated section was replaced
    assert "escritura" in text and "núcleos" in text
    assert "escritura GeoParquet (s)" in text and "escritura_parquet" in text
    assert "total con GeoPackage (s)" in text and "| 300 | local | GeoParquet |" in text


def test_merge_replaces_same_key_and_keeps_others(tmp_path):
    bench = _load_script()
    path = tmp_path / "b.json"
    base = {"n_lotes": 100, "backend": "local", "escenario": "x", "v": 1}
    path.write_text(
        json.dumps({"maquina": {}, "corridas": [base, {**base, "n_lotes": 200}]}), encoding="utf-8"
    )
    data = bench.merge(path, [{**base, "v": 2}], {"nucleos": 2})
    assert [(e["n_lotes"], e["v"]) for e in data["corridas"]] == [(100, 2), (200, 1)]


def test_high_water_mark_gives_each_window_its_own_peak():
    """80 MB allocated and freed inside a window: that window's peak holds them, the next one's does not."""
    bench = _load_script()
    if not bench.HighWaterMark.available():
        pytest.skip("this system does not let a process reset its peak RSS (/proc/self/clear_refs)")
    import numpy as np

    mb = 1024 * 1024
    with bench.HighWaterMark() as meter:
        meter.mark()
        base = meter.rss()
        block = np.ones(80 * mb // 8)  # written, so resident
        del block
        peak, now = meter.mark()
        assert peak - base >= 75 * mb
        assert now - base < 40 * mb  # numpy returned the block to the system
        calm, _ = meter.mark()
        assert calm - base < 40 * mb
