# syntax=docker/dockerfile:1
# The Vantage agent. Build from the repository's root:
#   docker build -f deploy/docker/agent.Dockerfile -t vantage-agent .
# It needs no capability (`--cap-drop ALL`): as a non-root user it sends
# ICMP through ping sockets, which Docker and containerd allow by setting
# net.ipv4.ping_group_range="0 2147483647" in each container (pass it with
# --sysctl where a runtime does not). Capabilities reach root only: run it
# `--user 0 --cap-drop ALL --cap-add NET_RAW` for raw sockets. It enrolls
# itself on first start when
# VANTAGE_SERVER and VANTAGE_ENROLL_TOKEN are set (see
# docs/operations.md), and keeps its credential and outbox in the
# /var/lib/vantage-agent volume.

FROM node:20-bookworm-slim AS node

FROM rust:1.95-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /src
COPY . .
RUN cargo xtask dist

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/dist/staging/bin/vantage-agent /usr/local/bin/vantage-agent
COPY --from=build /src/target/dist/staging/LICENSE /usr/share/doc/vantage/LICENSE
COPY --from=build /src/target/dist/staging/deploy/docker/agent.toml /etc/vantage/agent.toml
VOLUME ["/var/lib/vantage-agent"]
USER 65532:65532
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/vantage-agent"]
CMD ["run", "--config", "/etc/vantage/agent.toml"]
