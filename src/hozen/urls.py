from django.urls import include, path

from hozen.api.urls import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("hozen.core.urls")),
]
