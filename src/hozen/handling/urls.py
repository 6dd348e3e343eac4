from django.urls import path

from . import views

app_name = "handling"

urlpatterns = [
    path("", views.index, name="index"),
    path("briefing/", views.briefing, name="briefing"),
    path("explain/", views.explain_lookup, name="explain_lookup"),
    path("explain/<int:pk>/", views.explain, name="explain"),
    path("designations/<int:pk>/", views.handler_list, name="list"),
    path("designations/<int:pk>/add/", views.add, name="add"),
    path("entries/<int:pk>/remove/", views.remove, name="remove"),
    path("entries/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("entries/<int:pk>/review-remove/", views.review_remove, name="review_remove"),
]
