"""Deployment pages. Thin: each view fetches through a selector (404 alike for missing and forbidden) and changes
things only through a service, which re-checks the permission, checks the transition table and audits."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from PIL import Image

from lfr_governance import clock
from lfr_governance.errors import Conflict
from lfr_governance.forms import apply_service_errors
from lfr_governance.permissions import has_role_perm, require_role_perm
from watchlists.choices import category_choices, offence_choices
from lfr_governance.images import ImageRefused

from . import selectors, services
from .choices import DeploymentStatus
from .forms import (
    UK,
    ApplicationForm,
    CancelForm,
    DecisionForm,
    EdgeNodeForm,
    LeafletForm,
    OperatorAssignForm,
    ReviewForm,
    SignageForm,
    SubmitForm,
    WrittenConfirmationForm,
    now_to_the_minute,
    polygon_text,
)
from .models import (
    Authorisation,
    Deployment,
    EdgeNode,
    PostDeploymentReview,
    SignageRecord,
)

S = DeploymentStatus
# GOV.UK tag colour per status, so the state reads at a glance on a tablet in a van.
STATUS_TAGS = {
    S.DRAFT: "govuk-tag--grey", S.SUBMITTED: "govuk-tag--blue", S.AUTHORISED: "govuk-tag--turquoise",
    S.REJECTED: "govuk-tag--red", S.SCHEDULED: "govuk-tag--purple", S.LIVE: "govuk-tag--green",
    S.ENDED: "govuk-tag--grey", S.REVIEWED: "govuk-tag--grey", S.CANCELLED: "govuk-tag--orange",
}


# --- Helpers ---------------------------------------------------------------------------------


def _tagged(deployments):
    for deployment in deployments:
        deployment.status_tag = STATUS_TAGS.get(deployment.status, "govuk-tag--grey")
    return deployments


def _map_data(deployment: Deployment, signs) -> dict:
    return {
        "centre": [float(deployment.latitude), float(deployment.longitude)],
        "radius": deployment.area_radius_m,
        "polygon": deployment.area_polygon or [],
        "signs": [{"lat": float(s.latitude), "lng": float(s.longitude), "label": f"Sign {n}: {s.position_description}",
                   "removed": bool(s.removed_at)} for n, s in enumerate(signs, start=1)],
        "tiles": settings.LFR_MAP_TILE_URL,
        "attribution": settings.LFR_MAP_ATTRIBUTION,
    }


def _service_error(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- Schedule ----------------------------------------------------------------------------------


@dataclass
class TimelineBar:
    deployment: Deployment
    left: float
    width: float
    label: str
    clipped_before: bool
    clipped_after: bool


@dataclass
class TimelineDay:
    day: date
    is_today: bool
    now_at: float | None
    bars: list[TimelineBar] = field(default_factory=list)


def _fraction(moment: datetime, start: datetime, end: datetime) -> float:
    # Through UTC: a UK day is 23 or 25 hours long when the clocks change.
    start, end, moment = (t.astimezone(dt_timezone.utc) for t in (start, end, moment))
    return max(0.0, min(1.0, (moment - start) / (end - start)))


def _timeline_days(deployments, now: datetime, *, past_days: int = 7, future_days: int = 28) -> list[TimelineDay]:
    """Horizontal bars per UK day, each deployment positioned by its start and end in UK time."""
    today = now.astimezone(UK).date()
    days: dict[date, TimelineDay] = {}
    for deployment in deployments:
        start, end = deployment.starts_at.astimezone(UK), deployment.ends_at.astimezone(UK)
        day = max(start.date(), today - timedelta(days=past_days))
        while day <= min(end.date(), today + timedelta(days=future_days)):
            day_start = datetime.combine(day, datetime.min.time(), tzinfo=UK)
            day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UK)
            if end <= day_start:
                break
            left, right = _fraction(start, day_start, day_end), _fraction(end, day_start, day_end)
            row = days.setdefault(day, TimelineDay(
                day=day, is_today=day == today,
                now_at=round(100 * _fraction(now, day_start, day_end), 2) if day == today else None))
            row.bars.append(TimelineBar(
                deployment=deployment, left=round(100 * left, 2), width=round(max(100 * (right - left), 0.8), 2),
                label=f"{start:%H:%M}{' ' + format(start, '%-d %b') if start.date() != day else ''} to "
                      f"{end:%H:%M}{' ' + format(end, '%-d %b') if end.date() != day else ''}",
                clipped_before=start < day_start, clipped_after=end > day_end,
            ))
            day += timedelta(days=1)
    return [days[d] for d in sorted(days)]


@login_required
@require_GET
def schedule(request):
    require_role_perm(request.user, "deployments.view_deployment")
    timeline = selectors.deployments_timeline(request.user)
    for group in timeline.values():
        _tagged(group)
    visible = selectors.deployments_visible(request.user)
    overdue = selectors.authorisations_overdue().filter(deployment__in=visible).select_related(
        "deployment", "authorising_officer")
    shown = [*timeline["live"], *timeline["upcoming"], *timeline["ended"]]
    overdue_ids = {a.deployment_id for a in overdue}
    for deployment in shown:
        deployment.confirmation_overdue = deployment.pk in overdue_ids
    return render(request, "deployments/schedule.html", {
        "timeline": timeline,
        "days": _timeline_days([d for d in shown if d.status not in (S.CANCELLED, S.REJECTED)], clock.now()),
        "awaiting_decision": _tagged(list(visible.filter(status=S.SUBMITTED, authorising_officer=request.user))),
        "overdue": overdue,
        "can_apply": has_role_perm(request.user, "deployments.add_deployment"),
        "hours": [0, 3, 6, 9, 12, 15, 18, 21],
    })


# --- Application -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def application_create(request):
    require_role_perm(request.user, "deployments.add_deployment")
    form = ApplicationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            deployment = services.deployment_create(actor=request.user, **form.service_fields())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Application ‘{deployment.title}’ saved as a draft. Check it, then submit it "
                                      "to an authorising officer.")
            return redirect("deployments:detail", pk=deployment.pk)
    return render(request, "deployments/application_form.html", {"form": form, "deployment": None},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    actions = selectors.deployment_actions(request.user, deployment)
    if not actions.may_edit:
        messages.info(request, f"A deployment that is {deployment.get_status_display().lower()} can no longer be "
                               "changed.")
        return redirect("deployments:detail", pk=deployment.pk)
    form = ApplicationForm(request.POST or None, user=request.user, deployment=deployment,
                           initial=ApplicationForm.initial_for(deployment))
    if request.method == "POST" and form.is_valid():
        before = deployment.status
        try:
            saved = services.deployment_update(actor=request.user, deployment=deployment, **form.service_fields())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if saved.status != before:
                messages.success(request, "Application saved. What was authorised changed, so it is back to draft: "
                                          "submit it again for a new authorisation.")
            else:
                messages.success(request, "Application saved.")
            return redirect("deployments:detail", pk=deployment.pk)
    return render(request, "deployments/application_form.html", {
        "form": form, "deployment": deployment, "needs_reauthorisation": actions.edit_returns_to_draft,
    }, status=400 if form.errors else 200)


# --- The deployment page ---------------------------------------------------------------------


def _action_forms(user, deployment: Deployment, actions: selectors.DeploymentActions) -> dict:
    """An empty form for each step the person may take now (None where they may not)."""
    operator_form = OperatorAssignForm(prefix="operator", deployment=deployment)
    return {
        "submit_form": SubmitForm(prefix="submit", deployment=deployment, user=user) if actions.may_submit else None,
        "cancel_form": CancelForm(prefix="cancel") if actions.may_cancel else None,
        "sign_form": SignageForm(prefix="sign", initial={"placed_at": now_to_the_minute()})
        if actions.may_add_signs else None,
        "leaflet_form": LeafletForm(prefix="leaflet") if actions.may_add_leaflets else None,
        # Offered only while someone holds the operator role to assign.
        "operator_form": operator_form if actions.may_assign_operators
        and operator_form.fields["operator"].queryset.exists() else None,
        "review_form": ReviewForm(prefix="review") if actions.may_review else None,
    }


def _authorisations(user, deployment: Deployment) -> tuple[list[Authorisation], list]:
    """The deployment's authorisations (each marked overdue or not), and a confirmation form for each urgent oral
    authorisation of this officer's that still awaits its written confirmation."""
    authorisations = list(deployment.authorisations.select_related("authorising_officer"))
    overdue = set(selectors.authorisations_overdue().filter(deployment=deployment).values_list("pk", flat=True))
    for authorisation in authorisations:
        authorisation.is_overdue = authorisation.pk in overdue
    mine_unconfirmed = [a for a in authorisations if a.authorising_officer_id == user.pk and a.urgent_oral
                        and not a.written_confirmation_at and not a.superseded_at]
    return authorisations, [(a, WrittenConfirmationForm(prefix=f"confirm-{a.pk}")) for a in mine_unconfirmed]


