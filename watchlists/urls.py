from django.urls import path

from . import views

app_name = "watchlists"
urlpatterns = [
    path("", views.watchlist_list, name="list"),
    path("new/", views.watchlist_create, name="create"),
    path("<int:pk>/", views.watchlist_detail, name="detail"),
    path("<int:pk>/reviewer/", views.watchlist_reviewer_assign, name="reviewer_assign"),
    path("<int:pk>/reviewer/remove/", views.watchlist_reviewer_unassign, name="reviewer_unassign"),
    path("<int:pk>/freeze/", views.watchlist_freeze, name="freeze"),
    path("<int:pk>/image-states.json", views.watchlist_image_states, name="image_states"),
    path("<int:pk>/entries/new/", views.entry_create, name="entry_create"),
    path("entries/<int:pk>/edit/", views.entry_edit, name="entry_edit"),
    path("entries/<int:pk>/images/new/", views.entry_image_add, name="entry_image_add"),
    path("<int:pk>/review/", views.watchlist_review, name="review"),
    path("entries/<int:pk>/review/", views.entry_review, name="entry_review"),
    path("<int:pk>/justify/", views.consultation_justify, name="justify"),
    path("images/<int:pk>/", views.image_page, name="image"),
    path("images/<int:pk>/file/", views.image_file, name="image_file"),
    path("<int:pk>/import/", views.bulk_import_new, name="import_new"),
    path("imports/<int:pk>/", views.bulk_import_detail, name="import"),
    path("imports/<int:pk>/progress.json", views.bulk_import_progress, name="import_progress"),
    path("destroy/", views.destroy_list, name="destroy_list"),
    path("versions/<int:pk>/destroy/", views.version_destroy, name="version_destroy"),
]
