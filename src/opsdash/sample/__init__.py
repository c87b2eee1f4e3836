"""The sample data: fictional vendors' exports carrying stories to find (``opsdash generate``, ``opsdash demo``).

Same seed and as-of date, same bytes. Only the command line imports this package; the dashboard never does.

- ``stories.py``   the vendors, seasons and planted signals, as declarations
- ``tables.py``    the contract tables' rows built from the stories (seeded pandas/numpy)
- ``reported.py``  what vendors report: the engine's figures over their rows, flattered where a story says
- ``writers.py``   files as each vendor sends them, the mapping files, MANIFEST.json (``readme.py``: README.md)
- ``flat.py``      one plain CSV per table, for benchmarks
- ``mappings/``    the Ibérica mapping files (TOML), copied beside its exports
"""

from opsdash.sample.flat import flat_table, write_flat
from opsdash.sample.tables import write_csv
from opsdash.sample.writers import write_sample

__all__ = ["flat_table", "write_csv", "write_flat", "write_sample"]
