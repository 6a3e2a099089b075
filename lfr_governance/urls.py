"""The site's addresses: each app's own URLconf, included by name (the project package imports no app)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from . import views
from .accounts import views as account_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("mfa/verify/", account_views.mfa_verify, name="mfa-verify"),
    path("mfa/enrol/", account_views.mfa_enrol, name="mfa-enrol"),
    path("audit/", include("lfr_governance.audit.urls")),
    path("retention/", include("lfr_governance.retention.urls")),
    path("watchlists/", include("watchlists.urls")),
    path("deployments/", include("deployments.urls")),
    path("published/", include("deployments.published_urls")),
    path("api/v1/", include("watchlists.api.urls")),
    path("api/v1/", include("deployments.api.urls")),
    path("api/edge/v1/", include("matching.api.urls")),
    path("alerts/", include("matching.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler403 = "lfr_governance.views.error_403"
handler404 = "lfr_governance.views.error_404"
handler500 = "lfr_governance.views.error_500"
