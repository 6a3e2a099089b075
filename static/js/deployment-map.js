// Draws the deployment area and its signs on a Leaflet map. The data comes from json_script
// (#deployment-map-data); every text that reaches the map is set as a text node, never as HTML.
(function () {
  var el = document.getElementById("deployment-map"), status = document.getElementById("deployment-map-status");
  var source = document.getElementById("deployment-map-data");
  if (!el || !source) return;
  if (!window.L) { el.hidden = true; status.textContent = "The map could not be loaded. The coordinates below are exact."; return; }

  // Leaflet parses a string given to bindPopup/bindTooltip as HTML; an element keeps the text as text.
  function textElement(text) {
    var node = document.createElement("span");
    node.textContent = text;
    return node;
  }

  try {
    var data = JSON.parse(source.textContent);
    var map = L.map(el, {scrollWheelZoom: false, tap: true}).setView(data.centre, 17);
    var failed = false;
    // The attribution comes from settings (LFR_MAP_ATTRIBUTION), not from users: Leaflet shows it as HTML.
    L.tileLayer(data.tiles, {maxZoom: 19, attribution: data.attribution}).on("tileerror", function () {
      if (failed) return;
      failed = true;
      status.textContent = "Map tiles could not be loaded, so only the area and the signs are drawn. The coordinates below are exact.";
    }).addTo(map);
    var layers = [L.circleMarker(data.centre, {radius: 5, color: "#0b0c0c", weight: 2, fillOpacity: 1})
      .bindTooltip(textElement("Centre of the area"))];
    if (data.polygon.length >= 3) {
      layers.push(L.polygon(data.polygon, {color: "#1d70b8", weight: 3}).bindTooltip(textElement("Deployment area")));
    }
    if (data.radius) {
      layers.push(L.circle(data.centre, {radius: data.radius, color: "#1d70b8", weight: 3}).bindTooltip(textElement("Deployment area")));
    }
    data.signs.forEach(function (sign) {
      var label = sign.label + (sign.removed ? " (removed)" : "");
      // title and alt are set by Leaflet as properties of the marker's <img>, which are text.
      var marker = L.marker([sign.lat, sign.lng], {title: label, alt: label, opacity: sign.removed ? 0.5 : 1});
      layers.push(marker.bindPopup(textElement(label)));
    });
    var group = L.featureGroup(layers).addTo(map);
    map.fitBounds(group.getBounds().pad(0.15), {maxZoom: 18});
    el.setAttribute("data-ready", "true");
  } catch (error) {
    el.hidden = true;
    status.textContent = "The map could not be drawn. The coordinates below are exact.";
  }
})();
