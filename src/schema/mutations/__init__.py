"""The mutations, one module per area; `schema.py` merges their classes into `Mutation`."""
