"""Watchlist pages. Thin: each view fetches through a selector (404 alike for missing and forbidden) and
changes things only through a service, which re-checks the permission and audits."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lfr_governance.files import atomic_with_files
from lfr_governance.forms import apply_service_errors
from lfr_governance.navigation import safe_next
from lfr_governance.permissions import has_role_perm, not_found, require_role_perm

from . import bulk, consultation, selectors, services
from .choices import (
    ImageSource,
    ImageState,
    LegalBasis,
    VersionStatus,
    category_choices,
    offence_choices,
)
from .forms import (
    BulkImportForm,
    DestroyForm,
    EntryForm,
    ImageAddForm,
    JustificationForm,
    ReviewerAssignForm,
    ReviewForm,
    WatchlistForm,
)
from lfr_governance.images import ImageRefused
from .models import (
    BulkImport,
    Watchlist,
    WatchlistUserObjectPermission,
    WatchlistVersion,
)

# --- Helpers ---------------------------------------------------------------------------------


def _assigned_reviewers(watchlist: Watchlist) -> list:
    rows = WatchlistUserObjectPermission.objects.filter(
        content_object=watchlist, permission__codename="review_watchlist"
    ).select_related("user__profile")
    return [row.user for row in rows]


def _labelled(entries, user, actions: selectors.WatchlistActions) -> list:
    """Entries with their category and offence labels and what the person may do with each, for display."""
    categories, offences = dict(category_choices()), dict(offence_choices())
    labelled = list(entries)
    for entry in labelled:
        entry.category_label = categories.get(entry.category, entry.category)
        entry.offence_label = offences.get(entry.offence, entry.offence)
        entry.actions = selectors.entry_actions(user, entry, on=actions)
        entry.accepted_images = selectors.entry_accepted_image_count(entry)
    return labelled


def _shown_version(watchlist: Watchlist) -> WatchlistVersion | None:
    """The draft being built, else the latest version."""
    return selectors.watchlist_draft(watchlist) or watchlist.versions.order_by("-number").first()


def _versions_for_destruction():
    """What an administrator may see: version ids, operation names and statuses. No entries, no images."""
    return WatchlistVersion.objects.order_by("-created_at").values(
        "pk", "number", "status", "frozen_at", "destroyed_at", "watchlist_id", "watchlist__operation_name",
    )


# --- Watchlists ------------------------------------------------------------------------------


@login_required
@require_GET
def watchlist_list(request):
    require_role_perm(request.user, "watchlists.view_watchlist")
    watchlists = selectors.watchlists_visible(request.user)
    return render(request, "watchlists/list.html", {
        "watchlists": watchlists,
        "can_create": has_role_perm(request.user, "watchlists.add_watchlist"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def watchlist_create(request):
    require_role_perm(request.user, "watchlists.add_watchlist")
    form = WatchlistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            watchlist = services.watchlist_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Watchlist for {watchlist.operation_name} created. Now add its entries.")
            return redirect("watchlists:detail", pk=watchlist.pk)
    return render(request, "watchlists/create.html", {"form": form})


def _detail_context(request, watchlist: Watchlist, **extra) -> dict:
    version = _shown_version(watchlist)
    actions = selectors.watchlist_actions(request.user, watchlist, version)
    entries = _labelled(selectors.version_entries(version), request.user, actions) if version else []
    return {
        "watchlist": watchlist,
        "versions": selectors.watchlist_versions(watchlist),
        "version": version,
        "entries": entries,
        "counts": selectors.version_counts(version) if version else {},
        "any_queued": any(img.state == ImageState.QUEUED for e in entries for img in e.images.all()),
        "actions": actions,
        "reviewers": _assigned_reviewers(watchlist),
        "reviewer_form": ReviewerAssignForm() if actions.may_build else None,
        **extra,
    }


@login_required
@require_GET
def watchlist_detail(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk)
    return render(request, "watchlists/detail.html", _detail_context(request, watchlist))


@login_required
@require_POST
def watchlist_reviewer_assign(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk, "watchlists.build_watchlist")
    form = ReviewerAssignForm(request.POST)
    if form.is_valid():
        try:
            services.watchlist_reviewer_assign(actor=request.user, watchlist=watchlist,
                                               reviewer=form.cleaned_data["reviewer"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            reviewer = form.cleaned_data["reviewer"]
            messages.success(request, f"{reviewer.get_full_name() or reviewer.username} can now review this watchlist.")
            return redirect("watchlists:detail", pk=watchlist.pk)
    return render(request, "watchlists/detail.html", _detail_context(request, watchlist, reviewer_form=form),
                  status=400)


@login_required
@require_POST
def watchlist_reviewer_unassign(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk, "watchlists.build_watchlist")
    reviewer = next((r for r in _assigned_reviewers(watchlist) if str(r.pk) == request.POST.get("reviewer")), None)
    if reviewer is None:
        messages.error(request, "Choose one of the watchlist's assigned reviewers to remove.")
        return redirect("watchlists:detail", pk=watchlist.pk)
    services.watchlist_reviewer_unassign(actor=request.user, watchlist=watchlist, reviewer=reviewer)
    messages.success(request, f"{reviewer.get_full_name() or reviewer.username} no longer reviews this watchlist.")
    return redirect("watchlists:detail", pk=watchlist.pk)


@login_required
@require_POST
def watchlist_freeze(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk, "watchlists.build_watchlist")
    try:
        version = services.watchlist_freeze(actor=request.user, watchlist=watchlist)
    except ValidationError as exc:
        return render(request, "watchlists/detail.html",
                      _detail_context(request, watchlist, freeze_problems=exc.messages), status=400)
    messages.success(request, f"Version {version.number} is frozen. Its digest is shown below.")
    return redirect("watchlists:detail", pk=watchlist.pk)


@login_required
@never_cache
@require_GET
def watchlist_image_states(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk)
    version = _shown_version(watchlist)
    images = selectors.image_states(version) if version else []
    return JsonResponse({
        "version": version.number if version else None,
        "queued": sum(1 for img in images if img["state"] == ImageState.QUEUED),
        "images": images,
    })


# --- Entries ---------------------------------------------------------------------------------


def _save_entry_with_image(request, form: EntryForm, save_entry) -> object | None:
    """Runs `save_entry` and stores the uploaded image in one transaction; a refused image undoes both."""
    upload = form.cleaned_data.get("image")
    try:
        with atomic_with_files():  # a refused image also removes the files the entry's change wrote (a draft copy)
            entry = save_entry()
            if upload:
                services.reference_image_add(actor=request.user, entry=entry, data=upload.read(),
                                             filename=upload.name[-80:])
    except ImageRefused as exc:
        form.add_error("image", exc.message)
    except ValidationError as exc:
        apply_service_errors(form, exc)
    else:
        return entry
    return None


def _entry_to_change(request, pk: int):
    """(the entry, None), or (the entry, a redirect saying why) where its version's images were destroyed."""
    entry = selectors.entry_get(request.user, pk, "watchlists.build_watchlist")
    if not selectors.entry_actions(request.user, entry).may_edit:
        messages.info(request, f"The images of version {entry.version.number} were destroyed, so its entries cannot "
                               "be edited. Add the entry again to a new version.")
        return entry, redirect("watchlists:detail", pk=entry.version.watchlist_id)
    return entry, None


