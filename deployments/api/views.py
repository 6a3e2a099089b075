"""Deployments API: thin views that fetch through the selectors and act through the services.

Every deployment is fetched with selectors.deployment_get, which answers 404 alike for missing and
forbidden deployments; the service then re-checks what the person may do and raises PermissionDenied
(403). Django ValidationError, PermissionDenied and Http404 become the JSON error body in
lfr_governance.api.exception_handler, so no view catches them. Transitions are POST endpoints; there
is no writable status. The published record is the only part open without signing in.
"""

import csv
import io

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from lfr_governance.api import Pagination, api_errors
from lfr_governance.permissions import NOT_FOUND, not_found, require_role_perm
from lfr_governance.images import ImageRefused

from .. import selectors, services
from ..choices import DeploymentStatus
from ..models import Authorisation, Deployment, EdgeNode, SignageRecord
from .serializers import (
    AuthorisationOutputSerializer,
    AuthoriseInputSerializer,
    CancelInputSerializer,
    ConfirmInputSerializer,
    DeploymentDetailOutputSerializer,
    DeploymentInputSerializer,
    DeploymentOutputSerializer,
    EdgeNodeInputSerializer,
    EdgeNodeOutputSerializer,
    EdgeNodeRegisterOutputSerializer,
    LeafletInputSerializer,
    LeafletOutputSerializer,
    OperatorAssignInputSerializer,
    OperatorAssignOutputSerializer,
    PublishedRecordSerializer,
    RejectInputSerializer,
    ReviewInputSerializer,
    SignageInputSerializer,
    SignageOutputSerializer,
    SignageRemovedInputSerializer,
    SubmitInputSerializer,
)

TAGS = ["deployments"]
EDGE_TAGS = ["edge nodes"]
PUBLIC_TAGS = ["published"]
TOKEN_NOTE = "Copy this token into the edge node now: it will not be shown again (only its hash is stored)."
_errors = api_errors


# --- Fetching and answering ------------------------------------------------------------------


def _authorisation_get(user, pk: int) -> Authorisation:
    authorisation = Authorisation.objects.select_related("deployment").filter(pk=pk).first()
    if authorisation is None:
        raise Http404(NOT_FOUND)  # the words deployment_get uses for a forbidden one
    selectors.deployment_get(user, authorisation.deployment_id)
    return authorisation


def _sign_get(user, pk: int) -> SignageRecord:
    sign = SignageRecord.objects.select_related("deployment", "placed_by").filter(pk=pk).first()
    if sign is None:
        raise Http404(NOT_FOUND)
    sign.deployment = selectors.deployment_get(user, sign.deployment_id)
    return sign


def _deployment_data(deployment: Deployment) -> dict:
    """The detail answer; read again after a change, so it shows what the service wrote."""
    d = (Deployment.objects.select_related("applicant", "team", "authorising_officer", "watchlist_version",
                                           "review__reviewed_by")
         .prefetch_related("edge_nodes", "operators").get(pk=deployment.pk))
    version = d.watchlist_version
    decisions = list(d.authorisations.select_related("authorising_officer"))
    current = selectors.current_authorisation(d)
    review = getattr(d, "review", None)
    data = {
        "id": d.pk, "status": d.status, "applicant": d.applicant.get_username(), "team": d.team.name,
        **{name: getattr(d, name) for name in services.APPLICATION_FIELDS},
        "watchlist": version.watchlist_id, "watchlist_version": version.pk, "watchlist_digest": version.digest,
        "watchlist_size": version.size, "pack_id": version.pack_id,
        "edge_nodes": list(d.edge_nodes.all()),
        # A pack without a usable calibration gives the proposal's `error` rather than failing.
        "proposal": selectors.deployment_thresholds(d),
        "authorising_officer": d.authorising_officer.get_username() if d.authorising_officer else None,
        "authorisation": current, "decisions": decisions,
        "go_live_problems": selectors.go_live_problems(d) if d.status == DeploymentStatus.SCHEDULED else [],
        "operators": sorted(user.get_username() for user in d.operators.all()),
        "signs": list(d.signs.select_related("placed_by")),
        "leaflets": list(d.leaflets.select_related("distributed_by")),
        "review": review,
        "cancelled_reason": d.cancelled_reason, "went_live_at": d.went_live_at, "ended_at": d.ended_at,
        "created_at": d.created_at, "updated_at": d.updated_at,
    }
    return DeploymentDetailOutputSerializer(data).data


