"""The domain's closed vocabularies. Stored as their string values; exposed as GraphQL enums.
An e-mail's delivery states are the outbox's own (outbox/emails.py), named here with the rest."""

from enum import StrEnum

from clientgraph.outbox.emails import EmailDeliveryStatus as EmailDeliveryStatus


class UserRole(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    STAFF = "STAFF"


class Permission(StrEnum):
    VIEW_ALL_ACCOUNTS = "VIEW_ALL_ACCOUNTS"
    VIEW_ASSIGNED_ACCOUNTS = "VIEW_ASSIGNED_ACCOUNTS"
    EDIT_ALL_ACCOUNTS = "EDIT_ALL_ACCOUNTS"
    EDIT_ASSIGNED_ACCOUNTS = "EDIT_ASSIGNED_ACCOUNTS"
    CREATE_ACCOUNTS = "CREATE_ACCOUNTS"
    DELETE_ACCOUNTS = "DELETE_ACCOUNTS"
    IMPORT_ACCOUNTS = "IMPORT_ACCOUNTS"
    ASSIGN_ACCOUNTS = "ASSIGN_ACCOUNTS"
    CREATE_CLIENT_USERS = "CREATE_CLIENT_USERS"
    EDIT_CLIENT_USER_RIGHTS = "EDIT_CLIENT_USER_RIGHTS"
    DELETE_CLIENT_USERS = "DELETE_CLIENT_USERS"
    READ_AUDIT_FEED = "READ_AUDIT_FEED"
    """The firm-wide `auditEvents` feed: every account's events, whatever else its holder may
    see (owners and administrators hold it; given to a partner's key for incremental sync)."""


class AccountType(StrEnum):
    INDIVIDUAL = "INDIVIDUAL"
    COMPANY = "COMPANY"
    OTHER = "OTHER"


class AccountStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class ContactRole(StrEnum):
    COMMERCIAL = "COMMERCIAL"
    OPERATIONAL = "OPERATIONAL"


class PortalAccess(StrEnum):
    NONE = "NONE"
    INVITED = "INVITED"
    ACTIVE = "ACTIVE"


class WebhookDeliveryStatus(StrEnum):
    """The outbox's states (EmailDeliveryStatus) of a webhook delivery."""

    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


class AccountOrderField(StrEnum):
    NAME = "NAME"
    CUSTOMER_NUMBER = "CUSTOMER_NUMBER"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    OWNER_NAME = "OWNER_NAME"


class OrderDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


class UserErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TAKEN = "TAKEN"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    STALE_VERSION = "STALE_VERSION"
    OWNERSHIP_DISABLED = "OWNERSHIP_DISABLED"
    OWNER_REQUIRED = "OWNER_REQUIRED"
    SAME_OWNER = "SAME_OWNER"
    LAST_CONTACT = "LAST_CONTACT"
    ALREADY_LINKED = "ALREADY_LINKED"
    NOT_LINKED = "NOT_LINKED"
    ACCOUNT_INACTIVE = "ACCOUNT_INACTIVE"
    USER_INACTIVE = "USER_INACTIVE"
    ALREADY_IN_ADDRESS_BOOK = "ALREADY_IN_ADDRESS_BOOK"
    DUPLICATE = "DUPLICATE"
    FORBIDDEN = "FORBIDDEN"


class CustomFieldType(StrEnum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    DATE = "DATE"
    BOOLEAN = "BOOLEAN"
    SELECT = "SELECT"


class CustomFieldEntity(StrEnum):
    ACCOUNT = "ACCOUNT"
    CONTACT = "CONTACT"


class ImportMode(StrEnum):
    """What an import does with a file some of whose rows fail: write nothing, or the rest."""

    ALL_OR_NOTHING = "ALL_OR_NOTHING"
    PARTIAL = "PARTIAL"
