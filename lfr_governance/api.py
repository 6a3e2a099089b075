"""API conventions shared by every app: errors as JSON that say which field and why.

Every error body is {"detail": str, "code": str, "fields": {field: [messages]}}. Services raise
Django's ValidationError (a Conflict, 409, where the object's state clashes with the request) and the upload
checks raise ImageRefused; all are turned into that shape here, so no view has to catch them. Bodies Django
refuses to parse (too many files or fields) get the same shape, and so does a body whose Content-Type is missing or
not one the endpoint takes (415, saying which it takes).

The schema class (lfr_governance/schema.py, REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) documents the answers that come
from this shared machinery rather than from one view: a 400 on every paginated list (Pagination refuses a bad limit
or offset) and a 415 on every operation that takes a body.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import REQUEST_REFUSALS, Conflict, request_refusal
from .images import ImageRefused
from rest_framework.views import set_rollback


def _django_validation_error_body(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        fields = {
            (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): list(messages)
            for name, messages in exc.message_dict.items()
        }
        only_general = list(fields) == [api_settings.NON_FIELD_ERRORS_KEY]
        detail = " ".join(exc.messages) if only_general else "The request has errors: see fields."
    else:
        # A list of problems (e.g. why a freeze is refused): each one listed, and all of them in detail.
        fields = {api_settings.NON_FIELD_ERRORS_KEY: list(exc.messages)}
        detail = " ".join(exc.messages)
    return {"detail": detail, "code": "invalid", "fields": fields}


def exception_handler(exc, context):
    if isinstance(exc, Conflict):
        set_rollback()
        body = _django_validation_error_body(exc)
        return Response({**body, "code": exc.code or "conflict"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, REQUEST_REFUSALS):
        code, error, detail = request_refusal(exc)
        return Response({"detail": detail, "code": error, "fields": {}}, status=code)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(_django_validation_error_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ImageRefused):
        body = {"detail": exc.message, "code": exc.code, "fields": {"image": [exc.message]}}
        set_rollback()
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, UnsupportedMediaType):
        return Response({"detail": _unsupported_media_type_detail(context.get("request")),
                         "code": exc.default_code, "fields": {}}, status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        body = {"detail": str(data["detail"]), "code": getattr(data["detail"], "code", "error"), "fields": {}}
    else:
        body = {"detail": "The request has errors: see fields.", "code": "invalid", "fields": _flat_fields(data)}
    response.data = body
    return response


def _unsupported_media_type_detail(request) -> str:
    """What was wrong with the body's Content-Type, and the types this endpoint takes (its parsers)."""
    sent = (getattr(request, "content_type", "") or "").split(";")[0].strip()
    accepted = [parser.media_type for parser in getattr(request, "parsers", None) or ()]
    wrong = (f"This endpoint does not take a body of type {sent}" if sent else
             "The request has a body but no Content-Type header saying what it is")
    if not accepted:
        return f"{wrong}: it takes no body."
    return f"{wrong}: send the body as {' or '.join(accepted)}, with a Content-Type header naming it."


def _messages(value, where: str = "") -> list[str]:
    """A field's errors as plain messages: nested ones (a list's items, an object's keys) say where they are."""
    if isinstance(value, dict):
        return [m for key, inner in value.items() for m in _messages(inner, _place(where, key))]
    if isinstance(value, (list, tuple)):
        return [m for inner in value for m in _messages(inner, where)]
    return [f"{where}: {value}" if where else str(value)]


def _place(where: str, key) -> str:
    here = f"item {int(key) + 1}" if str(key).isdigit() else str(key)
    return f"{where}, {here}" if where else here


def _flat_fields(data) -> dict[str, list[str]]:
    """DRF's errors as the documented shape: {field: [messages]} (messages about no single field under
    non_field_errors), however deep the serializer nested them."""
    if not isinstance(data, dict):
        return {api_settings.NON_FIELD_ERRORS_KEY: _messages(data)}
    return {str(field): _messages(value) for field, value in data.items()}


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer (exception_handler above)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field; messages about no single field are under non_field_errors.",
    )


# 403 also answers a request that is not signed in (session authentication sends no challenge).
ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input: `fields` says which field and why."),
    403: OpenApiResponse(ErrorSerializer, description="Not signed in, or not allowed to do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or not one you may see."),
    409: OpenApiResponse(ErrorSerializer, description="The object's state does not allow this now (`code` says "
                                                      "why, e.g. already_reviewed)."),
    415: OpenApiResponse(ErrorSerializer, description="The body has no Content-Type, or one this endpoint does not "
                                                      "take (unsupported_media_type): `detail` names those it takes."),
}
# The answer to a bad limit or offset, documented on every paginated list (lfr_governance/schema.py).
PAGINATION_ERROR = OpenApiResponse(ErrorSerializer, description="Invalid input: `fields` says which field and why "
                                                                "(e.g. a limit or offset that is not a whole number "
                                                                "in range).")


class Pagination(LimitOffsetPagination):
    """limit and offset as whole numbers, else a 400 naming the parameter; limit at most max_limit (a larger one is
    clamped, as DRF does), so no number reaches the database outside its range."""

    max_limit = 500

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return self.default_limit
        return min(self._whole_number(self.limit_query_param, raw, smallest=1), self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        # Past the end is an empty page: DRF slices only offsets up to the row count.
        return self._whole_number(self.offset_query_param, raw, smallest=0)

    def get_schema_operation_parameters(self, view):
        """limit and offset with the smallest value each takes (a larger limit is clamped to max_limit, not refused)."""
        parameters = super().get_schema_operation_parameters(view)
        smallest = {self.limit_query_param: 1, self.offset_query_param: 0}
        for parameter in parameters:
            if parameter["name"] in smallest:
                parameter["schema"] = {**parameter["schema"], "minimum": smallest[parameter["name"]]}
        return parameters

    @staticmethod
    def _whole_number(name: str, raw: str, *, smallest: int) -> int:
        # ASCII digits only (int() would also take "+5", " 5", "5_0" and other scripts' digits), and few enough of
        # them to read cheaply.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 40) or int(raw) < smallest:
            most = f" (at most {Pagination.max_limit} rows are answered at once)" if name == "limit" else ""
            raise serializers.ValidationError({name: [f"Give {name} as a whole number of {smallest} or more{most}."]})
        return int(raw)


def api_errors(*codes: int) -> dict:
    """The documented error answers of an endpoint, for extend_schema(responses=...)."""
    return {code: ERROR_RESPONSES[code] for code in codes}
