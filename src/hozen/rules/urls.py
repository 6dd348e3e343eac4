from django.urls import path

from . import views

app_name = "rules"

urlpatterns = [
    path("", views.pack_list, name="list"),
    path("publish/", views.publish, name="publish"),
    path("<str:code>/v<int:version>/", views.pack_detail, name="detail"),
]