def _with_forms(context: dict, forms: dict) -> dict:
    """The context with the forms a failed POST brings (their errors shown) in place of the empty ones."""
    for name, form in forms.items():
        if name == "confirm_form":
            context["confirm_forms"] = [(a, form if f"confirm-{a.pk}" == form.prefix else f)
                                        for a, f in context["confirm_forms"]]
        else:
            context[name] = form
    context["failed_form"] = next((f for f in forms.values() if getattr(f, "errors", None)), None)
    return context


def _detail_context(request, deployment: Deployment, **forms) -> dict:
    actions = selectors.deployment_actions(request.user, deployment)
    signs = list(deployment.signs.select_related("placed_by"))
    authorisations, confirm_forms = _authorisations(request.user, deployment)
    now = clock.now()
    return _with_forms({
        "deployment": _tagged([deployment])[0],
        "actions": actions,
        "application": _application_rows(deployment),
        "edge_nodes": list(deployment.edge_nodes.all()),
        "authorisations": authorisations,
        "overdue": [a for a in authorisations if a.is_overdue],
        "signs": signs,
        "leaflets": list(deployment.leaflets.select_related("distributed_by")),
        "operators": list(deployment.operators.select_related("profile")),
        "review": PostDeploymentReview.objects.filter(deployment=deployment).select_related("reviewed_by").first(),
        "map": _map_data(deployment, signs),
        # Before the start, what would still stop it opening at the start; once the window is open, what stops it now.
        "go_live_problems": selectors.go_live_problems(deployment, now=max(now, deployment.starts_at))
        if deployment.status == S.SCHEDULED else [],
        "before_start": now < deployment.starts_at,
        "pipeline_problems": selectors.pipeline_problems(deployment),
        **_action_forms(request.user, deployment, actions),
        "confirm_forms": confirm_forms,
        "counters": getattr(deployment, "counters", None),
        "max_queue_wait_seconds": f"{settings.LFR_EDGE_MAX_QUEUE_WAIT_SECONDS:g}",
        "payload_ttl_seconds": settings.LFR_FRAME_PAYLOAD_TTL_SECONDS,
        **_figures(deployment),
    }, forms)


