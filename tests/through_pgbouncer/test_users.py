"""tests/test_users.py behind PgBouncer in transaction mode."""

from tests import test_users
from tests.through_pgbouncer import rerun

rerun(test_users, globals())
