from django.urls import include, path

from hozen.api.urls import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("audit/", include("hozen.audit.urls")),
    path("designations/", include("hozen.designation.urls")),
    path("", include("hozen.core.urls")),
]
