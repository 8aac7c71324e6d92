"""Review before acting: why a user can or cannot see and edit an account."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers import access


@strawberry.type(description="Whether a user can see and edit an account, and why.")
class AccessExplanation:
    can_view: bool
    can_edit: bool
    reasons: list[str] = strawberry.field(
        description="In order: the user's role and rights, then why they may or may not see "
        "the account, then why they may or may not edit it (through which right, and whether "
        "they are on its team or its client owner)."
    )

    @classmethod
    def of(cls, explanation: access.AccessExplanation) -> AccessExplanation:
        return cls(
            can_view=explanation.can_view,
            can_edit=explanation.can_edit,
            reasons=explanation.reasons,
        )
