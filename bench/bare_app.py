"""The yardstick for the API bench: FastAPI doing nothing but the one Redis read of
GET /v1/jobs/{id}.

Same client (redis-py, synchronous, a route run in the thread pool like the service's), same key,
same bytes back; no auth, rate limit, logging, metrics or model. Run with the same uvicorn settings
as the service: `uvicorn bench.bare_app:create_app --factory`.
"""

import os

import redis
from fastapi import FastAPI, Response

from service.store import keys


def create_app() -> FastAPI:
    app = FastAPI()
    client = redis.Redis.from_url(os.environ["FTM_REDIS_URL"])

    @app.get("/v1/jobs/{job_id}")
    def get_job(job_id: str) -> Response:
        raw = client.get(keys.record("job", job_id))
        if raw is None:
            return Response(status_code=404)
        return Response(raw, media_type="application/json")

    return app
