# One image for web, worker and beat (compose.yaml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 lfr
WORKDIR /app
COPY pyproject.toml README.md ./
COPY lfr_governance ./lfr_governance
COPY watchlists ./watchlists
COPY deployments ./deployments
COPY matching ./matching
COPY tools ./tools
RUN pip install .
COPY . .
RUN DJANGO_SETTINGS_MODULE=lfr_governance.settings.development python manage.py collectstatic --noinput
RUN mkdir -p /data /audit-anchors && chown lfr:lfr /data /audit-anchors
USER lfr
EXPOSE 8000
