"""A loopback TCP proxy to PostgreSQL that reads the client's protocol messages, so a test
can let an append reach the server and be committed while the answer never comes back:
the moment between COMMIT and the API's response, held open for as long as the test needs.

:meth:`HoldingProxy.conninfo` turns TLS and GSS encryption off: the proxy must see the
messages in clear. Once the proxy is armed (:meth:`HoldingProxy.arm`), a connection that
sends an append (a Bind of a prepared ``append_events`` or ``append_group`` call, or a simple
Query of one) gets nothing more from the server; every other connection is passed through
untouched."""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.loopback import receive, send

APPENDS = (b".append_events($1", b".append_group($1")  # the calls, not the CREATE FUNCTIONs
UNTYPED_REQUESTS = (80877103, 80877104)  # SSLRequest, GSSENCRequest: a startup comes next


class Link:
    """One client connection: the statements it prepared, and whether its answers are held."""

    def __init__(self, client: socket.socket, server: socket.socket, armed: threading.Event) -> None:
        self.client, self.server, self.armed = client, server, armed
        self.appends: set[bytes] = set()  # names of prepared statements that append
        self.held = threading.Event()

    def read(self, message_type: bytes, body: bytes) -> None:
        """Note an append being sent: Parse (P) of its text, Bind (B) of such a statement,
        or a simple Query (Q) of its text."""
        if message_type == b"P":
            name, _, rest = body.partition(b"\0")
            if any(a in rest for a in APPENDS):
                self.appends.add(name)
        elif message_type == b"B":
            _portal, _, rest = body.partition(b"\0")
            statement = rest.partition(b"\0")[0]
            if statement in self.appends and self.armed.is_set():
                self.held.set()
        elif message_type == b"Q" and any(a in body for a in APPENDS) and self.armed.is_set():
            self.held.set()

    def close(self) -> None:
        for end in (self.client, self.server):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


class HoldingProxy:
    """Listens on a free loopback port and forwards to the server of ``target`` (a libpq
    conninfo or URL)."""

    def __init__(self, target: str) -> None:
        self.params = conninfo_to_dict(target)
        self.target = (str(self.params.get("host") or "127.0.0.1"), int(self.params.get("port") or 5432))
        self.links: list[Link] = []
        self.armed = threading.Event()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, name="pg-proxy-accept", daemon=True).start()

    def conninfo(self) -> str:
        """The target's conninfo through this proxy, in clear."""
        return make_conninfo(
            **self.params
            | {"host": "127.0.0.1", "port": str(self.port), "sslmode": "disable", "gssencmode": "disable"}
        )

    def arm(self) -> None:
        """From now on, hold the answer to the next append of any connection."""
        self.armed.set()

    def held(self) -> list[Link]:
        with self.lock:
            return [link for link in self.links if link.held.is_set()]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target, timeout=5)
            server.settimeout(None)
            link = Link(client, server, self.armed)
            with self.lock:
                self.links.append(link)
            threading.Thread(target=self._upstream, args=(link,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(link,), daemon=True).start()

    def _upstream(self, link: Link) -> None:
        pending, started = bytearray(), False
        while chunk := receive(link.client):
            pending += chunk
            while True:
                if not started:  # untyped: length, then a code (startup, SSL or GSS request)
                    if len(pending) < 8:
                        break
                    length, code = struct.unpack("!ii", pending[:8])
                    if len(pending) < length:
                        break
                    started = code not in UNTYPED_REQUESTS
                    message, pending = bytes(pending[:length]), pending[length:]
                else:
                    if len(pending) < 5:
                        break
                    length = struct.unpack("!i", pending[1:5])[0]
                    if len(pending) < 1 + length:
                        break
                    message, pending = bytes(pending[: 1 + length]), pending[1 + length :]
                    link.read(message[:1], message[5:])
                if not send(link.server, message):
                    return
        link.close()

    def _downstream(self, link: Link) -> None:
        while chunk := receive(link.server):
            if link.held.is_set():
                continue  # the server answered (and committed); the client never hears it
            if not send(link.client, chunk):
                break
        link.close()

    def close(self) -> None:
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            links = list(self.links)
        for link in links:
            link.close()
