# One image for the API and the worker. It runs with no network access: tiktoken's encoding
# files are fetched while building and read from TIKTOKEN_CACHE_DIR after.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --extra s3 --extra otel --no-install-project
COPY deploy/bake_encodings.py ./deploy/bake_encodings.py
RUN /app/.venv/bin/python deploy/bake_encodings.py /app/tiktoken_cache
# The project itself, installed (not editable) into the same environment: ftm-api, ftm-worker
# and ftm land in /app/.venv/bin. Hatchling reads README.md and service/__init__.py (version).
COPY README.md ./
COPY service ./service
COPY worker ./worker
COPY emulator ./emulator
COPY devtools ./devtools
COPY ftm ./ftm
RUN uv sync --frozen --no-dev --extra s3 --extra otel --no-editable

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 ftm
WORKDIR /app
# The environment and the encodings only: the code runs from the installed package.
COPY --from=build --chown=ftm:ftm /app/.venv /app/.venv
COPY --from=build --chown=ftm:ftm /app/tiktoken_cache /app/tiktoken_cache
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 FTM_DATA_DIR=/data \
    TIKTOKEN_CACHE_DIR=/app/tiktoken_cache FTM_WORKER_METRICS_HOST=0.0.0.0
RUN mkdir /data && chown ftm:ftm /data
USER ftm
EXPOSE 8000 9100
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# ftm-api keeps uvicorn's access log off: the service writes one JSON line per request itself.
CMD ["ftm-api", "--host", "0.0.0.0", "--port", "8000"]
