# syntax=docker/dockerfile:1
#
# The KIKI server image: one binary, every role (`kiki serve --roles api`,
# `bidder`, `worker`), plus `kiki migrate` for the migration job.
#
#   docker build -t kiki:dev .
#
# Stages:
#   skeleton  the workspace's manifests with stub sources, so the dependency
#             layer below is rebuilt only when Cargo.toml/Cargo.lock change
#   builder   builds every dependency on the skeleton (cached layer), then the
#             real sources, release profile, `--locked`
#   runtime   debian:bookworm-slim, CA certificates only, user 10001, no shell
#             needed by the server; HEALTHCHECK on /livez
#
# Checked here with hadolint (no container engine on the build machine): see
# docs/operations.md, "What was validated".

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS skeleton
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
# Keep the manifests, the lock file and the build scripts; replace every
# target root cargo needs to read the workspace with an empty stub.
RUN set -eu; \
    mkdir -p /skeleton; \
    cp Cargo.toml Cargo.lock /skeleton/; \
    for manifest in crates/*/Cargo.toml; do \
      crate="$(dirname "$manifest")"; \
      mkdir -p "/skeleton/$crate"; \
      cp "$manifest" "/skeleton/$manifest"; \
      if [ -f "$crate/build.rs" ]; then cp "$crate/build.rs" "/skeleton/$crate/build.rs"; fi; \
      find "$crate" -type f \( -path "$crate/src/lib.rs" -o -path "$crate/src/main.rs" \
        -o -path "$crate/src/bin/*.rs" -o -path "$crate/benches/*.rs" -o -path "$crate/examples/*.rs" \
        -o -path "$crate/tests/*.rs" \) | while read -r target; do \
          mkdir -p "/skeleton/$(dirname "$target")"; \
          case "$target" in \
            */src/lib.rs) : > "/skeleton/$target" ;; \
            *) echo 'fn main() {}' > "/skeleton/$target" ;; \
          esac; \
        done; \
    done

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
ENV CARGO_TERM_COLOR=never CARGO_INCREMENTAL=0
# 1. Dependencies only: this layer is reused until a manifest or the lock changes.
COPY --from=skeleton /skeleton/ ./
RUN cargo build --release --locked -p kiki-cli --bin kiki
# 2. The real sources (migrations and docs embedded at compile time included).
COPY . .
# COPY keeps the files' own times, which may be older than the stub build:
# touch the workspace's sources so cargo rebuilds every KIKI crate.
RUN find crates -name '*.rs' -exec touch {} + \
    && cargo build --release --locked -p kiki-cli --bin kiki \
    && install -D -m 0755 target/release/kiki /out/kiki \
    && /out/kiki version

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# CA certificates: the ad-platform APIs, SMTP and the OTLP collector over TLS
# verify against the system store. Nothing else is installed. Not pinned to a
# version: the release's current certificate bundle (it changes with security
# updates, and an old pin stops resolving) is the one to trust.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 kiki \
    && useradd --system --uid 10001 --gid kiki --home-dir /var/lib/kiki --create-home --shell /usr/sbin/nologin kiki
COPY --from=builder /out/kiki /usr/local/bin/kiki
WORKDIR /var/lib/kiki
USER 10001:10001
# Listen on every interface inside the container; production settings come
# from KIKI__… variables (README "Configuration", docs/operations.md).
ENV KIKI__HTTP__BIND=0.0.0.0:8080 \
    KIKI__LOG__FORMAT=json
EXPOSE 8080 8081
# `kiki` has no HTTP client subcommand, and the image carries no curl: bash's
# /dev/tcp sends one GET /livez and the check passes on a 200 status line.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /livez HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 2 status <&3 && [[ \"$status\" == *' 200 '* ]]"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kiki"]
CMD ["serve"]
