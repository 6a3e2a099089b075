"""Reads for deployments, scoped to what the person may see."""

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from lfr_governance import clock
from lfr_governance.permissions import get_for_user_or_404, has_role_perm, restrict

from .choices import DeploymentStatus
from .models import Authorisation, Deployment, EdgeNode

S = DeploymentStatus
NOT_FOUND = "Not found: it does not exist or you do not have access to it."


def deployments_visible(user) -> QuerySet:
    if not has_role_perm(user, "deployments.view_deployment"):
        return Deployment.objects.none()
    return restrict(
        Deployment.objects.select_related("applicant", "team", "watchlist_version__watchlist", "authorising_officer"),
        user, "deployments.view_deployment",
    )


def deployment_get(user, pk: int, perm: str = "deployments.view_deployment") -> Deployment:
    if not has_role_perm(user, "deployments.view_deployment") or not has_role_perm(user, perm):
        raise Http404(NOT_FOUND)
    try:
        return get_for_user_or_404(
            Deployment.objects.select_related("watchlist_version__watchlist", "applicant", "authorising_officer"),
            user, perm, pk=pk,
        )
    except Http404:
        raise Http404(NOT_FOUND)


def deployments_timeline(user) -> dict[str, list[Deployment]]:
    """Upcoming, live and ended deployments the person may see, for the schedule page."""
    qs = deployments_visible(user).order_by("starts_at")
    return {
        "live": [d for d in qs if d.status == S.LIVE],
        "upcoming": [d for d in qs if d.status in (S.DRAFT, S.SUBMITTED, S.AUTHORISED, S.SCHEDULED)],
        "ended": [d for d in qs.order_by("-ends_at") if d.status in (S.ENDED, S.REVIEWED, S.CANCELLED, S.REJECTED)],
    }


def authorisations_overdue(now=None) -> QuerySet:
    """Urgent oral authorisations whose written confirmation is late."""
    now = now or clock.now()
    return Authorisation.objects.filter(urgent_oral=True, written_confirmation_at__isnull=True,
                                        written_confirmation_due_at__lt=now, superseded_at__isnull=True)


def edge_nodes_all(user) -> QuerySet:
    if not has_role_perm(user, "deployments.manage_edge_nodes"):
        return EdgeNode.objects.none()
    return EdgeNode.objects.annotate(deployment_count=Count("deployments"))


# A node's live deployment within its window (the latest to start, if several): one statement for both lookups
# below, of only what the edge API needs of it (id, status, window); any other field loads when first used.
_LIVE_FIELDS = ["id", "status", "starts_at", "ends_at"]


def _live_for_node_sql(node_id: str) -> str:
    return (f"SELECT {', '.join('d.' + name for name in _LIVE_FIELDS)} FROM {Deployment._meta.db_table} d "
            f"JOIN {Deployment.edge_nodes.through._meta.db_table} bound ON bound.deployment_id = d.id "
            f"WHERE bound.edgenode_id = {node_id} AND d.status = %s AND d.starts_at <= %s AND d.ends_at > %s "
            "ORDER BY d.starts_at DESC LIMIT 1")


_LIVE_FOR_NODE_SQL = _live_for_node_sql("%s")
_NODE_FIELDS = [field.attname for field in EdgeNode._meta.concrete_fields]
_NODE_AND_LIVE_SQL = (
    f"SELECT {', '.join('n.' + field.column for field in EdgeNode._meta.concrete_fields)}, live.* "
    f"FROM {EdgeNode._meta.db_table} n LEFT JOIN LATERAL ({_live_for_node_sql('n.id')}) live ON true "
    "WHERE n.token_hash = %s AND n.revoked_at IS NULL LIMIT 1"
)


def edge_node_live_deployment(node: EdgeNode, now=None) -> Deployment | None:
    """The live deployment this node is bound to, within its window, if any. Raw SQL: the edge API asks this
    for every frame, and building the ORM query cost more CPU than running it."""
    now = now or clock.now()
    return next(iter(Deployment.objects.raw(_LIVE_FOR_NODE_SQL, [node.pk, S.LIVE, now, now])), None)


def edge_node_and_live_deployment(token_hash: str, now) -> tuple[EdgeNode | None, Deployment | None]:
    """The active node with this token hash and, in the same query, its live deployment (what
    edge_node_live_deployment answers), or None for either."""
    with connection.cursor() as cursor:
        cursor.execute(_NODE_AND_LIVE_SQL, [S.LIVE, now, now, token_hash])
        row = cursor.fetchone()
    if row is None:
        return None, None
    split = len(_NODE_FIELDS)
    node = EdgeNode.from_db(connection.alias, _NODE_FIELDS, row[:split])
    live = None if row[split] is None else Deployment.from_db(connection.alias, _LIVE_FIELDS, row[split:])
    return node, live


def published_record(deployment: Deployment) -> dict:
    """The publishable record: no personal data. Pipeline figures are zero until it fills them."""
    counters = getattr(deployment, "counters", None)
    alerts = _alert_figures(deployment)
    start, end = deployment.went_live_at or deployment.starts_at, deployment.ended_at or deployment.ends_at
    return {
        "reference": f"LFR-{deployment.pk:05d}",
        "date": timezone.localtime(deployment.starts_at).date().isoformat(),
        "place": deployment.location_name,
        "latitude": float(deployment.latitude),
        "longitude": float(deployment.longitude),
        "starts_at": deployment.starts_at.isoformat(),
        "ends_at": deployment.ends_at.isoformat(),
        "duration_minutes": int((end - start).total_seconds() // 60),
        "status": deployment.status,
        "watchlist_size": deployment.watchlist_version.size,
        "faces_processed": counters.faces_detected if counters else 0,
        "frames_processed": counters.frames_processed if counters else 0,
        **alerts,
        "threshold": deployment.threshold,
        "model_pack": deployment.watchlist_version.pack_id,
        "signs": deployment.signs.count(),
        "leaflets": deployment.leaflets.aggregate(n=Sum("count"))["n"] or 0,
        "purpose": deployment.offence_focus,
    }


def _alert_figures(deployment: Deployment) -> dict:
    from matching.selectors import deployment_alert_figures  # matching depends on this app, not the reverse

    return deployment_alert_figures(deployment)


def published_deployments() -> QuerySet:
    """Deployments whose record is public: authorised ones from scheduling on (not drafts or rejections)."""
    return Deployment.objects.filter(
        status__in=[S.SCHEDULED, S.LIVE, S.ENDED, S.REVIEWED]
    ).select_related("watchlist_version").prefetch_related("signs", "leaflets").order_by("-starts_at")
