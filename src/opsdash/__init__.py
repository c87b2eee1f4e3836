"""opsdash: operational performance analytics for hospitals' BPO partners."""

__version__ = "0.1.0"
