"""Requests no view could store are clear refusals, never server errors: NUL characters anywhere in the input,
more files or fields than Django parses, and errors under /api/ always in the API's JSON body, never a debug page
with the settings and the caller's token in it. Refusals that are the caller's doing log one line, no stack."""

import io
import json
import logging
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from deployments.models import Deployment
from lfr_governance import launcher
from lfr_governance.accounts.choices import Role
from matching import selectors as matching_selectors
from matching.models import Alert
from tests.conftest import REPO_ROOT
from tests.deployments.conftest import application, authorised, dep_people, node, scheduled  # noqa: F401
from tests.matching.conftest import EDGE, counters_of, jpeg_of, live, published, window  # noqa: F401
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401

pytestmark = pytest.mark.django_db


def _refused_json(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response.content[:500]
    body = response.json()
    assert set(body) == {"detail", "code", "fields"} and body["detail"], body
    return body


# --- NUL characters ---------------------------------------------------------------------------


def test_a_nul_in_a_page_query_parameter_is_refused(client, make_user):
    client.force_login(make_user("dpo-nul", Role.DPO))
    response = client.get("/audit/", {"actor": "owner\x00"})
    assert response.status_code == 400
    assert "actor" in response.content.decode() and "NUL" in response.content.decode()


def test_a_nul_in_an_api_query_parameter_is_refused_by_name(dep_people):
    client = Client()
    client.force_login(dep_people["owner"])
    body = _refused_json(client.get("/api/v1/deployments/", {"status": "\x00"}))
    assert body["code"] == "nul_character" and list(body["fields"]) == ["status"]


def test_a_nul_in_an_api_body_is_refused_by_name(application, dep_people):
    client = Client()
    client.force_login(dep_people["owner"])
    url = f"/api/v1/deployments/{application.pk}/submit/"
    as_json = client.post(url, json.dumps({"authorising_officer": "ao\u0000"}), content_type="application/json")
    assert _refused_json(as_json)["fields"] == {"authorising_officer": [
        "Remove the NUL character (\\u0000): text may not contain it."]}
    nested = client.post(url, json.dumps({"authorising_officer": "ao", "extra": [{"note": "x\u0000"}]}),
                         content_type="application/json")
    assert list(_refused_json(nested)["fields"]) == ["extra"]
    as_form = client.post(url, {"authorising_officer": "ao\x00"})
    assert list(_refused_json(as_form)["fields"]) == ["authorising_officer"]
    # An escaped backslash before u0000 is text, not a NUL: the request goes on to the serializer.
    text = client.post(url, json.dumps({"authorising_officer": "\\u0000"}), content_type="application/json")
    assert text.status_code == 400 and text.json()["code"] == "invalid"
    assert "does_not_exist" not in text.content.decode() and "NUL" not in text.content.decode()
    assert Deployment.objects.get(pk=application.pk).status == "draft"


def test_a_nul_in_a_page_form_is_refused(client, scheduled, node, dep_people):
    now = timezone.now()
    alert = Alert(deployment=scheduled, edge_node=node, camera="cam 1", frame_id="nul-1",
                  entry=scheduled.watchlist_version.entries.first(), score=0.8, threshold=0.43, pack_id="yunet-sface",
                  captured_at=now, received_at=now, alerted_at=now)
    alert.probe_image = ContentFile(b"\xff\xd8probe", name="probe.jpg")
    alert.save()
    client.force_login(dep_people["owner"])
    response = client.post(f"/retention/holds/new/{alert.pk}/", {
        "reason": "Evidence in R v Example (2026)", "owner": "owner\x00",
        "review_date": (date.today() + timedelta(days=30)).isoformat()})
    assert response.status_code == 400
    assert "owner" in response.content.decode() and "NUL" in response.content.decode()


def test_a_nul_in_a_cookie_is_refused(client):
    response = client.get("/", HTTP_COOKIE='sessionid="\\000abcdefghijklmnop"')
    assert response.status_code == 400


# --- Too many files or fields -----------------------------------------------------------------


def test_too_many_image_parts_to_the_edge_api_are_a_json_refusal(live, node, client, face_bytes, published):
    frame = jpeg_of(face_bytes("img2.jpg"), size=(64, 64))
    data = {"image": [SimpleUploadedFile(f"f{i}.jpg", frame, "image/jpeg") for i in range(250)],
            "frame_id": "many-1", "captured_at": timezone.now().isoformat(), "camera": "mast-1"}
    response = client.post(f"{EDGE}/frames", data, HTTP_AUTHORIZATION=f"Bearer {node.token}")
    body = _refused_json(response)
    assert body["code"] == "too_many_files" and "200" in body["detail"]
    assert published == [] and counters_of(live).frames_refused == 1


def test_too_many_fields_to_the_edge_api_are_a_json_refusal(live, node, client, face_bytes, published, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    data = {f"extra{i}": "x" for i in range(60)}
    data.update({"image": SimpleUploadedFile("f.jpg", jpeg_of(face_bytes("img2.jpg")), "image/jpeg"),
                 "frame_id": "many-2", "captured_at": timezone.now().isoformat(), "camera": "mast-1"})
    body = _refused_json(client.post(f"{EDGE}/frames", data, HTTP_AUTHORIZATION=f"Bearer {node.token}"))
    assert body["code"] == "too_many_fields" and "50" in body["detail"]
    assert published == [] and counters_of(live).frames_refused == 1


def test_too_many_fields_to_a_page_are_a_clear_refusal(client, scheduled, dep_people, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    client.force_login(dep_people["owner"])
    data = {f"extra{i}": "x" for i in range(60)}
    response = client.post(f"/deployments/{scheduled.pk}/review/", data)
    assert response.status_code == 400
    assert "more than 50 fields" in response.content.decode()
    body = _refused_json(client.post(f"/api/v1/deployments/{scheduled.pk}/review/", data))
    assert body["code"] == "too_many_fields"


# --- No debug page under /api/ ----------------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _no_secrets(response, *secrets: str) -> None:
    text = response.content.decode(errors="replace")
    for secret in ("REDIS_URL", "SECRET_KEY", "Traceback", "<html", *secrets):
        assert secret not in text, secret


def test_edge_api_errors_are_json_with_or_without_debug(live, node, debug, monkeypatch, settings):
    client = Client(raise_request_exception=False)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {node.token}"}
    missing = client.get(f"{EDGE}/no-such-endpoint", **auth)
    assert _refused_json(missing, 404)["code"] == "not_found"
    _no_secrets(missing, node.token)
    wrong_method = client.delete(f"{EDGE}/status", **auth)
    assert _refused_json(wrong_method, 405)["code"] == "method_not_allowed"

    def broken(**kwargs):
        raise RuntimeError(f"something broke near {settings.REDIS_URL}")

    monkeypatch.setattr(matching_selectors, "edge_status", broken)
    failed = client.get(f"{EDGE}/status", **auth)
    body = _refused_json(failed, 500)
    assert body["code"] == "server_error" and "reference" in body["detail"]
    _no_secrets(failed, node.token, settings.REDIS_URL)


def test_api_v1_errors_are_json_with_or_without_debug(dep_people, debug, monkeypatch, settings):
    from deployments import selectors as deployment_selectors

    client = Client(raise_request_exception=False)
    client.force_login(dep_people["owner"])
    _refused_json(client.get("/api/v1/no-such-endpoint/"), 404)

    def broken(user):
        raise RuntimeError(f"something broke near {settings.REDIS_URL}")

    monkeypatch.setattr(deployment_selectors, "deployments_visible", broken)
    failed = client.get("/api/v1/deployments/")
    assert _refused_json(failed, 500)["code"] == "server_error"
    _no_secrets(failed, settings.REDIS_URL)


def test_the_run_command_starts_with_debug_off(monkeypatch):
    monkeypatch.delenv("DEBUG", raising=False)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    launcher.run_environment_defaults()
    assert os.environ["DEBUG"] == "false"
    probe = "import django; from django.conf import settings; django.setup(); print(settings.DEBUG)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
    monkeypatch.setenv("DEBUG", "true")  # asked for explicitly, it is kept
    launcher.run_environment_defaults()
    assert os.environ["DEBUG"] == "true"


# --- Logging of refusals ------------------------------------------------------------------------


@pytest.fixture
def console_log():
    """What the configured console handler writes (the settings' LOGGING), for the duration of a test."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_403_logs_one_line_without_a_stack(client, make_user, console_log):
    client.force_login(make_user("nobody-special"))
    assert client.get("/audit/").status_code == 403
    lines = [line for line in console_log.getvalue().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "WARNING" in lines[0] and "Forbidden" in lines[0] and "Traceback" not in console_log.getvalue()


def test_a_refused_form_body_logs_without_a_stack(client, scheduled, dep_people, settings, console_log):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    client.force_login(dep_people["owner"])
    assert client.post(f"/deployments/{scheduled.pk}/review/", {f"f{i}": "x" for i in range(60)}).status_code == 400
    assert "Traceback" not in console_log.getvalue()


@pytest.mark.django_db
def test_the_audit_log_filters_by_the_reference_shown_and_refuses_nothing_with_a_server_error():
    from lfr_governance.audit.models import Action
    from lfr_governance.audit.selectors import audit_events_filtered
    from lfr_governance.audit.services import record

    record(action=Action.ALTERATION, event="test.filter", actor_label="test", deployment_id=2)
    record(action=Action.ALTERATION, event="test.filter", actor_label="test", deployment_id=3)
    for typed in ("LFR-00002", "lfr-2", "00002", "2"):
        assert [e.deployment_id for e in audit_events_filtered(event="test.filter", deployment=typed)] == [2]
    for typed in ("99999999999999999999999", "LFR-x", "-1", "2; drop"):
        assert list(audit_events_filtered(event="test.filter", deployment=typed)) == []


def test_nested_serializer_errors_are_flattened_to_the_documented_shape():
    """{field: [messages]} however deep DRF nests them (a list's items say which item)."""
    from lfr_governance.api import _flat_fields

    nested = {"area_polygon": {"0": ["Expected a list of items."], "2": {"1": ["Not a number."]}},
              "title": ["This field is required."]}
    assert _flat_fields(nested) == {
        "area_polygon": ["item 1: Expected a list of items.", "item 3, item 2: Not a number."],
        "title": ["This field is required."],
    }
    assert _flat_fields(["Bad request."]) == {"non_field_errors": ["Bad request."]}
