# meterbridge: the production binary (API, worker, admin commands). It does not contain the
# Temporal server; run Temporal from its official images (see docker-compose.yml).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not in the build context (.dockerignore), so the toolchain cannot stamp the commit;
# pass it: docker compose build --build-arg VCS_REVISION=$(git rev-parse HEAD).
# `meterbridge version` and the meterbridge_build_info metric report it.
ARG VCS_REVISION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.revision=${VCS_REVISION}" -o /out/meterbridge ./cmd/meterbridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/meterbridge /usr/local/bin/meterbridge
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/meterbridge"]
