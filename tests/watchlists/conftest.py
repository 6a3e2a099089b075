"""Watchlist fixtures: people in two teams, and entries built through the real services and engine."""

import io
from datetime import date

import pytest
from PIL import Image

from lfr_governance.accounts.choices import Role
from watchlists import services

ENTRY_DEFAULTS = {
    "category": "warrant",
    "offence": "",
    "legal_basis": "pace_custody",
    "image_source": "custody",
    "image_capture_date": date(2025, 3, 1),
    "intelligence_ref": "INT/2026/0042",
    "justification": "Wanted on warrant for failing to appear; intelligence places him in the area on Saturdays.",
}


@pytest.fixture
def people(make_user, team):
    from lfr_governance.accounts.services import team_get_or_create

    other_team = team_get_or_create(name="Another Borough Unit")
    return {
        "owner": make_user("owner", Role.INTELLIGENCE_OFFICER),
        "colleague": make_user("colleague", Role.INTELLIGENCE_OFFICER),
        "reviewer": make_user("reviewer", Role.REVIEWER),
        "outsider": make_user("outsider", Role.INTELLIGENCE_OFFICER, team_=other_team),
        "outside_reviewer": make_user("outside_reviewer", Role.REVIEWER, team_=other_team),
        "admin": make_user("admin", Role.ADMINISTRATOR),
        "ao": make_user("ao", Role.AUTHORISING_OFFICER),
        "operator": make_user("operator", Role.OPERATOR),
    }


@pytest.fixture
def watchlist(people):
    wl = services.watchlist_create(
        actor=people["owner"], operation_name="Operation Harbour", objective="Arrest wanted robbery suspects",
        intelligence_case_ref="CASE/2026/17",
    )
    services.watchlist_reviewer_assign(actor=people["owner"], watchlist=wl, reviewer=people["reviewer"])
    return wl


@pytest.fixture
def face_bytes(faces_dir):
    def _read(name: str) -> bytes:
        return (faces_dir / "deepface" / name).read_bytes()

    return _read


def png_bytes(width=400, height=400, colour=(200, 200, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def add_entry(face_bytes):
    """Adds an entry with one image and runs the quality gate and template in this process."""

    def _add(watchlist, actor, subject_ref: str, image: str | bytes = "img1.jpg", **fields):
        entry = services.entry_create(actor=actor, watchlist=watchlist, subject_ref=subject_ref,
                                      **{**ENTRY_DEFAULTS, **fields})
        data = face_bytes(image) if isinstance(image, str) else image
        img = services.reference_image_add(actor=actor, entry=entry, data=data, filename=str(image)[:40])
        services.reference_image_assess(image_id=img.pk)
        img.refresh_from_db()
        return entry, img

    return _add


@pytest.fixture
def frozen(watchlist, people, add_entry):
    """A watchlist of three reviewed entries, frozen as version 1."""
    for ref, image in (("PNC-01/111A", "img1.jpg"), ("PNC-02/222B", "img3.jpg"), ("PNC-03/333C", "img17.jpg")):
        entry, img = add_entry(watchlist, people["owner"], ref, image)
        assert img.state == "accepted", img.refusal_message
        services.entry_review(actor=people["reviewer"], entry=entry, approve=True)
    return services.watchlist_freeze(actor=people["owner"], watchlist=watchlist)
