"""A webhook on loopback for the alert tests: the stdlib HTTP server in a thread, keeping every JSON body it is
sent. It can refuse the first requests (503, or any status), refuse while a test says so (`refusing`), or answer
slowly (`delay_s`), to exercise the sender's retries and timeouts. Always shut down."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str
    fail_first: int = 0
    refuse_status: int = 503
    refusing: bool = False  # refuse every request while set (a webhook that is down)
    delay_s: float = 0.0  # wait this long before answering (a webhook that hangs)
    requests: int = 0
    refused: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.messages)

    def wait_for(self, predicate: Any, what: str, limit_s: float = 240.0) -> list[dict[str, Any]]:
        """Poll until `predicate(messages)` is truthy; the limit only guards against a hang."""
        deadline = time.monotonic() + limit_s
        while not predicate(messages := self.received()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} after {limit_s:.0f}s; received: {json.dumps(messages, indent=1)}")
            time.sleep(0.5)
        return messages


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if receiver.delay_s:
                time.sleep(receiver.delay_s)  # the behaviour under test: a webhook slow to answer
            with receiver.lock:
                receiver.requests += 1
                refuse = receiver.requests <= receiver.fail_first or receiver.refusing
                receiver.refused += refuse
                if not refuse:
                    receiver.messages.append(json.loads(body))
                    receiver.paths.append(self.path)
            self.send_response(receiver.refuse_status if refuse else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

    return Handler


@contextmanager
def running_receiver(fail_first: int = 0, refuse_status: int = 503) -> Iterator[Receiver]:
    receiver = Receiver(url="", fail_first=fail_first, refuse_status=refuse_status)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
