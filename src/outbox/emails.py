"""The e-mails the outbox sends: the kind of each (an outbox row's `kind`) and the states of a
delivery. The resolvers that write e-mails and the relay that sends them both read them here."""

from __future__ import annotations

from enum import StrEnum

INVITATION_KIND = "contact.portal_invitation"
"""A contact's invitation to the client portal; its payload carries the one-time token."""
SET_PASSWORD_KIND = "user.set_password"
"""A staff user's set-password link; the relay signs the link when it renders the e-mail."""
EMAIL_KINDS = (INVITATION_KIND, SET_PASSWORD_KIND)
"""The kinds of outbox events that are e-mails; the outbox relay writes each (outbox.render)."""


class EmailDeliveryStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"
