"""The header navigation: each person sees the entries their roles allow, nothing else.

Later capabilities add their entries here, each with the role permission it needs.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from lfr_governance.accounts.roles import user_roles
from lfr_governance.accounts.choices import Role
from lfr_governance.permissions import has_role_perm


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    perm: str | None = None
    staff_only: bool = False


NAV_ENTRIES: list[NavEntry] = [
    NavEntry("Home", "home"),
    NavEntry("Watchlists", "watchlists:list", perm="watchlists.view_watchlist"),
    NavEntry("Deployments", "deployments:schedule", perm="deployments.view_deployment"),
    NavEntry("Alert console", "matching:console_list", perm="matching.view_alert"),
    NavEntry("Audit log", "audit:list", perm="audit.view_auditevent"),
    NavEntry("Retention report", "retention:report", perm="retention.view_purgerun"),
    NavEntry("Subject lookup", "audit:subject", perm="audit.lookup_subject"),
    NavEntry("Watchlist destruction", "watchlists:destroy_list", perm="watchlists.destroy_watchlistversion"),
    NavEntry("Edge nodes", "deployments:edge_nodes", perm="deployments.manage_edge_nodes"),
    NavEntry("Users and roles", "admin:index", staff_only=True),
]


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_entries": [], "nav_roles": []}
    entries = []
    for entry in NAV_ENTRIES:
        if entry.perm and not has_role_perm(user, entry.perm):
            continue
        if entry.staff_only and not user.is_staff:
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        current = request.path == url if url == "/" else request.path.startswith(url)
        entries.append({"label": entry.label, "url": url, "current": current})
    roles = [Role(r).label for r in sorted(user_roles(user))]
    return {"nav_entries": entries, "nav_roles": roles}


def safe_next(request, fallback: str) -> str:
    """Where to go back to: the `next` the request names if it is on this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback
