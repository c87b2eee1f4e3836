"""Alerts and subscriptions: the signals that matter (rules.py), raised once each under a stable key
(evaluate.py), composed for each subscriber within what access.toml lets that person see (subscriptions.py,
compose.py), written to the store's outbox before they are sent and sent with retries (outbox.py, deliver.py)."""
