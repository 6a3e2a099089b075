"""The operator console: live alerts of the deployments an operator is assigned to, and their decisions.

Thin: each view fetches through a selector (404 alike for missing and forbidden) and changes things
through a service. Viewing is audited per alert and per image with the session's justification.
"""

from __future__ import annotations

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
from .forms import DecisionForm, JustificationForm, OutcomeForm
from .models import Alert

FEED_LIMIT = 100
HAVE_LIMIT = 500


def _uk(value) -> str:
    return date_format(timezone.localtime(value), "H:i:s T, j M Y") if value else ""


def _alert_data(alert: Alert) -> dict:
    categories, offences = dict(category_choices()), dict(offence_choices())
    return {
        "id": alert.pk,
        "subject_ref": alert.entry.subject_ref,
        "category": categories.get(alert.entry.category, alert.entry.category),
        "offence": offences.get(alert.entry.offence, alert.entry.offence),
        "score": round(alert.score, 3),
        "threshold": round(alert.threshold, 3),
        "imaging": alert.get_imaging_display(),
        "camera": alert.camera,
        "edge_node": alert.edge_node.name,
        "captured_at": alert.captured_at.isoformat(),
        "captured_display": _uk(alert.captured_at),
        "alerted_display": _uk(alert.alerted_at),
        "probe_url": reverse("matching:probe", args=[alert.pk]),
        "reference_url": reverse("matching:reference", args=[alert.pk]) if alert.reference_image_id else None,
        "adjudicate_url": reverse("matching:adjudicate", args=[alert.pk]),
        "outcome_url": reverse("matching:outcome", args=[alert.pk]),
        **_alert_state(alert),
    }


def _alert_state(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "decision": alert.decision,
        "decision_label": alert.get_decision_display() if alert.decision else "Awaiting decision",
        "decided_by": alert.decided_by.get_username() if alert.decided_by_id else "",
        "decided_display": _uk(alert.decided_at),
        "outcome": alert.outcome,
        "outcome_label": alert.get_outcome_display() if alert.outcome else "",
        "outcome_text": alert.outcome_text,
    }


def _justify_url(deployment_id: int, next_url: str) -> str:
    return f"{reverse('matching:justify', args=[deployment_id])}?{urlencode({'next': next_url})}"


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_GET
def console_list(request):
    require_role_perm(request.user, selectors.ALERT_PERM)
    deployments = list(selectors.deployments_operated(request.user).order_by("-starts_at"))
    for deployment in deployments:
        deployment.awaiting = selectors.alerts_awaiting_decision(deployment)
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


@login_required
@never_cache
@require_GET
def console(request, pk: int):
    deployment = selectors.deployment_operated_get(request.user, pk)
    if not consultation.consultation_justification(request.session, deployment):
        return redirect(_justify_url(deployment.pk, request.get_full_path()))
    return render(request, "matching/console.html", {
        "deployment": deployment,
        "reference": f"LFR-{deployment.pk:05d}",
        "awaiting": selectors.alerts_awaiting_decision(deployment),
        "poll_ms": settings.LFR_CONSOLE_POLL_MILLISECONDS,
        "decisions": Decision.choices,
        "outcomes": Outcome.choices,
    })


@login_required
@never_cache
@require_GET
def feed(request, pk: int):
    """New alerts: above `after` and not in `have` (each one audited as viewed), with the decision states of the
    latest alerts and the count awaiting a decision."""
    deployment = selectors.deployment_operated_get(request.user, pk)
    justification = consultation.consultation_justification(request.session, deployment)
    if not justification:
        return JsonResponse({"detail": "Give your reason for viewing first.", "code": "justification_required",
                             "justify_url": _justify_url(deployment.pk, reverse("matching:console",
                                                                                args=[deployment.pk]))}, status=403)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    have = {int(v) for v in request.GET.get("have", "").split(",")[:HAVE_LIMIT] if v.isdigit()}
    new = selectors.alerts_after(deployment, after, FEED_LIMIT, have=have)
    if new:
        consultation.alerts_consult(actor=request.user, alerts=new, justification=justification)
    recent = selectors.deployment_alerts(deployment).order_by("-pk")[:FEED_LIMIT]
    return JsonResponse({
        "deployment": {"id": deployment.pk, "status": deployment.status,
                       "live": deployment.status == DeploymentStatus.LIVE},
        "alerts": [_alert_data(alert) for alert in new],
        "states": [_alert_state(alert) for alert in recent],
        "awaiting_decision": selectors.alerts_awaiting_decision(deployment),
        "server_time": clock.now().isoformat(),
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


def _decision_response(request, alert: Alert, form, action) -> HttpResponse:
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
    messages.success(request, f"Alert {alert.pk}: {_alert_state(alert)['decision_label'].lower()} recorded.")
    return redirect(console_url)


@login_required
@require_POST
def adjudicate(request, pk: int):
    alert = selectors.alert_get(request.user, pk)
    return _decision_response(request, alert, DecisionForm(request.POST), lambda data: services.alert_adjudicate(
        actor=request.user, alert=alert, decision=data["decision"]))


@login_required
@require_POST
def outcome(request, pk: int):
    alert = selectors.alert_get(request.user, pk)
    return _decision_response(request, alert, OutcomeForm(request.POST), lambda data: services.alert_outcome_record(
        actor=request.user, alert=alert, outcome=data["outcome"], text=data["outcome_text"]))
