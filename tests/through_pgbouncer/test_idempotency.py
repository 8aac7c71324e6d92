"""tests/test_idempotency.py behind PgBouncer in transaction mode."""

from tests import test_idempotency
from tests.through_pgbouncer import rerun

rerun(test_idempotency, globals())