def _figures(deployment: Deployment) -> dict:
    """The processing figures per passer-by for the deployment page (from its going live on)."""
    if not deployment.went_live_at:
        return {"figures": None, "false_alert_rate": None}
    figures = selectors.deployment_figures(deployment)
    return {"figures": figures, "false_alert_rate": selectors.false_alert_rate(figures)}


def confirmation_frames_text(k: int) -> str:
    """k in the words the applicant and the authorising officer read."""
    if k == 1:
        return ("1 — a passer-by alerts on a single frame that scores at or above the threshold for a watchlisted "
                "person")
    return (f"{k} — a passer-by alerts only when the same watchlisted person scores at or above the threshold in at "
            f"least {k} frames")


def _application_rows(deployment: Deployment) -> list[tuple[str, str, str]]:
    """The whole application as (label, value, kind) rows; kind 'text' keeps line breaks."""
    d = deployment
    area = f"Circle of radius {d.area_radius_m} m around the centre" if d.area_radius_m else ""
    if d.area_polygon:
        area = (area + "; " if area else "") + f"Polygon of {len(d.area_polygon)} points (listed under the map)"
    version = d.watchlist_version
    return [
        ("Purpose", d.purpose, "text"),
        ("Offence focus", d.offence_focus, "line"),
        ("Intelligence case reference", d.intelligence_case_ref, "line"),
        ("Location", d.location_name, "line"),
        ("Centre", f"{d.latitude}, {d.longitude}", "mono"),
        ("Area", area, "line"),
        ("Polygon points", polygon_text(d.area_polygon), "text") if d.area_polygon else None,
        ("Why watchlisted people are expected here", d.location_reason, "text"),
        ("Watchlist version", f"{version.watchlist.operation_name}, version {version.number}: {version.size} "
                              f"entries, model pack {version.pack_id}", "line"),
        ("Watchlist digest (SHA-256)", version.digest, "mono"),
        ("Match threshold for colour frames", f"{d.threshold:.4g}", "line"),
        ("Match threshold for greyscale (night-time) frames", f"{d.threshold_greyscale:.4g}"
         if d.threshold_greyscale is not None else f"{d.threshold:.4g} (the colour threshold: none was given)", "line"),
        ("Why a threshold below the proposal is justified", d.threshold_justification, "text")
        if d.threshold_justification else None,
        ("Frames to confirm a match", confirmation_frames_text(d.confirmation_frames), "line"),
        ("Expected footfall", f"{d.expected_footfall:,} people", "line"),
        ("Necessity and proportionality", d.necessity_proportionality, "text"),
        ("DPIA reference", d.dpia_ref, "line"),
        ("Community impact assessment", d.community_impact, "text"),
        ("Community engagement notes", d.engagement_notes or "None recorded", "text"),
        ("Public pre-notice", d.public_prenotice, "text"),
        ("Applicant", f"{d.applicant.get_full_name() or d.applicant.username}, {d.team.name}", "line"),
        ("Authorising officer", (d.authorising_officer.get_full_name() or d.authorising_officer.username)
         if d.authorising_officer else "Not submitted yet", "line"),
    ]


