"""What an alert says: one Slack-compatible JSON body per event, a readable `text` plus structured fields.

Built from plain values (no Dagster objects), so the wording is in one place; every string is scrubbed of
secrets before it can reach a message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import quote

from sparkify_assets.alerts.secrets import redact

RUN_FAILED = "run_failed"
CHECK_FAILED = "check_failed"
OVERDUE = "overdue"

_MAX_ERROR = 500


def first_line(text: str | None) -> str:
    """The first non-empty line, shortened: redacted as a whole first, so no cut can split a secret (or a URL's
    credentials) into a part the redaction no longer recognises."""
    clean = redact(text or "")
    line = next((x.strip() for x in clean.splitlines() if x.strip()), "")
    return line if len(line) <= _MAX_ERROR else line[:_MAX_ERROR - 3] + "..."


@dataclass(frozen=True)
class Alert:
    kind: str
    text: str
    run_id: str | None = None
    job: str | None = None
    partition: str | None = None
    asset: str | None = None
    check: str | None = None
    error: str | None = None

    def body(self) -> dict[str, str | None]:
        """The JSON posted: Slack shows `text`; the other fields are for machines."""
        return {key: redact(value) if isinstance(value, str) else value for key, value in asdict(self).items()}


def run_link(ui_url: str, run_id: str) -> str:
    return f"{ui_url}/runs/{run_id}"


def asset_link(ui_url: str, asset: str) -> str:
    return f"{ui_url}/assets/{quote(asset)}"


def _for(partition: str | None) -> str:
    return f" for {partition}" if partition else ""


def run_failed(*, ui_url: str, run_id: str, job: str, partition: str | None, asset: str | None,
               error: str) -> Alert:
    """A run that failed (after its retries): the first failed step's asset and error."""
    where = f", at {asset}" if asset else ""
    text = (f":red_circle: Run of {job}{_for(partition)} failed{where}: {error}\n"
            f"Run: {run_link(ui_url, run_id)}")
    return Alert(RUN_FAILED, text, run_id=run_id, job=job, partition=partition, asset=asset, error=error)


def check_failed(*, ui_url: str, run_id: str, job: str, partition: str | None, asset: str, check: str,
                 error: str, others: tuple[str, ...] = ()) -> Alert:
    """A run stopped by a blocking check: the table, the check and what it found (and any other that failed)."""
    also = f" (also failed: {', '.join(others)})" if others else ""
    text = (f":red_circle: Blocking check {asset}.{check} failed{_for(partition)}: {error}{also}\n"
            f"Tables downstream of {asset} were not loaded. Run: {run_link(ui_url, run_id)}")
    return Alert(CHECK_FAILED, text, run_id=run_id, job=job, partition=partition, asset=asset, check=check,
                 error=error)


def overdue(*, ui_url: str, asset: str, day: str, hours: float, reason: str | None = None) -> Alert:
    """A daily table whose day was not loaded in full in time (`reason`: what its partition lacks)."""
    error = f"{day} not loaded {hours:g} h after the day ended (UTC)" + (f": {reason}" if reason else "")
    text = f":warning: {asset} is overdue: {error}\nAsset: {asset_link(ui_url, asset)}"
    return Alert(OVERDUE, text, partition=day, asset=asset, error=error)


INCOMPLETE = "incomplete"


def incomplete(*, ui_url: str, run_id: str, job: str, day: str, asset: str | None, error: str,
               attempts: int) -> Alert:
    """A day the service could not complete by itself: its last attempt's table and error."""
    where = f" at {asset}" if asset else ""
    text = (f":red_circle: {day} stays incomplete{where} after {attempts} attempts: {error}\n"
            f"It needs a person (docs/operating.md). Last run: {run_link(ui_url, run_id)}")
    return Alert(INCOMPLETE, text, run_id=run_id, job=job, partition=day, asset=asset, error=error)
