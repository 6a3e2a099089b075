"""Uploads are held in memory, capped, and never written to a temporary file."""

import tempfile

import pytest
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.test import Client

pytestmark = pytest.mark.urls("tests.foundation.upload_urls")


@pytest.fixture
def no_temp_files(monkeypatch, tmp_path, settings):
    """Fails the test if anything creates a temporary file or a TemporaryUploadedFile."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a temporary file was created for an upload")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(TemporaryUploadedFile, "__init__", refuse)
    yield tmp_path
    assert calls == []
    assert list(tmp_path.iterdir()) == []


def _multipart(size: int):
    from io import BytesIO

    data = BytesIO(b"\xff\xd8" + b"\0" * (size - 2))
    data.name = "frame.jpg"
    return {"image": data}


def test_upload_under_the_cap_is_held_in_memory(no_temp_files, settings):
    settings.LFR_MAX_UPLOAD_BYTES = 3 * 1024 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = settings.LFR_MAX_UPLOAD_BYTES
    response = Client().post("/probe/upload", _multipart(2 * 1024 * 1024))
    assert response.status_code == 200
    assert response.json() == {"class": "InMemoryUploadedFile", "size": 2 * 1024 * 1024}


def test_upload_over_the_cap_is_refused_with_413_and_no_temp_file(no_temp_files, settings):
    settings.LFR_MAX_UPLOAD_BYTES = 1024 * 1024
    response = Client().post("/probe/upload", _multipart(2 * 1024 * 1024))
    assert response.status_code == 413
    assert "the most this service accepts in one request is 1,048,576 bytes" in response.content.decode()


def test_api_413_answers_in_json(no_temp_files, settings):
    settings.LFR_MAX_UPLOAD_BYTES = 1024 * 1024
    response = Client().post("/api/v1/anything", _multipart(2 * 1024 * 1024))
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "payload_too_large" and body["limit_bytes"] == 1024 * 1024
