"""Watchlists API: thin views that fetch through the selectors and act through the services.

Every object is fetched through a selector that answers 404 alike for missing and forbidden
objects; the service then re-checks what the person may do and raises PermissionDenied (403).
Django ValidationError, PermissionDenied, Http404 and ImageRefused become the JSON error body in
lfr_governance.api.exception_handler, so no view catches them. Transitions are POST endpoints.
"""

from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from lfr_governance.api import Pagination, api_errors
from lfr_governance.audit.justification import JUSTIFICATION_MIN
from lfr_governance.permissions import has_role_perm, not_found

from .. import selectors, services
from ..bulk import bulk_import_progress, bulk_import_start
from ..consultation import image_consult
from ..models import BulkImport, Watchlist, WatchlistEntry, WatchlistVersion
from .serializers import (
    BulkImportInputSerializer,
    BulkImportOutputSerializer,
    EntryInputSerializer,
    EntryListFilterSerializer,
    EntryOutputSerializer,
    EntryReviewInputSerializer,
    ImageConsultInputSerializer,
    ImageOutputSerializer,
    ImageUploadInputSerializer,
    ReviewerAssignInputSerializer,
    ReviewerAssignOutputSerializer,
    VersionDestroyInputSerializer,
    VersionDestroyOutputSerializer,
    VersionOutputSerializer,
    WatchlistDetailOutputSerializer,
    WatchlistInputSerializer,
    WatchlistOutputSerializer,
)

TAGS = ["watchlists"]
_errors = api_errors


def _paginated_response(view: APIView, request, queryset, serializer_class) -> Response:
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def _watchlist_data(watchlist: Watchlist) -> dict:
    versions = list(selectors.watchlist_versions(watchlist))
    draft = next((version for version in versions if version.is_draft), None)
    context = {"versions": versions, "draft_counts": selectors.version_counts(draft) if draft else None}
    return WatchlistDetailOutputSerializer(watchlist, context=context).data


def _not_found_alike(kind: str):
    """Wraps a fetch so that a missing and a forbidden object answer the same 404 message.

    The entry, image and import fetches check the watchlist last, whose 404 names the watchlist:
    without this, the message would tell an outsider that the entry exists.
    """

    def wrap(fetch):
        def fetch_alike(user, pk: int):
            try:
                return fetch(user, pk)
            except Http404:
                raise not_found(kind) from None

        return fetch_alike

    return wrap


_entry_get = _not_found_alike("entry")(selectors.entry_get)
_image_get = _not_found_alike("image")(selectors.image_get)


def _entry_data(entry: WatchlistEntry) -> dict:
    # Re-read through the selector: author, reviewer and images (without templates) in two queries.
    return EntryOutputSerializer(selectors.version_entries(entry.version).get(pk=entry.pk)).data


def _version_by_number(watchlist: Watchlist, number: int | None) -> WatchlistVersion:
    versions = watchlist.versions.order_by("-number")
    version = (versions.filter(number=number) if number else versions).first()
    if version is None:
        raise Http404(f"This watchlist has no version {number}.")
    return version


@_not_found_alike("watchlist version")
def _version_for_destroy(user, pk: int) -> WatchlistVersion:
    """Whoever may destroy versions reaches any version; others only those of watchlists they can see."""
    version = WatchlistVersion.objects.filter(pk=pk).first()
    if version is None:
        raise not_found(WatchlistVersion)
    if not has_role_perm(user, "watchlists.destroy_watchlistversion"):
        selectors.watchlist_get(user, version.watchlist_id)  # 404 unless visible; the service then answers 403
    return version


@_not_found_alike("import")
def _bulk_import_get(user, pk: int) -> BulkImport:
    bulk = BulkImport.objects.select_related("version", "created_by").filter(pk=pk).first()
    if bulk is None:
        raise not_found("import")
    selectors.watchlist_get(user, bulk.version.watchlist_id)
    return bulk


