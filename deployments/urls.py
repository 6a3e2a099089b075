from django.urls import path

from . import views

app_name = "deployments"
urlpatterns = [
    path("", views.schedule, name="schedule"),
    path("new/", views.application_create, name="create"),
    path("<int:pk>/", views.deployment_detail, name="detail"),
    path("<int:pk>/edit/", views.application_edit, name="edit"),
    path("<int:pk>/submit/", views.deployment_submit, name="submit"),
    path("<int:pk>/withdraw/", views.deployment_withdraw, name="withdraw"),
    path("<int:pk>/schedule/", views.deployment_schedule, name="schedule_deployment"),
    path("<int:pk>/cancel/", views.deployment_cancel, name="cancel"),
    path("<int:pk>/decision/", views.decision, name="decision"),
    path("<int:pk>/authorise/", views.deployment_authorise, name="authorise"),
    path("<int:pk>/reject/", views.deployment_reject, name="reject"),
    path("authorisations/<int:pk>/confirm/", views.authorisation_confirm, name="confirm"),
    path("<int:pk>/signs/", views.sign_add, name="sign_add"),
    path("signs/<int:pk>/removed/", views.sign_removed, name="sign_removed"),
    path("signs/<int:pk>/photo/", views.sign_photo, name="sign_photo"),
    path("<int:pk>/leaflets/", views.leaflet_add, name="leaflet_add"),
    path("<int:pk>/operators/", views.operator_assign, name="operator_assign"),
    path("<int:pk>/operators/remove/", views.operator_unassign, name="operator_unassign"),
    path("<int:pk>/review/", views.deployment_review, name="review"),
    path("edge-nodes/", views.edge_nodes, name="edge_nodes"),
    path("edge-nodes/new/", views.edge_node_register, name="edge_node_register"),
    path("edge-nodes/<int:pk>/revoke/", views.edge_node_revoke, name="edge_node_revoke"),
]
