// Starts ReDoc on the API docs page. The schema URL is in #redoc-container's data-spec-url; SPECTACULAR_SETTINGS'
// REDOC_UI_SETTINGS arrive through json_script as a JSON text (drf-spectacular dumps them), or null.
(function () {
  var container = document.getElementById("redoc-container");
  if (!container || !window.Redoc) return;
  var dumped = JSON.parse(document.getElementById("redoc-settings").textContent);
  var options = typeof dumped === "string" ? JSON.parse(dumped) : (dumped || {});
  window.Redoc.init(container.getAttribute("data-spec-url"), options, container);
})();
