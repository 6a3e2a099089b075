"""A probe endpoint for the upload tests: reports how Django held the uploaded file."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def upload_probe(request):
    upload = request.FILES.get("image")
    return JsonResponse({"class": type(upload).__name__ if upload else None, "size": upload.size if upload else 0})


urlpatterns = [path("probe/upload", upload_probe), path("", include("lfr_governance.urls"))]
