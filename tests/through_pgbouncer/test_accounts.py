"""tests/test_accounts.py behind PgBouncer in transaction mode."""

from tests import test_accounts
from tests.through_pgbouncer import rerun

rerun(test_accounts, globals())
