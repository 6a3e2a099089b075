import json
import logging
import re

from django.conf import settings
from django.http import HttpResponse

from .request_context import client_ip_var, new_request_id, request_id_var

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Bulk watchlist imports (CSV plus a ZIP of reference images) may be larger than a frame.
_LARGE_UPLOAD_RE = re.compile(r"/imports?/(new/)?$")


class UploadSizeLimitMiddleware:
    """Answers 413 for a body over LFR_MAX_UPLOAD_BYTES before any of it is read.

    Uploads below the cap are held in memory (FILE_UPLOAD_HANDLERS has only the memory handler),
    so no request body ever reaches a temporary file.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.LFR_MAX_UPLOAD_BYTES
        if _LARGE_UPLOAD_RE.search(request.path):
            limit = settings.LFR_BULK_IMPORT_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            message = (
                f"The upload is {length:,} bytes; the most this service accepts in one request is "
                f"{limit:,} bytes. Send a smaller file (for a frame: lower the JPEG quality or resolution)."
            )
            if "json" in request.META.get("HTTP_ACCEPT", "") or request.path.startswith("/api/"):
                body = json.dumps({"detail": message, "code": "payload_too_large", "limit_bytes": limit})
                response = HttpResponse(body, status=413, content_type="application/json")
            else:
                response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
            # The unread body must not be reused on a kept-alive connection.
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class RequestIdMiddleware:
    """Gives every request an id that ties its log lines and audit rows together."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else new_request_id()
        request.request_id = request_id
        rid_token = request_id_var.set(request_id)
        ip_token = client_ip_var.set(request.META.get("REMOTE_ADDR"))
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(rid_token)
            client_ip_var.reset(ip_token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
