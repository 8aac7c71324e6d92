"""The field mappings, one module per GraphQL type; importing this package registers them all
in `clientgraph.plan.build.HANDLERS`."""

from clientgraph.plan.fields import (  # noqa: F401
    account,
    account_contact,
    api_key,
    audit_event,
    client_owner,
    contact,
    custom_field_definition,
    custom_fields,
    email_delivery,
    firm,
    node,
    notification,
    query,
    user,
    viewer,
    webhook,
)
