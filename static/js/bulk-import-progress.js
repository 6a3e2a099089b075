// Polls the import's progress (URL in the bar's data-progress-url); reloads once it has finished so the page
// shows each row's result.
(function () {
  var bar = document.getElementById("import-progress"), text = document.getElementById("import-progress-text");
  if (!bar || !text || !bar.getAttribute("data-progress-url")) return;
  var url = bar.getAttribute("data-progress-url");
  var labels = {queued: "waiting to start", running: "running", done: "finished", failed: "failed"};
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) {
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
        text.textContent = data.percent + "% – " + data.processed + " of " + data.total + " rows checked (" + (labels[data.status] || data.status) + ").";
        if (data.status === "done" || data.status === "failed") { window.location.reload(); }
        else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
