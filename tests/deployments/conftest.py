"""Deployment fixtures: a frozen watchlist, an edge node, an application built with the real services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from deployments import services
from lfr_governance.accounts.choices import Rank, Role
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401  (shared fixtures)

APPLICATION = {
    "title": "Town centre robbery operation",
    "purpose": "Locate people wanted for street robbery.",
    "offence_focus": "Robbery",
    "intelligence_case_ref": "CASE/2026/17",
    "location_name": "High Street, Exampletown",
    "latitude": Decimal("51.507400"),
    "longitude": Decimal("-0.127800"),
    "area_radius_m": 150,
    "location_reason": "Three of the subjects were seen here on Saturday afternoons in October.",
    "expected_footfall": 8000,
    "necessity_proportionality": "Less intrusive tactics have failed; the window is short and the area small.",
    "dpia_ref": "DPIA-LFR-2026-03",
    "community_impact": "Consulted the independent advisory group; no objections raised.",
    "engagement_notes": "Leaflets and social media notice the day before.",
    "public_prenotice": "https://police.example/lfr/notice-17",
}


@pytest.fixture
def dep_people(people, make_user):
    people["ao2"] = make_user("ao2", Role.AUTHORISING_OFFICER, rank=Rank.CHIEF_SUPERINTENDENT)
    people["chief_inspector"] = make_user("chiefinsp", Role.AUTHORISING_OFFICER, rank=Rank.CHIEF_INSPECTOR)
    people["ao"].profile.rank = Rank.SUPERINTENDENT
    people["ao"].profile.save()
    return people


@pytest.fixture
def node(dep_people):
    node, token = services.edge_node_register(actor=dep_people["admin"], name="Van 7 camera 1",
                                              camera_description="Mast camera, 4 mm lens, facing north")
    node.token = token
    return node


@pytest.fixture
def window():
    start = timezone.now() + timedelta(hours=1)
    return start, start + timedelta(hours=4)


@pytest.fixture
def application(dep_people, frozen, node, window):
    return services.deployment_create(actor=dep_people["owner"], watchlist_version=frozen, edge_nodes=[node],
                                      starts_at=window[0], ends_at=window[1], **APPLICATION)


@pytest.fixture
def authorised(application, dep_people):
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    services.deployment_authorise(actor=dep_people["ao"], deployment=application, reasons="Necessary and proportionate.")
    application.refresh_from_db()
    return application


@pytest.fixture
def scheduled(authorised, dep_people):
    return services.deployment_schedule(actor=dep_people["owner"], deployment=authorised)
