"""What the relay asks of each kind of delivery (an e-mail, a webhook): one attempt at one
claimed row, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clientgraph.outbox.queue import Claimed


@dataclass(frozen=True, slots=True)
class Sent:
    note: str
    """What the log says of the delivery, e.g. the Message-ID."""
    response_code: int | None = None


class AttemptFailed(Exception):
    """This attempt failed; the relay tries again after a backoff, until its limit."""

    def __init__(self, message: str, *, response_code: int | None = None) -> None:
        super().__init__(message)
        self.response_code = response_code


class Undeliverable(Exception):
    """The row can never be delivered (its payload lacks what its kind needs, its webhook is
    gone): trying again would change nothing, so it fails at once."""


class Sender(Protocol):
    noun: str
    """What a row is called in the log: "e-mail", "webhook delivery"."""

    async def send(self, row: Claimed, firm_name: str) -> Sent:
        """Deliver `row`; raise Undeliverable, or any other exception for a retry."""
