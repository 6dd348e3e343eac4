from django.urls import include, path

from hozen.api.urls import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("audit/", include("hozen.audit.urls")),
    path("designations/", include("hozen.designation.urls")),
    path("rules/", include("hozen.rules.urls")),
    path("assessment/", include("hozen.assessment.urls")),
    path("handling/", include("hozen.handling.urls")),
    path("vault/", include("hozen.vault.urls")),
    path("operators/", include("hozen.operators.urls")),
    path("", include("hozen.core.urls")),
]

# Error pages in the site's layout and the person's language, with the next step (issue 15).
handler403 = "hozen.core.views.errors.permission_denied"
handler404 = "hozen.core.views.errors.not_found"
handler500 = "hozen.core.views.errors.server_error"
