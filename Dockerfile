# syntax=docker/dockerfile:1
# The backupy-agent image: a deno-compiled static binary on distroless.
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t backupy/agent .
#
# The build stage runs on the build machine's own architecture and
# cross-compiles for each target (deno compile --target), so no emulation
# is needed to build an arm64 image on amd64.

ARG DENO_VERSION=2.9.6

FROM --platform=$BUILDPLATFORM denoland/deno:${DENO_VERSION} AS build
ARG TARGETARCH
ARG BACKUPY_BUILD_COMMIT=dev
WORKDIR /src
COPY deno.json deno.lock ./
COPY gen/ gen/
COPY decrypt/ decrypt/
COPY agent/ agent/
COPY scripts/ scripts/
RUN deno install --frozen --entrypoint agent/main.ts
RUN case "${TARGETARCH}" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && BACKUPY_BUILD_COMMIT="${BACKUPY_BUILD_COMMIT}" deno run --allow-read --allow-write \
      --allow-run --allow-env scripts/compile.ts --program backupy-agent --target "${target}" \
      --output /out/backupy-agent \
 && mkdir -p /out/state

FROM gcr.io/distroless/cc-debian12:nonroot
ARG BACKUPY_BUILD_COMMIT=dev
LABEL org.opencontainers.image.title="backupy-agent" \
      org.opencontainers.image.description="Backupy database backup agent: dump, zstd, AES-256-GCM, upload" \
      org.opencontainers.image.source="https://github.com/backupy/agent" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${BACKUPY_BUILD_COMMIT}"
COPY --from=build /out/backupy-agent /backupy-agent
COPY --from=build --chown=65532:65532 /out/state /var/lib/backupy
ENV BACKUPY_STATE_DIR=/var/lib/backupy
USER nonroot:nonroot
VOLUME /var/lib/backupy
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["/backupy-agent", "health-check"]
ENTRYPOINT ["/backupy-agent"]
CMD ["run"]
