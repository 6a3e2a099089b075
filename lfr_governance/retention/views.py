"""DPO pages: read-only. Exports are disclosures and are audited with their justification."""

import base64
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lfr_governance.audit.justification import export_refused, justification_clean
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.permissions import has_role_perm, not_found, require_role_perm
from lfr_governance.references import deployment_number_parse

from . import charts, exports
from .holds import hold_target_get, legal_hold_place, legal_hold_release
from .models import LegalHold
from .selectors import (
    HOLD_PERM,
    REPORT_PERM,
    deletions_by_day,
    deployment_retention,
    held_by_age,
    legal_holds_visible,
    report_deployments,
    retention_summary,
)


def _reports(deployment_id: int | None):
    deployments = report_deployments()
    if deployment_id is not None:
        deployments = deployments.filter(pk=deployment_id)
        if not deployments.exists():
            raise not_found("deployment")
    return [deployment_retention(d) for d in deployments]


def _deployment_filter(request) -> int | None:
    """The report's deployment filter as typed ("LFR-00002", "00002" or "2"); ValidationError for anything else."""
    typed = (request.GET.get("deployment") or "").strip()
    return deployment_number_parse(typed) if typed else None


@login_required
@never_cache
@require_GET
def retention_report(request):
    require_role_perm(request.user, REPORT_PERM)
    typed = (request.GET.get("deployment") or "").strip()
    try:
        deployment_id, error = _deployment_filter(request), ""
    except ValidationError as exc:
        deployment_id, error = None, exc.message_dict["deployment"][0]
    reports = [] if error else _reports(deployment_id)
    days, held = deletions_by_day(), held_by_age()
    context = {
        "summary": retention_summary(), "reports": reports, "deployment_id": typed, "deployment_error": error,
        "deletions_png": base64.b64encode(charts.deletions_chart(days)).decode(),
        "held_png": base64.b64encode(charts.held_by_age_chart(held)).decode(),
        "days": days, "held": held, "packs": _pack_summaries(),
    }
    return render(request, "retention/report.html", context, status=400 if error else 200)


def _pack_summaries() -> list[dict]:
    """Per calibrated model pack, its thresholds and equitability (no personal data), for the DPO."""
    from lfr_governance.faces import calibrated_packs, pack_summary  # not at start-up: no engine import for the web

    return [pack_summary(pack) for pack in calibrated_packs()]


@login_required
@never_cache
@require_GET
def retention_report_export(request, fmt: str):
    require_role_perm(request.user, REPORT_PERM)
    try:
        deployment_id = _deployment_filter(request)
    except ValidationError as exc:
        return export_refused(f"{exc.message_dict['deployment'][0]} Go back and correct the deployment.")
    try:
        justification = justification_clean(request.GET.get("justification"),
                                            ask="Say why the report is being exported",
                                            example="'Quarterly report to the ICO'")
    except ValidationError as exc:
        return export_refused(f"{exc.message} Go back and fill in the reason.")
    reports = _reports(deployment_id)
    record(action=Action.DISCLOSURE, event="retention.report_export", actor=request.user,
           target_type="retention.report", target_id=str(deployment_id) if deployment_id is not None else "all",
           justification=justification,
           changes={"format": fmt, "deployments": [r["deployment"].pk for r in reports]})
    if fmt == "csv":
        response = HttpResponse(exports.report_csv(reports), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(exports.report_pdf(reports, retention_summary()), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="retention-report.{fmt}"'
    return response


@login_required
@never_cache
def legal_hold_new(request, alert_id: int):
    """Place a legal hold on one alert (officers of its deployment)."""
    require_role_perm(request.user, HOLD_PERM)
    alert = hold_target_get(request.user, alert_id)  # 404 alike for a missing alert and another team's
    errors = {}
    if request.method == "POST":
        try:
            owner = User.objects.get(username=request.POST.get("owner", ""))
            review = date.fromisoformat(request.POST.get("review_date", ""))
            legal_hold_place(actor=request.user, alert=alert, reason=request.POST.get("reason", ""), owner=owner,
                             review_date=review)
            messages.success(request, f"Alert {alert.pk} is under a legal hold until it is released.")
            return redirect("retention:holds")
        except User.DoesNotExist:
            errors = {"owner": ["Choose the officer who owns the hold."]}
        except ValueError:
            errors = {"review_date": ["Give the review date as a date."]}
        except ValidationError as exc:
            errors = exc.message_dict
    return render(request, "retention/hold_new.html", {"alert": alert, "errors": errors, "post": request.POST})


@login_required
@never_cache
def legal_holds(request):
    can_place = has_role_perm(request.user, HOLD_PERM)
    if not (can_place or has_role_perm(request.user, REPORT_PERM)):
        require_role_perm(request.user, REPORT_PERM)
    holds = legal_holds_visible(request.user)  # the DPO sees all; an officer, those on their deployments' alerts
    if request.method == "POST" and can_place:
        hold_id = request.POST.get("hold", "")
        hold = holds.filter(pk=int(hold_id)).first() if hold_id.isdigit() and len(hold_id) < 19 else None
        if hold is None:
            raise not_found(LegalHold)
        try:
            legal_hold_release(actor=request.user, hold=hold, reason=request.POST.get("reason", ""))
            messages.success(request, f"The hold on alert {hold.alert_ref} is released; the alert is due for deletion "
                                      "when its retention period has run out.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("retention:holds")
    return render(request, "retention/holds.html", {"holds": holds, "can_release": can_place})
