from django.urls import path, re_path

from . import views

app_name = "retention"
urlpatterns = [
    path("", views.retention_report, name="report"),
    path("holds/", views.legal_holds, name="holds"),
    path("holds/new/<int:alert_id>/", views.legal_hold_new, name="hold_new"),
    re_path(r"^report\.(?P<fmt>csv|pdf)$", views.retention_report_export, name="export"),
]
