from django.urls import path, re_path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/open/", views.campaign_open, name="open"),
    path("<int:pk>/close/", views.campaign_close, name="close"),
    path("<int:pk>/next/", views.next_record, name="next"),
    path("<int:pk>/code/<str:public_id>/", views.code_record, name="code"),
    path("<int:pk>/report/", views.campaign_report, name="report"),
    path("<int:pk>/adjudication/", views.adjudication_queue, name="adjudication"),
    path("<int:pk>/adjudication/accept-agreed/", views.accept_agreed, name="accept-agreed"),
    path("<int:pk>/adjudication/<str:public_id>/", views.adjudicate, name="adjudicate"),
    path("<int:pk>/codings/import/", views.import_codings, name="import"),
    re_path(r"^(?P<pk>[0-9]+)/codings\.(?P<fmt>csv|xlsx)$", views.export_codings, name="export"),
]
