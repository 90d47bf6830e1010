"""ftm-api: the API under uvicorn, on FTM_HOST:FTM_PORT unless --host/--port say otherwise."""

import argparse
import os

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ftm-api", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("FTM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("FTM_PORT", "8000")))
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args(argv)
    # The service logs each request as JSON; uvicorn's plain-text access log would repeat it.
    uvicorn.run("service.api.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, access_log=False)


if __name__ == "__main__":
    main()
