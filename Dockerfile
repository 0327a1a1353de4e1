# The web app in a container: embedded SQLite and images under the /data volume, the bundled model, port 8000.
#
#   docker build -t colorize .
#   docker run -p 8000:8000 -v colorize-data:/data colorize
#
# Configure with COLORIZE_* variables (docker run -e COLORIZE_DB=postgresql+psycopg://... -e COLORIZE_WORKERS=2
# -e COLORIZE_RETENTION_DAYS=30 -e COLORIZE_PROCESSES=2) or by appending flags:
# docker run ... colorize colorize serve --host 0.0.0.0 --checkpoint /models/a.safetensors
# Behind a TLS proxy the owner cookies get the Secure flag when the proxy says https (uvicorn's proxy headers).
FROM python:3.11-slim

# CPU-only torch wheels: the default Linux wheel pulls in several GB of CUDA libraries this image never uses.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# The page links the bundled model's card (its data terms: ImageNet photos, research and non-commercial use).
COPY docs/model-card.md ./docs/model-card.md
RUN pip install --extra-index-url "${TORCH_INDEX_URL}" -c constraints.txt . \
    && useradd --create-home --uid 10001 colorize \
    && mkdir /data && chown colorize:colorize /data

USER colorize
ENV COLORIZE_STORAGE=/data \
    COLORIZE_PORT=8000
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('COLORIZE_PORT', '8000'), timeout=4)"

CMD ["colorize", "serve", "--host", "0.0.0.0"]
