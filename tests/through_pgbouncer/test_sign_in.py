"""tests/test_sign_in.py behind PgBouncer in transaction mode."""

from tests import test_sign_in
from tests.through_pgbouncer import rerun

rerun(test_sign_in, globals())
