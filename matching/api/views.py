"""Edge API: what a registered edge node may call, and only while its deployment is live.

Thin views: the node comes from its token (EdgeNodeTokenAuthentication), the checks and the queueing
are services. A refusal answers {"detail", "code", "fields"} with its own status and stores nothing;
where the node's deployment is known, the refusal is counted on it.
"""

import logging
import threading
import time

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from lfr_governance.errors import REQUEST_REFUSALS
from lfr_governance.health import DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_ERRORS

from .. import frames, selectors, services
from .authentication import EdgeNodeTokenAuthentication, IsEdgeNode
from .serializers import (
    DetectionsInputSerializer,
    EdgeErrorSerializer,
    FrameInputSerializer,
    QueuedOutputSerializer,
    StatusOutputSerializer,
)

TAGS = ["edge"]
logger = logging.getLogger(__name__)
REFUSALS = {
    400: OpenApiResponse(EdgeErrorSerializer, description="Bad input or image (bad_image, invalid, too_many_crops, "
                                                          "too_many_files, too_many_fields): `fields` names the "
                                                          "field and says why."),
    401: OpenApiResponse(EdgeErrorSerializer, description="Unknown or revoked token."),
    403: OpenApiResponse(EdgeErrorSerializer, description="The node is not bound to a live deployment (not_live)."),
    409: OpenApiResponse(EdgeErrorSerializer, description="This frame id was already received (duplicate_frame), or "
                                                          "the frame was captured before the frame queue last "
                                                          "restarted (captured_before_restart): do not resend."),
    413: OpenApiResponse(EdgeErrorSerializer, description="The image is too large (image_too_large)."),
    422: OpenApiResponse(EdgeErrorSerializer, description="captured_at is outside the deployment's window "
                                                          "(outside_window) or too far from server time (clock_skew)."),
    429: OpenApiResponse(EdgeErrorSerializer, description="Too many requests from this node (rate_limited)."),
    503: OpenApiResponse(EdgeErrorSerializer, description="The frame queue or the database is unreachable "
                                                       "(unavailable), the live deployment's frames cannot be "
                                                       "matched now (not_matching), or the workers are behind and "
                                                       "the frame would wait too long (busy: drop the oldest "
                                                       "frames you hold and send the newest): "
                                                       "retry after Retry-After."),
}


# Under overload most requests are refused `busy`: one warning per process every BUSY_LOG_SECONDS says how many,
# instead of Django's error line per refused request (hundreds a second, drowning anything else in the log).
BUSY_LOG_SECONDS = 10.0
_busy = {"count": 0, "since": 0.0}
_busy_lock = threading.Lock()


def _busy_logged() -> None:
    now = time.monotonic()
    with _busy_lock:
        _busy["count"] += 1
        if now - _busy["since"] < BUSY_LOG_SECONDS:
            return
        count, _busy["count"], _busy["since"] = _busy["count"], 0, now
    logger.warning("%d frame(s) refused busy since the last report: the frames workers are behind the load "
                   "(see the deployments' refused counts).", count)


def _refusal_response(refusal: services.EdgeRefusal) -> Response:
    fields = {refusal.field: [refusal.message]} if refusal.field else {}
    response = Response({"detail": refusal.message, "code": refusal.code, "fields": fields}, status=refusal.status)
    if refusal.retry_after:
        response["Retry-After"] = str(refusal.retry_after)
    if refusal.code == "busy":
        response._has_been_logged = True  # counted in the warning above, not one error line per request
        _busy_logged()
    return response


def _drain(request) -> None:
    """Reads and drops what is left of the request body (at most the upload cap, which the middleware
    enforces), so a refusal made before the body was parsed (token, not live, rate) leaves the kept-alive
    connection clean: without it the next request on the connection can find the server gone."""
    django_request = getattr(request, "_request", request)
    try:
        while django_request.read(65536):
            pass
    except Exception:  # already parsed (RawPostDataException) or the client went away
        pass


