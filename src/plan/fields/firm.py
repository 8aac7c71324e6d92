"""Firm and FirmSettings (both read from the firm's row)."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Field, Fix, planned
from clientgraph.plan.fields import scalars
from sqlalchemy import ColumnElement

TYPE = "Firm"

planned(TYPE, "id")(scalars.global_id(TYPE))
planned(TYPE, "name")(scalars.column("name"))
planned("FirmSettings", "clientOwnershipEnabled")(scalars.boolean("client_ownership_enabled"))
planned("FirmSettings", "customerNumberMinLength")(scalars.column("customer_number_min_length"))
planned("FirmSettings", "customerNumberMaxLength")(scalars.column("customer_number_max_length"))


@planned(TYPE, "settings")
def settings(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.object("FirmSettings", field, row)
