from django.urls import path

from . import views

app_name = "matching"
urlpatterns = [
    path("", views.console_list, name="console_list"),
    path("deployments/<int:pk>/", views.console, name="console"),
    path("deployments/<int:pk>/justify/", views.justify, name="justify"),
    path("deployments/<int:pk>/feed.json", views.feed, name="feed"),
    path("<int:pk>/probe/", views.probe, name="probe"),
    path("<int:pk>/reference/", views.reference, name="reference"),
    path("<int:pk>/sightings/", views.sightings, name="sightings"),
    path("<int:pk>/adjudicate/", views.adjudicate, name="adjudicate"),
    path("<int:pk>/outcome/", views.outcome, name="outcome"),
    path("<int:pk>/perceived/", views.perceived, name="perceived"),
]
