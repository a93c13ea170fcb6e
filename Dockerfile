# evalset server image: `docker build -t evalset .` then `docker run -p 8000:8000 -v evalset-data:/data evalset`
# (SQLite in the /data volume), or `docker compose up` for evalset + PostgreSQL (compose.yaml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[server]'
COPY docker/entrypoint.sh /usr/local/bin/evalset-entrypoint

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin evalset \
    && mkdir -p /data && chown evalset:evalset /data
USER evalset

ENV EVALSET_DATA_DIR=/data \
    EVALSET_HOST=0.0.0.0 \
    EVALSET_PORT=8000
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('EVALSET_PORT', '8000') + '/health', timeout=4)"]

ENTRYPOINT ["evalset-entrypoint"]
CMD ["serve"]
