"""tests/test_address_book.py behind PgBouncer in transaction mode."""

from tests import test_address_book
from tests.through_pgbouncer import rerun

rerun(test_address_book, globals())
