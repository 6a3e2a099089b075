from django.urls import path

from . import views

app_name = "deployments_api"
urlpatterns = [
    path("deployments/", views.DeploymentListCreateApi.as_view(), name="deployment-list"),
    path("deployments/<int:pk>/", views.DeploymentDetailApi.as_view(), name="deployment-detail"),
    path("deployments/<int:pk>/submit/", views.DeploymentSubmitApi.as_view(), name="deployment-submit"),
    path("deployments/<int:pk>/withdraw/", views.DeploymentWithdrawApi.as_view(), name="deployment-withdraw"),
    path("deployments/<int:pk>/authorise/", views.DeploymentAuthoriseApi.as_view(), name="deployment-authorise"),
    path("deployments/<int:pk>/reject/", views.DeploymentRejectApi.as_view(), name="deployment-reject"),
    path("deployments/<int:pk>/schedule/", views.DeploymentScheduleApi.as_view(), name="deployment-schedule"),
    path("deployments/<int:pk>/cancel/", views.DeploymentCancelApi.as_view(), name="deployment-cancel"),
    path("deployments/<int:pk>/review/", views.DeploymentReviewApi.as_view(), name="deployment-review"),
    path("deployments/<int:pk>/signage/", views.DeploymentSignageCreateApi.as_view(), name="deployment-signage-add"),
    path("deployments/<int:pk>/leaflets/", views.DeploymentLeafletCreateApi.as_view(), name="deployment-leaflet-add"),
    path("deployments/<int:pk>/operators/", views.DeploymentOperatorAssignApi.as_view(),
         name="deployment-operator-assign"),
    path("deployments/<int:pk>/operators/remove/", views.DeploymentOperatorUnassignApi.as_view(),
         name="deployment-operator-unassign"),
    path("authorisations/<int:pk>/confirm/", views.AuthorisationConfirmApi.as_view(), name="authorisation-confirm"),
    path("signage/<int:pk>/removed/", views.SignageRemovedApi.as_view(), name="signage-removed"),
    path("edge-nodes/", views.EdgeNodeListCreateApi.as_view(), name="edge-node-list"),
    path("edge-nodes/<int:pk>/revoke/", views.EdgeNodeRevokeApi.as_view(), name="edge-node-revoke"),
    path("published/", views.PublishedListApi.as_view(), name="published-list"),
    path("published.csv", views.PublishedCsvApi.as_view(), name="published-csv"),
]
