// The operator console: polls the feed for new alerts (each one audited as viewed by the server), shows them at
// once with a beep, and sends decisions without a reload. The feed URL and poll interval come from #alerts'
// data- attributes; every alert field is set as text (textContent), never as HTML.
(function () {
  var container = document.getElementById("alerts");
  if (!container || !container.getAttribute("data-feed-url")) { return; }
  var feedUrl = container.getAttribute("data-feed-url");
  var pollMs = Number(container.getAttribute("data-poll-ms")) || 800;
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var template = document.getElementById("alert-template");
  var awaiting = document.getElementById("awaiting");
  var announcer = document.getElementById("announcer");
  var connection = document.getElementById("connection");
  var soundButton = document.getElementById("sound-toggle");
  // Alerts can be committed out of id order (several workers), so each poll asks from a window below the highest
  // id held and names the ids held in it: the server sends only what this page has not shown yet.
  var WINDOW = 100;
  var rendered = {}, soundOn = true, audio = null;

  function audioContext() {
    if (!audio) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return null; }
      audio = new Ctx();
    }
    if (audio.state === "suspended") { audio.resume(); }
    return audio;
  }
  // Browsers start audio only after a click on the page: any click unlocks it.
  document.addEventListener("click", function () { if (soundOn) { audioContext(); } }, {once: true});
  function beep() {
    if (!soundOn) { return; }
    try {
      var ctx = audioContext();
      if (!ctx) { return; }
      [0, 0.3].forEach(function (offset) {
        var osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.type = "square";
        osc.frequency.value = 880;
        gain.gain.value = 0.15;
        osc.connect(gain);
        gain.connect(ctx.destination);
        osc.start(ctx.currentTime + offset);
        osc.stop(ctx.currentTime + offset + 0.18);
      });
      document.body.setAttribute("data-last-beep", String(Date.now()));
    } catch (e) { /* no sound device: the count and the announcement still show */ }
  }
  soundButton.addEventListener("click", function () {
    soundOn = !soundOn;
    soundButton.textContent = "Alert sound: " + (soundOn ? "on" : "off");
    soundButton.setAttribute("aria-pressed", String(soundOn));
    if (soundOn) { beep(); }
  });

  function sameOrigin(url) {
    try { return new URL(url, window.location.href).origin === window.location.origin; } catch (e) { return false; }
  }

  function field(card, name) { return card.querySelector('[data-field="' + name + '"]'); }

  function applyState(state) {
    var card = document.getElementById("alert-" + state.id);
    if (!card) { return; }
    var tag = field(card, "decision_label");
    tag.textContent = state.decision_label;
    tag.className = "govuk-tag " + (state.decision === "" ? "govuk-tag--red" :
      state.decision === "confirmed" ? "govuk-tag--green" : "govuk-tag--grey");
    card.classList.toggle("app-alert--decided", state.decision !== "");
    card.querySelector('[data-form="decision"]').hidden = state.decision !== "";
    card.querySelector('[data-form="outcome"]').hidden = !(state.decision === "confirmed" && state.outcome === "");
    var result = "";
    if (state.decision) { result = state.decision_label + " (" + state.decided_by + ", " + state.decided_display + ")."; }
    if (state.outcome) { result += " Outcome: " + state.outcome_label + (state.outcome_text ? ": " + state.outcome_text : "") + "."; }
    field(card, "result").textContent = result;
  }

  function send(card, form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var error = field(card, "error");
    error.hidden = true;
    fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                        headers: {"Accept": "application/json", "X-CSRFToken": csrf}})
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (pair) {
        if (!pair[0]) { error.textContent = pair[1].detail || "That was not recorded: try again."; error.hidden = false; return; }
        applyState(pair[1].alert);
        awaiting.textContent = pair[1].awaiting_decision;
      })
      .catch(function () { error.textContent = "That was not recorded (no connection): try again."; error.hidden = false; });
  }

  function render(alert) {
    var card = template.content.firstElementChild.cloneNode(true);
    card.id = "alert-" + alert.id;
    card.setAttribute("data-testid", "alert");
    card.setAttribute("data-alert-id", alert.id);
    ["subject_ref", "category", "offence", "camera", "captured_display"].forEach(function (name) {
      field(card, name).textContent = alert[name];
    });
    field(card, "score").textContent = alert.score.toFixed(3) + " (threshold " + alert.threshold.toFixed(2) + ", " +
      alert.imaging.toLowerCase() + " frame)";
    if (!alert.offence) { card.querySelector('[data-row="offence"]').hidden = true; }
    var probe = field(card, "probe");
    probe.src = alert.probe_url;
    probe.alt = "Camera image of the person who triggered alert " + alert.id;
    var reference = field(card, "reference");
    if (alert.reference_url) {
      reference.src = alert.reference_url;
      reference.alt = "Watchlist image of " + alert.subject_ref;
    } else {
      reference.alt = "The watchlist image has been destroyed";
    }
    card.querySelectorAll("[data-id]").forEach(function (input) { input.id = input.getAttribute("data-id") + "-" + alert.id; });
    card.querySelectorAll("[data-for]").forEach(function (label) { label.htmlFor = label.getAttribute("data-for") + "-" + alert.id; });
    var decisionForm = card.querySelector('[data-form="decision"]');
    var outcomeForm = card.querySelector('[data-form="outcome"]');
    decisionForm.action = alert.adjudicate_url;
    outcomeForm.action = alert.outcome_url;
    [decisionForm, outcomeForm].forEach(function (form) {
      var fallback = document.createElement("input");
      fallback.type = "hidden"; fallback.name = "csrfmiddlewaretoken"; fallback.value = csrf;
      form.appendChild(fallback);
      form.addEventListener("submit", function (event) { event.preventDefault(); send(card, form, event.submitter); });
    });
    outcomeForm.addEventListener("change", function () {
      var other = outcomeForm.querySelector('input[name="outcome"][value="other"]');
      outcomeForm.querySelector('[data-row="outcome_text"]').hidden = !other.checked;
    });
    var next = Array.prototype.find.call(container.children, function (other) {  // newest first, by id
      return Number(other.getAttribute("data-alert-id")) < alert.id;
    });
    container.insertBefore(card, next || null);
    applyState(alert);
  }

  function poll() {
    var ids = Object.keys(rendered).map(Number);
    var floor = Math.max(0, (ids.length ? Math.max.apply(null, ids) : 0) - WINDOW);
    var have = ids.filter(function (id) { return id > floor; });
    fetch(feedUrl + "?after=" + floor + "&have=" + have.join(","), {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (response.status === 403) {
          return response.json().then(function (body) { if (body.justify_url && sameOrigin(body.justify_url)) { window.location = body.justify_url; } throw new Error("403"); });
        }
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        data.alerts.forEach(function (alert) {
          if (!rendered[alert.id]) { render(alert); rendered[alert.id] = true; }
        });
        if (data.alerts.length) {
          document.getElementById("no-alerts").hidden = true;
          announcer.textContent = data.alerts.length === 1 ? "New alert: " + data.alerts[0].subject_ref :
            data.alerts.length + " new alerts";
          if (pollCount > 0) { beep(); }
        }
        data.states.forEach(applyState);
        awaiting.textContent = data.awaiting_decision;
        connection.textContent = data.deployment.live ? "Live: checking for new alerts every second." :
          "This deployment is not live: no new alerts will arrive.";
        pollCount += 1;
        window.setTimeout(poll, pollMs);
      })
      .catch(function () {
        connection.textContent = "Connection lost: retrying…";
        window.setTimeout(poll, pollMs * 3);
      });
  }
  var pollCount = 0;
  poll();
})();
