"""The customer register as CSV: export (the `accounts` list) and import (upsert by customer
number), in one format that round-trips."""
