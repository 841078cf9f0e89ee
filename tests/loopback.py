"""The two socket calls of our loopback proxies (tests/rabbit.py's Severable, tests/pg_proxy.py),
with a closed or reset end read as the end of the stream."""

from __future__ import annotations

import socket


def receive(end: socket.socket) -> bytes:
    """The next bytes from ``end``; b"" once it is closed or reset."""
    try:
        return end.recv(65536)
    except OSError:
        return b""


def send(end: socket.socket, data: bytes | bytearray) -> bool:
    """Pass ``data`` on to ``end``; False if it is closed or reset."""
    try:
        end.sendall(data)
    except OSError:
        return False
    return True
