from django.urls import path

from . import views

app_name = "edge_api"
urlpatterns = [
    path("frames", views.FrameIngestApi.as_view(), name="frames"),
    path("detections", views.DetectionsIngestApi.as_view(), name="detections"),
    path("status", views.EdgeStatusApi.as_view(), name="status"),
]
