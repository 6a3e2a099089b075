"""Deployment fixtures: a frozen watchlist, an edge node, an application built with the real services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from deployments import services
from lfr_governance.accounts.choices import Rank, Role
from tests.deployments.calibration_fixture import write_calibrations
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


def use_synthetic_calibration(settings, folder) -> str:
    """The synthetic format-2 calibration (calibration_fixture.py) as the operator's own, for the shipped packs: the
    proposals are then known in closed form, whatever the shipped files hold."""
    settings.LFR_CALIBRATION_DIR = str(write_calibrations(folder))
    return settings.LFR_CALIBRATION_DIR


@pytest.fixture
def calibrations(settings, tmp_path_factory):
    return use_synthetic_calibration(settings, tmp_path_factory.mktemp("calibration"))


@pytest.fixture(autouse=True)
def _calibrations_here(calibrations):
    """Every deployments test reads the synthetic calibration; elsewhere the `application` fixture brings it."""


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
def application(settings, tmp_path_factory, dep_people, frozen, node, window):
    # Only global fixtures here besides the shared ones: other suites import this fixture without the rest.
    use_synthetic_calibration(settings, tmp_path_factory.mktemp("calibration"))
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
