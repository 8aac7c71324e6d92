"""tests/test_portal_invitations.py behind PgBouncer in transaction mode."""

from tests import test_portal_invitations
from tests.through_pgbouncer import rerun

rerun(test_portal_invitations, globals())
