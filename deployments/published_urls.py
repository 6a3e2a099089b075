"""The public record, without sign-in: included at /published/ as the "published" namespace."""

from django.urls import path

from . import views

app_name = "published"
urlpatterns = [
    path("", views.published_list, name="list"),
    path("packs/<slug:pack_id>/", views.published_pack, name="pack"),
]
