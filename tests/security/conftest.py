"""Security fixtures: a frozen watchlist with images, a live deployment with an alert, an edge node and a bulk
import, built with the real services (the watchlists, deployments, matching and accounts fixtures), and one
person per role plus a member of another team."""

import tempfile
import types
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from lfr_governance.accounts.choices import Role
from tests.accounts.conftest import alert, image  # noqa: F401  (shared fixtures)
from tests.deployments.conftest import application, authorised, dep_people, node, scheduled  # noqa: F401
from tests.matching.conftest import _clean_redis_keys, live, window  # noqa: F401
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401
from watchlists.models import BulkImport

# Hypothesis (under schemathesis) caches constants and unicode tables in ./.hypothesis: keep them out of the tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "lfr-security-hypothesis")


@pytest.fixture
def who(dep_people, make_user):
    """Who asks: each role as the person the objects name (owner, assigned reviewer, AO, operator), a DPO,
    an administrator, and an intelligence officer of another team."""
    return {
        "anonymous": None,
        "intelligence_officer": dep_people["owner"],
        "reviewer": dep_people["reviewer"],
        "authorising_officer": dep_people["ao"],
        "operator": dep_people["operator"],
        "dpo": make_user("dpo", Role.DPO),
        "administrator": dep_people["admin"],
        "other_team": dep_people["outsider"],
    }


@pytest.fixture
def objects(who, watchlist, image, alert, node):
    """One of each object an address names: the watchlist, its frozen version, an entry and its image, a bulk
    import, the live deployment with its authorisation and sign, the edge node and an alert."""
    deployment = alert.deployment
    bulk = BulkImport.objects.create(version=image.entry.version, csv_file="imports/x.csv", zip_file="imports/x.zip",
                                     created_by=who["intelligence_officer"])
    return types.SimpleNamespace(
        watchlist=watchlist, entry=image.entry, image=image, version=image.entry.version, bulk=bulk,
        deployment=deployment, authorisation=deployment.authorisations.order_by("pk").first(),
        sign=deployment.signs.order_by("pk").first(), node=node, alert=alert,
    )
