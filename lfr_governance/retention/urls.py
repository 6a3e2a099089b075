from django.urls import path, re_path

from . import views

app_name = "retention"
urlpatterns = [
    path("", views.retention_report, name="report"),
    re_path(r"^report\.(?P<fmt>csv|pdf)$", views.retention_report_export, name="export"),
]
