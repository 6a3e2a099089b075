from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from lfr_governance.permissions import require_role_perm

from .models import Action
from .selectors import audit_events_filtered
from .services import audit_chain_verify


@login_required
def audit_list(request):
    require_role_perm(request.user, "audit.view_auditevent")
    filters = {k: request.GET.get(k, "").strip() for k in ("actor", "action", "event", "target")}
    if filters["action"] not in Action.values:
        filters["action"] = ""
    page = Paginator(audit_events_filtered(**filters), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/list.html",
        {"page": page, "filters": filters, "actions": Action.choices, "chain": audit_chain_verify()},
    )
