"""Faults on real processes: the API on a real uvicorn on a free port (a Redis of the test's own
is `own_redis`, from the top conftest)."""

import threading

import uvicorn

from devtools import redis_server
from tests.factories import wait_until


def serve_in_thread(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
    """The app on a real uvicorn in a thread; answer the server, its thread and its URL."""
    port = redis_server.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20)
    return server, thread, f"http://127.0.0.1:{port}"
