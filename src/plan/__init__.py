"""The planned read path: a GraphQL query document becomes a plan once, cached, and runs as
one SQL statement that builds the response's JSON in the database (see DESIGN.md)."""
