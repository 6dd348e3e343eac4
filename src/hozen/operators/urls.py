from django.urls import path

from . import views

app_name = "operators"

urlpatterns = [
    path("certifications/<int:pk>/", views.certification, name="certification"),
    *[path(f"certifications/<int:pk>/{m}/", views.certification_measure, {"measure": m}, name=f"certification_{m}")
      for m in ("suspend", "restore", "revoke")],
    *[path(f"contracts/<int:pk>/{m}/", views.contract_measure, {"measure": m}, name=f"contract_{m}")
      for m in ("amend", "terminate")],
]
