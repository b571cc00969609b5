# wikistream producer, consumer and broker on the official Deno image.
#
#   docker build --target producer -t wikistream-producer .
#   docker build --target consumer -t wikistream-consumer .
#   docker build --target broker   -t wikistream-broker   .
#
# Dependencies are installed at build time from the committed lockfile, so the
# containers need no registry access at run time. The ENTRYPOINT of each target
# is the matching deno.json task without `--env-file` (tests/docker_compose_test.ts
# keeps them equal): configuration comes from the container environment only,
# and no .env file is ever copied into the image (see .dockerignore).

FROM denoland/deno:2.9.6 AS base
WORKDIR /app
# The app folder belongs to root (code is read-only at run time); only the
# state and lake folders, which compose mounts as named volumes, belong to deno.
RUN mkdir -p /app/.wikistream /app/lake && chown deno:deno /app/.wikistream /app/lake
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY lib/ ./lib/
COPY producer.ts consumer.ts broker.ts ./
RUN deno install --frozen --entrypoint producer.ts consumer.ts broker.ts
USER deno

FROM base AS producer
ENTRYPOINT ["deno", "run", "--allow-env=STREAM_URL,KAFKA_REST_URL,KAFKA_TOPIC,LOG_LEVEL,LOG_FORMAT", "--allow-net", "--allow-read=.wikistream", "--allow-write=.wikistream", "producer.ts"]

FROM base AS consumer
ENTRYPOINT ["deno", "run", "--allow-env=KAFKA_REST_URL,KAFKA_TOPIC,OUTPUT_URL,LOG_LEVEL,LOG_FORMAT", "--allow-net", "--allow-read", "--allow-write=lake,.wikistream", "consumer.ts"]

FROM base AS broker
ENTRYPOINT ["deno", "run", "--allow-env=BROKER_PORT,BROKER_HOST,BROKER_DATA_DIR,BROKER_PARTITIONS,BROKER_INSTANCE_TIMEOUT_MS,BROKER_REQUEST_TIMEOUT_MS,BROKER_ADVERTISED_URL,BROKER_FAULTS,LOG_LEVEL,LOG_FORMAT", "--allow-net", "--allow-read=.wikistream", "--allow-write=.wikistream", "broker.ts"]
