# One Dockerfile for every tracelab service. The build stage compiles every service and
# the healthcheck in one `go build` (shared packages compile once); each service then has its
# own small final stage, chosen with --target:
#
#   docker build --target quoteservice -t localhost/tracelab/quoteservice:dev .
#
# docker-compose.yml does the same for all five (`docker compose build`), and ./copyall.sh
# builds them with a tag. A final image holds a static binary, the healthcheck, CA
# certificates and nothing else: no shell, no package manager, no root user.
#
# No `# syntax=docker/dockerfile:1` line: it makes BuildKit fetch that frontend image from
# a registry even when every image is local, so no offline build could work (a workshop
# room with bad Wi-Fi and pre-pulled images). BuildKit's built-in frontend (Docker Engine
# 20.10+, Docker Desktop) has all this file uses, RUN --mount=type=cache included.
#
# A target per service, rather than one final stage picked by a build argument, because an
# ENTRYPOINT, EXPOSE and HEALTHCHECK cannot be computed from an argument without a shell
# in the image; with a target each says its port and command plainly.

# Keep in step with the go line of go.mod. The tag names the Go release exactly, so a
# rebuild next year compiles with the same compiler.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
# Static binaries: no libc to match in the final image. GOTOOLCHAIN=local: never download
# another Go than the image's own.
ENV CGO_ENABLED=0 GOOS=linux GOTOOLCHAIN=local

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change, so
# editing a service does not download anything again.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
# The compiler's cache lives in a BuildKit cache mount: a rebuild after a one-line change
# recompiles one package, not the module. -trimpath drops this machine's paths from the
# binaries; -s -w drops the symbol tables (panics still print file:line).
# The services are the first words of internal/landscape/services.txt, the one list of them.
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/ \
        $(awk '/^[a-z]/ { print "./" $1 }' internal/landscape/services.txt) ./cmd/healthcheck

# The final file system, except the service binary: CA certificates (for a collector
# reached over https), /tmp, and /data owned by the user the services run as, so a named
# volume mounted there (accountservice's BoltDB file) starts out writable by it.
RUN mkdir -p /rootfs/app /rootfs/data /rootfs/tmp /rootfs/etc/ssl/certs \
    && cp /out/healthcheck /rootfs/app/ \
    && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
    && chown 65532:65532 /rootfs/data \
    && chmod 1777 /rootfs/tmp

# What every service image shares. scratch has no version to pin: the image is exactly
# what is copied into it.
FROM scratch AS runtime
COPY --from=build /rootfs/ /
# 65532 is the "nonroot" user of distroless images; numeric, so no /etc/passwd is needed
# and Kubernetes' runAsNonRoot can check it.
USER 65532:65532
WORKDIR /app

FROM runtime AS accountservice
COPY --from=build /out/accountservice /app/accountservice
# The BoltDB file on the /data prepared above: mount a volume there to keep the accounts.
ENV ACCOUNTSERVICE_DB=/data/accounts.db
EXPOSE 6767
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/app/healthcheck", "http://127.0.0.1:6767/healthz"]
ENTRYPOINT ["/app/accountservice"]

FROM runtime AS quoteservice
COPY --from=build /out/quoteservice /app/quoteservice
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/app/healthcheck", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/app/quoteservice"]

FROM runtime AS imageservice
COPY --from=build /out/imageservice /app/imageservice
EXPOSE 7777
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/app/healthcheck", "http://127.0.0.1:7777/healthz"]
ENTRYPOINT ["/app/imageservice"]

FROM runtime AS vipservice
COPY --from=build /out/vipservice /app/vipservice
EXPOSE 6868
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/app/healthcheck", "http://127.0.0.1:6868/healthz"]
ENTRYPOINT ["/app/vipservice"]

# The edge serves HTTPS with a self-signed certificate unless EDGE_TLS_CERT/KEY are given:
# -insecure, because the probe asks its own container whether it answers, not who it is.
FROM runtime AS edge
COPY --from=build /out/edge /app/edge
EXPOSE 8765
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/app/healthcheck", "-insecure", "https://127.0.0.1:8765/healthz"]
ENTRYPOINT ["/app/edge"]
