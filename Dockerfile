# The storystream worker image: the faust app with RocksDB-backed tables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY pipeline ./pipeline
COPY agents ./agents
RUN pip install .

ENV STORYSTREAM_DATA_DIR=/data \
    STORE_URL=rocksdb:// \
    STORYSTREAM_WEB_HOST=0.0.0.0 \
    STORYSTREAM_WEB_PORT=6066
VOLUME ["/data"]
EXPOSE 6066
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6066/livez', timeout=2)"
ENTRYPOINT ["storystream"]
CMD ["worker"]
