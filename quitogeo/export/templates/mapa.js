// quitogeo web map: shared data, styles and popups for the lot (or cell) layers.
// The data are columnar (one array per attribute, GeoJSON geometries in one array) so the file stays small;
// the features are built once here and shared by every thematic layer.
var quitogeo = (function () {
  var D = __QUITOGEO_DATA__;
  var features = new Array(D.geom.length);
  for (var i = 0; i < D.geom.length; i++) {
    var props = {};
    for (var key in D.cols) { props[key] = D.cols[key][i]; }
    features[i] = {type: "Feature", geometry: D.geom[i], properties: props};
  }
  function esc(v) {
    return String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function usd(v) {
    if (v === null || v === undefined) { return "sin dato"; }
    return "USD\u00a0" + Number(v).toLocaleString("es-EC", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  function num(v, d) {
    if (v === null || v === undefined) { return "sin dato"; }
    return Number(v).toLocaleString("es-EC", {maximumFractionDigits: d});
  }
  function verdict(v) {
    if (v === null || v === undefined) { return "<span class='qg-nd'>sin dato</span>"; }
    return v ? "<span class='qg-si'>elegible</span>" : "<span class='qg-no'>no elegible</span>";
  }
  function share(v) {
    if (v === null || v === undefined) { return "sin dato"; }
    return num(100 * v, 0) + " %";
  }
  function row(label, value) { return "<tr><th>" + label + "</th><td>" + value + "</td></tr>"; }
  function text(v) { return (v === null || v === undefined || v === "") ? "—" : esc(v); }

  function popupLote(p) {
    var h = "<div class='qg-popup'><h4>Predio " + esc(p.clave) + "</h4><table>";
    h += row("Área (m²)", num(p.area, 1) + (p.area_fuente ? " (" + esc(p.area_fuente) + ")" : ""));
    h += row("PIT", text(p.pit));
    h += row("Uso principal", text(p.uso));
    h += row("AIVA ($/m²)", num(p.aiva, 2));
    h += row("Vías de frente", num(p.n_vias, 0) + (p.vias ? ": " + esc(p.vias) : ""));
    h += row("Anchos de frente (m)", p.anchos ? esc(p.anchos) : "—");
    h += row("Ancho mínimo de frente (m)", num(p.ancho, 1));
    h += row("ZUAE", verdict(p.el_zuae) + (p.mot_zuae ? "<br><small>" + esc(p.mot_zuae) + "</small>" : ""));
    h += row("COS PB", verdict(p.el_cos) + (p.mot_cos ? "<br><small>" + esc(p.mot_cos) + "</small>" : ""));
    h += row("Eco-eficiencia", verdict(p.el_eco) + (p.mot_eco ? "<br><small>" + esc(p.mot_eco) + "</small>" : ""));
    // the per-section motivos are shown with each verdict; the combined text only when the run has no split
    if (!(p.mot_zuae || p.mot_cos || p.mot_eco)) { h += row("Motivos", text(p.motivos)); }
    h += row("Ae (m²)", num(p.ae, 1));
    h += row("β", num(p.beta, 2));
    h += row("COD (USD)", usd(p.cod));
    if (p.amb_apl !== undefined) {  // ámbitos PUOS → PUGS, when the run had a PUOS layer
      h += row("Ámbitos PUOS → PUGS", text(p.ambitos));
      h += row("Ámbito aplicado", text(p.amb_apl) + (p.ir !== null && p.ir !== undefined
        ? "<br><small>IR " + num(p.ir, 2) + " (" + text(p.ir_fuente) + ")</small>" : ""));
      h += row("COD por ámbito (USD)", usd(p.cod_amb));
    }
    if (p.estado && p.estado !== "ok") { h += row("Estado", esc(p.estado)); }
    return h + "</table></div>";
  }
  function popupCelda(p) {
    var h = "<div class='qg-popup'><h4>Celda " + esc(p.clave) + "</h4><table>";
    h += row("Predios", num(p.n, 0));
    h += row("Elegibles ZUAE", share(p.el_zuae));
    h += row("Elegibles COS PB", share(p.el_cos));
    h += row("Elegibles eco-eficiencia", share(p.el_eco));
    h += row("COD potencial (USD)", usd(p.cod));
    return h + "</table></div>";
  }
  var COD = D.cod_colors, ELIG = D.elig_colors, SHARE = D.share_colors;
  function style(theme, f) {
    var p = f.properties, color;
    if (theme === "cod") {
      color = COD[p.clase];
    } else {
      var v = p[theme];
      if (v === null || v === undefined) { color = ELIG.nd; }
      else if (D.modo === "celdas") { color = SHARE[Math.min(SHARE.length - 1, Math.floor(v * SHARE.length))]; }
      else { color = v ? ELIG.si : ELIG.no; }
    }
    return {fillColor: color, color: "#555", weight: 0.4, fillOpacity: 0.8};
  }
  function layer(theme) {
    return L.geoJson(null, {
      style: function (f) { return style(theme, f); },
      onEachFeature: function (f, lyr) {
        lyr.bindPopup(function () { return D.modo === "celdas" ? popupCelda(f.properties) : popupLote(f.properties); },
                      {maxWidth: 420, autoPanPaddingTopLeft: [10, 60]});
      }
    }).addData(features);
  }
  return {layer: layer, features: features, data: D};
})();
