"""The project's OpenAPI schema class (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS).

Apart from lfr_governance/api.py because drf-spectacular's AutoSchema imports DRF's generic views, which load the
pagination class named in the settings (api.Pagination): api.py importing it would be a circle.
"""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse

from .api import ERROR_RESPONSES, PAGINATION_ERROR


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the error answers every operation of a kind can give whatever its view says:
    400 on a paginated list (Pagination refuses a bad limit or offset) and 415 on an operation that takes a body
    (DRF refuses a body with no Content-Type, or of a type the view does not parse). A view's own description of
    the same code is kept."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:  # excluded from the schema
            return None
        responses = operation.setdefault("responses", {})
        if self._is_list_view() and self._get_paginator() is not None:
            self._document(responses, "400", PAGINATION_ERROR)
        if "requestBody" in operation:
            self._document(responses, "415", ERROR_RESPONSES[415])
        return operation

    def _document(self, responses: dict, code: str, response: OpenApiResponse) -> None:
        if code not in responses:
            responses[code] = self._get_response_for_code(response, code)
