"""The operator console: live alerts of the deployments an operator is assigned to, and their decisions.

One card per alert, and an alert is one person (their track and later sightings). Thin: each view fetches
through a selector (404 alike for missing and forbidden) and changes things through a service. Viewing is
audited per alert, per image and per sighting history opened, with the session's justification.

The page's JSON (not part of /api/v1/: it sits behind the page's session, second factor and justification):
- GET feed.json?show=awaiting|decided|all&after=<id>&have=<ids>[&hold=1] ->
  {deployment, show, alerts: [card, oldest first], pending: [ids], states: [state of each alert in `have`],
   awaiting_decision, awaiting_by_deployment: [{id, awaiting}], server_time}; a card is `_alert_data`, a state
  `_alert_state`. With hold=1 the new alerts come as ids only (`pending`), unseen and unaudited.
- GET <id>/sightings/ with Accept: application/json ->
  {alert, sighting_count, shown, sightings: [{captured_at, captured_display, score|null, score_display,
   frame_id, face_index}]}; otherwise the same as a page.
- POST <id>/adjudicate/ (decision, and with a false alert optionally perceived_age_band, perceived_gender,
  perceived_ethnicity: fixed codes), <id>/outcome/ and <id>/perceived/ (how the passer-by of a decided false alert
  appeared, added afterwards) with Accept: application/json -> {alert: state, awaiting_decision},
  or 400 {detail, code, fields}.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lfr_governance import clock
from deployments.choices import DeploymentStatus
from lfr_governance.navigation import safe_next
from lfr_governance.permissions import require_role_perm
from watchlists.choices import category_choices, offence_choices

from . import consultation, selectors, services
from .choices import Decision, Outcome
from .forms import NOT_RECORDED_LABEL, DecisionForm, JustificationForm, OutcomeForm, PerceptionForm
from .models import Alert

FEED_LIMIT = 100
HAVE_LIMIT = 500
# The keys that record each decision on the selected card (static/js/alert-console.js reads aria-keyshortcuts).
DECISION_SHORTCUTS = {Decision.CONFIRMED: "C", Decision.FALSE_ALERT: "F", Decision.UNDETERMINED: "U"}
SHORTCUT_WORDS = {Decision.CONFIRMED: "confirm match", Decision.FALSE_ALERT: "false alert",
                  Decision.UNDETERMINED: "unable to determine"}


def _uk(value) -> str:
    return date_format(timezone.localtime(value), "H:i:s T, j M Y") if value else ""


def _probe_url(alert: Alert) -> str:
    # The pipeline replaces the probe with a better crop under a new random name: a new URL, so the card fetches it.
    version = hashlib.sha256(alert.probe_image.name.encode()).hexdigest()[:12]
    return f"{reverse('matching:probe', args=[alert.pk])}?v={version}"


def _alert_data(alert: Alert) -> dict:
    categories, offences = dict(category_choices()), dict(offence_choices())
    return {
        "id": alert.pk,
        "subject_ref": alert.entry.subject_ref,
        "category": categories.get(alert.entry.category, alert.entry.category),
        "offence": offences.get(alert.entry.offence, alert.entry.offence),
        "camera": alert.camera,
        "edge_node": alert.edge_node.name,
        "captured_at": alert.captured_at.isoformat(),
        "captured_display": _uk(alert.captured_at),
        "alerted_display": _uk(alert.alerted_at),
        "reference_url": reverse("matching:reference", args=[alert.pk]) if alert.reference_image_id else None,
        "adjudicate_url": reverse("matching:adjudicate", args=[alert.pk]),
        "outcome_url": reverse("matching:outcome", args=[alert.pk]),
        "perceived_url": reverse("matching:perceived", args=[alert.pk]),
        "sightings_url": reverse("matching:sightings", args=[alert.pk]),
        **_alert_state(alert),
    }


def _alert_state(alert: Alert) -> dict:
    """What can change on a card after it is shown: the decision and outcome, and the person's later sightings
    (count, last seen, best score, the better probe crop)."""
    last_seen = alert.last_seen_at or alert.captured_at
    return {
        "id": alert.pk,
        "decision": alert.decision,
        "decision_label": alert.get_decision_display() if alert.decision else "Awaiting decision",
        "decided_by": alert.decided_by.get_username() if alert.decided_by_id else "",
        "decided_display": _uk(alert.decided_at),
        "outcome": alert.outcome,
        "outcome_label": alert.get_outcome_display() if alert.outcome else "",
        "outcome_text": alert.outcome_text,
        **{attribute.field: getattr(alert, attribute.field) for attribute in selectors.PERCEIVED_ATTRIBUTES},
        "perceived_display": "; ".join(getattr(alert, f"get_{attribute.field}_display")()
                                       for attribute in selectors.PERCEIVED_ATTRIBUTES
                                       if getattr(alert, attribute.field)),
        "sighting_count": alert.sighting_count,
        "last_seen_at": last_seen.isoformat(),
        "last_seen_display": _uk(last_seen),
        "score": round(alert.score, 3),
        "threshold": round(alert.threshold, 3),
        "imaging": alert.get_imaging_display(),
        "probe_url": _probe_url(alert),
    }


def _justify_url(deployment_id: int, next_url: str) -> str:
    return f"{reverse('matching:justify', args=[deployment_id])}?{urlencode({'next': next_url})}"


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_GET
def console_list(request):
    require_role_perm(request.user, selectors.ALERT_PERM)
    deployments = list(selectors.deployments_operated_awaiting(request.user).order_by("-starts_at"))
    return render(request, "matching/console_list.html", {
        "live": [d for d in deployments if d.status == DeploymentStatus.LIVE],
        "others": [d for d in deployments if d.status != DeploymentStatus.LIVE],
    })


@login_required
@require_http_methods(["GET", "POST"])
def justify(request, pk: int):
    deployment = selectors.deployment_operated_get(request.user, pk)
    next_url = safe_next(request, reverse("matching:console", args=[deployment.pk]))
    form = JustificationForm(request.POST or None, initial={
        "justification": consultation.consultation_justification(request.session, deployment) or ""})
    if request.method == "POST" and form.is_valid():
        try:
            consultation.consultation_justification_set(request.session, deployment,
                                                        form.cleaned_data["justification"])
        except ValidationError as exc:
            form.add_error("justification", exc)
        else:
            return redirect(next_url)
    return render(request, "matching/justify.html", {"form": form, "deployment": deployment, "next": next_url},
                  status=400 if form.errors else 200)


def _live_operated(user) -> list:
    """The live deployments this person operates, with their counts awaiting a decision (the console's switcher)."""
    return list(selectors.deployments_operated_awaiting(user).filter(status=DeploymentStatus.LIVE)
                .order_by("starts_at", "pk"))


@login_required
@never_cache
@require_GET
def console(request, pk: int):
    deployment = selectors.deployment_operated_get(request.user, pk)
    if not consultation.consultation_justification(request.session, deployment):
        return redirect(_justify_url(deployment.pk, request.get_full_path()))
    show = selectors.console_filter_clean(request.GET.get("show"))
    shortcuts = [(DECISION_SHORTCUTS[value], SHORTCUT_WORDS[value]) for value in Decision.values]
    return render(request, "matching/console.html", {
        "deployment": deployment,
        "reference": f"LFR-{deployment.pk:05d}",
        "awaiting": selectors.alerts_awaiting_decision(deployment),
        "others": [d for d in _live_operated(request.user) if d.pk != deployment.pk],
        "poll_ms": settings.LFR_CONSOLE_POLL_MILLISECONDS,
        "show": show,
        "filters": list(selectors.CONSOLE_FILTERS.items()),
        "decisions": [(value, label, DECISION_SHORTCUTS[value]) for value, label in Decision.choices],
        "shortcuts": shortcuts,
        "outcomes": Outcome.choices,
        "perceived_fields": [(attribute.field, attribute.label, attribute.choices.choices)
                             for attribute in selectors.PERCEIVED_ATTRIBUTES],
        "not_recorded": NOT_RECORDED_LABEL,
    })


def _justification_required(deployment_id: int) -> JsonResponse:
    return JsonResponse({"detail": "Give your reason for viewing first.", "code": "justification_required",
                         "justify_url": _justify_url(deployment_id, reverse("matching:console",
                                                                            args=[deployment_id]))}, status=403)


def _ids(value: str, limit: int) -> list[int]:
    return [int(v) for v in value.split(",")[:limit] if v.isdigit()]


@login_required
@never_cache
@require_GET
def feed(request, pk: int):
    """The console's poll. `show` (awaiting, decided, all) filters; `have` names the alerts the page holds and
    `after` the floor of its window (see selectors.console_alerts_new). Answers the new alerts (each one audited as
    viewed), or with `hold=1` only their ids (nothing shown, nothing audited: the page offers to show them), the
    current state of each alert held (decision, sightings, best probe), and the counts awaiting a decision."""
    deployment = selectors.deployment_operated_get(request.user, pk)
    justification = consultation.consultation_justification(request.session, deployment)
    if not justification:
        return _justification_required(deployment.pk)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    show = selectors.console_filter_clean(request.GET.get("show"))
    have = _ids(request.GET.get("have", ""), HAVE_LIMIT)
    new = selectors.console_alerts_new(deployment, show, after_id=after, have=have, limit=FEED_LIMIT)
    pending: list[int] = []
    if request.GET.get("hold") == "1":
        pending, new = [alert.pk for alert in new], []
    if new:
        consultation.alerts_consult(actor=request.user, alerts=new, justification=justification)
    return JsonResponse({
        "deployment": {"id": deployment.pk, "status": deployment.status,
                       "live": deployment.status == DeploymentStatus.LIVE},
        "show": show,
        "alerts": [_alert_data(alert) for alert in new],
        "pending": pending,
        "states": [_alert_state(alert) for alert in selectors.console_alerts_held(deployment, have, HAVE_LIMIT)],
        "awaiting_decision": selectors.alerts_awaiting_decision(deployment),
        "awaiting_by_deployment": [{"id": d.pk, "awaiting": d.awaiting} for d in _live_operated(request.user)],
        "server_time": clock.now().isoformat(),
    })


def _sighting_row(sighting) -> dict:
    return {
        "captured_at": sighting.captured_at.isoformat(),
        "captured_display": _uk(sighting.captured_at),
        "score": None if sighting.score is None else round(sighting.score, 3),
        "score_display": "carried by track" if sighting.score is None else f"{sighting.score:.3f}",
        "frame_id": sighting.frame_id,
        "face_index": sighting.face_index,
    }


@login_required
@never_cache
@require_GET
def sightings(request, pk: int):
    """One alert's history of sightings: each face of the alerted person (time, score or carried by its track,
    frame). Checked and audited as viewing the alert: 404 alike for missing and another deployment's alert."""
    alert = selectors.alert_get(request.user, pk)
    justification = consultation.consultation_justification(request.session, alert.deployment)
    if not justification:
        if _wants_json(request):
            return _justification_required(alert.deployment_id)
        return redirect(_justify_url(alert.deployment_id, request.get_full_path()))
    shown = selectors.alert_sightings(alert)
    consultation.alert_sightings_consult(actor=request.user, alert=alert, justification=justification,
                                         sightings=shown)
    total = alert.sightings.count()
    rows = [_sighting_row(s) for s in shown]
    if _wants_json(request):
        return JsonResponse({"alert": alert.pk, "sighting_count": total, "shown": len(rows), "sightings": rows})
    return render(request, "matching/sightings.html", {
        "alert": alert, "deployment": alert.deployment, "reference": f"LFR-{alert.deployment_id:05d}",
        "rows": rows, "total": total, "first_seen": _uk(alert.captured_at),
        "last_seen": _uk(alert.last_seen_at or alert.captured_at),
    })


def _image_response(data: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "no-store, private"
    response["Content-Disposition"] = "inline"
    return response


@login_required
@require_GET
def probe(request, pk: int):
    alert = selectors.alert_get(request.user, pk)
    justification = consultation.consultation_justification(request.session, alert.deployment)
    if not justification:
        raise PermissionDenied("Give your reason for viewing this deployment's alerts first.")
    return _image_response(consultation.alert_probe_consult(actor=request.user, alert=alert,
                                                            justification=justification), "image/jpeg")


@login_required
@require_GET
def reference(request, pk: int):
    alert = selectors.alert_get(request.user, pk)
    justification = consultation.consultation_justification(request.session, alert.deployment)
    if not justification:
        raise PermissionDenied("Give your reason for viewing this deployment's alerts first.")
    found = consultation.alert_reference_consult(actor=request.user, alert=alert, justification=justification)
    if found is None:
        return HttpResponse("The watchlist image has been destroyed.", status=410, content_type="text/plain")
    return _image_response(*found)


def _decision_response(request, alert: Alert, form, action, done: str = "") -> HttpResponse:
    console_url = f"{reverse('matching:console', args=[alert.deployment_id])}#alert-{alert.pk}"
    if form.is_valid():
        try:
            alert = action(form.cleaned_data)
        except ValidationError as exc:
            for field, errors in (exc.message_dict.items() if hasattr(exc, "error_dict") else
                                  [("__all__", exc.messages)]):
                for error in errors:
                    form.add_error(None if field == "__all__" or field not in form.fields else field, error)
    if form.errors:
        fields = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        detail = " ".join(e for errors in fields.values() for e in errors)
        if _wants_json(request):
            return JsonResponse({"detail": detail, "code": "invalid", "fields": fields}, status=400)
        messages.error(request, detail)
        return redirect(console_url)
    if _wants_json(request):
        return JsonResponse({"alert": _alert_state(alert), "awaiting_decision":
                             selectors.alerts_awaiting_decision(alert.deployment)})
    messages.success(request, f"Alert {alert.pk}: {done or _alert_state(alert)['decision_label'].lower()} recorded.")
    return redirect(console_url)


@login_required
@require_POST
def adjudicate(request, pk: int):
    alert = selectors.alert_get(request.user, pk)
    form = DecisionForm(request.POST)
    return _decision_response(request, alert, form, lambda data: services.alert_adjudicate(
        actor=request.user, alert=alert, decision=data["decision"], perceived=form.perceived()))


@login_required
@require_POST
def outcome(request, pk: int):
    alert = selectors.alert_get(request.user, pk)
    return _decision_response(request, alert, OutcomeForm(request.POST), lambda data: services.alert_outcome_record(
        actor=request.user, alert=alert, outcome=data["outcome"], text=data["outcome_text"]))


@login_required
@require_POST
def perceived(request, pk: int):
    """How the passer-by of a decided false alert appeared, added after the decision."""
    alert = selectors.alert_get(request.user, pk)
    form = PerceptionForm(request.POST)
    return _decision_response(request, alert, form, lambda data: services.alert_perception_record(
        actor=request.user, alert=alert, perceived=form.perceived()), done="how the passer-by appeared")
