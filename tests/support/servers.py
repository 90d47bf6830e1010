"""An ASGI app on a real uvicorn in a thread, on a free port (for SSE, the SDK, raw sockets)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from devtools import redis_server
from tests.factories import wait_until


@dataclass
class LiveServer:
    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_in_thread(app: object) -> LiveServer:
    """Start the app; answer once uvicorn listens."""
    port = redis_server.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20)
    return LiveServer(server, thread, f"http://127.0.0.1:{port}")


@contextmanager
def serving(app: object) -> Iterator[str]:
    """The app's root URL while the block runs."""
    live = serve_in_thread(app)
    try:
        yield live.url
    finally:
        live.stop()
