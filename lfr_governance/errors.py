"""Errors a service raises that the pages and the API answer alike, and the API's error body outside DRF.

The body is the one every API error has (lfr_governance/api.py): {"detail": str, "code": str, "fields": {...}}.
Built here with Django alone, so middleware and the error views can answer it before DRF is involved.
"""

import json
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, ValidationError
from django.http import HttpResponse

from .request_context import request_id_var

API_PREFIX = "/api/"
# Bodies Django refuses while parsing them (SuspiciousOperation, otherwise answered as a bare HTML 400).
REQUEST_REFUSALS = (TooManyFilesSent, TooManyFieldsSent, RequestDataTooBig)


class Conflict(ValidationError):
    """The request is sound but clashes with the object's state now (a second review of one deployment): the API
    answers 409 with the error's code; pages show it as any other refusal. A ValidationError, so every view that
    already puts a service's refusal on its form keeps doing so."""


def is_api_request(request) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, detail: str, code: str, fields: dict | None = None) -> HttpResponse:
    body = {"detail": detail, "code": code, "fields": fields or {}}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


_BY_STATUS = {
    400: ("bad_request", "The request could not be read: check its address, headers and body against the API's "
                         "schema (/api/v1/schema/)."),
    401: ("not_authenticated", "Send the credentials this endpoint needs."),
    403: ("permission_denied", "You are not allowed to do this."),
    404: ("not_found", "There is nothing at this address: check it against the API's schema (/api/v1/schema/)."),
    405: ("method_not_allowed", "This endpoint does not take that method: see the Allow header."),
    413: ("payload_too_large", "The request is too large."),
}


def status_error_response(status: int) -> HttpResponse:
    """The API's error body for a bare status (a page Django would otherwise render): never a debug page."""
    if status >= 500:
        code, detail = "server_error", (
            f"The server could not answer this request. The problem has been logged with reference "
            f"{request_id_var.get()}: retry later, and give that reference if it persists.")
    else:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        code, detail = _BY_STATUS.get(status, ("error", f"{phrase}."))
    return error_response(status, detail, code)


def request_refusal(exc: Exception) -> tuple[int, str, str]:
    """(status, code, detail) for a body Django refused to parse (one of REQUEST_REFUSALS)."""
    if isinstance(exc, TooManyFilesSent):
        return 400, "too_many_files", (f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files, "
                                       "the most accepted in one request: send fewer.")
    if isinstance(exc, TooManyFieldsSent):
        return 400, "too_many_fields", (f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields "
                                        "(form fields and query parameters), the most accepted in one request: "
                                        "send fewer.")
    return 413, "payload_too_large", (f"The request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} "
                                      "bytes accepted: send less.")
