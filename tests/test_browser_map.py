"""The web map in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright; never downloaded).

Checks what a planner sees: no JavaScript error or failed request, the layer control with the Spanish layer
names, the legend, the "Reglas no verificadas" banner, and a popup with the clave catastral after clicking a
lot. A screenshot is saved as artefactos/mapa_recaudacion.png (gitignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS
from test_map import synthetic_context, synthetic_results

from quitogeo.export.map import CAPA_AIVA, CAPA_INFLUENCIA, CAPA_ZUAE, CAPAS_TEMATICAS, make_map

pytestmark = pytest.mark.browser

ARTEFACTOS = Path(__file__).resolve().parents[1] / "artefactos"

# The lot nearest the map's centre, in page pixels (lots are drawn on a canvas, so there is no element to
# click).
_FIND_LOT = """
() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const size = map.getSize();
  const markers = [];
  map.eachLayer(l => {
    if (l instanceof L.CircleMarker) { markers.push(map.latLngToContainerPoint(l.getLatLng())); }
  });
  let best = null;
  for (const f of quitogeo.features) {
    const ring = f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    let x = 0, y = 0;
    for (const c of ring.slice(0, -1)) { x += c[0]; y += c[1]; }
    const n = ring.length - 1;
    const pt = map.latLngToContainerPoint([y / n, x / n]);
    // a station's marker is drawn on top of the lot: skip lots under one
    if (markers.some(m => Math.hypot(m.x - pt.x, m.y - pt.y) < 20)) { continue; }
    const d = Math.hypot(pt.x - size.x / 2, pt.y - size.y / 2);
    if (best === null || d < best.d) { best = {d: d, x: pt.x, y: pt.y, clave: f.properties.clave}; }
  }
  const box = map.getContainer().getBoundingClientRect();
  return {x: box.left + best.x, y: box.top + best.y, clave: best.clave};
}
"""


def open_map(chromium_path: Path, html: Path, screenshot: Path | None = None) -> dict:
    """Open ``html`` and return what the checks need (errors, layer names, legend, popup text)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True)
        except PlaywrightError as exc:
            pytest.skip(f"Chromium en {chromium_path} no arranca: {str(exc).splitlines()[0]}")
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.on(
                "console",
                lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"requestfailed: {r.url}"))
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_selector(".leaflet-control-layers")
            labels = [t.strip() for t in page.locator(".leaflet-control-layers label").all_inner_texts()]
            legend_visible = page.locator("#qg-leyenda").is_visible()
            legend_text = page.locator("#qg-leyenda").inner_text()
            banner = page.locator("#qg-aviso-reglas")
            banner_text = banner.inner_text() if banner.count() and banner.is_visible() else ""
            totals_text = page.locator("#qg-totales").inner_text()
            lot = page.evaluate(_FIND_LOT)
            page.mouse.click(lot["x"], lot["y"])
            page.wait_for_selector(".leaflet-popup-content", timeout=5000)
            popup_text = page.locator(".leaflet-popup-content").inner_text()
            # the popup fades in: wait for the end of the animation so the screenshot shows it opaque
            page.wait_for_function(
                "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
            )
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    return {
        "errors": errors,
        "labels": labels,
        "legend_visible": legend_visible,
        "legend": legend_text,
        "banner": banner_text,
        "totals": totals_text,
        "lot": lot,
        "popup": popup_text,
    }


def test_map_in_chromium(chromium_path: Path, tmp_path: Path) -> None:
    results = synthetic_results(36)
    html = make_map(
        results, out=tmp_path / "mapa_recaudacion.html", project=synthetic_context(), rules_verificado=False
    )
    seen = open_map(chromium_path, html, ARTEFACTOS / "mapa_recaudacion.png")
    assert seen["errors"] == []
    for name in [*CAPAS_TEMATICAS, CAPA_INFLUENCIA, CAPA_ZUAE, CAPA_AIVA]:
        assert name in seen["labels"], (name, seen["labels"])
    assert seen["legend_visible"]
    assert "COD potencial por predio (USD)" in seen["legend"] and "$" in seen["legend"]
    assert seen["banner"].startswith("Reglas no verificadas")
    assert "Eugenio Espejo" in seen["totals"] and "Total" in seen["totals"]
    # the popup is the clicked lot's: its clave catastral, verdicts and COD
    assert seen["lot"]["clave"] in seen["popup"]
    assert f"Predio {seen['lot']['clave']}" in seen["popup"]
    for label in (
        "PIT",
        "Uso principal",
        "AIVA",
        "Vías de frente",
        "Anchos de frente",
        "ZUAE",
        "COS PB",
        "Eco-eficiencia",
        "β",
        "COD (USD)",
    ):
        assert label in seen["popup"], label


def test_aggregated_map_in_chromium(chromium_path: Path, tmp_path: Path) -> None:
    html = make_map(
        synthetic_results(400), out=tmp_path / "celdas.html", max_lotes=100, rules_verificado=True
    )
    seen = open_map(chromium_path, html)
    assert seen["errors"] == []
    assert seen["banner"] == ""
    assert "Celda E " in seen["popup"] and "Predios" in seen["popup"]


def test_map_of_a_real_run_in_chromium(chromium_path: Path, tmp_path: Path) -> None:
    """The whole chain: a synthetic project (quitogeo.sample) → quitogeo.pipeline.run → map → Chromium."""
    from quitogeo.io import read_project
    from quitogeo.pipeline import run
    from quitogeo.sample import write_sample_project

    source = write_sample_project(tmp_path / "proyecto.gpkg", n_lotes=1500, seed=7)
    project = read_project(source)
    result = run(project)
    html = make_map(result, out=tmp_path / "mapa.html", project=project)
    seen = open_map(chromium_path, html, ARTEFACTOS / "mapa_recaudacion_corrida.png")
    assert seen["errors"] == []
    for name in [*CAPAS_TEMATICAS, CAPA_INFLUENCIA, CAPA_ZUAE, CAPA_AIVA]:
        assert name in seen["labels"], (name, seen["labels"])
    assert seen["legend_visible"]
    assert f"Predio {seen['lot']['clave']}" in seen["popup"]
    # the sample generator makes a PUOS layer: the popup shows the ámbito split (issue 6)
    assert "Ámbito aplicado" in seen["popup"] and "COD por ámbito (USD)" in seen["popup"]
    # the packaged rules are not verified: the run records it and the map says so
    assert seen["banner"].startswith("Reglas no verificadas")
