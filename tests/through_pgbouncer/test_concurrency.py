"""tests/test_concurrency.py behind PgBouncer in transaction mode."""

from tests import test_concurrency
from tests.through_pgbouncer import rerun

rerun(test_concurrency, globals())
