from django.urls import path, register_converter

from . import views


class PublicIdConverter:
    """``A0983``: the letter A and a number (MIT's ``A0983_Ref`` form is resolved by the view)."""

    regex = r"A[0-9]{1,7}(?:_[^/]+)?"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(PublicIdConverter, "public_id")

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("mitigations/<public_id:public_id>/", views.mitigation_detail, name="mitigation-detail"),
]
