# One image for every AffectWatch process; docker-compose.yml picks the command.

# The dashboard's chart library, installed by npm from the lock file (never a CDN).
FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts  # swagger-ui-dist pulls @scarf/scarf, whose install script reports home

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY affectwatch ./affectwatch
COPY producer ./producer
COPY worker ./worker
COPY dashboard ./dashboard
COPY notifier ./notifier
COPY upkeep ./upkeep
COPY modeling ./modeling
COPY migrations ./migrations
COPY --from=assets /assets/node_modules ./dashboard/node_modules
RUN pip install -e ".[worker,modeling]"
RUN useradd --system --uid 10001 affectwatch && mkdir -p /var/lib/affectwatch/media
USER affectwatch
ENTRYPOINT ["affectwatch"]
