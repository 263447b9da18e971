"""Which failures are worth retrying: the one place that tells a transient error from a permanent one.

Dagster's RetryPolicy retries any exception, so the assets turn every error this module does not call transient
into a `Failure(allow_retries=False)` (see assets/common.py): a missing file, bad credentials or an SQL error
fails at once with its message, while throttling and dropped connections are retried with backoff.
"""

from __future__ import annotations

import sys

import duckdb
from dagster import Backoff, Jitter, RetryPolicy

from sparkify_assets.resources.source import SourceDataError
from sparkify_assets.settings import Settings

MAX_RETRIES = 3  # as the original Airflow DAG

# S3 answers these when it is busy or briefly unwell; everything else (AccessDenied, NoSuchKey, ...) is permanent.
TRANSIENT_S3_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestThrottled",
    "TooManyRequestsException", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed",
})
TRANSIENT_HTTP_STATUS = frozenset({500, 502, 503, 504})


def retry_policy(settings: Settings) -> RetryPolicy:
    """3 retries, exponential backoff with jitter; SPARKIFY_RETRY_DELAY_SECONDS sets the first delay."""
    return RetryPolicy(max_retries=MAX_RETRIES, delay=settings.retry_delay_seconds, backoff=Backoff.EXPONENTIAL,
                       jitter=Jitter.PLUS_MINUS)


def _transient(exc: BaseException) -> bool:
    # botocore and redshift_connector are looked up, not imported: an error of theirs can only exist once its
    # library is loaded, and a local DuckDB run never loads them (each costs start-up time).
    boto = sys.modules.get("botocore.exceptions")
    if boto is not None and isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error.get("Code") in TRANSIENT_S3_CODES or status in TRANSIENT_HTTP_STATUS
    if boto is not None and isinstance(exc, (boto.ConnectionError, boto.HTTPClientError)):
        return True  # endpoint unreachable, connection closed, timeouts
    if isinstance(exc, duckdb.IOException):  # another process held the file's lock for longer than we waited
        return "lock" in str(exc).lower()
    if _is_redshift_connection_error(exc) or is_serialization_failure(exc):
        return True
    return isinstance(exc, (ConnectionError, TimeoutError))  # the OS's connection reset/refused, socket timeouts


def _is_redshift_connection_error(exc: BaseException) -> bool:
    redshift_connector = sys.modules.get("redshift_connector")
    if redshift_connector is None:
        return False
    # The driver raises InterfaceError/OperationalError for a lost or refused connection; a server's own error
    # response (bad SQL, bad password) is a ProgrammingError and stays permanent.
    return isinstance(exc, (redshift_connector.InterfaceError, redshift_connector.OperationalError))


# Another transaction won: Redshift's serializable isolation violation (error 1023, "retry the transaction" is its
# documented remedy); PostgreSQL's serialization_failure and deadlock_detected (the local stand-in).
SERIALIZATION_SQLSTATES = frozenset({"40001", "40P01"})


def is_serialization_failure(exc: BaseException) -> bool:
    """redshift_connector raises these as ProgrammingError, whose first argument is the server's error fields
    (C: SQLSTATE, M: message): they are told apart from bad SQL by code and text, never by the class."""
    redshift_connector = sys.modules.get("redshift_connector")
    if redshift_connector is None or not isinstance(exc, redshift_connector.ProgrammingError):
        return False
    fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    text = f"{fields.get('M', '')} {fields.get('D', '')}" if fields else str(exc)
    return (fields.get("C") in SERIALIZATION_SQLSTATES or text.lstrip().startswith("1023")
            or "serializable isolation violation" in text.lower())


def is_transient(exc: BaseException) -> bool:
    """True when the error, or one it was raised from, is a transient S3 or warehouse failure.

    Bad input (SourceDataError) is permanent whatever it was raised from: retrying cannot fix the data.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SourceDataError):
            return False
        if _transient(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False