def _bulk_import_data(bulk: BulkImport) -> dict:
    data = {
        "id": bulk.pk, "watchlist": bulk.version.watchlist_id, "version": bulk.version_id,
        "created_by": bulk.created_by.get_username(), "created_at": bulk.created_at, "finished_at": bulk.finished_at,
        **bulk_import_progress(bulk),
    }
    return BulkImportOutputSerializer(data).data


def _header_text(request, name: str) -> str | None:
    """A header's text: HTTP carries headers as Latin-1, so UTF-8 sent by a client is decoded again."""
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


# --- Watchlists ------------------------------------------------------------------------------


class WatchlistListCreateApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="watchlist_list", tags=TAGS, summary="Watchlists you may see",
        responses={200: WatchlistOutputSerializer(many=True), **_errors(403)},
    )
    def get(self, request):
        return _paginated_response(self, request, selectors.watchlists_visible(request.user),
                                   WatchlistOutputSerializer)

    @extend_schema(
        operation_id="watchlist_create", tags=TAGS, summary="Create a watchlist (intelligence officer)",
        description="The watchlist belongs to your team and starts with an empty draft, version 1.",
        request=WatchlistInputSerializer, responses={201: WatchlistDetailOutputSerializer, **_errors(400, 403)},
    )
    def post(self, request):
        serializer = WatchlistInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        watchlist = services.watchlist_create(actor=request.user, **serializer.validated_data)
        return Response(_watchlist_data(watchlist), status=status.HTTP_201_CREATED)


class WatchlistDetailApi(APIView):
    @extend_schema(
        operation_id="watchlist_retrieve", tags=TAGS, summary="A watchlist with its versions",
        description="Versions newest first; `draft_counts` counts the draft's entries and images (null: no draft).",
        responses={200: WatchlistDetailOutputSerializer, **_errors(403, 404)},
    )
    def get(self, request, pk: int):
        return Response(_watchlist_data(selectors.watchlist_get(request.user, pk)))


class _WatchlistReviewerChangeApi(APIView):
    """Gives or takes back one reviewer's assignment (the subclass names the service and documents it)."""

    change = None

    def post(self, request, pk: int):
        watchlist = selectors.watchlist_get(request.user, pk)
        serializer = ReviewerAssignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reviewer = serializer.validated_data["reviewer"]
        type(self).change(actor=request.user, watchlist=watchlist, reviewer=reviewer)
        return Response(ReviewerAssignOutputSerializer({"watchlist": watchlist.pk,
                                                        "reviewer": reviewer.get_username()}).data)


@extend_schema_view(post=extend_schema(
    operation_id="watchlist_reviewer_assign", tags=TAGS, summary="Assign a reviewer",
    description="Gives a person holding the reviewer role access to review this watchlist's entries.",
    request=ReviewerAssignInputSerializer,
    responses={200: ReviewerAssignOutputSerializer, **_errors(400, 403, 404)},
))
class WatchlistReviewerAssignApi(_WatchlistReviewerChangeApi):
    change = staticmethod(services.watchlist_reviewer_assign)


@extend_schema_view(post=extend_schema(
    operation_id="watchlist_reviewer_unassign", tags=TAGS, summary="Remove a reviewer",
    description="Takes back a reviewer's assignment: they no longer review, and no longer see the watchlist "
                "unless they are the authorising officer of an application that uses it.",
    request=ReviewerAssignInputSerializer,
    responses={200: ReviewerAssignOutputSerializer, **_errors(400, 403, 404)},
))
class WatchlistReviewerUnassignApi(_WatchlistReviewerChangeApi):
    change = staticmethod(services.watchlist_reviewer_unassign)


