"""Plain frozen rows the read side maps Core results into; GraphQL types wrap these. One
module per area; the package names every row."""

from clientgraph.db.rows.accounts import AccountRow  # noqa: F401
from clientgraph.db.rows.api_keys import ApiKeyRow  # noqa: F401
from clientgraph.db.rows.audit import AuditEventRow  # noqa: F401
from clientgraph.db.rows.contacts import AccountContactRow, ContactRow  # noqa: F401
from clientgraph.db.rows.custom_fields import CustomFieldDefinitionRow, CustomFieldValueRow  # noqa: F401
from clientgraph.db.rows.email_deliveries import EmailDeliveryRow  # noqa: F401
from clientgraph.db.rows.firms import FirmRow  # noqa: F401
from clientgraph.db.rows.notifications import NotificationRow  # noqa: F401
from clientgraph.db.rows.owners import ClientOwnerRow  # noqa: F401
from clientgraph.db.rows.users import UserRow  # noqa: F401
from clientgraph.db.rows.webhooks import WebhookDeliveryRow, WebhookRow  # noqa: F401
