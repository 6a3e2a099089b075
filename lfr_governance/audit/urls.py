from django.urls import path, re_path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_list, name="list"),
    path("subject/", views.subject_lookup_view, name="subject"),
    re_path(r"^export\.(?P<fmt>csv|json)$", views.audit_export, name="export"),
]
