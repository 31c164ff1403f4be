"""Every API error as one JSON shape, naming the parameter at fault where there is one::

    {"status": 400,
     "detail": "year_min: Enter a whole number.",
     "errors": [{"parameter": "year_min", "message": "Enter a whole number."}]}

``detail`` is a sentence to show; ``errors`` lists each problem with its parameter (a query
parameter, or a path parameter such as ``id``); it is empty when no parameter is at fault
(e.g. a throttled request).
"""

from __future__ import annotations

from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class ParameterError(exceptions.APIException):
    """A request the API cannot answer because of its parameters (400, unless told)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_parameter"

    def __init__(self, problems: list[tuple[str, str]], *, status_code: int | None = None):
        self.problems = problems
        if status_code is not None:
            self.status_code = status_code
        super().__init__(detail=summary(problems))


class NotFoundError(ParameterError):
    """Nothing answers to a path parameter (404), e.g. an unknown public ID."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"

    def __init__(self, parameter: str, message: str):
        super().__init__([(parameter, message)])


class GoneError(ParameterError):
    """The thing existed and was removed (410), e.g. a record created by a reverted import."""

    status_code = status.HTTP_410_GONE
    default_code = "gone"

    def __init__(self, parameter: str, message: str):
        super().__init__([(parameter, message)])


class NotModified(Exception):
    """Raised before any work when the client's copy is current; carries the 304."""

    def __init__(self, response):
        super().__init__("Not modified")
        self.response = response


class CachedAnswer(NotModified):
    """Raised before any work when an anonymous reader's answer for this address was kept under
    the current catalog version; carries it (see ``CatalogAPIView``)."""


def summary(problems: list[tuple[str, str]]) -> str:
    return " ".join(f"{parameter}: {message}" for parameter, message in problems)


def body(status_code: int, detail: str, problems: list[tuple[str, str]] = ()) -> dict:
    return {
        "status": status_code,
        "detail": detail,
        "errors": [{"parameter": p, "message": m} for p, m in problems],
    }


def _problems_from(data) -> list[tuple[str, str]]:
    """DRF's validation error detail (a dict of lists, usually) as (parameter, message) pairs."""
    if isinstance(data, dict):
        return [
            (str(key), str(message))
            for key, messages in data.items()
            for message in (messages if isinstance(messages, list) else [messages])
        ]
    return []


def exception_handler(exc, context):
    """DRF's handler, with its answer reshaped into :func:`body`."""
    if isinstance(exc, NotModified):
        return exc.response
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ParameterError):
        problems = exc.problems
        detail = str(exc.detail)
    elif isinstance(exc, exceptions.ValidationError):
        problems = _problems_from(exc.detail)
        detail = summary(problems) or "Invalid request."
    else:
        problems = []
        detail = str(getattr(exc, "detail", "")) or response.status_text
    response.data = body(response.status_code, detail, problems)
    return response


def json_not_found(request) -> JsonResponse:
    """The 404 of an address under ``/api/`` that no endpoint answers."""
    return JsonResponse(
        body(
            404,
            f"No endpoint answers {request.path}. The endpoints are listed at /api/v1/.",
            [("path", "no such endpoint")],
        ),
        status=404,
    )


def json_server_error() -> JsonResponse:
    return JsonResponse(body(500, "Server error."), status=500)
