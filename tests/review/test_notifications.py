"""The notification emails: templates with a subject, plain text and HTML."""

from __future__ import annotations

import pytest

from review import notifications, workflow
from review.models import ProposalKind

from .conftest import new_proposal

pytestmark = pytest.mark.django_db

TYPED = "Because <b>the</b> source & the annex say so."


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def test_curators_get_the_submission_as_text_and_html(
    contributor, curator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = new_proposal(contributor, rationale=TYPED)
    message = next(m for m in mailoutbox if m.to == [curator.email])
    assert message.subject == f"[AIRM Curator] Proposal #{proposal.pk} submitted: {proposal.title}"
    assert f"Why: {TYPED}\n" in message.body  # plain text: as typed
    html = html_of(message)
    assert "Because &lt;b&gt;the&lt;/b&gt; source &amp; the annex say so." in html  # escaped
    assert "<b>the</b>" not in html
    assert f'href="http://127.0.0.1:8000{proposal.get_absolute_url()}"' in html
    assert 'href="http://127.0.0.1:8000/review/settings/"' in html
    assert "you are a curator" in message.body and "you are a curator" in html


def test_the_author_reads_the_note_in_both_parts(
    contributor, curator, mailoutbox, django_capture_on_commit_callbacks
):
    proposal = new_proposal(contributor)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.proposal_request_changes(
            proposal=proposal, actor=curator, note="Quote <page 4>\nand the annex."
        )
    (message,) = mailoutbox
    assert message.body.startswith("Cecil asked for changes to your proposal.\n\n")
    assert "\nQuote <page 4>\nand the annex.\n" in message.body
    assert "Quote &lt;page 4&gt;<br>and the annex." in html_of(message)
    assert "you are a curator" not in message.body


def test_a_decision_on_a_batch_lists_its_proposals_in_both_parts(
    contributor, curator, record, other_record, mailoutbox
):
    batch = workflow.proposal_batch_create(
        author=contributor,
        title="My file",
        rationale="Checked against the sources.",
        items=[
            workflow.BatchItem(ProposalKind.EDIT, {"name": "A new name"}, record),
            workflow.BatchItem(ProposalKind.EDIT, {"name": "Another name"}, other_record),
        ],
    )
    first, second = batch.proposals.order_by("pk")
    mailoutbox.clear()
    notifications.notify_batch_decided(
        batch.pk, "reject", "No.", curator.pk, [first.pk], [second.pk]
    )
    (message,) = mailoutbox
    assert message.subject == f"[AIRM Curator] Batch #{batch.pk} rejected: My file"
    assert f"1 proposals were rejected:\n- #{first.pk} {first.title}\n" in message.body
    assert f"- #{second.pk} {second.title}: http://127.0.0.1:8000/review/proposals/" in message.body
    html = html_of(message)
    assert f"#{first.pk} {first.title}" in html
    assert f'href="http://127.0.0.1:8000{second.get_absolute_url()}"' in html


def test_there_is_no_email_for_news_it_does_not_know(contributor):
    proposal = new_proposal(contributor)
    with pytest.raises(ValueError, match="No email says 'promoted'"):
        notifications.notify_author(proposal.pk, "promoted", "", None)