def _render_detail(request, deployment, status=200, **forms):
    return render(request, "deployments/detail.html", _detail_context(request, deployment, **forms), status=status)


@login_required
@require_GET
def deployment_detail(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk)
    return _render_detail(request, deployment)


@login_required
@require_POST
def deployment_submit(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    form = SubmitForm(request.POST, prefix="submit", deployment=deployment, user=request.user)
    if form.is_valid():
        officer = form.cleaned_data["authorising_officer"]
        try:
            services.deployment_submit(actor=request.user, deployment=deployment, authorising_officer=officer)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Submitted to {officer.get_full_name() or officer.username} for "
                                      "authorisation.")
            return redirect("deployments:detail", pk=deployment.pk)
    return _render_detail(request, deployment, status=400, submit_form=form)


@login_required
@require_POST
def deployment_withdraw(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    try:
        services.deployment_withdraw(actor=request.user, deployment=deployment)
    except ValidationError as exc:
        _service_error(request, exc)
    else:
        messages.success(request, "The application is back to draft. Change it, then submit it again.")
    return redirect("deployments:detail", pk=deployment.pk)


@login_required
@require_POST
def deployment_schedule(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    try:
        services.deployment_schedule(actor=request.user, deployment=deployment)
    except ValidationError as exc:
        _service_error(request, exc)
    else:
        messages.success(request, "Scheduled. Processing opens by itself at the start time once a sign is recorded "
                                  "as in place, and closes at the end time.")
    return redirect("deployments:detail", pk=deployment.pk)


@login_required
@require_POST
def deployment_cancel(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk)
    form = CancelForm(request.POST, prefix="cancel")
    if form.is_valid():
        try:
            services.deployment_cancel(actor=request.user, deployment=deployment, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "The deployment is cancelled.")
            return redirect("deployments:detail", pk=deployment.pk)
    return _render_detail(request, deployment, status=400, cancel_form=form)


@login_required
@require_POST
def sign_add(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    form = SignageForm(request.POST, request.FILES, prefix="sign")
    if form.is_valid():
        data, photo = form.cleaned_data, form.cleaned_data.get("photo")
        try:
            services.signage_record_add(
                actor=request.user, deployment=deployment, position_description=data["position_description"],
                latitude=data["latitude"], longitude=data["longitude"], size=data["size"], placed_at=data["placed_at"],
                photo=photo.read() if photo else None, photo_name=(photo.name[-80:] if photo else "sign.jpg"),
            )
        except ImageRefused as exc:
            form.add_error("photo", exc.message)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Sign at {data['position_description']} recorded.")
            return redirect(reverse("deployments:detail", args=[deployment.pk]) + "#signage")
    return _render_detail(request, deployment, status=400, sign_form=form)


@login_required
@require_POST
def sign_removed(request, pk: int):
    sign = get_object_or_404(SignageRecord.objects.select_related("deployment"), pk=pk)
    deployment = selectors.deployment_get(request.user, sign.deployment_id, "deployments.change_deployment")
    try:
        services.signage_record_removed(actor=request.user, sign=sign, removed_at=clock.now())
    except ValidationError as exc:
        _service_error(request, exc)
    else:
        messages.success(request, f"Sign at {sign.position_description} recorded as removed.")
    return redirect(reverse("deployments:detail", args=[deployment.pk]) + "#signage")


@login_required
@never_cache
@require_GET
def sign_photo(request, pk: int):
    sign = get_object_or_404(SignageRecord, pk=pk)
    selectors.deployment_get(request.user, sign.deployment_id)
    if not sign.photo:
        return HttpResponse("This sign has no photo.", status=404, content_type="text/plain; charset=utf-8")
    with sign.photo.open("rb") as stored:
        data = stored.read()
    with Image.open(io.BytesIO(data)) as probe:
        kind = (probe.format or "jpeg").lower()
    response = HttpResponse(data, content_type=f"image/{kind}")
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
@require_POST
def leaflet_add(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    form = LeafletForm(request.POST, prefix="leaflet")
    if form.is_valid():
        try:
            services.leaflet_record_add(actor=request.user, deployment=deployment, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['count']} leaflets recorded.")
            return redirect(reverse("deployments:detail", args=[deployment.pk]) + "#leaflets")
    return _render_detail(request, deployment, status=400, leaflet_form=form)


@login_required
@require_POST
def operator_assign(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    form = OperatorAssignForm(request.POST, prefix="operator", deployment=deployment)
    if form.is_valid():
        operator = form.cleaned_data["operator"]
        try:
            services.operator_assign(actor=request.user, deployment=deployment, operator=operator)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{operator.get_full_name() or operator.username} is assigned as an operator.")
            return redirect(reverse("deployments:detail", args=[deployment.pk]) + "#operators")
    return _render_detail(request, deployment, status=400, operator_form=form)


@login_required
@require_POST
def operator_unassign(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    chosen = request.POST.get("operator", "")
    operator = next((o for o in deployment.operators.all() if str(o.pk) == chosen), None)
    if operator is None:
        messages.error(request, "Choose one of the deployment's operators to remove.")
    else:
        services.operator_unassign(actor=request.user, deployment=deployment, operator=operator)
        messages.success(request, f"{operator.get_full_name() or operator.username} no longer operates this "
                                  "deployment.")
    return redirect(reverse("deployments:detail", args=[deployment.pk]) + "#operators")


@login_required
@require_POST
def deployment_review(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.change_deployment")
    form = ReviewForm(request.POST, prefix="review")
    status = 400
    if form.is_valid():
        try:
            services.deployment_review(actor=request.user, deployment=deployment, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            status = 409 if isinstance(exc, Conflict) else 400  # reviewed meanwhile (another tab, another person)
        else:
            messages.success(request, "Post-deployment review recorded.")
            return redirect("deployments:detail", pk=deployment.pk)
    return _render_detail(request, deployment, status=status, review_form=form)


# --- Authorising officer's decision ----------------------------------------------------------


def _thresholds(deployment: Deployment) -> selectors.ThresholdFigures:
    """Both conditions' proposals and the figures at the deployment's thresholds (an error in words where the
    calibration cannot give them: the rest of the application still shows)."""
    return selectors.deployment_thresholds(deployment)


def _categories(deployment: Deployment) -> list[tuple[str, int]]:
    labels, offences = dict(category_choices()), dict(offence_choices())
    rows = (deployment.watchlist_version.entries.values("category", "offence").annotate(n=Count("id"))
            .order_by("category", "offence"))
    return [(labels.get(r["category"], r["category"]) + (f": {offences.get(r['offence'], r['offence'])}"
                                                         if r["offence"] else ""), r["n"]) for r in rows]


def _decision_context(request, deployment: Deployment, decision_form=None, **forms) -> dict:
    context = _detail_context(request, deployment, **forms)
    context.update({
        "figures": _thresholds(deployment),
        "equitability": selectors.equitability_table(deployment.pack_id, deployment.threshold),
        "categories": _categories(deployment),
        "decision_form": decision_form or DecisionForm(),
        "confirmation_frames_text": confirmation_frames_text(deployment.confirmation_frames),
    })
    if decision_form is not None and decision_form.errors:
        context["failed_form"] = decision_form
    return context


def _render_decision(request, deployment, status=200, **forms):
    return render(request, "deployments/decision.html", _decision_context(request, deployment, **forms),
                  status=status)


@login_required
@require_GET
def decision(request, pk: int):
    deployment = selectors.deployment_get(request.user, pk, "deployments.authorise_deployment")
    return _render_decision(request, deployment)


def _decide(request, pk: int, service, done: str):
    deployment = selectors.deployment_get(request.user, pk, "deployments.authorise_deployment")
    form = DecisionForm(request.POST)
    if form.is_valid():
        extra = {"urgent_oral": form.cleaned_data["urgent_oral"]} if service is services.deployment_authorise else {}
        try:
            service(actor=request.user, deployment=deployment, reasons=form.cleaned_data["reasons"], **extra)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("deployments:detail", pk=deployment.pk)
    return _render_decision(request, deployment, status=400, decision_form=form)


@login_required
@require_POST
def deployment_authorise(request, pk: int):
    return _decide(request, pk, services.deployment_authorise,
                   "You authorised the deployment. The applicant can now schedule it.")


@login_required
@require_POST
def deployment_reject(request, pk: int):
    return _decide(request, pk, services.deployment_reject,
                   "You rejected the application. The applicant sees your reasons.")


@login_required
@require_POST
def authorisation_confirm(request, pk: int):
    authorisation = get_object_or_404(Authorisation, pk=pk)
    deployment = selectors.deployment_get(request.user, authorisation.deployment_id,
                                          "deployments.authorise_deployment")
    form = WrittenConfirmationForm(request.POST, prefix=f"confirm-{authorisation.pk}")
    if form.is_valid():
        try:
            services.authorisation_confirm_in_writing(actor=request.user, authorisation=authorisation,
                                                      text=form.cleaned_data["text"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Your written confirmation is recorded.")
            return redirect("deployments:detail", pk=deployment.pk)
    return _render_decision(request, deployment, status=400, confirm_form=form)


# --- Edge nodes (administrators) ---------------------------------------------------------------


@login_required
@require_GET
def edge_nodes(request):
    require_role_perm(request.user, "deployments.manage_edge_nodes")
    return render(request, "deployments/edge_nodes.html", {"nodes": selectors.edge_nodes_all(request.user)})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def edge_node_register(request):
    require_role_perm(request.user, "deployments.manage_edge_nodes")
    form = EdgeNodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if EdgeNode.objects.filter(name=form.cleaned_data["name"]).exists():
            form.add_error("name", "An edge node already has this name: choose another")
        else:
            try:
                node, token = services.edge_node_register(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                # The only time the token is ever shown: it is stored as a hash.
                return render(request, "deployments/edge_node_token.html", {"node": node, "token": token})
    return render(request, "deployments/edge_node_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def edge_node_revoke(request, pk: int):
    require_role_perm(request.user, "deployments.manage_edge_nodes")
    node = get_object_or_404(EdgeNode, pk=pk)
    services.edge_node_revoke(actor=request.user, node=node)
    messages.success(request, f"{node.name} is revoked: its token no longer works.")
    return redirect("deployments:edge_nodes")


# --- Published record (public) ---------------------------------------------------------------

# The JSON and CSV feeds of the same records are served by the public API (deployments/api).
PUBLISHED_FEEDS = (("JSON", "deployments_api:published-list"), ("CSV", "deployments_api:published-csv"))


@require_GET
def published_list(request):
    records = [(d, selectors.published_record(d)) for d in selectors.published_deployments()]
    rows = [(d, record, selectors.false_alert_rate(record)) for d, record in records]
    feeds = []
    for label, name in PUBLISHED_FEEDS:
        try:
            feeds.append((label, reverse(name)))
        except NoReverseMatch:
            pass
    return render(request, "deployments/published.html", {"rows": rows, "feeds": feeds})


@require_GET
def published_pack(request, pack_id: str):
    """A model pack's calibration in public: thresholds and figures per condition, and its equitability (no
    personal data). A pack without a usable calibration says so; an unknown one is not found."""
    summary = selectors.pack_published(pack_id)
    if summary is None:
        return render(request, "deployments/published_pack.html", {"pack_id": pack_id, "unknown": True}, status=404)
    return render(request, "deployments/published_pack.html", {"pack_id": pack_id, "summary": summary})
