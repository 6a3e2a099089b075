"""DPO pages: read-only. Exports are disclosures and are audited with their justification."""

import base64

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.permissions import require_role_perm

from . import charts, exports
from .selectors import deletions_by_day, deployment_retention, held_by_age, report_deployments, retention_summary

REPORT_PERM = "retention.view_purgerun"


def _reports(deployment_id: str | None):
    deployments = report_deployments()
    if deployment_id:
        deployments = deployments.filter(pk=deployment_id)
        if not deployments.exists():
            raise Http404("No deployment matches the given query.")
    return [deployment_retention(d) for d in deployments]


@login_required
@never_cache
@require_GET
def retention_report(request):
    require_role_perm(request.user, REPORT_PERM)
    deployment_id = request.GET.get("deployment") or None
    reports = _reports(deployment_id)
    days, held = deletions_by_day(), held_by_age()
    context = {
        "summary": retention_summary(), "reports": reports, "deployment_id": deployment_id,
        "deletions_png": base64.b64encode(charts.deletions_chart(days)).decode(),
        "held_png": base64.b64encode(charts.held_by_age_chart(held)).decode(),
        "days": days, "held": held,
    }
    return render(request, "retention/report.html", context)


@login_required
@never_cache
@require_GET
def retention_report_export(request, fmt: str):
    require_role_perm(request.user, REPORT_PERM)
    deployment_id = request.GET.get("deployment") or None
    justification = request.GET.get("justification", "").strip()
    if len(justification) < 10:
        return HttpResponse("Say why the report is being exported (at least 10 characters), e.g. "
                            "'Quarterly report to the ICO'. Go back and fill in the reason.",
                            status=400, content_type="text/plain; charset=utf-8")
    reports = _reports(deployment_id)
    record(action=Action.DISCLOSURE, event="retention.report_export", actor=request.user,
           target_type="retention.report", target_id=deployment_id or "all", justification=justification,
           changes={"format": fmt, "deployments": [r["deployment"].pk for r in reports]})
    if fmt == "csv":
        response = HttpResponse(exports.report_csv(reports), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(exports.report_pdf(reports, retention_summary()), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="retention-report.{fmt}"'
    return response
