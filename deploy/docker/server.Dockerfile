# syntax=docker/dockerfile:1
# The Vantage server, dashboard embedded. Build from the repository's root:
#   docker build -f deploy/docker/server.Dockerfile -t vantage-server .
# The build stage runs `cargo xtask dist`, the command CI runs (in its dev
# profile): the files copied below are the ones CI checks exist.

FROM node:20-bookworm-slim AS node

FROM rust:1.95-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /src
COPY . .
RUN cargo xtask dist

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/dist/staging/bin/vantage-server /usr/local/bin/vantage-server
COPY --from=build /src/target/dist/staging/LICENSE /usr/share/doc/vantage/LICENSE
# The data folder (SQLite, its secrets key) is a volume; PostgreSQL is
# named by VANTAGE_DATABASE_URL instead.
ENV VANTAGE_LISTEN=0.0.0.0:8080 \
    VANTAGE_DATA_DIR=/var/lib/vantage
VOLUME ["/var/lib/vantage"]
EXPOSE 8080
USER 65532:65532
# Probed by the orchestrator on /healthz and /readyz; the image has no shell.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/vantage-server"]
