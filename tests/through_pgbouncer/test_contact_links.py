"""tests/test_contact_links.py behind PgBouncer in transaction mode."""

from tests import test_contact_links
from tests.through_pgbouncer import rerun

rerun(test_contact_links, globals())