def _detail_response(request, deployment: Deployment, code: int = status.HTTP_200_OK) -> Response:
    # Read through the selector again: the answer shows only what this person may see.
    return Response(_deployment_data(selectors.deployment_get(request.user, deployment.pk)), status=code)


def _parsed(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Deployments -----------------------------------------------------------------------------


class DeploymentListCreateApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="deployment_list", tags=TAGS, summary="Deployments you may see",
        description="Your team's applications, those submitted to you, and those you operate; newest start first.",
        responses={200: DeploymentOutputSerializer(many=True), **_errors(403)},
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.deployments_visible(request.user), request, view=self)
        return paginator.get_paginated_response(DeploymentOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="deployment_create", tags=TAGS, summary="Apply for a deployment (intelligence officer)",
        description="Creates a draft for your team. `threshold` and `threshold_greyscale` default to their proposals "
                    "(from the force's target, the watchlist's size and `confirmation_frames`, which defaults to 2); "
                    "below a proposal a threshold needs `threshold_justification`.",
        request=DeploymentInputSerializer,
        responses={201: DeploymentDetailOutputSerializer, **_errors(400, 403)},
    )
    def post(self, request):
        values = _parsed(DeploymentInputSerializer, request)
        deployment = services.deployment_create(actor=request.user, **values)
        response = _detail_response(request, deployment, status.HTTP_201_CREATED)
        response["Location"] = reverse("deployments_api:deployment-detail", args=[deployment.pk])
        return response


