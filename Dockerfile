# One image for the API and the worker.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --extra s3 --no-install-project
COPY service ./service
COPY worker ./worker
COPY emulator ./emulator

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 ftm
WORKDIR /app
COPY --from=build --chown=ftm:ftm /app /app
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 FTM_DATA_DIR=/data
RUN mkdir /data && chown ftm:ftm /data
USER ftm
EXPOSE 8000
CMD ["uvicorn", "service.api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
