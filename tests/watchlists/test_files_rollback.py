"""Files are kept only with their rows: a change refused or rolled back leaves no file in the media folder."""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from rest_framework.test import APIClient

from watchlists import bulk, services
from watchlists.models import ReferenceImage

from .conftest import ENTRY_DEFAULTS, png_bytes
from .test_api import import_files

pytestmark = pytest.mark.django_db


def unreferenced_media() -> list[str]:
    """Files under MEDIA_ROOT that no row of any model's file field names (worked out here, not by the app)."""
    referenced = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                referenced.update(model.objects.exclude(**{field.name: ""}).values_list(field.name, flat=True))
    root = Path(settings.MEDIA_ROOT)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.relative_to(root).as_posix() not in referenced)


def test_a_refused_change_to_a_frozen_entry_leaves_no_copied_image(frozen, people):
    entry = frozen.entries.get(subject_ref="PNC-01/111A")
    assert unreferenced_media() == []
    client = APIClient()
    client.force_login(people["owner"])
    response = client.patch(f"/api/v1/entries/{entry.pk}/", {"category": "serious_offence", "offence": ""},
                            format="json")
    assert response.status_code == 400 and "offence" in response.json()["fields"]
    assert frozen.watchlist.versions.count() == 1  # the draft copy rolled back
    assert unreferenced_media() == []


def test_an_accepted_change_keeps_the_copied_images(frozen, people):
    entry = frozen.entries.get(subject_ref="PNC-01/111A")
    copy = services.entry_update(actor=people["owner"], entry=entry, intelligence_ref="INT/2026/0100")
    assert ReferenceImage.objects.filter(entry__version=copy.version).count() == 3
    assert all(img.image.storage.exists(img.image.name) for img in ReferenceImage.objects.all())
    assert unreferenced_media() == []


def test_an_image_whose_audit_fails_leaves_no_file(watchlist, people, monkeypatch):
    entry = services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-01/111A",
                                  **ENTRY_DEFAULTS)

    def broken(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(RuntimeError):
        services.reference_image_add(actor=people["owner"], entry=entry, data=png_bytes(), filename="face.png")
    assert not ReferenceImage.objects.exists() and unreferenced_media() == []


def test_a_bulk_import_whose_start_fails_leaves_no_file(watchlist, people, monkeypatch):
    files = import_files(png_bytes())

    def broken(**kwargs):
        raise ValidationError("refused after the files were written")

    monkeypatch.setattr(bulk, "record", broken)
    with pytest.raises(ValidationError):
        bulk.bulk_import_start(actor=people["owner"], watchlist=watchlist, csv_data=files["csv_file"].read(),
                               zip_data=files["zip_file"].read())
    assert unreferenced_media() == []


def test_a_refused_image_on_the_edit_page_leaves_no_copied_image(client, frozen, people):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from .test_views import entry_post

    entry = frozen.entries.get(subject_ref="PNC-01/111A")
    client.force_login(people["owner"])
    response = client.post(reverse("watchlists:entry_edit", args=[entry.pk]), {
        **entry_post(category="warrant", offence="", intelligence_ref="INT/2026/0050", subject_ref=None),
        "image": SimpleUploadedFile("notes.jpg", b"this is not a photograph", "image/jpeg")})
    assert response.status_code == 400 and "is not an image this service accepts" in response.content.decode()
    assert frozen.watchlist.versions.count() == 1
    assert unreferenced_media() == []
