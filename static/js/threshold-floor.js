// Prefills each threshold with the chosen version's proposal and says when a justification is needed; the server
// decides. The proposals come from json_script (#version-proposals): rows of [version id, pack id, colour, greyscale].
(function () {
  var source = document.getElementById("version-proposals");
  var select = document.getElementById("id_watchlist_version");
  var notice = document.getElementById("threshold-below-proposal");
  var inputs = [document.getElementById("id_threshold"), document.getElementById("id_threshold_greyscale")];
  if (!source || !select || !notice || !inputs[0] || !inputs[1]) return;
  var proposals = {};
  JSON.parse(source.textContent).forEach(function (row) { proposals[row[0]] = [row[2], row[3]]; });
  var last = proposals[select.value] || [null, null];
  function check() {
    var chosen = proposals[select.value] || [null, null];
    notice.hidden = !inputs.some(function (input, i) {
      var value = parseFloat(input.value);
      return chosen[i] != null && !isNaN(value) && value < chosen[i] - 1e-9;
    });
  }
  select.addEventListener("change", function () {
    var chosen = proposals[select.value] || [null, null];
    inputs.forEach(function (input, i) {
      if (chosen[i] != null && (input.value === "" || parseFloat(input.value) === last[i])) input.value = chosen[i];
    });
    last = chosen;
    check();
  });
  inputs.forEach(function (input) { input.addEventListener("input", check); });
  check();
})();
