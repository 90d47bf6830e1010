"""`python -m emulator --host 127.0.0.1 --port 0 [--speed X] [--webhook-url U --webhook-secret S]`

Prints `LISTENING http://HOST:PORT` (the bound port) as its first line, then serves.
"""

import argparse
import os
import socket
import sys
from pathlib import Path

import uvicorn

from emulator.signing import is_valid_secret

SHARED_TIKTOKEN = Path(__file__).resolve().parent.parent.parent / "shared/data/tiktoken_cache"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="how many times faster than the base durations jobs run")
    parser.add_argument("--webhook-url", help="where fine_tuning.job.* events are POSTed")
    parser.add_argument("--webhook-secret", help="whsec_… secret signing those events")
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be greater than 0")
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")
    if args.webhook_secret and not is_valid_secret(args.webhook_secret):
        parser.error("--webhook-secret must be 'whsec_' followed by base64")
    return args


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so requests sent right after the LISTENING line are queued."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if "TIKTOKEN_CACHE_DIR" not in os.environ and SHARED_TIKTOKEN.is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(SHARED_TIKTOKEN)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        sys.exit(f"emulator: cannot listen on {args.host}:{args.port}: {exc}")
    host = f"[{args.host}]" if ":" in args.host else args.host
    # Printed before the heavy imports, so no import-time warning can come first; requests
    # sent meanwhile wait in the socket's backlog.
    print(f"LISTENING http://{host}:{sock.getsockname()[1]}", flush=True)
    from emulator.app import create_app
    from emulator.state import Settings

    app = create_app(Settings(args.speed, args.webhook_url, args.webhook_secret))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