class WatchlistFreezeApi(APIView):
    @extend_schema(
        operation_id="watchlist_freeze", tags=TAGS, summary="Freeze the draft",
        description="Freezes the draft into a version with a digest. When entries are not ready, answers 400 "
                    "with every problem listed in `fields.non_field_errors`.",
        request=None, responses={200: VersionOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        watchlist = selectors.watchlist_get(request.user, pk)
        version = services.watchlist_freeze(actor=request.user, watchlist=watchlist)
        return Response(VersionOutputSerializer(version).data)


class VersionDestroyApi(APIView):
    @extend_schema(
        operation_id="watchlist_version_destroy", tags=TAGS, summary="Destroy a version's images (administrator)",
        description="Deletes the version's images and templates and keeps a manifest without either. "
                    "Destroying a destroyed version answers its manifest again. Refused (400, naming the "
                    "deployments) while a scheduled or live deployment uses the version.",
        request=VersionDestroyInputSerializer,
        responses={200: VersionDestroyOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        version = _version_for_destroy(request.user, pk)
        serializer = VersionDestroyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        manifest = services.watchlist_version_destroy(
            version=version, reason=serializer.validated_data["reason"], actor=request.user
        )
        return Response(VersionDestroyOutputSerializer(manifest).data)


# --- Entries ---------------------------------------------------------------------------------


class WatchlistEntryListCreateApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="watchlist_entry_list", tags=TAGS, summary="Entries of a version",
        parameters=[EntryListFilterSerializer],
        responses={200: EntryOutputSerializer(many=True), **_errors(400, 403, 404)},
    )
    def get(self, request, pk: int):
        watchlist = selectors.watchlist_get(request.user, pk)
        filters = EntryListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        version = _version_by_number(watchlist, filters.validated_data.get("version"))
        return _paginated_response(self, request, selectors.version_entries(version), EntryOutputSerializer)

    @extend_schema(
        operation_id="watchlist_entry_create", tags=TAGS, summary="Add an entry to the draft",
        description="After a freeze, the first change starts a new draft copied from the frozen version.",
        request=EntryInputSerializer, responses={201: EntryOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        watchlist = selectors.watchlist_get(request.user, pk)
        serializer = EntryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.entry_create(actor=request.user, watchlist=watchlist, **serializer.validated_data)
        return Response(_entry_data(entry), status=status.HTTP_201_CREATED)


class EntryDetailApi(APIView):
    @extend_schema(
        operation_id="entry_retrieve", tags=TAGS, summary="An entry",
        responses={200: EntryOutputSerializer, **_errors(403, 404)},
    )
    def get(self, request, pk: int):
        return Response(_entry_data(_entry_get(request.user, pk)))

    @extend_schema(
        operation_id="entry_update", tags=TAGS, summary="Change an entry",
        description="A change sends the entry back for review. Changing an entry of a frozen version changes "
                    "its copy in the draft, which is the entry answered.",
        request=EntryInputSerializer, responses={200: EntryOutputSerializer, **_errors(400, 403, 404)},
    )
    def patch(self, request, pk: int):
        entry = _entry_get(request.user, pk)
        serializer = EntryInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        entry = services.entry_update(actor=request.user, entry=entry, **serializer.validated_data)
        return Response(_entry_data(entry))

    @extend_schema(
        operation_id="entry_remove", tags=TAGS, summary="Remove an entry from the draft",
        responses={204: None, **_errors(403, 404)},
    )
    def delete(self, request, pk: int):
        entry = _entry_get(request.user, pk)
        services.entry_remove(actor=request.user, entry=entry)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EntryReviewApi(APIView):
    @extend_schema(
        operation_id="entry_review", tags=TAGS, summary="Approve or return an entry (reviewer)",
        description="Someone other than the entry's author must review it. Returning needs a reason.",
        request=EntryReviewInputSerializer, responses={200: EntryOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        entry = _entry_get(request.user, pk)
        serializer = EntryReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.entry_review(
            actor=request.user, entry=entry, approve=serializer.validated_data["decision"] == "approve",
            reason=serializer.validated_data["reason"],
        )
        return Response(_entry_data(entry))


# --- Images ----------------------------------------------------------------------------------


class EntryImageCreateApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="entry_image_add", tags=TAGS, summary="Upload a reference image",
        description="Checks the file (type, size, integrity) at once and answers 400 with a `code` such as "
                    "wrong_type or corrupt when it cannot be used; otherwise stores it and queues the quality "
                    "check (202). Follow the image at its Location until its state is accepted or refused.",
        request=ImageUploadInputSerializer, responses={202: ImageOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        entry = _entry_get(request.user, pk)
        serializer = ImageUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["image"]
        image = services.reference_image_add(actor=request.user, entry=entry, data=upload.read(), filename=upload.name)
        return Response(
            ImageOutputSerializer(image).data, status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("watchlists_api:image-detail", args=[image.pk])},
        )


class ImageDetailApi(APIView):
    @extend_schema(
        operation_id="image_retrieve", tags=TAGS, summary="An image's checks",
        description="State, refusal reason and quality measures. Never the image or its template.",
        responses={200: ImageOutputSerializer, **_errors(403, 404)},
    )
    def get(self, request, pk: int):
        return Response(ImageOutputSerializer(_image_get(request.user, pk)).data)


class ImageContentApi(APIView):
    @extend_schema(
        operation_id="image_content", tags=TAGS, summary="The image itself (an audited consultation)",
        description="Each view is recorded in the audit log with your justification (DPA 2018 s.62). Send it in "
                    "the X-Justification header (preferred: query strings end up in logs) or the justification "
                    f"query parameter, at least {JUSTIFICATION_MIN} characters.",
        parameters=[
            OpenApiParameter("X-Justification", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description=f"Why you need to see this image (at least {JUSTIFICATION_MIN} characters)."),
            OpenApiParameter("justification", OpenApiTypes.STR, OpenApiParameter.QUERY,
                             description="The same, when a header cannot be sent."),
        ],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, (200, "image/png"): OpenApiTypes.BINARY,
                   **_errors(400, 403, 404)},
    )
    def get(self, request, pk: int):
        image = _image_get(request.user, pk)
        given = _header_text(request, "X-Justification")
        if given is None:
            given = request.query_params.get("justification")
        serializer = ImageConsultInputSerializer(data={} if given is None else {"justification": given})
        serializer.is_valid(raise_exception=True)
        data = image_consult(actor=request.user, image=image, justification=serializer.validated_data["justification"])
        response = HttpResponse(data, content_type=image.content_type)
        response["Cache-Control"] = "no-store, private"  # a watchlist image must not stay in any cache
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def perform_content_negotiation(self, request, force=False):
        # The image answers with its own type; errors are JSON whatever the Accept header asks for.
        return super().perform_content_negotiation(request, force=True)


# --- Bulk imports ----------------------------------------------------------------------------


class WatchlistImportCreateApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="watchlist_import_start", tags=TAGS, summary="Import entries from a CSV and a ZIP of images",
        description="Checks that the CSV has the required columns and the ZIP is sound, then queues the import "
                    "(202). Follow it at its Location: each row is reported, and a bad row does not stop the others.",
        request=BulkImportInputSerializer, responses={202: BulkImportOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: int):
        watchlist = selectors.watchlist_get(request.user, pk)
        serializer = BulkImportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bulk = bulk_import_start(
            actor=request.user, watchlist=watchlist, csv_data=serializer.validated_data["csv_file"].read(),
            zip_data=serializer.validated_data["zip_file"].read(),
        )
        return Response(
            _bulk_import_data(bulk), status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("watchlists_api:import-detail", args=[bulk.pk])},
        )


class ImportDetailApi(APIView):
    @extend_schema(
        operation_id="import_retrieve", tags=TAGS, summary="An import's progress and results",
        responses={200: BulkImportOutputSerializer, **_errors(403, 404)},
    )
    def get(self, request, pk: int):
        return Response(_bulk_import_data(_bulk_import_get(request.user, pk)))