class EdgeApiView(APIView):
    authentication_classes = [EdgeNodeTokenAuthentication]
    permission_classes = [IsEdgeNode]
    parser_classes = [MultiPartParser, FormParser]
    renderer_classes = [JSONRenderer]  # nodes read JSON; no browsable page to negotiate on every frame
    throttle_classes = []  # the per-node rate limit is the service's own (services.edge_admit)

    def handle_exception(self, exc):
        if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):  # PostgreSQL down: the node retries, nothing was queued
            logger.error("The database cannot be reached: edge requests are refused until it is back.")
            response = Response({"detail": "The server's database cannot be reached just now: nothing was queued. "
                                 "Retry after Retry-After seconds, with backoff.", "code": "unavailable",
                                 "fields": {}}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
            response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        _drain(request)
        return super().finalize_response(request, response, *args, **kwargs)

    def _admit_and_validate(self, request, serializer_class):
        """The live deployment and the validated input; refusals counted on the deployment."""
        deployment = services.edge_admit(node=request.auth, live=request.user.live_deployment)
        try:
            serializer = serializer_class(data=request.data)
            serializer.is_valid(raise_exception=True)
        except (APIException, ParseError, *REQUEST_REFUSALS):  # the last: too many parts, answered in JSON
            services.edge_refusal_count(deployment)
            raise
        return deployment, serializer.validated_data


class FrameIngestApi(EdgeApiView):
    @extend_schema(
        tags=TAGS, operation_id="edge_frame_post", request={"multipart/form-data": FrameInputSerializer},
        responses={202: QueuedOutputSerializer, **REFUSALS},
        summary="Send one frame",
        description="Queues a frame for matching. The frame is held in memory only and deleted once processed.",
    )
    def post(self, request):
        received_at = time.time()
        try:
            deployment, data = self._admit_and_validate(request, FrameInputSerializer)
            queued = services.frame_receive(
                node=request.auth, deployment=deployment, image=data["image"].read(), frame_id=data["frame_id"],
                captured_at=data["captured_at"], camera=data["camera"], received_at=received_at,
            )
        except services.EdgeRefusal as refusal:
            return _refusal_response(refusal)
        return Response(QueuedOutputSerializer(queued).data, status=status.HTTP_202_ACCEPTED)


class DetectionsIngestApi(EdgeApiView):
    @extend_schema(
        tags=TAGS, operation_id="edge_detections_post", request={"multipart/form-data": DetectionsInputSerializer},
        responses={202: QueuedOutputSerializer, **REFUSALS},
        summary="Send face crops detected on the node",
        description="Queues one or more face crops of one frame, each with its five landmarks or none (then the "
                    "server detects the face inside the crop).",
    )
    def post(self, request):
        received_at = time.time()
        try:
            deployment, data = self._admit_and_validate(request, DetectionsInputSerializer)
            crops = [frames.DetectionCrop(upload.read(), landmarks)
                     for upload, landmarks in zip(data["crops"], data["landmarks"], strict=True)]
            queued = services.detections_receive(
                node=request.auth, deployment=deployment, crops=crops, frame_id=data["frame_id"],
                captured_at=data["captured_at"], camera=data["camera"], received_at=received_at,
            )
        except services.EdgeRefusal as refusal:
            return _refusal_response(refusal)
        return Response(QueuedOutputSerializer(queued).data, status=status.HTTP_202_ACCEPTED)


class EdgeStatusApi(EdgeApiView):
    @extend_schema(tags=TAGS, operation_id="edge_status", responses={200: StatusOutputSerializer, 401: REFUSALS[401]},
                   summary="The node's deployment, whether it is live, its window and the server time")
    def get(self, request):
        answer = selectors.edge_status(node=request.auth, live=request.user.live_deployment)
        return Response(StatusOutputSerializer(answer).data)
