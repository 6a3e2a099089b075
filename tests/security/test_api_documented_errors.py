"""The error answers that come from shared machinery, not from one view, are documented on every operation that can
give them (lfr_governance/schema.py) and say what was wrong and what to do (lfr_governance/api.py):

- a paginated list answers 400 for a bad `limit` or `offset` (Pagination), and the schema gives both their minimum;
- an operation that takes a body answers 415 for a body without a Content-Type, or of a type it does not parse.
  What the fuzzer first took for "multipart part names that are not UTF-8" is this: its WSGI transport sends a raw
  (non-object) multipart payload without a Content-Type header. A real multipart body with such part names is read
  (Django decodes the names with replacement characters) and answers the usual 400 naming the missing fields.
"""

import pytest
from rest_framework.test import APIClient

from deployments import services

pytestmark = pytest.mark.django_db

API = "/api/v1"
ERROR_KEYS = {"detail", "code", "fields"}


@pytest.fixture
def schema(client, who):
    client.force_login(who["intelligence_officer"])
    return client.get(f"{API}/schema/", {"format": "json"}).json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield f"{method.upper()} {path}", operation


def test_every_paginated_list_documents_400_and_the_smallest_limit_and_offset(schema):
    paginated = {name: op for name, op in _operations(schema)
                 if {"limit", "offset"} <= {p["name"] for p in op.get("parameters", [])}}
    assert {"GET /api/v1/deployments/", "GET /api/v1/watchlists/", "GET /api/v1/edge-nodes/",
            "GET /api/v1/watchlists/{id}/entries/"} <= set(paginated)
    for name, operation in paginated.items():
        assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}, name
        smallest = {p["name"]: p["schema"].get("minimum") for p in operation["parameters"]}
        assert (smallest["limit"], smallest["offset"]) == (1, 0), name


def test_every_operation_with_a_body_documents_415(schema):
    with_body = {name: op for name, op in _operations(schema) if "requestBody" in op}
    assert "POST /api/v1/deployments/{id}/authorise/" in with_body and "POST /api/edge/v1/frames" in with_body
    undocumented = [name for name, op in with_body.items() if "415" not in op["responses"]]
    assert not undocumented
    # Operations that take no body never answer it, so they do not document it.
    assert "415" not in dict(_operations(schema))["GET /api/v1/deployments/"]["responses"]


@pytest.mark.parametrize("path, query, field", [
    ("/deployments/", {"limit": "-1462927917493"}, "limit"),
    ("/watchlists/", {"offset": "-241"}, "offset"),
    ("/watchlists/", {"limit": "0"}, "limit"),
])
def test_a_bad_limit_or_offset_answers_the_documented_400_naming_it(who, path, query, field):
    client = APIClient()
    client.force_login(who["intelligence_officer"])
    response = client.get(f"{API}{path}", query)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == "invalid" and list(body["fields"]) == [field]
    assert "whole number" in body["fields"][field][0]


@pytest.fixture
def submitted(who, application):
    """An application before its authorising officer, who may post to its authorise endpoint."""
    services.deployment_submit(actor=who["intelligence_officer"], deployment=application,
                               authorising_officer=who["authorising_officer"])
    return application


def _authorise(who, deployment, body: bytes, content_type: str):
    client = APIClient()
    client.force_login(who["authorising_officer"])
    return client.generic("POST", f"{API}/deployments/{deployment.pk}/authorise/", body, content_type=content_type)


def test_a_body_without_a_content_type_answers_415_saying_what_to_send(who, submitted):
    response = _authorise(who, submitted, b"\x14\xf1\xa2\x81\x94", "")
    assert response.status_code == 415
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == "unsupported_media_type" and body["fields"] == {}
    assert '""' not in body["detail"]
    assert "no Content-Type header" in body["detail"]
    for media_type in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded"):
        assert media_type in body["detail"]


def test_a_body_of_a_type_the_endpoint_does_not_take_answers_415_naming_it(who, submitted):
    response = _authorise(who, submitted, b"authorised", "text/plain; charset=utf-8")
    assert response.status_code == 415
    detail = response.json()["detail"]
    assert "does not take a body of type text/plain:" in detail and "application/json" in detail


def test_multipart_part_names_that_are_not_utf8_answer_the_documented_400(who, submitted):
    body = b'--XB\r\nContent-Disposition: form-data; name="\xff\xfe\xf1"\r\n\r\nvalue\r\n--XB--\r\n'
    response = _authorise(who, submitted, body, "multipart/form-data; boundary=XB")
    assert response.status_code == 400
    assert response.json()["fields"] == {"reasons": ["This field is required."]}
