from django.urls import path

from . import views

app_name = "watchlists_api"
urlpatterns = [
    path("watchlists/", views.WatchlistListCreateApi.as_view(), name="watchlist-list"),
    path("watchlists/<int:pk>/", views.WatchlistDetailApi.as_view(), name="watchlist-detail"),
    path("watchlists/<int:pk>/reviewers/", views.WatchlistReviewerAssignApi.as_view(),
         name="watchlist-reviewer-assign"),
    path("watchlists/<int:pk>/reviewers/remove/", views.WatchlistReviewerUnassignApi.as_view(),
         name="watchlist-reviewer-unassign"),
    path("watchlists/<int:pk>/entries/", views.WatchlistEntryListCreateApi.as_view(), name="watchlist-entries"),
    path("watchlists/<int:pk>/freeze/", views.WatchlistFreezeApi.as_view(), name="watchlist-freeze"),
    path("watchlists/<int:pk>/imports/", views.WatchlistImportCreateApi.as_view(), name="watchlist-import-start"),
    path("versions/<int:pk>/destroy/", views.VersionDestroyApi.as_view(), name="version-destroy"),
    path("entries/<int:pk>/", views.EntryDetailApi.as_view(), name="entry-detail"),
    path("entries/<int:pk>/review/", views.EntryReviewApi.as_view(), name="entry-review"),
    path("entries/<int:pk>/images/", views.EntryImageCreateApi.as_view(), name="entry-image-add"),
    path("images/<int:pk>/", views.ImageDetailApi.as_view(), name="image-detail"),
    path("images/<int:pk>/content/", views.ImageContentApi.as_view(), name="image-content"),
    path("imports/<int:pk>/", views.ImportDetailApi.as_view(), name="import-detail"),
]
