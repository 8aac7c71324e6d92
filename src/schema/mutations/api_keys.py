"""Mutations of partner API keys."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers import api_keys
from clientgraph.schema.inputs import CreateApiKeyInput, RevokeApiKeyInput
from clientgraph.schema.mutations.arguments import optional_id
from clientgraph.schema.payloads import CreateApiKeyPayload, RevokeApiKeyPayload, respond
from clientgraph.schema.types import ApiKey, Info


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        description="Owner or admin (a person, not a key): make a partner API key holding "
        "exactly `permissions`, each one a right you hold."
    )
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        return await respond(
            CreateApiKeyPayload,
            api_keys.create_api_key(
                info.context,
                name=input.name,
                permissions=list(input.permissions),
                expires_at=input.expires_at,
                user_id=optional_id(input.user_id),
            ),
            lambda issued: {"api_key": ApiKey.from_row(issued.row), "key": issued.key},
        )

    @strawberry.mutation(description="Admin: revoke a partner API key; it stops working at once.")
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        return await respond(
            RevokeApiKeyPayload,
            api_keys.revoke_api_key(info.context, api_key_id=str(input.api_key_id)),
            lambda row: {"api_key": ApiKey.from_row(row)},
        )
