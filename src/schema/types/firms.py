"""The firm and its settings."""

from __future__ import annotations

import strawberry
from clientgraph.db.rows import FirmRow
from strawberry import relay


@strawberry.type(description="The firm's settings.")
class FirmSettings:
    client_ownership_enabled: bool
    customer_number_min_length: int | None
    customer_number_max_length: int | None


@strawberry.type(description="A firm: the tenant that keeps accounts.")
class Firm(relay.Node):
    id: relay.NodeID[str]
    name: str
    settings: FirmSettings

    @classmethod
    def from_row(cls, row: FirmRow) -> Firm:
        return cls(
            id=str(row.id),
            name=row.name,
            settings=FirmSettings(
                client_ownership_enabled=row.client_ownership_enabled,
                customer_number_min_length=row.customer_number_min_length,
                customer_number_max_length=row.customer_number_max_length,
            ),
        )
