# The product's long-running services (`shixin process`, `shixin project`) for
# docker compose; Kafka and PostgreSQL come from their own images.
FROM python:3.11-slim

WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data

COPY pyproject.toml README.md ./
COPY shixin ./shixin
COPY schemas ./schemas
COPY contract ./contract
COPY rules ./rules
COPY producers ./producers
COPY processors ./processors
COPY projections ./projections
COPY replay ./replay
COPY data ./data
RUN pip install --no-cache-dir . && mkdir -p /data

ENTRYPOINT ["shixin"]
