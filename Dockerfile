# The app image: web, worker and migrate services of docker-compose.yml all run it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint needs Pango; certificates and invoices need a font with Chinese glyphs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
RUN pip install . \
    && useradd --system --create-home app \
    && mkdir -p /app/var \
    && chown app /app/var
USER app

EXPOSE 8000
CMD ["uvicorn", "api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "3"]
