import csv
import io
import json
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lfr_governance.permissions import has_role_perm, require_role_perm

from .justification import JUSTIFICATION_MIN, export_refused, justification_clean
from .models import Action
from .selectors import FILTERS, audit_checkpoints_covering, audit_event_row, audit_events_filtered
from .services import audit_anchor_verify, audit_chain_verify, record
from .subject import subject_lookup


def _filters(request) -> dict[str, str]:
    filters = {k: request.GET.get(k, "").strip() for k in FILTERS}
    if filters["action"] not in Action.values:
        filters["action"] = ""
    return filters


@login_required
@never_cache
@require_GET
def audit_list(request):
    require_role_perm(request.user, "audit.view_auditevent")
    filters = _filters(request)
    page = Paginator(audit_events_filtered(**filters), 50).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "audit/list.html", {
        "page": page, "filters": filters, "actions": Action.choices, "chain": audit_chain_verify(),
        "anchor": audit_anchor_verify(),
        "query": query, "can_export": has_role_perm(request.user, "audit.export_auditevent"),
    })


@login_required
@never_cache
@require_GET
def audit_export(request, fmt: str):
    """Export for the regulator: itself a disclosure, audited with its justification."""
    require_role_perm(request.user, "audit.export_auditevent")
    try:
        justification = justification_clean(request.GET.get("justification"),
                                            ask="Say why the audit log is being exported",
                                            example="'ICO request 2026/114'")
    except ValidationError as exc:
        return export_refused(f"{exc.message} Go back and fill in the reason.")
    filters = _filters(request)
    rows = [audit_event_row(e) for e in audit_events_filtered(**filters).order_by("id")]
    chain, anchor = audit_chain_verify(), audit_anchor_verify()
    record(action=Action.DISCLOSURE, event="audit.export", actor=request.user, target_type="audit.auditevent",
           target_id="filtered", justification=justification,
           changes={"format": fmt, "filters": {k: v for k, v in filters.items() if v}, "rows": len(rows)})
    if fmt == "json":
        # The signed checkpoints that vouch for the rows exported, and this server's check of them.
        checkpoints = (audit_checkpoints_covering(first_event_id=rows[0]["id"], last_event_id=rows[-1]["id"])
                       if rows else [])
        body = json.dumps({"chain": {"ok": chain.ok, "checked": chain.checked, "reason": chain.reason},
                           "anchor": {"ok": anchor.ok, "checkpoints": anchor.checkpoints,
                                      "unanchored_rows": anchor.unanchored, "problems": list(anchor.problems)},
                           "filters": filters, "rows": rows, "checkpoints": checkpoints}, indent=1)
        response = HttpResponse(body, content_type="application/json")
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "changes": json.dumps(row["changes"], sort_keys=True)})
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-log.{fmt}"'
    return response


@login_required
@never_cache
@require_GET
def subject_lookup_view(request):
    """GET with a subject reference and a justification: the lookup is audited as a consultation."""
    require_role_perm(request.user, "audit.lookup_subject")

    class LookupForm(forms.Form):
        subject_ref = forms.CharField(label="Subject reference", max_length=64,
                                      help_text="Custody or PNC number exactly as recorded, e.g. PNC 12/345678A.")
        justification = forms.CharField(label="Why are you looking this subject up?", min_length=JUSTIFICATION_MIN, max_length=500,
                                        help_text="For example the data subject request reference. Recorded in the audit log.")

    form = LookupForm(request.GET or None)
    found = None
    if form.is_bound and form.is_valid():
        found = subject_lookup(actor=request.user, subject_ref=form.cleaned_data["subject_ref"].strip(),
                               justification=form.cleaned_data["justification"].strip())
    return render(request, "audit/subject.html", {"form": form, "found": found})
