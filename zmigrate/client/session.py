"""The engine's one HTTP session: each attempt the transport makes is one request on the wire.

aiohttp (3.9 and later) silently sends a GET, PUT or DELETE a second time when the connection
drops before the answer (``ServerDisconnectedError``, a reset), even on a fresh connection.
Zoho counts both requests, but the window pacer took one slot: with a few answers lost, a
window of 100 paced calls reaches Zoho as 101 and code 44 blocks the organization for 30
minutes. The transport's own retry loop (a new slot per send, ``MAX_SENDS`` in all) is the
only one; ``_retry_connection`` is aiohttp's switch for it (private, set by its own test
client since 3.11).
"""

from __future__ import annotations

import aiohttp


def single_send_session() -> aiohttp.ClientSession:
    """A session with no connection limit whose requests aiohttp never resends on its own."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    session._retry_connection = False
    return session
