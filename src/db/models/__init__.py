"""Typed SQLAlchemy models: the write side (ORM unit of work) and the table definitions, one
module per area (`base` holds what they share). Importing this package defines every table
in `Base.metadata`, and it names every model, so `models.Account` reads as before the split.
"""

from clientgraph.db.models.accounts import Account, AccountTag, AccountTeamMember  # noqa: F401
from clientgraph.db.models.api_keys import ApiKey  # noqa: F401
from clientgraph.db.models.audit import (  # noqa: F401
    AuditEvent,
    OldestRunningTransaction,
    TransactionOrder,
    WritingTransaction,
)
from clientgraph.db.models.base import (  # noqa: F401
    NAMING_CONVENTION,
    Base,
    UTCDateTime,
    firm_fk,
    folded,
    new_id,
    utcnow,
)
from clientgraph.db.models.contacts import AccountContact, Contact, ContactEmail  # noqa: F401
from clientgraph.db.models.custom_fields import CustomFieldDefinition, CustomFieldValue  # noqa: F401
from clientgraph.db.models.firms import Firm  # noqa: F401
from clientgraph.db.models.idempotency import IdempotencyKey  # noqa: F401
from clientgraph.db.models.notifications import Notification  # noqa: F401
from clientgraph.db.models.outbox import OutboxEvent  # noqa: F401
from clientgraph.db.models.owners import ClientOwner  # noqa: F401
from clientgraph.db.models.portal import PortalCredential, PortalInvitation  # noqa: F401
from clientgraph.db.models.users import PasswordToken, RefreshToken, User  # noqa: F401
from clientgraph.db.models.webhooks import Webhook  # noqa: F401
