"""tests/test_ownership.py behind PgBouncer in transaction mode."""

from tests import test_ownership
from tests.through_pgbouncer import rerun

rerun(test_ownership, globals())
