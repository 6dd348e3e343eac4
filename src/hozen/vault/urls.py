from django.urls import path

from . import views

app_name = "vault"

urlpatterns = [
    path("", views.index, name="index"),
    path("open-items/", views.open_items, name="open_items"),
    path("trace/", views.trace, name="trace"),
    path("designations/<int:pk>/", views.designation_documents, name="documents"),
    path("designations/<int:pk>/upload/", views.upload, name="upload"),
    path("designations/<int:pk>/custody/", views.custody, name="custody"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("documents/<int:pk>/view/", views.view, name="view"),
    path("documents/<int:pk>/download/", views.download, name="download"),
    path("documents/<int:pk>/received/", views.received, name="received"),
    path("copies/<int:pk>/", views.copy_detail, name="copy"),
]
