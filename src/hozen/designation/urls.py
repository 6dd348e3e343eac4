from django.urls import path

from . import views

app_name = "designation"

urlpatterns = [
    path("", views.designation_list, name="list"),
    path("new/", views.create, name="create"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:notification_pk>/acknowledge/", views.acknowledge_notification,
         name="acknowledge_notification"),
    path("notifications/sent/", views.notices_sent, name="notices_sent"),
    path("notifications/sent/<int:notification_pk>/delivered/", views.record_notice_delivered,
         name="record_notice_delivered"),
    path("statistics/", views.statistics, name="statistics"),
    path("ledger/", views.ledger_index, name="ledger_index"),
    path("ledger/<str:code>/", views.ledger, name="ledger"),
    path("ledger/<str:code>/ledger.csv", views.ledger_export, {"fmt": "csv"}, name="ledger_csv"),
    path("ledger/<str:code>/ledger.pdf", views.ledger_export, {"fmt": "pdf"}, name="ledger_pdf"),
    path("ledger/<str:code>/prepare/pdf/", views.ledger_prepare, {"fmt": "pdf"}, name="ledger_prepare_pdf"),
    path("ledger/<str:code>/prepared/<int:prepared_pk>/", views.ledger_prepared, name="ledger_prepared"),
    path("ledger/<str:code>/prepared/<int:prepared_pk>/download/", views.ledger_prepared_download,
         name="ledger_prepared_download"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/return/", views.return_draft, name="return_draft"),
    path("<int:pk>/extend/", views.extend, name="extend"),
    path("<int:pk>/refused-approval/", views.refused_approval, name="refused_approval"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/move-to-sds/", views.move_to_sds, name="move_to_sds"),
    path("<int:pk>/provisions/new/", views.provide, name="provide"),
    path("<int:pk>/corrections/new/", views.request_correction, name="request_correction"),
    path("<int:pk>/corrections/<int:correction_pk>/answer/", views.answer_correction, name="answer_correction"),
    path("<int:pk>/document.pdf", views.document_pdf, name="document"),
]
