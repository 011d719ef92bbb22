# One image for the server and the workers (docker-compose.yml picks the command).
#   docker build -t podium .
# torch from PyPI is the CUDA build on linux/amd64; it runs on CPU-only hosts too.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PODIUM_DATA_DIR=/data

WORKDIR /app

# The checkpoint sandbox: bubblewrap, and libseccomp for its filter.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first (a layer that survives code changes): install the project's
# requirements from pyproject.toml with empty packages, then drop the stub.
ARG EXTRAS=worker
COPY pyproject.toml README.md ./
RUN mkdir -p server baselines \
    && touch server/__init__.py baselines/__init__.py \
    && pip install ".[${EXTRAS}]" \
    && pip uninstall -y podium-server \
    && rm -rf server baselines build *.egg-info

# The code, installed in place: `podium-server migrate` reads alembic/ next to server/.
COPY alembic.ini ./
COPY alembic ./alembic
COPY baselines ./baselines
COPY server ./server
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 podium \
    && mkdir -p /data \
    && chown podium:podium /data

USER podium
VOLUME ["/data"]
EXPOSE 8000
CMD ["podium-server", "serve", "--host", "0.0.0.0", "--port", "8000"]
