"""Delivery of one alert body to the webhook: one short attempt, never an exception; the outbox retries later.

The URL is a secret (a Slack webhook URL is its own credential): nothing here logs or returns it, only the
outcome and the HTTP status.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


DELIVERED, RETRY, REJECTED = "delivered", "retry", "rejected"


def post_once(url: str, body: Mapping[str, Any], timeout_s: float) -> tuple[str, str]:
    """One POST with a short timeout, for the outbox (which retries on later ticks): (outcome, what happened).

    Never raises; what happened names only the HTTP status or the error's type, never the URL."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
        return DELIVERED, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return (RETRY if _retryable(exc.code) else REJECTED), f"HTTP {exc.code}"
    except ValueError as exc:  # a malformed URL: no later tick does better
        return REJECTED, type(exc).__name__
    except OSError as exc:  # refused, unreachable, timed out
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return RETRY, type(reason).__name__ if isinstance(reason, BaseException) else type(exc).__name__
