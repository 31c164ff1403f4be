"""Requests refused before anything reads them: NUL characters (400) and oversized bodies (413)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads a byte of it."""

    def readable(self):
        return True

    def read(self, *args):
        raise AssertionError("the request body was read")

    readinto = readline = read


# --------------------------------------------------------------------------- NUL characters


@pytest.mark.parametrize(
    "address",
    [
        "/sources/%00/",
        "/mitigations/A0001%00/",
        "/taxonomies/a%00b/",
        "/mitigations/?q=%00",
        "/mitigations/?airm-preliminary=3.1%00",
        "/mitigations/download.csv?source=%00",
        "/coverage/?rows=%00",
        "/mitigations/?%00=1",
    ],
)
def test_a_nul_character_in_a_public_address_is_a_bad_request(client, address):
    response = client.get(address)

    assert response.status_code == 400
    assert "The request has a NUL character in" in response.text


def test_an_admin_filter_with_a_nul_character_is_a_bad_request(client_for, admin):
    response = client_for(admin).get("/admin/catalog/mitigation/", {"status": "\x00"})

    assert response.status_code == 400
    assert "the query parameter “status”" in response.text


def test_a_cookie_with_a_nul_character_is_a_bad_request(client):
    client.cookies["sessionid"] = "abc\x00def"

    response = client.get("/")

    assert response.status_code == 400
    assert "a cookie" in response.text


def test_a_nul_character_in_a_form_field_is_a_form_error(client_for, contributor):
    response = client_for(contributor).post(
        reverse("review:propose-new"),
        {"name": "Red\x00team", "rationale": "Because\x00", "source": "", "definition": ""},
    )

    assert response.status_code in (200, 400)
    assert "Null characters are not allowed." in response.text


# --------------------------------------------------------------------------- bodies over the limit


@pytest.mark.parametrize(
    "address", [reverse("review:upload"), reverse("admin:catalog_importbatch_upload")]
)
def test_an_upload_larger_than_the_limit_is_refused_before_it_is_read(client_for, admin, address):
    response = client_for(admin).generic(
        "POST",
        address,
        b"",
        CONTENT_TYPE="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(1024**3),
        **{"wsgi.input": UnreadableBody()},
    )

    assert response.status_code == 413
    assert (
        "The request is 1.0\xa0GB; the most this site accepts is 21.0\xa0MB (IMPORT_MAX_BYTES)."
        in response.text
    )


def test_a_form_body_larger_than_the_limit_is_refused_before_it_is_read(client_for, contributor):
    response = client_for(contributor).generic(
        "POST",
        reverse("review:propose-new"),
        b"",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(15 * 1024 * 1024),
        **{"wsgi.input": UnreadableBody()},
    )

    assert response.status_code == 413
    assert "(DATA_UPLOAD_MAX_MEMORY_SIZE)" in response.text


def test_an_upload_within_the_limit_is_read_as_before(client_for, contributor, settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(contributor).post(
        reverse("review:upload"),
        {"file": SimpleUploadedFile("p.csv", b"ID,Name,Source\n,An idea,NIST2024\n")},
    )

    assert response.status_code == 302


def test_a_length_that_is_not_a_number_is_a_bad_request(client):
    response = client.generic("POST", "/", b"", CONTENT_LENGTH="lots")

    assert response.status_code == 400
