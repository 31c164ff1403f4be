from django.urls import path

from catalog.urls import PublicIdConverter  # noqa: F401  (registers the public_id converter)

from . import views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("mine/", views.mine, name="mine"),
    path("settings/", views.profile_settings, name="settings"),
    path("propose/", views.propose_new, name="propose-new"),
    path("propose/similar/", views.similar_mitigations, name="similar-mitigations"),
    path("mitigations/<public_id:public_id>/edit/", views.propose_edit, name="propose-edit"),
    path(
        "mitigations/<public_id:public_id>/reclassify/",
        views.propose_reclassification,
        name="propose-reclassification",
    ),
    path(
        "mitigations/<public_id:public_id>/retire/",
        views.propose_retirement,
        name="propose-retirement",
    ),
    path("mitigations/<public_id:public_id>/merge/", views.propose_merge, name="propose-merge"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal-detail"),
    path("proposals/<int:pk>/edit/", views.proposal_edit, name="proposal-edit"),
    path("proposals/<int:pk>/submit/", views.proposal_submit, name="proposal-submit"),
    path("proposals/<int:pk>/resubmit/", views.proposal_resubmit, name="proposal-resubmit"),
    path("proposals/<int:pk>/withdraw/", views.proposal_withdraw, name="proposal-withdraw"),
    path("proposals/<int:pk>/approve/", views.proposal_approve, name="proposal-approve"),
    path("proposals/<int:pk>/reject/", views.proposal_reject, name="proposal-reject"),
    path(
        "proposals/<int:pk>/request-changes/",
        views.proposal_request_changes,
        name="proposal-request-changes",
    ),
    path("proposals/<int:pk>/comment/", views.proposal_comment, name="proposal-comment"),
    path("proposals/<int:pk>/claim/", views.proposal_claim, name="proposal-claim"),
    path("proposals/<int:pk>/release/", views.proposal_release, name="proposal-release"),
    path("upload/", views.upload, name="upload"),
    path("uploads/<int:pk>/", views.upload_detail, name="upload-detail"),
    path("uploads/<int:pk>/confirm/", views.upload_confirm, name="upload-confirm"),
    path("uploads/<int:pk>/cancel/", views.upload_cancel, name="upload-cancel"),
    path("batches/<int:pk>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:pk>/approve/", views.batch_approve, name="batch-approve"),
    path("batches/<int:pk>/reject/", views.batch_reject, name="batch-reject"),
    path(
        "batches/<int:pk>/request-changes/",
        views.batch_request_changes,
        name="batch-request-changes",
    ),
]
