"""clientgraph: a GraphQL API for client-relationship management."""
