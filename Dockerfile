# The sandbox as a CI service container. Build it in your own pipeline (`docker build -t
# call-sandbox .`); any Debian-based Python 3.11+ image can be the base:
#   docker build --build-arg BASE_IMAGE=python:3.12-slim -t call-sandbox .
ARG BASE_IMAGE=python:3.11-slim

# Stage 1: build the wheel from this checkout (fixtures and schemas travel inside it).
FROM ${BASE_IMAGE} AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sandbox ./sandbox
COPY fixtures ./fixtures
COPY schemas ./schemas
RUN python -m pip install --no-cache-dir --disable-pip-version-check build==1.6.1 \
    && python -m build --wheel --outdir /dist

# Stage 2: the wheel installed non-editable, run as a non-root user, with its extras `fast`
# (uvloop and httptools, which uvicorn uses when installed: the speed bench/RESULTS.md reports)
# and `redis` (so that replicas of the image can share one `--store redis://...`).
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=wheel /dist/ /tmp/dist/
RUN python -m pip install --no-cache-dir --disable-pip-version-check \
        "$(echo /tmp/dist/*.whl)[fast,redis]" \
    && rm -rf /tmp/dist \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin sandbox
USER sandbox
EXPOSE 8080
# No curl in the image: the sandbox checks itself (exit 0 when /_sandbox/health answers).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["call-sandbox", "healthcheck"]
# Arguments after the image name are appended, e.g. `docker run ... call-sandbox --seed 7`.
ENTRYPOINT ["call-sandbox", "serve", "--host", "0.0.0.0", "--port", "8080"]
