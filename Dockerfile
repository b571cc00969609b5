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
ENTRYPOINT ["deno", "run", "--allow-env=STREAM_URL,KAFKA_REST_URL,KAFKA_REST_FLAVOR,KAFKA_TOPIC,STATE_DIR,USER_AGENT,PRODUCE_KEY,PRODUCE_BATCH_MAX_RECORDS,PRODUCE_BATCH_MAX_BYTES,PRODUCE_LINGER_MS,PRODUCE_MAX_IN_FLIGHT,PRODUCE_QUEUE_MAX_BATCHES,PRODUCE_REQUEST_TIMEOUT_MS,PRODUCE_RETRY_BACKOFF_MS,PRODUCE_RETRY_BACKOFF_MAX_MS,PRODUCE_DRAIN_TIMEOUT_MS,PRODUCE_MAX_EVENTS,STREAM_SINCE,STREAM_FROM_NOW,FILTER_WIKIS,FILTER_TYPES,FILTER_EXCLUDE_BOTS,STREAM_IDLE_TIMEOUT_MS,STREAM_RECONNECT_BACKOFF_MS,STREAM_RECONNECT_BACKOFF_MAX_MS,STREAM_RESUME_MARGIN_MS,STREAM_RECONNECT_MARGIN_MS,STREAM_DEDUPE_IDS,PROGRESS_INTERVAL_MS,METRICS_PORT,METRICS_HOST,LOG_LEVEL,LOG_FORMAT", "--allow-net", "--allow-read=.wikistream", "--allow-write=.wikistream", "producer.ts"]

FROM base AS consumer
ENTRYPOINT ["deno", "run", "--allow-env=KAFKA_REST_URL,KAFKA_REST_FLAVOR,KAFKA_TOPIC,CONSUMER_GROUP,OUTPUT_URL,S3_ENDPOINT,S3_FORCE_PATH_STYLE,PARQUET_COMPRESSION,FLUSH_MAX_ROWS,FLUSH_MAX_BYTES,FLUSH_INTERVAL_MS,MAX_OPEN_FILES,MAX_BUFFER_BYTES,DLQ_MAX_ERROR_RATE,DEDUPE_WINDOW,CONSUMER_AUTO_OFFSET_RESET,CONSUMER_MAX_BYTES,CONSUMER_READ_TIMEOUT_MS,CONSUMER_FETCH_MIN_BYTES,CONSUMER_USE_BASE_URI,CONSUMER_HEARTBEAT_MS,CONSUMER_UNTIL_IDLE_MS,PROGRESS_INTERVAL_MS,WIKISTREAM_TEST_PAUSE_AT,METRICS_PORT,METRICS_HOST,LOG_LEVEL,LOG_FORMAT,AWS_*,HOME,USERPROFILE,HOMEPATH,HOMEDRIVE,_X_AMZN_TRACE_ID", "--allow-net", "--allow-read=./lake,.wikistream,$HOME/.aws,node_modules", "--allow-write=./lake,.wikistream", "--allow-sys=homedir,osRelease,hostname", "consumer.ts"]

FROM base AS broker
ENTRYPOINT ["deno", "run", "--allow-env=BROKER_PORT,BROKER_HOST,BROKER_DATA_DIR,BROKER_PARTITIONS,BROKER_INSTANCE_TIMEOUT_MS,BROKER_REQUEST_TIMEOUT_MS,BROKER_ADVERTISED_URL,BROKER_MAX_RECORD_BYTES,BROKER_FAULTS,METRICS_PORT,METRICS_HOST,LOG_LEVEL,LOG_FORMAT", "--allow-net", "--allow-read=.wikistream", "--allow-write=.wikistream", "broker.ts"]
