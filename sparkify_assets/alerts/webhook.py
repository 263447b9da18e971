"""Delivery of one alert body to the webhook: a few attempts with growing delays, never an exception.

The URL is a secret (a Slack webhook URL is its own credential): nothing here logs or returns it, only the
outcome and the HTTP status.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

ATTEMPTS = 4
FIRST_DELAY_S = 1.0  # then 2 s, 4 s: about 7 s of waiting before giving up
TIMEOUT_S = 10.0


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def post(url: str, body: Mapping[str, Any], log: logging.Logger | Any, *, attempts: int = ATTEMPTS,
         first_delay_s: float = FIRST_DELAY_S, timeout_s: float = TIMEOUT_S) -> bool:
    """POST `body` as JSON; True once the webhook answered 2xx. Retries connection errors, 429 and 5xx."""
    data = json.dumps(body).encode()
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
            return True
        except urllib.error.HTTPError as exc:
            outcome, retry = f"HTTP {exc.code}", _retryable(exc.code)
        except (OSError, ValueError) as exc:  # refused, unreachable, timed out, malformed URL
            outcome, retry = type(exc).__name__, not isinstance(exc, ValueError)
        if not retry or attempt == attempts:
            log.error(f"alert webhook: not delivered after {attempt} attempt(s), last: {outcome}")
            return False
        log.warning(f"alert webhook: attempt {attempt} failed ({outcome}); retrying in {delay:g}s")
        time.sleep(delay)  # backoff between delivery attempts, not synchronization
        delay *= 2
    return False


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
