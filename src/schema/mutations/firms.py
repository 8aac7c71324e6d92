"""Mutations of the firm: its settings."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers import firms
from clientgraph.schema.inputs import UpdateFirmSettingsInput
from clientgraph.schema.mutations.arguments import given
from clientgraph.schema.payloads import UpdateFirmSettingsPayload, respond
from clientgraph.schema.types import FirmSettings, Info


@strawberry.type
class FirmMutation:
    @strawberry.mutation(description="Admin: switch client ownership, set customer-number rules.")
    async def update_firm_settings(
        self, info: Info, input: UpdateFirmSettingsInput
    ) -> UpdateFirmSettingsPayload:
        changes = given(input, *firms.SETTING_FIELDS)
        return await respond(
            UpdateFirmSettingsPayload,
            firms.update_firm_settings(info.context, changes),
            lambda firm: {
                "settings": FirmSettings(
                    client_ownership_enabled=firm.client_ownership_enabled,
                    customer_number_min_length=firm.customer_number_min_length,
                    customer_number_max_length=firm.customer_number_max_length,
                )
            },
        )