class DeploymentDetailApi(APIView):
    @extend_schema(
        operation_id="deployment_retrieve", tags=TAGS, summary="A deployment and its record",
        description="The application, status, current authorisation and every decision, signage and leaflet "
                    "records, and the threshold proposal with the expected false alerts per condition.",
        responses={200: DeploymentDetailOutputSerializer, **_errors(403, 404)},
    )
    def get(self, request, pk: int):
        return Response(_deployment_data(selectors.deployment_get(request.user, pk)))

    @extend_schema(
        operation_id="deployment_update", tags=TAGS, summary="Change the application",
        description="Only the fields sent change. Changing what an authorisation binds (location, area, times, "
                    "edge nodes, either threshold, frames to confirm a match, watchlist version) voids it and returns "
                    "the "
                    "deployment to draft.",
        request=DeploymentInputSerializer,
        responses={200: DeploymentDetailOutputSerializer, **_errors(400, 403, 404)},
    )
    def patch(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        values = _parsed(DeploymentInputSerializer, request, partial=True)
        deployment = services.deployment_update(actor=request.user, deployment=deployment, **values)
        return _detail_response(request, deployment)


# --- Transitions -----------------------------------------------------------------------------


class DeploymentSubmitApi(APIView):
    @extend_schema(
        operation_id="deployment_submit", tags=TAGS, summary="Submit to an authorising officer",
        description="The officer must hold the authorising officer role and rank, and cannot be the applicant.",
        request=SubmitInputSerializer, responses={200: DeploymentDetailOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        values = _parsed(SubmitInputSerializer, request)
        services.deployment_submit(actor=request.user, deployment=deployment, **values)
        return _detail_response(request, deployment)


class DeploymentWithdrawApi(APIView):
    @extend_schema(
        operation_id="deployment_withdraw", tags=TAGS, summary="Withdraw a submission back to draft",
        request=None, responses={200: DeploymentDetailOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        services.deployment_withdraw(actor=request.user, deployment=deployment)
        return _detail_response(request, deployment)


class DeploymentAuthoriseApi(APIView):
    @extend_schema(
        operation_id="deployment_authorise", tags=TAGS, summary="Authorise (the named authorising officer)",
        description="Binds the watchlist digest, location, area, times, edge nodes, both thresholds (colour and "
                    "greyscale) and frames to confirm a match, and records the figures shown (`estimate`). An urgent "
                    "oral authorisation needs a written confirmation within the set time.",
        request=AuthoriseInputSerializer, responses={200: DeploymentDetailOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        values = _parsed(AuthoriseInputSerializer, request)
        services.deployment_authorise(actor=request.user, deployment=deployment, **values)
        return _detail_response(request, deployment)


class DeploymentRejectApi(APIView):
    @extend_schema(
        operation_id="deployment_reject", tags=TAGS, summary="Reject with reasons (the named authorising officer)",
        request=RejectInputSerializer, responses={200: DeploymentDetailOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        values = _parsed(RejectInputSerializer, request)
        services.deployment_reject(actor=request.user, deployment=deployment, **values)
        return _detail_response(request, deployment)


class DeploymentScheduleApi(APIView):
    @extend_schema(
        operation_id="deployment_schedule", tags=TAGS, summary="Schedule an authorised deployment",
        description="Processing then opens by itself at the start time, once signage is recorded in place.",
        request=None, responses={200: DeploymentDetailOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        services.deployment_schedule(actor=request.user, deployment=deployment)
        return _detail_response(request, deployment)


class DeploymentCancelApi(APIView):
    @extend_schema(
        operation_id="deployment_cancel", tags=TAGS, summary="Cancel (the applicant's team or the officer)",
        description="Possible from any state before ended; needs a reason.",
        request=CancelInputSerializer, responses={200: DeploymentDetailOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        values = _parsed(CancelInputSerializer, request)
        services.deployment_cancel(actor=request.user, deployment=deployment, **values)
        return _detail_response(request, deployment)


class DeploymentReviewApi(APIView):
    @extend_schema(
        operation_id="deployment_review", tags=TAGS, summary="Record the post-deployment review",
        request=ReviewInputSerializer,
        responses={200: DeploymentDetailOutputSerializer, **_errors(400, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        values = _parsed(ReviewInputSerializer, request)
        services.deployment_review(actor=request.user, deployment=deployment, **values)
        return _detail_response(request, deployment)


class AuthorisationConfirmApi(APIView):
    @extend_schema(
        operation_id="authorisation_confirm", tags=TAGS, summary="Confirm an urgent oral authorisation in writing",
        description="Only the officer who gave the oral authorisation can confirm it; a late one is recorded as late.",
        request=ConfirmInputSerializer, responses={200: AuthorisationOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        authorisation = _authorisation_get(request.user, pk)
        values = _parsed(ConfirmInputSerializer, request)
        authorisation = services.authorisation_confirm_in_writing(actor=request.user, authorisation=authorisation,
                                                                  **values)
        return Response(AuthorisationOutputSerializer(authorisation).data)


# --- Signage, leaflets, operators ------------------------------------------------------------


class DeploymentSignageCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        operation_id="deployment_signage_add", tags=TAGS, summary="Record a sign placed",
        description="Multipart, with an optional photo (JPEG or PNG). A deployment goes live only with a sign in "
                    "place.",
        request={"multipart/form-data": SignageInputSerializer, "application/json": SignageInputSerializer},
        responses={201: SignageOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        values = _parsed(SignageInputSerializer, request)
        photo = values.pop("photo", None)
        if photo is not None:
            values.update(photo=photo.read(), photo_name=photo.name)
        try:
            sign = services.signage_record_add(actor=request.user, deployment=deployment, **values)
        except ImageRefused as exc:
            # The shared handler names the field `image`; here the refused file is the `photo`.
            raise ValidationError({"photo": exc.message}) from None
        return Response(SignageOutputSerializer(sign).data, status=status.HTTP_201_CREATED)


class SignageRemovedApi(APIView):
    @extend_schema(
        operation_id="signage_removed", tags=TAGS, summary="Record a sign removed",
        request=SignageRemovedInputSerializer, responses={200: SignageOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        sign = _sign_get(request.user, pk)
        values = _parsed(SignageRemovedInputSerializer, request)
        sign = services.signage_record_removed(actor=request.user, sign=sign, **values)
        return Response(SignageOutputSerializer(sign).data)


class DeploymentLeafletCreateApi(APIView):
    @extend_schema(
        operation_id="deployment_leaflet_add", tags=TAGS, summary="Record leaflets handed out",
        request=LeafletInputSerializer, responses={201: LeafletOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        values = _parsed(LeafletInputSerializer, request)
        leaflet = services.leaflet_record_add(actor=request.user, deployment=deployment, **values)
        return Response(LeafletOutputSerializer(leaflet).data, status=status.HTTP_201_CREATED)


class _DeploymentOperatorChangeApi(APIView):
    """Gives or takes back one operator's console (the subclass names the service and documents it)."""

    change = None

    def post(self, request, pk: int):
        deployment = selectors.deployment_get(request.user, pk)
        operator = _parsed(OperatorAssignInputSerializer, request)["operator"]
        type(self).change(actor=request.user, deployment=deployment, operator=operator)
        return Response(OperatorAssignOutputSerializer({"deployment": deployment.pk,
                                                        "operator": operator.get_username()}).data)


@extend_schema_view(post=extend_schema(
    operation_id="deployment_operator_assign", tags=TAGS, summary="Assign an operator",
    description="Gives a person holding the operator role this deployment's alert console.",
    request=OperatorAssignInputSerializer,
    responses={200: OperatorAssignOutputSerializer, **_errors(400, 403, 404)},
))
class DeploymentOperatorAssignApi(_DeploymentOperatorChangeApi):
    change = staticmethod(services.operator_assign)


@extend_schema_view(post=extend_schema(
    operation_id="deployment_operator_unassign", tags=TAGS, summary="Remove an operator",
    description="Takes this deployment's alert console from one of its operators; they no longer see it.",
    request=OperatorAssignInputSerializer,
    responses={200: OperatorAssignOutputSerializer, **_errors(400, 403, 404)},
))
class DeploymentOperatorUnassignApi(_DeploymentOperatorChangeApi):
    change = staticmethod(services.operator_unassign)


# --- Edge nodes ------------------------------------------------------------------------------


class EdgeNodeListCreateApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="edge_node_list", tags=EDGE_TAGS, summary="Registered edge nodes (administrator)",
        description="Never shows a token: only the prefix that tells tokens apart.",
        responses={200: EdgeNodeOutputSerializer(many=True), **_errors(403)},
    )
    def get(self, request):
        require_role_perm(request.user, "deployments.manage_edge_nodes")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.edge_nodes_all(request.user).select_related("registered_by"),
                                           request, view=self)
        return paginator.get_paginated_response(EdgeNodeOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="edge_node_register", tags=EDGE_TAGS, summary="Register an edge node (administrator)",
        description="Answers the node's token once, in this answer only: it is stored as a SHA-256 hash and "
                    "cannot be shown again. A lost token means revoking the node and registering a new one.",
        request=EdgeNodeInputSerializer, responses={201: EdgeNodeRegisterOutputSerializer, **_errors(400, 403)},
    )
    def post(self, request):
        require_role_perm(request.user, "deployments.manage_edge_nodes")
        values = _parsed(EdgeNodeInputSerializer, request)
        node, token = services.edge_node_register(actor=request.user, **values)
        node.token, node.token_note = token, TOKEN_NOTE
        response = Response(EdgeNodeRegisterOutputSerializer(node).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store, private"  # the token must not stay in any cache
        return response


class EdgeNodeRevokeApi(APIView):
    @extend_schema(
        operation_id="edge_node_revoke", tags=EDGE_TAGS, summary="Revoke an edge node (administrator)",
        description="Its token stops working at once. Revoking a revoked node answers it again.",
        request=None, responses={200: EdgeNodeOutputSerializer, **_errors(403, 404)},
    )
    def post(self, request, pk: int):
        require_role_perm(request.user, "deployments.manage_edge_nodes")
        node = selectors.edge_nodes_all(request.user).filter(pk=pk).first()
        if node is None:
            raise not_found(EdgeNode)
        node = services.edge_node_revoke(actor=request.user, node=node)
        return Response(EdgeNodeOutputSerializer(EdgeNode.objects.select_related("registered_by").get(pk=node.pk)).data)


# --- Published record (public) ---------------------------------------------------------------


def _published_rows() -> list[dict]:
    records = (selectors.published_record(d) for d in selectors.published_deployments())
    return PublishedRecordSerializer(records, many=True).data


def _csv_cell(value):
    # A text cell starting like a formula would run in a spreadsheet: publish it as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class PublishedListApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="published_list", tags=PUBLIC_TAGS, auth=[], summary="Published deployment records (public)",
        description="One record per deployment from scheduling on: date, place, duration, watchlist size, faces "
                    "processed, alerts, true and false alerts, engagements, arrests, threshold and model pack; and "
                    "per passer-by: passers-by, candidates not confirmed, and the false-alert rate (false alerts / "
                    "passers-by). No personal data.",
        responses={200: PublishedRecordSerializer(many=True)},
    )
    def get(self, request):
        return Response(_published_rows())


class PublishedCsvApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="published_csv", tags=PUBLIC_TAGS, auth=[], summary="Published deployment records as CSV (public)",
        description="The same rows as the JSON list, with a header row naming the columns.",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        columns = list(PublishedRecordSerializer().fields)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in _published_rows():
            writer.writerow([_csv_cell(row[column]) for column in columns])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="lfr-deployments.csv"'
        return response

    def perform_content_negotiation(self, request, force=False):
        # The CSV answers with its own type whatever the Accept header asks for.
        return super().perform_content_negotiation(request, force=True)
