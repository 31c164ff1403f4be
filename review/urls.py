from django.urls import path

from catalog.urls import PublicIdConverter  # noqa: F401  (registers the public_id converter)

from . import views, workflow

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("mine/", views.mine, name="mine"),
    path("settings/", views.profile_settings, name="settings"),
    path("propose/", views.propose_new, name="propose-new"),
    path("propose/similar/", views.similar_mitigations, name="similar-mitigations"),
    path("propose/source/", views.propose_source, name="propose-source"),
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
    path("upload/", views.upload, name="upload"),
    path("uploads/<int:pk>/", views.upload_detail, name="upload-detail"),
    path("uploads/<int:pk>/confirm/", views.upload_confirm, name="upload-confirm"),
    path("uploads/<int:pk>/cancel/", views.upload_cancel, name="upload-cancel"),
    path("batches/<int:pk>/", views.batch_detail, name="batch-detail"),
    # One URL per action of the workflow's table: review:proposal-approve, …
    *(
        path(
            f"proposals/<int:pk>/{action.slug}/",
            views.ACTION_VIEWS[name],
            name=f"proposal-{action.slug}",
        )
        for name, action in workflow.ACTIONS.items()
    ),
    *(
        path(
            f"batches/<int:pk>/{action.slug}/",
            views.BATCH_ACTION_VIEWS[name],
            name=f"batch-{action.slug}",
        )
        for name, action in workflow.BATCH_ACTIONS.items()
    ),
]
