"""The domain enums, exposed to GraphQL under the same names."""

import strawberry
from clientgraph.resolvers import enums

UserRole = strawberry.enum(enums.UserRole)
Permission = strawberry.enum(enums.Permission)
AccountType = strawberry.enum(enums.AccountType)
AccountStatus = strawberry.enum(enums.AccountStatus)
ContactRole = strawberry.enum(enums.ContactRole)
PortalAccess = strawberry.enum(enums.PortalAccess)
AccountOrderField = strawberry.enum(enums.AccountOrderField)
OrderDirection = strawberry.enum(enums.OrderDirection)
UserErrorCode = strawberry.enum(enums.UserErrorCode)
CustomFieldType = strawberry.enum(enums.CustomFieldType)
CustomFieldEntity = strawberry.enum(enums.CustomFieldEntity)
EmailDeliveryStatus = strawberry.enum(enums.EmailDeliveryStatus)
WebhookDeliveryStatus = strawberry.enum(enums.WebhookDeliveryStatus)
ImportMode = strawberry.enum(enums.ImportMode)
