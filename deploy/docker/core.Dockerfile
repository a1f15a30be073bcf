# The core image: the API (default command), the outbox worker and the migrations, one build.
#   docker build -f deploy/docker/core.Dockerfile -t chatsphere/core .
#   API:        (default)
#   worker:     python -m core_service.worker
#   migrations: python -m core_service.migrate      (alembic upgrade head on CORE_DATABASE_URL)
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
# Bytecode is compiled at build time because the root filesystem is read-only at run time;
# copy mode because the cache mount and the venv live on different filesystems.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# Dependencies first, from the lock, so that a change to the service's source reuses this layer.
# uv needs every workspace member's pyproject.toml; the small shared workspace libraries are
# copied whole (one line each), the services' pyproject files alone.
COPY pyproject.toml uv.lock ./
COPY shared-contracts/ shared-contracts/
COPY service-kit/ service-kit/
COPY core-service/pyproject.toml core-service/
COPY agent-service/pyproject.toml agent-service/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package core-service
COPY core-service/ core-service/
# Non-editable: the workspace packages are built into the venv, so /src is not needed later.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package core-service

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 chatsphere \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin chatsphere
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CORE_ENVIRONMENT=production \
    CORE_WORKER_METRICS_PORT=9102
WORKDIR /app
USER 10001:10001
EXPOSE 8000 9102
# No curl in a slim image; the interpreter is already there.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# The service's entry point runs uvicorn with its limits (header size, count and deadline,
# keep-alive); 20 s of graceful shutdown stays inside Kubernetes' default 30 s grace period.
CMD ["python", "-m", "core_service", "--host", "0.0.0.0", "--port", "8000", \
     "--loop", "uvloop", "--http", "httptools", \
     "--forwarded-allow-ips", "*", "--timeout-graceful-shutdown", "20"]
