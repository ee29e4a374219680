FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DJANGO_SETTINGS_MODULE=happycrm.settings.production DJANGO_SECRET_KEY=collectstatic-only \
    ERASURE_HMAC_KEY=collectstatic-only-never-used-for-erasure \
    python manage.py collectstatic --no-input \
    && useradd --system --home /app happycrm && chown -R happycrm /app
USER happycrm
# The build's version (e.g. `docker build --build-arg RELEASE=$(git rev-parse --short HEAD) .`): Sentry's release.
ARG RELEASE=""
ENV APP_RELEASE=${RELEASE}

EXPOSE 8000 8001
# One image for every process of the Procfile (docker-compose.yml gives each its command); by default the web
# process. Server settings in gunicorn.conf.py; it refuses to start when a system check fails (static files not
# collected).
CMD ["gunicorn", "happycrm.wsgi:application"]
