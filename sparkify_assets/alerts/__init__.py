"""Alerts to a webhook: what a message says (messages.py), how it is delivered (webhook.py), when (sensors.py)."""
