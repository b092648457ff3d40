# One image for every AffectWatch process; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY affectwatch ./affectwatch
COPY producer ./producer
COPY worker ./worker
COPY dashboard ./dashboard
COPY migrations ./migrations
RUN pip install -e ".[worker]"
RUN useradd --system --uid 10001 affectwatch
USER affectwatch
ENTRYPOINT ["affectwatch"]
