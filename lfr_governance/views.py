import logging
import sys

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .errors import error_response, is_api_request, status_error_response
from .health import DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_ERRORS, health_check

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    ok, checks = health_check()
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)


@login_required
def home(request):
    return render(request, "home.html")


# Under /api/ the error pages are the API's JSON body: an API client reads no HTML, and an edge node's request has no
# person to build the page's navigation for.


def error_404(request, exception):
    if is_api_request(request):
        return status_error_response(404)
    return render(request, "errors/404.html", status=404)


def database_unavailable_response():
    """The API's answer while PostgreSQL cannot be reached: 503 `unavailable` with Retry-After, one log line."""
    logger.error("The database cannot be reached: API requests are answered 503 until it is back.")
    response = error_response(503, "The server's database cannot be reached just now: nothing was stored. Retry "
                              "after Retry-After seconds, with backoff.", "unavailable")
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def error_500(request):
    if is_api_request(request):
        if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE_ERRORS):  # Django calls this inside its except block
            return database_unavailable_response()
        return status_error_response(500)
    return render(request, "errors/500.html", status=500)


def error_403(request, exception):
    if is_api_request(request):
        return status_error_response(403)
    return render(request, "errors/403.html", status=403)
