# pyregistry: SQLite metadata and filesystem artifacts under /data (a volume) by default.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir uv

WORKDIR /app
COPY pyproject.toml uv.lock README.md LICENSE ./
COPY packages ./packages
# the infrastructure wheel bundles the project's own YARA rules from here (packages/infrastructure/hatch_build.py)
COPY supplied ./supplied
COPY compose ./compose
RUN uv sync --frozen --no-dev

RUN useradd --system --create-home --home-dir /data pyregistry && chown pyregistry /data
USER pyregistry
WORKDIR /data
VOLUME ["/data"]

ENV PATH="/app/.venv/bin:${PATH}" \
    BIND_ADDRESS="0.0.0.0:3000"
EXPOSE 3000
STOPSIGNAL SIGTERM
CMD ["pyregistry", "serve"]
