"""A caller as SQL parameters, so that one statement serves every caller of the same kind.

What of a caller decides a statement's SQL is its rights, not its ids (`viewer_shape`): a
statement built for `parameter_viewer(viewer)`, whose ids are SQL parameters, reads as
`resolvers.policy`'s predicates do for every caller of that shape, given the caller's ids by
`viewer_parameters` at each execution. The planner builds its plans so
(`clientgraph.plan.build`), and so do the loaders their batch statements
(`clientgraph.db.loaders`). A portal contact is not a shape: its statements are its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.resolvers.enums import Permission, UserRole
from sqlalchemy import Uuid, bindparam

FIRM = "cg_firm"
USER = "cg_user"
API_KEY = "cg_api_key"


@dataclass(frozen=True, slots=True)
class ViewerShape:
    """What of the caller decides a statement's SQL: their rights, not their ids."""

    role: UserRole
    granted: frozenset[Permission]
    by_key: bool
    portal: bool


def viewer_shape(viewer: Viewer) -> ViewerShape:
    return ViewerShape(viewer.role, viewer.granted, viewer.api_key_id is not None, viewer.is_portal)


def viewer_parameters(viewer: Viewer) -> dict[str, Any]:
    """The values of `parameter_viewer`'s parameters for `viewer`."""
    return {FIRM: viewer.firm_id, USER: viewer.user_id, API_KEY: viewer.api_key_id}


def parameter_viewer(shape: ViewerShape) -> Viewer:
    """A caller of `shape` with SQL parameters for ids, so that `resolvers.policy`'s predicates
    come out the same for every caller of the shape, and one statement serves them all."""
    return Viewer(
        user_id=bindparam(USER, type_=Uuid),  # type: ignore[arg-type]
        firm_id=bindparam(FIRM, type_=Uuid),  # type: ignore[arg-type]
        name="",
        role=shape.role,
        granted=shape.granted,
        api_key_id=bindparam(API_KEY, type_=Uuid) if shape.by_key else None,  # type: ignore[arg-type]
    )
