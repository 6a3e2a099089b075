// Polls the image states while any image is queued (URL in the summary's data-states-url), and updates each
// state in place (no reload). Refusal messages and subject references are set as text.
(function () {
  var summary = document.getElementById("image-state-announcer");
  if (!summary || !summary.getAttribute("data-states-url")) return;
  var url = summary.getAttribute("data-states-url");
  var tagClass = {queued: "govuk-tag--yellow", accepted: "govuk-tag--green", refused: "govuk-tag--red"};
  function show(cell, image) {
    var body = cell.querySelector("[data-state-body]");
    var tag = document.createElement("strong");
    tag.className = "govuk-tag " + (tagClass[image.state] || "");
    tag.textContent = image.state_label;
    body.replaceChildren(tag);
    if (image.state === "refused" && image.message) {
      var message = document.createElement("span");
      message.className = "govuk-body-s govuk-!-display-block govuk-!-margin-top-1";
      message.textContent = image.message;
      body.appendChild(message);
    }
    cell.setAttribute("data-state", image.state);
  }
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) {
        var changed = [], counts = {queued: 0, accepted: 0, refused: 0};
        data.images.forEach(function (image) {
          counts[image.state] = (counts[image.state] || 0) + 1;
          var cell = document.querySelector('[data-testid="image-state-' + Number(image.id) + '"]');
          if (!cell || cell.getAttribute("data-state") === image.state) { return; }
          show(cell, image);
          changed.push("Image of " + cell.getAttribute("data-subject") + ": " + image.state_label.toLowerCase() +
                       (image.state === "refused" && image.message ? " (" + image.message + ")" : ""));
        });
        if (changed.length) {
          summary.textContent = changed.join(". ") + ". Images: " + counts.accepted + " accepted, " +
            counts.queued + " being checked, " + counts.refused + " refused.";
        }
        if (data.queued > 0) { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1500);
})();
