# KAM Pulse image: every process is a `kam` subcommand (worker, sink, notify, topics, db migrate).
#   docker build -t kam-pulse .        then   docker run --rm kam-pulse --help
# Configuration comes from the environment only (see kam/settings.py and docs/operations.md).

FROM python:3.11-slim AS build
WORKDIR /src
# Every runtime dependency ships manylinux wheels for CPython 3.11: no compiler is needed.
# README.md* : the long description is optional for the build (a wildcard may match nothing).
COPY pyproject.toml README.md* ./
COPY kam ./kam
COPY producers ./producers
COPY streams ./streams
COPY sinks ./sinks
COPY schemas ./schemas
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 kam \
    && useradd --system --uid 10001 --gid kam --home-dir /app --shell /usr/sbin/nologin kam \
    && mkdir -p /var/lib/kam \
    && chown kam:kam /var/lib/kam
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
# Default alert rules, routing and tiering files (relative defaults of kam/settings.py).
COPY config ./config
# Writable state lives under /var/lib/kam (a volume); metrics listen on every interface.
ENV KAM_WORKER_DATA_DIR=/var/lib/kam/faust \
    CLICKHOUSE_CHDB_PATH=/var/lib/kam/chdb \
    KAM_METRICS_HOST=0.0.0.0 \
    KAM_METRICS_PORT=9464
VOLUME ["/var/lib/kam"]
EXPOSE 9464
USER 10001:10001
ENTRYPOINT ["kam"]
CMD ["--help"]
