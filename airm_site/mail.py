"""The development email backend: every message printed as a person would read it.

Django's console backend prints the message as it would travel over SMTP: a body with long
lines or non-ASCII letters is quoted-printable, so a link longer than 76 characters comes out
broken across lines (``…/confirm-emai=``) and cannot be clicked or copied. This backend prints
the same headers, then each text part decoded, so every link (django-allauth's sign-up and
password-reset links as much as the review notifications) is whole on one line. Where a plain
text part exists, an HTML alternative is only mentioned; attachments are named, not dumped.
Only the printing differs: what is sent through SMTP is untouched.
"""

from __future__ import annotations

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

SHOWN_HEADERS = ("Subject", "From", "To", "Cc", "Reply-To", "Date", "Message-ID")


class ConsoleEmailBackend(DjangoConsoleBackend):
    def write_message(self, message):
        self.stream.write(readable_text(message))
        self.stream.write("\n" + "-" * 79 + "\n")


def readable_text(message) -> str:
    """``message`` (a Django EmailMessage) as headers and its decoded text parts."""
    msg = message.message()
    lines = [f"{name}: {msg[name]}" for name in SHOWN_HEADERS if msg[name] is not None]
    leaves = [part for part in msg.walk() if not part.is_multipart()]
    has_plain = any(
        part.get_content_type() == "text/plain" and not part.get_filename() for part in leaves
    )
    for part in leaves:
        filename = part.get_filename()
        if filename or part.get_content_maintype() != "text":
            lines += ["", f"[attachment: {filename or '(unnamed)'}, {part.get_content_type()}]"]
            continue
        if has_plain and part.get_content_type() == "text/html":
            lines += ["", "[text/html alternative: not shown]"]
            continue
        lines += ["", f"[{part.get_content_type()}]", part.get_content().rstrip("\n")]
    return "\n".join(lines) + "\n"
