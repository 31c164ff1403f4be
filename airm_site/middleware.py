"""Site-wide request guards and security headers (see docs/security.md).

- :class:`RequestGuardMiddleware` refuses, before any other middleware or view reads them, a
  request whose address, query parameters or cookies hold a NUL character (400: no database
  takes one, PostgreSQL refuses it with an error) and a request whose declared body is larger
  than anything the site accepts (413, without reading a byte of the body: a 1 GB upload is
  answered at once instead of being read and thrown away).
- :class:`PermissionsPolicyMiddleware` sends ``Permissions-Policy`` (``PERMISSIONS_POLICY``).
- :class:`RememberRolesMiddleware` lets the request's user remember its review roles for the
  request (one query however many times a page asks), and only for the request.
- :class:`RequireMFAMiddleware` sends curators and admins without a second factor to set one
  up before anything else, when ``REQUIRE_MFA_FOR_STAFF`` is on.

The Content-Security-Policy itself is Django's (``SECURE_CSP`` and its middleware).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.middleware import get_user
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from catalog.roles import remember_roles

NUL = "\x00"
# What a multipart upload adds to the file: boundaries, part headers, the other form fields.
MULTIPART_SLACK = 1024 * 1024


def body_limit(request) -> tuple[int, str]:
    """The most bytes a request body may declare, and the setting that says so."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/form-data"):
        return settings.IMPORT_MAX_BYTES + MULTIPART_SLACK, "IMPORT_MAX_BYTES"
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "DATA_UPLOAD_MAX_MEMORY_SIZE"


def _has_nul(request) -> tuple[str, str]:
    """Which part of the request holds a NUL character, and its name for an API error
    (``("the query parameter “q”", "q")``); ``("", "")`` when none does."""
    if NUL in request.path_info or NUL in request.path:
        return "the address", "path"
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in value for value in values):
            name = key.replace(NUL, "")
            return f"the query parameter “{name}”", name
    for key, value in request.COOKIES.items():
        if NUL in key or NUL in value:
            return "a cookie", "cookie"
    return "", ""


def _api_refusal(request, status: int, problem: str, parameter: str):
    """The refusal as the API's JSON error (see catalog.api.errors) under ``/api/``."""
    if not request.path.startswith("/api/"):
        return None
    from catalog.api.errors import body, summary

    problems = [(parameter, problem)]
    return JsonResponse(body(status, summary(problems), problems), status=status)


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where, parameter = _has_nul(request)
        if where:
            problem = f"The request has a NUL character in {where}, which nothing here accepts."
            api = _api_refusal(request, 400, problem, parameter)
            if api is not None:
                return api
            return render(request, "400.html", {"problem": problem}, status=400)
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            return render(
                request,
                "400.html",
                {"problem": "The request's length is not a number."},
                status=400,
            )
        limit, setting = body_limit(request)
        if length > limit:
            # Answered without reading the body; the server closes the connection after it.
            return render(
                request,
                "413.html",
                {
                    "size": filesizeformat(length),
                    "limit": filesizeformat(limit),
                    "setting": setting,
                },
                status=413,
            )
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Sends ``Permissions-Policy``: the browser features the site's pages may use."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})"
            for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        if self.header and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.header
        return response


# Where a curator or admin without a second factor may still go: setting one up, signing out,
# and what those pages need.
MFA_SETUP_URL_NAMES = (
    "mfa_index",
    "mfa_activate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_add_webauthn",
    "mfa_list_webauthn",
    "mfa_reauthenticate",
    "account_reauthenticate",
    "account_logout",
    "account_login",
    "account_email_verification_sent",
)


class RememberRolesMiddleware:
    """After ``AuthenticationMiddleware``: the user it loads (lazily, as before) remembers its
    roles until the response is made (:func:`catalog.roles.remember_roles`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = SimpleLazyObject(lambda: remember_roles(get_user(request)))
        return self.get_response(request)


class RequireMFAMiddleware:
    """With ``REQUIRE_MFA_FOR_STAFF`` on, a curator or admin who has no second factor (an
    authenticator app or a security key) is sent to set one up before any other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.REQUIRE_MFA_FOR_STAFF
            and not request.path.startswith(settings.STATIC_URL)
            and request.path not in _setup_paths()
            and _needs_second_factor(request)
        ):
            messages.warning(
                request,
                "Curators and admins sign in with a second factor here. Set up an "
                "authenticator app before you go on.",
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _setup_paths() -> set[str]:
    paths = set()
    for name in MFA_SETUP_URL_NAMES:
        try:
            paths.add(reverse(name))
        except NoReverseMatch:  # e.g. security keys when MFA_WEBAUTHN is off
            continue
    return paths


def _needs_second_factor(request) -> bool:
    from allauth.mfa.models import Authenticator

    from catalog.roles import is_privileged

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_privileged(user):
        return False
    return not Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()
