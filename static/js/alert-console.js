// The operator console: one card per alerted person. Polls the feed (each alert shown is audited as viewed by the
// server), updates a card in place when its person is seen again (count, last seen, best score, better probe), and
// never moves the card being read: once cards are shown, new alerts wait behind the "N new alerts" bar (a live
// region) until the operator shows them. Decisions go without a reload, by button or by keyboard (C, F, U on the
// selected card; J and K move between cards; N shows new alerts). The feed URL, filter and poll interval come from
// #alerts' data- attributes; every alert field is set as text (textContent), never as HTML.
(function () {
  var container = document.getElementById("alerts");
  if (!container || !container.getAttribute("data-feed-url")) { return; }
  var feedUrl = container.getAttribute("data-feed-url");
  var show = container.getAttribute("data-show") || "awaiting";
  var pollMs = Number(container.getAttribute("data-poll-ms")) || 800;
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var template = document.getElementById("alert-template");
  var awaiting = document.getElementById("awaiting");
  var announcer = document.getElementById("announcer");
  var connection = document.getElementById("connection");
  var soundButton = document.getElementById("sound-toggle");
  var newText = document.getElementById("new-alerts-text");
  var newButton = document.getElementById("new-alerts-show");
  var noAlerts = document.getElementById("no-alerts");
  // Alerts can be committed out of id order (several workers), so each poll asks from a window below the highest
  // id held and names the ids held: the server sends only what this page has not shown yet.
  var WINDOW = 100, HAVE_LIMIT = 500;
  var rendered = {}, soundOn = true, audio = null;
  var PERCEIVED = ["perceived_age_band", "perceived_gender", "perceived_ethnicity"];
  var pendingSeen = {}, pendingCount = 0, showRequested = false;
  var pollCount = 0, inFlight = false, pollAgain = false, timer = null;

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
  function announce(text) { announcer.textContent = text; }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function field(card, name) { return card.querySelector('[data-field="' + name + '"]'); }

  function applyState(state) {
    var card = rendered[state.id];
    if (!card) { return; }
    var tag = field(card, "decision_label");
    tag.textContent = state.decision_label;
    tag.className = "govuk-tag " + (state.decision === "" ? "govuk-tag--red" :
      state.decision === "confirmed" ? "govuk-tag--green" : "govuk-tag--grey");
    card.classList.toggle("app-alert--decided", state.decision !== "");
    card.setAttribute("data-decision", state.decision);
    card.querySelector('[data-form="decision"]').hidden = state.decision !== "";
    card.querySelector('[data-form="outcome"]').hidden = !(state.decision === "confirmed" && state.outcome === "");
    // How the passer-by appeared: on a false alert only, each attribute once (a recorded one leaves the form).
    var perceived = card.querySelector('[data-form="perceived"]'), missing = false;
    PERCEIVED.forEach(function (name) {
      var row = perceived.querySelector('[data-row="' + name + '"]');
      row.hidden = state[name] !== "";
      if (row.hidden) { row.querySelector("select").value = ""; } else { missing = true; }
    });
    perceived.hidden = !(state.decision === "false_alert" && missing);
    var result = "";
    if (state.decision) { result = state.decision_label + " (" + state.decided_by + ", " + state.decided_display + ")."; }
    if (state.perceived_display) { result += " As perceived: " + state.perceived_display + "."; }
    if (state.outcome) { result += " Outcome: " + state.outcome_label + (state.outcome_text ? ": " + state.outcome_text : "") + "."; }
    field(card, "result").textContent = result;
    // Later sightings of the same person: updated in place, the card keeps its place (fixed-size images).
    field(card, "sighting_count").textContent = String(state.sighting_count);
    field(card, "last_seen_display").textContent = state.last_seen_display;
    field(card, "score").textContent = state.score.toFixed(3) + " (threshold " + state.threshold.toFixed(2) + ", " +
      state.imaging.toLowerCase() + " frame)";
    var probe = field(card, "probe");
    if (probe.getAttribute("src") !== state.probe_url) { probe.src = state.probe_url; }
  }

  function send(card, form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var error = field(card, "error");
    var id = card.getAttribute("data-alert-id");
    var hadFocus = card.contains(document.activeElement);
    error.hidden = true;
    fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                        headers: {"Accept": "application/json", "X-CSRFToken": csrf}})
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (pair) {
        if (!pair[0]) {
          error.textContent = pair[1].detail || "That was not recorded: try again.";
          error.hidden = false;
          announce("Alert " + id + ": not recorded. " + error.textContent);
          return;
        }
        applyState(pair[1].alert);
        awaiting.textContent = pair[1].awaiting_decision;
        announce("Alert " + id + ": " + (form.getAttribute("data-form") === "perceived" ? "how the passer-by appeared" :
          pair[1].alert.outcome ? "outcome " + pair[1].alert.outcome_label : pair[1].alert.decision_label) + " recorded.");
        // The button pressed may now be hidden: keep the card selected, not the page.
        if (hadFocus && !card.contains(document.activeElement)) { card.focus({preventScroll: true}); }
      })
      .catch(function () {
        error.textContent = "That was not recorded (no connection): try again.";
        error.hidden = false;
        announce("Alert " + id + ": not recorded (no connection).");
      });
  }

  function sightingsLoad(card, url) {
    var status = field(card, "sightings_status");
    var body = field(card, "sightings_rows");
    status.textContent = "Loading the sightings…";
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        while (body.firstChild) { body.removeChild(body.firstChild); }
        data.sightings.forEach(function (sighting, index) {
          var row = document.createElement("tr");
          row.className = "govuk-table__row";
          [String(index + 1 + data.sighting_count - data.shown), sighting.captured_display, sighting.score_display,
           sighting.frame_id + (sighting.face_index ? " (face " + (sighting.face_index + 1) + ")" : "")
          ].forEach(function (text) {
            var cell = document.createElement("td");
            cell.className = "govuk-table__cell";
            cell.textContent = text;
            row.appendChild(cell);
          });
          body.appendChild(row);
        });
        status.textContent = data.shown === data.sighting_count ? plural(data.sighting_count, "sighting", "sightings") + "." :
          "The latest " + data.shown + " of " + data.sighting_count + " sightings.";
      })
      .catch(function () { status.textContent = "The sightings could not be loaded: close and open this again."; });
  }

  function render(alert) {
    var card = template.content.firstElementChild.cloneNode(true);
    card.id = "alert-" + alert.id;
    card.setAttribute("data-testid", "alert");
    card.setAttribute("data-alert-id", alert.id);
    var heading = card.querySelector("h2");
    heading.id = "alert-title-" + alert.id;
    card.setAttribute("aria-labelledby", heading.id);
    ["subject_ref", "category", "offence", "camera", "captured_display"].forEach(function (name) {
      field(card, name).textContent = alert[name];
    });
    if (!alert.offence) { card.querySelector('[data-row="offence"]').hidden = true; }
    var probe = field(card, "probe");
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
    card.querySelectorAll("[data-describedby]").forEach(function (element) {
      element.setAttribute("aria-describedby", element.getAttribute("data-describedby") + "-" + alert.id);
    });
    var decisionForm = card.querySelector('[data-form="decision"]');
    var outcomeForm = card.querySelector('[data-form="outcome"]');
    var perceivedForm = card.querySelector('[data-form="perceived"]');
    decisionForm.action = alert.adjudicate_url;
    outcomeForm.action = alert.outcome_url;
    perceivedForm.action = alert.perceived_url;
    [decisionForm, outcomeForm, perceivedForm].forEach(function (form) {
      var fallback = document.createElement("input");
      fallback.type = "hidden"; fallback.name = "csrfmiddlewaretoken"; fallback.value = csrf;
      form.appendChild(fallback);
      form.addEventListener("submit", function (event) { event.preventDefault(); send(card, form, event.submitter); });
    });
    outcomeForm.addEventListener("change", function () {
      var other = outcomeForm.querySelector('input[name="outcome"][value="other"]');
      outcomeForm.querySelector('[data-row="outcome_text"]').hidden = !other.checked;
    });
    var history = card.querySelector('[data-role="sightings"]');
    field(card, "sightings_link").href = alert.sightings_url;
    history.addEventListener("toggle", function () { if (history.open) { sightingsLoad(card, alert.sightings_url); } });
    var next = Array.prototype.find.call(container.children, function (other) {  // newest first, by id
      return Number(other.getAttribute("data-alert-id")) < alert.id;
    });
    container.insertBefore(card, next || null);
    rendered[alert.id] = card;
    applyState(alert);
    return card;
  }

  function pendingShow(ids) {
    var fresh = ids.filter(function (id) { return !pendingSeen[id]; });
    ids.forEach(function (id) { pendingSeen[id] = true; });
    pendingCount = ids.length;
    newButton.hidden = pendingCount === 0;
    newButton.textContent = pendingCount ? "Show " + plural(pendingCount, "new alert", "new alerts") : "Show new alerts";
    var text = pendingCount ? plural(pendingCount, "new alert", "new alerts") + " waiting." : "No new alerts waiting.";
    if (newText.textContent !== text) { newText.textContent = text; }  // a live region: said when it changes
    if (fresh.length) { beep(); }
  }

  function showNew() {
    if (!pendingCount) { return; }
    showRequested = true;
    pollNow();
  }
  newButton.addEventListener("click", showNew);

  function url() {
    var ids = Object.keys(rendered).map(Number).sort(function (a, b) { return b - a; }).slice(0, HAVE_LIMIT);
    var floor = Math.max(0, (ids.length ? ids[0] : 0) - WINDOW);
    // Once cards are shown, new ones would push the card being read down: they wait behind the bar.
    var hold = ids.length > 0 && !showRequested;
    return feedUrl + "?show=" + encodeURIComponent(show) + "&after=" + floor + "&have=" + ids.join(",") +
      (hold ? "&hold=1" : "");
  }

  function pollNow() {
    if (inFlight) { pollAgain = true; return; }
    if (timer) { window.clearTimeout(timer); timer = null; }
    poll();
  }

  function schedule(ms) {
    inFlight = false;
    if (pollAgain) { pollAgain = false; poll(); return; }
    timer = window.setTimeout(function () { timer = null; poll(); }, ms);
  }

  function poll() {
    inFlight = true;
    var asked = showRequested;
    fetch(url(), {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (response.status === 403) {
          return response.json().then(function (body) { if (body.justify_url && sameOrigin(body.justify_url)) { window.location = body.justify_url; } throw new Error("403"); });
        }
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        var shown = [];
        data.alerts.forEach(function (alert) {
          if (!rendered[alert.id]) { shown.push(render(alert)); }
        });
        if (asked) { showRequested = false; }
        if (shown.length) {
          noAlerts.hidden = true;
          if (asked) {
            // The operator asked for them: the newest gets the focus (and so the keyboard's shortcuts).
            var newest = shown.reduce(function (a, b) {
              return Number(a.getAttribute("data-alert-id")) > Number(b.getAttribute("data-alert-id")) ? a : b;
            });
            newest.focus();
            announce(plural(shown.length, "new alert", "new alerts") + " shown at the top of the list.");
          } else {
            announce(data.alerts.length === 1 ? "New alert: " + data.alerts[0].subject_ref :
              data.alerts.length + " new alerts");
            if (pollCount > 0) { beep(); }
          }
        }
        pendingShow(data.pending || []);
        data.states.forEach(applyState);
        awaiting.textContent = data.awaiting_decision;
        (data.awaiting_by_deployment || []).forEach(function (item) {
          var count = document.querySelector('[data-awaiting-for="' + item.id + '"]');
          if (count) { count.textContent = String(item.awaiting); }
        });
        connection.textContent = data.deployment.live ? "Live: checking for new alerts every second." :
          "This deployment is not live: no new alerts will arrive.";
        pollCount += 1;
        schedule(pollMs);
      })
      .catch(function () {
        connection.textContent = "Connection lost: retrying…";
        schedule(pollMs * 3);
      });
  }

  // Keyboard: the selected card is the one holding the focus (Tab to it, click it, or J and K).
  function typing(element) {
    if (!element || element === document.body) { return false; }
    if (element.isContentEditable) { return true; }
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") { return true; }
    return tag === "INPUT" && ["button", "submit", "reset"].indexOf(element.type) === -1;
  }
  function selectedCard() {
    var active = document.activeElement;
    return active && active.closest ? active.closest('#alerts [data-testid="alert"]') : null;
  }
  function move(step) {
    var cards = Array.prototype.slice.call(container.children);
    if (!cards.length) { announce("No alerts to select."); return; }
    var index = cards.indexOf(selectedCard());
    var next = index === -1 ? (step > 0 ? 0 : cards.length - 1) : Math.min(cards.length - 1, Math.max(0, index + step));
    cards[next].focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
    if (typing(event.target)) { return; }
    var key = (event.key || "").toUpperCase();
    if (key === "J" || key === "K") { event.preventDefault(); move(key === "J" ? 1 : -1); return; }
    if (key === "N") { event.preventDefault(); showNew(); return; }
    if (!template.content.querySelector('[data-form="decision"] button[aria-keyshortcuts="' + key + '"]')) { return; }
    var card = selectedCard();
    var button = card && card.querySelector('[data-form="decision"] button[aria-keyshortcuts="' + key + '"]');
    event.preventDefault();
    if (!card) { announce("Select an alert first: press J, or Tab to it."); return; }
    if (card.querySelector('[data-form="decision"]').hidden) {
      announce("Alert " + card.getAttribute("data-alert-id") + " is already decided.");
      return;
    }
    var form = button.form;
    if (form.requestSubmit) { form.requestSubmit(button); } else { send(card, form, button); }
  });

  poll();
})();
