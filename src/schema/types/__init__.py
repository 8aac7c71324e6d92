"""The object types of the graph. Each wraps a row from the read side; nested fields load
through the request's DataLoaders.

One module per area, named as the area's resolvers, relations and models are (`base` holds what
every module shares). The package names every type: the types' modules refer to another
module's type through it (`base.TYPES`), and the rest of the code imports them from it.
"""

from clientgraph.schema.types.accounts import Account  # noqa: F401
from clientgraph.schema.types.api_keys import ApiKey  # noqa: F401
from clientgraph.schema.types.audit import AuditEvent, FieldChange  # noqa: F401
from clientgraph.schema.types.base import Info, load_optional  # noqa: F401
from clientgraph.schema.types.contacts import AccountContact, Contact  # noqa: F401
from clientgraph.schema.types.custom_fields import CustomFieldDefinition, CustomFieldValue  # noqa: F401
from clientgraph.schema.types.email_deliveries import EmailDelivery  # noqa: F401
from clientgraph.schema.types.firms import Firm, FirmSettings  # noqa: F401
from clientgraph.schema.types.notifications import Notification  # noqa: F401
from clientgraph.schema.types.owners import ClientOwner  # noqa: F401
from clientgraph.schema.types.users import User  # noqa: F401
from clientgraph.schema.types.viewer import Viewer  # noqa: F401
