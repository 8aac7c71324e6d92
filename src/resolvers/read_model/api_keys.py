"""The relation that reads API keys: a key by id."""

from __future__ import annotations

from clientgraph.db import models
from clientgraph.db.relation import Relation, row_shape
from clientgraph.db.rows import ApiKeyRow
from clientgraph.resolvers.policy import visible_api_keys
from clientgraph.resolvers.read_model.base import by_id

API_KEYS = Relation(
    "api_keys", by_id(models.ApiKey, visible_api_keys), row_shape(ApiKeyRow), unique=True
)
"""A key by id, if the caller may read it (`policy.visible_api_keys`): an administrator any
of the firm's, a key itself, nobody else any."""
