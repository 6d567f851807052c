# The product's long-running services (`shixin process`, `shixin project`) for
# docker compose; Kafka and PostgreSQL come from their own images.
# The rules engine's native core (rules/native, Rust) is compiled in a build stage
# (rustup's stable toolchain); the image gets the wheel only.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates \
      gcc libc6-dev && rm -rf /var/lib/apt/lists/* \
    && curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
      | sh -s -- -y --profile minimal --default-toolchain stable
ENV PATH=/root/.cargo/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shixin ./shixin
COPY schemas ./schemas
COPY contract ./contract
COPY rules ./rules
COPY producers ./producers
COPY processors ./processors
COPY projections ./projections
COPY replay ./replay
RUN pip wheel --no-cache-dir --no-deps -w /wheels .

FROM python:3.11-slim

WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data

# the packages come from the wheel (with the compiled core); the sample data beside
COPY data ./data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels && mkdir -p /data

ENTRYPOINT ["shixin"]
