"""Demo data: an edge node and a deployment of the demo watchlist that beat's tick takes live a minute later.

Idempotent: a run finds the demo deployment that has not ended and only reports it; once it has ended (or its
window passed) a run creates a fresh one. Edge-node tokens are stored hashed, so the demo node's token is kept
in var/demo-edge-token.txt the first time, one '<database name> <token>' line per database (the test database
must not overwrite the development one), for later runs to print again.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from deployments import services
from deployments.choices import DeploymentStatus
from deployments.models import Deployment, EdgeNode
from deployments.selectors import edge_node_for_token
from lfr_governance import clock
from watchlists.choices import VersionStatus
from watchlists.models import WatchlistVersion

from .watchlist import DEMO_OPERATION

S = DeploymentStatus
DEMO_NODE = "Demo camera 1"
DEMO_TITLE = "Operation Kestrel: Market Square (demo)"
DEMO_APPLICATION = {
    "title": DEMO_TITLE,
    "purpose": "Locate and arrest people wanted for street robbery in the town centre (demonstration).",
    "offence_focus": "Robbery and knife crime",
    "intelligence_case_ref": "CASE/DEMO/001",
    "location_name": "Market Square, Exampletown (demo)",
    "latitude": Decimal("51.507400"),
    "longitude": Decimal("-0.127800"),
    "area_radius_m": 120,
    "location_reason": "Fictional: intelligence places the demo subjects in the square on weekday afternoons.",
    "expected_footfall": 6000,
    "necessity_proportionality": "Fictional demonstration record: less intrusive tactics have not located the "
                                 "subjects; the window is two hours and the area one square.",
    "dpia_ref": "DPIA-DEMO-001",
    "community_impact": "Fictional: the independent advisory group was consulted and raised no objection.",
    "engagement_notes": "Fictional: notice on the force website and social media the day before.",
    "public_prenotice": "https://police.example/lfr/demo-notice",
}


def _token_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-edge-token.txt"


def _stored_tokens() -> dict[str, str]:
    path = _token_file()
    if not path.exists():
        return {}
    pairs = (line.split(maxsplit=1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {pair[0]: pair[1].strip() for pair in pairs if len(pair) == 2}


def _store_token(token: str) -> None:
    tokens = {**_stored_tokens(), connection.settings_dict["NAME"]: token}
    path = _token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{name} {value}\n" for name, value in tokens.items()), encoding="utf-8")
    path.chmod(0o600)


def stored_demo_token() -> str:
    """This database's copy of the demo node's token, or "" when there is none."""
    return _stored_tokens().get(connection.settings_dict["NAME"], "")


def demo_edge_node() -> tuple[EdgeNode, str | None]:
    """The demo node and its token, or None for the token when this database's copy is lost."""
    node = EdgeNode.objects.filter(name=DEMO_NODE).first()
    if node is None:
        node, token = services.edge_node_register(
            actor=User.objects.get(username="admin"), name=DEMO_NODE,
            camera_description="Demonstration camera: a webcam or a recorded clip sent by the edge simulator",
            location_description="Demonstration only",
        )
        _store_token(token)
        return node, token
    token = stored_demo_token()
    return node, token if token and edge_node_for_token(token=token) == node else None


def _current_demo_deployment(now) -> Deployment | None:
    return (Deployment.objects.filter(title=DEMO_TITLE, ends_at__gt=now)
            .exclude(status__in=[S.ENDED, S.REVIEWED, S.CANCELLED]).order_by("-starts_at").first())


def _create_demo_deployment(node: EdgeNode, version: WatchlistVersion, now) -> Deployment:
    people = {u.username: u for u in User.objects.filter(username__in=["intel", "ao", "operator"])}
    intel, ao = people["intel"], people["ao"]
    start = (now + timedelta(minutes=1)).replace(microsecond=0)
    deployment = services.deployment_create(actor=intel, watchlist_version=version, edge_nodes=[node],
                                             starts_at=start, ends_at=start + timedelta(hours=2), **DEMO_APPLICATION)
    services.deployment_submit(actor=intel, deployment=deployment, authorising_officer=ao)
    services.deployment_authorise(actor=ao, deployment=deployment,
                                  reasons="Demonstration: necessary and proportionate for the fictional robbery "
                                          "series; small area, two hours, bespoke watchlist.")
    services.deployment_schedule(actor=intel, deployment=deployment)
    services.signage_record_add(actor=intel, deployment=deployment,
                                position_description="Lamp post at the north entrance to the square",
                                latitude=Decimal("51.508100"), longitude=Decimal("-0.128100"),
                                size="A1 (594 x 841 mm)", placed_at=start)
    services.leaflet_record_add(actor=intel, deployment=deployment, count=250, window_start=now - timedelta(hours=2),
                                window_end=now - timedelta(hours=1), where="Market Square and the station forecourt")
    services.operator_assign(actor=intel, deployment=deployment, operator=people["operator"])
    deployment.refresh_from_db()
    return deployment


def demo_deployment(stdout=None) -> Deployment | None:
    version = (WatchlistVersion.objects.filter(watchlist__operation_name=DEMO_OPERATION, status=VersionStatus.FROZEN)
               .order_by("-number").first())
    if version is None:
        if stdout:
            stdout.write(f"No frozen version of '{DEMO_OPERATION}': no demo deployment created.")
        return None
    node, token = demo_edge_node()
    now = clock.now()
    deployment = _current_demo_deployment(now) or _create_demo_deployment(node, version, now)
    if stdout:
        shown = token or (f"not available (it is stored hashed and {_token_file()} has no copy for this "
                          f"database): revoke '{DEMO_NODE}' and register a new node")
        start = timezone.localtime(deployment.starts_at).strftime("%H:%M")
        if deployment.status == S.LIVE:
            since = timezone.localtime(deployment.went_live_at or deployment.starts_at)
            stdout.write(f"Demo deployment '{deployment.title}' is live since {since:%H:%M} until "
                         f"{timezone.localtime(deployment.ends_at):%H:%M} (UK time); edge node token: {shown}")
        elif deployment.status == S.SCHEDULED:
            stdout.write(f"Demo deployment '{deployment.title}' goes live at {start} (UK time); "
                         f"edge node token: {shown}")
        else:
            stdout.write(f"Demo deployment '{deployment.title}' is {deployment.get_status_display().lower()} "
                         f"(start {start} UK time); edge node token: {shown}")
    return deployment
