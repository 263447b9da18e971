"""Loopback TCP proxy that lets ``redshift_connector`` talk to plain PostgreSQL.

Why it exists: ``redshift_connector`` 2.x always sends Redshift-only startup
parameters (``client_protocol_version``, ``driver_version``, ``os_version``,
``driver_discovery_version``), and PostgreSQL refuses the connection with
``FATAL: unrecognized configuration parameter``. The driver also cannot parse a
distribution ``server_version`` such as ``15.18 (Debian 15.18-0+deb12u1)``.
This proxy fixes exactly those two things on the wire and passes every other
byte through untouched, so tests run the real driver against a real server.

It is a test helper: it listens on loopback only and does no TLS (an
SSLRequest is answered ``N``, so connect with ``ssl=False``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType

__all__ = [
    "REDSHIFT_ONLY_STARTUP_PARAMS",
    "StartupParamProxy",
    "plain_server_version",
    "rewrite_startup_message",
]

_log = logging.getLogger(__name__)

#: Startup parameters redshift_connector sends that PostgreSQL rejects.
REDSHIFT_ONLY_STARTUP_PARAMS: frozenset[bytes] = frozenset(
    {
        b"client_protocol_version",
        b"driver_version",
        b"os_version",
        b"driver_discovery_version",
    }
)

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_MAX_STARTUP_PACKET = 10_000  # PostgreSQL's own limit for a startup packet
_RECV_SIZE = 65_536
_ACCEPT_POLL_S = 0.2  # bounds how long stop() waits for the accept loop
_VERSION_PREFIX = re.compile(rb"\d+(?:\.\d+)*")
_INT32 = struct.Struct("!i")


def rewrite_startup_message(body: bytes, dropped: Iterable[bytes] = REDSHIFT_ONLY_STARTUP_PARAMS) -> bytes:
    """Rebuild a StartupMessage without the ``dropped`` parameters.

    ``body`` is the message after its Int32 length: the Int32 protocol version,
    then NUL-terminated key/value pairs, then a final NUL. Returns the whole
    message including a corrected length prefix.
    """
    dropped = frozenset(dropped)
    out = bytearray(body[:4])
    fields = iter(body[4:].split(b"\0"))
    for key in fields:
        if not key:  # the terminating NUL
            break
        value = next(fields, b"")
        if key not in dropped:
            out += key + b"\0" + value + b"\0"
    out += b"\0"
    return _INT32.pack(len(out) + 4) + bytes(out)


def plain_server_version(message: bytes) -> bytes:
    """Return a ParameterStatus message with ``server_version`` cut to its number.

    ``message`` is a whole backend message (type byte ``S``, Int32 length, body).
    ``15.18 (Debian 15.18-0+deb12u1)`` becomes ``15.18``, because
    redshift_connector parses the value with ``packaging.version``. Any other
    message is returned unchanged.
    """
    if message[:1] != b"S":
        return message
    key, sep, rest = message[5:].partition(b"\0")
    if key != b"server_version" or not sep:
        return message
    value = rest.split(b"\0", 1)[0]
    match = _VERSION_PREFIX.match(value)
    if match is None or match.group() == value:
        return message
    body = key + b"\0" + match.group() + b"\0"
    return b"S" + _INT32.pack(len(body) + 4) + body


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """Read exactly ``n`` bytes, or return None if the peer closed first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _nodelay(sock: socket.socket) -> None:
    # Without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per round trip:
    # executemany of 1,000 rows takes ~40 s instead of ~0.2 s.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _shutdown(sock: socket.socket) -> None:
    # shutdown() (unlike close()) wakes a thread blocked in recv() on the socket.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class StartupParamProxy:
    """Threaded loopback proxy in front of a PostgreSQL server, for redshift_connector.

    ``start()`` binds a free port on 127.0.0.1 and returns it. Each client
    connection gets a handler thread (server to client) plus a pipe thread
    (client to server); all threads are daemons so a forgotten proxy never
    blocks interpreter exit. Use as a context manager or call ``stop()``.
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        listen_host: str = "127.0.0.1",
        dropped_params: Iterable[bytes] = REDSHIFT_ONLY_STARTUP_PARAMS,
        connect_timeout: float = 10.0,
    ) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.listen_host = listen_host
        self.dropped_params = frozenset(dropped_params)
        self.connect_timeout = connect_timeout
        self._listener: socket.socket | None = None
        self._port: int | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The listening port; only valid after ``start()``."""
        if self._port is None:
            raise RuntimeError("proxy not started")
        return self._port

    def start(self) -> int:
        """Listen on a free loopback port, start accepting, and return the port."""
        if self._listener is not None:
            raise RuntimeError("proxy already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((self.listen_host, 0))
            listener.listen(128)
            # A timeout lets the accept loop notice stop() portably.
            listener.settimeout(_ACCEPT_POLL_S)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._stopping.clear()
        self._acceptor = threading.Thread(
            target=self._accept_loop,
            name=f"pg-proxy-accept-{self._port}",
            daemon=True,
        )
        self._acceptor.start()
        _log.debug("proxy %s:%s -> %s:%s", self.listen_host, self._port, self.upstream_host, self.upstream_port)
        return self._port

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and all connections; join threads within ``timeout``."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        if self._acceptor is not None:
            self._acceptor.join(max(0.0, deadline - time.monotonic()))
        if self._listener is not None:
            self._listener.close()  # idempotent; the accept loop normally did it
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            _shutdown(sock)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            _log.warning("proxy threads still alive after stop(): %s", alive)
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()
            self._threads.clear()

    def __enter__(self) -> StartupParamProxy:
        if self._listener is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals -------------------------------------------------------

    def _spawn(self, target: Callable[..., object], *args: object, name: str) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return thread

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
        if self._stopping.is_set():  # stop() raced with this connection
            _shutdown(sock)

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        try:
            while not self._stopping.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break
                client.settimeout(None)
                _nodelay(client)
                self._track(client)
                self._spawn(self._handle, client, name=f"pg-proxy-conn-{client.fileno()}")
        finally:
            listener.close()

    def _handle(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        pipe: threading.Thread | None = None
        try:
            startup = self._read_startup(client)
            if startup is None:
                return
            upstream = socket.create_connection((self.upstream_host, self.upstream_port), timeout=self.connect_timeout)
            upstream.settimeout(None)
            _nodelay(upstream)
            self._track(upstream)
            upstream.sendall(startup)
            pipe = self._spawn(self._pipe, client, upstream, name=f"pg-proxy-c2s-{client.fileno()}")
            self._relay_to_client(upstream, client)
        except OSError as err:
            _log.debug("proxy connection ended: %r", err)
        finally:
            # Wake the pipe thread, let it finish, and only then close: closing
            # a socket another thread is blocked on is not safe.
            socks = [client] if upstream is None else [client, upstream]
            for sock in socks:
                _shutdown(sock)
            if pipe is not None:
                pipe.join(5.0)
            with self._lock:
                for sock in socks:
                    self._sockets.discard(sock)
            for sock in socks:
                sock.close()

    def _read_startup(self, client: socket.socket) -> bytes | None:
        """Return the rewritten StartupMessage; SSL/GSS requests are answered 'N'."""
        for _ in range(3):  # at most SSLRequest, GSSENCRequest, then the real one
            header = _recv_exact(client, 4)
            if header is None:
                return None
            (length,) = _INT32.unpack(header)
            if not 8 <= length <= _MAX_STARTUP_PACKET:
                return None
            body = _recv_exact(client, length - 4)
            if body is None:
                return None
            (code,) = _INT32.unpack(body[:4])
            if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                client.sendall(b"N")  # no encryption; the client continues in clear
                continue
            if code >> 16 == 3:  # StartupMessage, protocol 3.x
                return rewrite_startup_message(body, self.dropped_params)
            return header + body  # CancelRequest or unknown: the server decides
        return None

    def _relay_to_client(self, upstream: socket.socket, client: socket.socket) -> None:
        """Server to client: parsed until the first ReadyForQuery, then raw bytes."""
        # ParameterStatus(server_version) only appears during startup, so parsing
        # stops at the first ReadyForQuery and bulk results are piped raw.
        while True:
            header = _recv_exact(upstream, 5)
            if header is None:
                return
            (length,) = _INT32.unpack(header[1:])
            body = _recv_exact(upstream, length - 4)
            if body is None:
                return
            message = header + body
            if header[:1] == b"S":
                message = plain_server_version(message)
            client.sendall(message)
            if header[:1] == b"Z":
                break
        self._pipe(upstream, client)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(_RECV_SIZE)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # PostgreSQL needs no half-close: once one side is gone, end both.
            _shutdown(src)
            _shutdown(dst)