@login_required
@require_http_methods(["GET", "POST"])
def entry_create(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk, "watchlists.build_watchlist")
    form = EntryForm(request.POST or None, request.FILES or None, creating=True)
    if request.method == "POST" and form.is_valid():
        entry = _save_entry_with_image(request, form, lambda: services.entry_create(
            actor=request.user, watchlist=watchlist, **form.entry_fields()))
        if entry is not None:
            messages.success(request, f"Entry {entry.subject_ref} added. Its image is being checked.")
            return redirect("watchlists:detail", pk=watchlist.pk)
    return render(request, "watchlists/entry_form.html", {"form": form, "watchlist": watchlist, "entry": None},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def entry_edit(request, pk: int):
    entry, refused = _entry_to_change(request, pk)
    if refused is not None:
        return refused
    watchlist = entry.version.watchlist
    initial = {name: getattr(entry, name) for name in selectors.ENTRY_FIELDS}  # the form has no subject_ref to edit
    form = EntryForm(request.POST or None, request.FILES or None, initial=initial, creating=False)
    if request.method == "POST" and form.is_valid():
        saved = _save_entry_with_image(request, form, lambda: services.entry_update(
            actor=request.user, entry=entry, **form.entry_fields()))
        if saved is not None:
            messages.success(request, f"Entry {saved.subject_ref} saved. It needs review again if anything changed.")
            return redirect("watchlists:detail", pk=watchlist.pk)
    return render(request, "watchlists/entry_form.html", {"form": form, "watchlist": watchlist, "entry": entry},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def entry_image_add(request, pk: int):
    """A further image of an existing entry's subject: stored, quality-checked and audited as the first one was."""
    entry, refused = _entry_to_change(request, pk)
    if refused is not None:
        return refused
    watchlist = entry.version.watchlist
    # Bound on every POST: a form sent with no file chosen (an empty POST) says so, rather than showing it afresh.
    form = ImageAddForm(request.POST, request.FILES) if request.method == "POST" else ImageAddForm()
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["image"]
        try:
            with atomic_with_files():  # adding to a frozen version copies its files into a draft: undone on refusal
                image = services.reference_image_add(actor=request.user, entry=entry, data=upload.read(),
                                                     filename=upload.name[-80:])
        except ImageRefused as exc:
            form.add_error("image", exc.message)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Another image of {image.entry.subject_ref} added. It is being checked; once "
                                      "accepted, the entry is matched on the mean of its accepted images' templates. "
                                      "The entry needs review again.")
            return redirect(f"{reverse('watchlists:detail', args=[watchlist.pk])}#entry-{image.entry_id}")
    return render(request, "watchlists/image_add.html", {
        "form": form, "watchlist": watchlist, "entry": entry,
        "accepted_images": selectors.entry_accepted_image_count(entry),
    }, status=400 if form.errors else 200)


# --- Review ----------------------------------------------------------------------------------


def _review_context(request, watchlist: Watchlist, **extra) -> dict:
    draft = selectors.watchlist_draft(watchlist)
    actions = selectors.watchlist_actions(request.user, watchlist, draft)
    return {
        "watchlist": watchlist,
        "version": draft,
        "entries": _labelled(selectors.version_entries(draft), request.user, actions) if draft else [],
        "justification": consultation.consultation_justification(request.session, watchlist),
        **extra,
    }


@login_required
@require_GET
def watchlist_review(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk, "watchlists.review_watchlist")
    return render(request, "watchlists/review.html", _review_context(request, watchlist))


@login_required
@require_POST
def entry_review(request, pk: int):
    entry = selectors.entry_get(request.user, pk, "watchlists.review_watchlist")
    watchlist = entry.version.watchlist
    form = ReviewForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.entry_review(actor=request.user, entry=entry, approve=approve,
                                  reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Entry {entry.subject_ref} {'approved' if approve else 'returned to its author'}.")
            return redirect(f"{reverse('watchlists:review', args=[watchlist.pk])}#entry-{entry.pk}")
    return render(request, "watchlists/review.html", _review_context(
        request, watchlist, error_entry_pk=entry.pk, entry_errors=[e for errs in form.errors.values() for e in errs],
        reason_value=request.POST.get("reason", "")), status=400)


# --- Consultation (viewing images) -----------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def consultation_justify(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk, "watchlists.view_watchlist_images")
    fallback = reverse("watchlists:detail", args=[watchlist.pk])
    next_url = safe_next(request, fallback)
    form = JustificationForm(request.POST or None, initial={
        "justification": consultation.consultation_justification(request.session, watchlist) or ""})
    if request.method == "POST" and form.is_valid():
        try:
            consultation.consultation_justification_set(request.session, watchlist, form.cleaned_data["justification"])
        except ValidationError as exc:
            form.add_error("justification", exc)
        else:
            return redirect(next_url)
    return render(request, "watchlists/justify.html", {"form": form, "watchlist": watchlist, "next": next_url},
                  status=400 if form.errors else 200)


def _justify_url(watchlist: Watchlist, next_url: str) -> str:
    return f"{reverse('watchlists:justify', args=[watchlist.pk])}?{urlencode({'next': next_url})}"


@login_required
@never_cache
@require_GET
def image_page(request, pk: int):
    """A page showing one image; the image itself is fetched (and audited) by image_file."""
    image = selectors.image_get(request.user, pk)
    watchlist = image.entry.version.watchlist
    if not consultation.consultation_justification(request.session, watchlist):
        return redirect(_justify_url(watchlist, request.get_full_path()))
    back = safe_next(request, reverse("watchlists:detail", args=[watchlist.pk]))
    return render(request, "watchlists/image.html", {"image": image, "entry": image.entry, "watchlist": watchlist,
                                                     "back": back})


@login_required
@require_GET
def image_file(request, pk: int):
    image = selectors.image_get(request.user, pk)
    watchlist = image.entry.version.watchlist
    justification = consultation.consultation_justification(request.session, watchlist)
    if not justification:
        return redirect(_justify_url(watchlist, reverse("watchlists:image", args=[image.pk])))
    data = consultation.image_consult(actor=request.user, image=image, justification=justification)
    response = HttpResponse(data, content_type=image.content_type)
    response["Cache-Control"] = "no-store, private"
    response["Content-Disposition"] = "inline"
    return response


# --- Bulk import -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def bulk_import_new(request, pk: int):
    watchlist = selectors.watchlist_get(request.user, pk, "watchlists.build_watchlist")
    form = BulkImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            started = bulk.bulk_import_start(actor=request.user, watchlist=watchlist,
                                             csv_data=form.cleaned_data["csv_file"].read(),
                                             zip_data=form.cleaned_data["zip_file"].read())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("watchlists:import", pk=started.pk)
    return render(request, "watchlists/bulk_new.html", {
        "form": form, "watchlist": watchlist,
        "categories": category_choices(), "offences": offence_choices(),
        "legal_bases": LegalBasis.choices, "image_sources": ImageSource.choices,
    }, status=400 if form.errors else 200)


def _bulk_import_get(user, pk: int) -> BulkImport:
    found = get_object_or_404(BulkImport.objects.select_related("version__watchlist"), pk=pk)
    selectors.watchlist_get(user, found.version.watchlist_id, "watchlists.build_watchlist")
    return found


@login_required
@require_GET
def bulk_import_detail(request, pk: int):
    found = _bulk_import_get(request.user, pk)
    return render(request, "watchlists/bulk_progress.html", {
        "bulk": found, "watchlist": found.version.watchlist, "progress": bulk.bulk_import_progress(found),
    })


@login_required
@never_cache
@require_GET
def bulk_import_progress(request, pk: int):
    found = _bulk_import_get(request.user, pk)
    progress = bulk.bulk_import_progress(found)
    progress.pop("results")  # the page shows them when it reloads at the end
    return JsonResponse(progress)


# --- Destruction (administrators) ------------------------------------------------------------


@login_required
@require_GET
def destroy_list(request):
    require_role_perm(request.user, "watchlists.destroy_watchlistversion")
    return render(request, "watchlists/destroy_list.html", {"versions": _versions_for_destruction()})


@login_required
@require_http_methods(["GET", "POST"])
def version_destroy(request, pk: int):
    require_role_perm(request.user, "watchlists.destroy_watchlistversion")
    version = _versions_for_destruction().filter(pk=pk).first()
    if version is None:
        raise not_found(WatchlistVersion)
    form = DestroyForm(request.POST or None)
    if request.method == "POST" and version["status"] != VersionStatus.DESTROYED and form.is_valid():
        try:
            services.watchlist_version_destroy(version=WatchlistVersion.objects.get(pk=pk),
                                               reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:  # a deployment started using it since the page was shown
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"The images and templates of {version['watchlist__operation_name']} version "
                                      f"{version['number']} are destroyed. Its manifest is kept.")
            return redirect("watchlists:destroy_list")
    in_use = selectors.version_destroy_blockers(pk) if version["status"] != VersionStatus.DESTROYED else []
    return render(request, "watchlists/destroy_confirm.html", {"version": version, "form": form, "in_use": in_use},
                  status=400 if form.errors else 200)
