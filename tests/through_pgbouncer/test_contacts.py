"""tests/test_contacts.py behind PgBouncer in transaction mode."""

from tests import test_contacts
from tests.through_pgbouncer import rerun

rerun(test_contacts, globals())
