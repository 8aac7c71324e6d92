"""The relations of the graph, each declared once: its rows, how they join their parent, the
caller's visibility (`policy`), their order (`db.orders`) and their limit (`ListLimits`).

The DataLoaders batch each by parent ids (`Loaders.of`), the planner embeds each as a
correlated subquery (`plan.build.Build.related`); `schema.related.related` makes a GraphQL
field of one. Every relation takes its models' aliases from `alias`: fresh ones for the
planner, so that one relation may be embedded inside itself (related accounts of related
accounts), the relation's kept ones for the loaders (`Relation.rows_alone`).

One module per area, named as the area's resolvers, types and models are (`base` holds what
several share); the package names every relation.
"""

from clientgraph.resolvers.read_model.accounts import ACCOUNTS, RELATED_ACCOUNTS, TAGS, TEAM_MEMBERS  # noqa: F401
from clientgraph.resolvers.read_model.api_keys import API_KEYS  # noqa: F401
from clientgraph.resolvers.read_model.audit import HISTORY  # noqa: F401
from clientgraph.resolvers.read_model.base import in_firm  # noqa: F401
from clientgraph.resolvers.read_model.contacts import (  # noqa: F401
    ACCOUNT_CONTACTS,
    CONTACT_EMAILS,
    CONTACT_LINKS,
    CONTACTS,
    LINK_SHAPE,
)
from clientgraph.resolvers.read_model.custom_fields import (  # noqa: F401
    ACCOUNT_CUSTOM_FIELDS,
    CONTACT_CUSTOM_FIELDS,
    CUSTOM_FIELD_DEFINITIONS,
    CUSTOM_VALUE_SHAPE,
)
from clientgraph.resolvers.read_model.firms import FIRMS, own_firm  # noqa: F401
from clientgraph.resolvers.read_model.notifications import NOTIFICATIONS, unread  # noqa: F401
from clientgraph.resolvers.read_model.owners import OWNED_ACCOUNTS, OWNER_OF_USER, OWNERS  # noqa: F401
from clientgraph.resolvers.read_model.users import LIVE_USERS, USERS, live_users  # noqa: F401
