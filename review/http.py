"""How the workflow's refusals reach the person who tried: the one place that turns them into
HTTP responses, for every review view.

- :class:`~review.workflow.NotAllowed` (the rules say no) is a 403 carrying the reason;
- any other :class:`~review.workflow.WorkflowError` (a wrong state: someone else was faster,
  the record changed since) is an error message on the page the person goes back to;
- a :class:`~django.core.exceptions.ValidationError` (bad input) is an error message ending
  "Nothing was changed.", unless the view asks for it back to put on its form.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from catalog.validation import error_text

from .workflow import NotAllowed, WorkflowError


@dataclass
class Refusal:
    """What :func:`workflow_refusals` caught, if anything (``error`` is None on success)."""

    error: Exception | None = None

    def __bool__(self) -> bool:
        return self.error is not None


@contextmanager
def workflow_refusals(request: HttpRequest, *, validation: bool = True) -> Iterator[Refusal]:
    """Run a workflow call; turn its refusal into a 403 or an error message (see above).

    ``validation=False`` lets a :class:`ValidationError` through, for a view that shows it on
    its form. The yielded :class:`Refusal` is true after a refusal became a message, so the
    view can choose where to send the person::

        with workflow_refusals(request) as refused:
            workflow.proposal_claim(proposal=proposal, actor=request.user)
            messages.success(request, "Claimed.")
        return redirect(proposal)
    """
    refusal = Refusal()
    try:
        yield refusal
    except NotAllowed as error:
        raise PermissionDenied(error.message) from error
    except WorkflowError as error:
        messages.error(request, error.message)
        refusal.error = error
    except ValidationError as error:
        if not validation:
            raise
        messages.error(request, f"{error_text(error)} Nothing was changed.")
        refusal.error = error
