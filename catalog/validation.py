"""One way to put a :class:`~django.core.exceptions.ValidationError` into words for a person.

Forms show field errors beside their fields; everywhere else (a message after a refused action,
a batch's report, an upload's note) the error becomes one line of text through
:func:`error_text`, so the same refusal reads the same wherever it is shown.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def error_text(error: ValidationError, *, fields: bool = False) -> str:
    """The error's messages as one line.

    Plain (``fields=False``), the messages joined by spaces: for a page that already says what
    was being done ("Say why the proposal is rejected."). With ``fields=True``, each field's
    messages are prefixed by its name and joined by semicolons, for a report that lists many
    refusals away from any form ("Row 7 (A9001): name: Give the mitigation a name.").
    """
    if fields and hasattr(error, "error_dict"):
        return "; ".join(
            message if name == NON_FIELD_ERRORS else f"{name}: {message}"
            for name, messages in error.message_dict.items()
            for message in messages
        )
    return " ".join(error.messages)
