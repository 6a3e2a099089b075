// Shows the floor of the chosen version's model pack and says when a justification is needed; the server decides.
// The floors come from json_script (#version-floors): rows of [version id, pack id, floor].
(function () {
  var source = document.getElementById("version-floors");
  var select = document.getElementById("id_watchlist_version"), input = document.getElementById("id_threshold");
  var notice = document.getElementById("threshold-below-floor");
  if (!source || !select || !input || !notice) return;
  var floors = {};
  JSON.parse(source.textContent).forEach(function (row) { floors[row[0]] = row[2]; });
  var lastFloor = floors[select.value];
  function check() {
    var floor = floors[select.value], value = parseFloat(input.value);
    notice.hidden = !(floor != null && !isNaN(value) && value < floor - 1e-9);
  }
  select.addEventListener("change", function () {
    var floor = floors[select.value];
    if (floor != null && (input.value === "" || parseFloat(input.value) === lastFloor)) input.value = floor;
    lastFloor = floor;
    check();
  });
  input.addEventListener("input", check);
  check();
})();
