# syntax=docker/dockerfile:1
# Small CPU inference image: onnxruntime + OpenCV + Django, no TensorFlow.
#   docker build -t catsdogs . && docker run -p 8000:8000 catsdogs

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements-serve.txt app/trim_environment.py /tmp/
# then drop what the app never imports (installers, test suites, unused parts) and compile the rest
RUN /venv/bin/pip install --no-compile -r /tmp/requirements-serve.txt \
 && /venv/bin/python /tmp/trim_environment.py /venv

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    STATIC_ROOT=/srv/staticfiles \
    DATA_DIR=/srv/var
# DATA_DIR holds the feedback database (SQLite, unless DATABASE_URL names another) and the local
# SECRET_KEY: mount a volume there to keep them (docker run -v catsdogs-data:/srv/var, Fly's [mounts])
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app \
 && mkdir -p /srv/var && chown 10001:10001 /srv/var
COPY --from=build /venv /venv
WORKDIR /srv
COPY manage.py gunicorn.conf.py LICENSE ./
COPY app/ app/
RUN python manage.py collectstatic --noinput --verbosity 0
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=2)"]
# gunicorn.conf.py migrates the database once, in the master, before the workers start
CMD ["gunicorn", "--config", "gunicorn.conf.py"]
