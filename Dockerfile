# yunchu (云厨) hub image: the `yunchu` CLI, gunicorn and the fan-out worker in one image.
#   docker build -t yunchu .
#   hub:     gunicorn --bind 0.0.0.0:8000 "hub.app:create_app()"   (the default CMD)
#   worker:  yunchu worker
#   migrate: yunchu db upgrade
# Python 3.11 matches the version CI and the benchmarks run on. Every dependency ships a
# manylinux wheel (PyAV bundles its FFmpeg libraries), so no compiler is needed.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub/ hub/
COPY cli/ cli/
COPY channels/ channels/
COPY adapters/ adapters/
COPY storage/ storage/
COPY admin/ admin/
COPY sandbox/ sandbox/
# `yunchu bench` (the CLI imports it when the command runs).
COPY bench/ bench/
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    YUNCHU_DATA_DIR=/var/lib/yunchu

# Dependencies first (read from pyproject.toml) so a code change does not reinstall them.
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/pyproject.toml /tmp/requirements.txt

COPY --from=build /wheels /wheels
RUN pip install --no-deps /wheels/*.whl && rm -rf /wheels

# Non-root: the hub and workers run as `yunchu`, owning only the data directory.
RUN groupadd --system --gid 10001 yunchu \
 && useradd --system --uid 10001 --gid yunchu --home-dir /var/lib/yunchu --no-create-home \
      --shell /usr/sbin/nologin yunchu \
 && mkdir -p /var/lib/yunchu \
 && chown yunchu:yunchu /var/lib/yunchu
USER yunchu
WORKDIR /var/lib/yunchu

EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "hub.app:create_app()"]
