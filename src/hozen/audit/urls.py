from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("log/", views.log, name="log"),
    path("log/export.csv", views.export, name="export"),
    path("my-reads/", views.my_reads, name="my_reads"),
    path("my-reads/export.csv", views.my_reads_export, name="my_reads_export"),
]
