import json
import logging
import re

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponse, QueryDict

from .errors import REQUEST_REFUSALS, error_response, is_api_request, request_refusal, status_error_response
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
                body = json.dumps({"detail": message, "code": "payload_too_large", "fields": {},
                                   "limit_bytes": limit})
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


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, plus the additions LFR_CSP_VIEW_UPDATES names for one view (the ReDoc page).

    A view's own csp_update / csp_replace decorator still wins; this only fills in where a view has none.
    """

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        match = getattr(request, "resolver_match", None)
        extra = settings.LFR_CSP_VIEW_UPDATES.get(match.view_name) if match else None
        if extra and not report_only and parts.update is None:
            parts.update = extra
        return parts


class ClientErrorStackFilter(logging.Filter):
    """Drops the stack from log lines about refusals that are the caller's doing (403, 404, a body Django will not
    parse): Django logs those with the exception attached, a traceback per refused request. The line stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], (PermissionDenied, Http404, SuspiciousOperation)):
            record.exc_info = record.exc_text = None
        return True


class ApiErrorBodyMiddleware:
    """Every error answer under /api/ is the API's JSON error body. One the API did not render itself (Django's
    debug pages when DEBUG is on, which list the settings and the request, its default error pages) is replaced
    by the body for its status, keeping the headers a client acts on."""

    KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After", "Connection")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code >= 400 and is_api_request(request)
                and getattr(response, "accepted_renderer", None) is None  # not rendered by DRF
                and not response.get("Content-Type", "").startswith("application/json")):
            replaced = status_error_response(response.status_code)
            for header in self.KEPT_HEADERS:
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response


# A JSON string escape of NUL: "\u0000" not preceded by an escaped backslash ("\\u0000" is text).
_JSON_NUL_RE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_EDGE_API_PREFIX = "/api/edge/"
NUL_MESSAGE = "Remove the NUL character (\\u0000): text may not contain it."


class RequestInputMiddleware:
    """Refuses input no view can store, before any view or the database sees it: a NUL character (PostgreSQL's text
    and jsonb cannot hold one) in the path, the query, a cookie, a form field or a JSON body (400, naming where),
    and a query or form with more fields or files than Django parses (400) or a body over its size (413).

    The edge API's bodies are left to its serializers, which refuse NUL in every field and answer too many parts
    themselves: parsing a frame here would read it before the node's token is checked.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            found = _nul_found(request)
        except REQUEST_REFUSALS as exc:
            return _input_refusal(request, *request_refusal(exc))
        if found:
            where, field = found
            return _input_refusal(request, 400, "nul_character", f"{where}: {NUL_MESSAGE}", field)
        return self.get_response(request)


def _input_refusal(request, status: int, code: str, message: str, field: str | None = None) -> HttpResponse:
    if is_api_request(request) or "json" in request.META.get("HTTP_ACCEPT", ""):
        return error_response(status, message, code, {field: [NUL_MESSAGE]} if field else None)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _nul_found(request) -> tuple[str, str | None] | None:
    """(where, the field's name if a field) of the first NUL in the request's input, or None."""
    if "\x00" in request.path:
        return "The address", None
    name = _nul_in_pairs(request.GET.lists())
    if name is not None:
        return f"The query parameter {name}", name
    name = _nul_in_pairs(request.COOKIES.items())
    if name is not None:
        return f"The cookie {name}", None
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith(_EDGE_API_PREFIX):
        return None
    content_type = request.content_type or ""
    if request.method == "POST" and content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = request.POST
    elif content_type == "application/x-www-form-urlencoded":  # Django parses only POST bodies into request.POST
        form = QueryDict(request.body, encoding=request.encoding)
    elif "json" in content_type:
        if not _JSON_NUL_RE.search(request.body):
            return None
        name = _nul_in_json(request.body)
        return (f"The field {name}", name) if name is not None else ("The body", None)
    else:
        return None
    name = _nul_in_pairs(form.lists())
    if name is None:
        name = _nul_in_pairs((field, [upload.name for upload in uploads]) for field, uploads in request.FILES.lists())
    return (f"The field {name}", name) if name is not None else None


def _nul_in_pairs(pairs) -> str | None:
    """The name of the first (name, value or values) pair with a NUL in either, printable."""
    for name, values in pairs:
        values = values if isinstance(values, list) else [values]
        if "\x00" in name or any("\x00" in (value or "") for value in values):
            return name.replace("\x00", "\\u0000")
    return None


def _nul_in_json(body: bytes) -> str | None:
    """The top-level key holding the NUL (the field the API would name), if the body is a JSON object."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None  # the API's parser refuses it in its own words
    if not isinstance(data, dict):
        return None
    for key, value in data.items():
        if "\x00" in key or _holds_nul(value):
            return key.replace("\x00", "\\u0000")
    return None


def _holds_nul(value) -> bool:
    pending = [value]
    while pending:  # no recursion: the body may nest as deep as the parser allowed
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


SESSION_SIGNED_IN_AT_KEY = "lfr_signed_in_at"


class SessionAgeLimitMiddleware:
    """Signs out a session LFR_SESSION_MAX_AGE_SECONDS after it signed in, however active (the idle limit is
    SESSION_COOKIE_AGE). The next page then asks for a sign-in as for anyone signed out; the sign-out is audited."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.contrib.auth import logout
        from django.utils import timezone

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Wall-clock time, as Django's own session expiry uses: a session's age is not demo or test history.
            now = timezone.now().timestamp()
            signed_in_at = request.session.get(SESSION_SIGNED_IN_AT_KEY)
            if not isinstance(signed_in_at, (int, float)):
                request.session[SESSION_SIGNED_IN_AT_KEY] = now  # the first request after sign-in
            elif now - signed_in_at > settings.LFR_SESSION_MAX_AGE_SECONDS:
                logout(request)
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """A signed-in person reaches no page and no session API until the second factor is given (django-otp's
    OTPMiddleware, before this one, sets request.user.is_verified). Pages redirect to enrolment or verification;
    /api/v1/ answers 403 in the API's body. The edge API (node tokens, no session) and static files pass."""

    OPEN_PATHS = ("/login/", "/logout/", "/mfa/", "/static/", "/healthz", "/api/edge/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        verified = getattr(user, "is_verified", lambda: False)  # no OTPMiddleware before this one: not verified
        if (user is not None and user.is_authenticated and not verified()
                and not request.path.startswith(self.OPEN_PATHS)):
            from django.shortcuts import redirect
            from django.urls import reverse
            from django.utils.http import urlencode

            if is_api_request(request):
                return error_response(403, "Give the second factor first: sign in at /login/ and enter your "
                                           "authenticator app's code.", "second_factor_required")
            return redirect(f"{reverse('mfa-verify')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
