# wikistream producer, consumer and broker on the official Deno image.
#
#   docker build --target producer -t wikistream-producer .
#   docker build --target consumer -t wikistream-consumer .
#   docker build --target broker   -t wikistream-broker   .
#
# Dependencies are installed at build time from the committed lockfile, so the
# containers need no registry access at run time. The ENTRYPOINT of each target
# is the matching deno.json task without `--env-file` (tests/repo/docker_compose_test.ts
# keeps them equal): lib/launcher/launch.ts runs the program with exactly the permissions
# its configuration needs (the state, data or lake folder; what the AWS SDK reads)
# and forwards SIGTERM from `docker stop` to it. Configuration comes from the
# container environment only, and no .env file is ever copied into the image
# (see .dockerignore).

FROM denoland/deno:2.9.6 AS base
WORKDIR /app
# The app folder belongs to root (code is read-only at run time); only the
# state and lake folders, which compose mounts as named volumes, belong to deno.
RUN mkdir -p /app/.wikistream /app/lake && chown deno:deno /app/.wikistream /app/lake
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY lib/ ./lib/
COPY producer.ts consumer.ts broker.ts ./
RUN deno install --frozen --entrypoint lib/launcher/launch.ts producer.ts consumer.ts broker.ts
USER deno

FROM base AS producer
ENTRYPOINT ["deno", "run", "--allow-env", "--allow-read", "--allow-run", "--no-prompt", "lib/launcher/launch.ts", "producer"]

FROM base AS consumer
ENTRYPOINT ["deno", "run", "--allow-env", "--allow-read", "--allow-run", "--no-prompt", "lib/launcher/launch.ts", "consumer"]

FROM base AS broker
ENTRYPOINT ["deno", "run", "--allow-env", "--allow-read", "--allow-run", "--no-prompt", "lib/launcher/launch.ts", "broker"]
