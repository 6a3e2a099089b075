"""API conventions shared by every app: errors as JSON that say which field and why."""

from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        body = {"detail": str(data["detail"]), "code": getattr(data["detail"], "code", "error"), "fields": {}}
    else:
        body = {"detail": "The request has errors: see fields.", "code": "invalid", "fields": data}
    response.data = body
    return response
