# meterbridge: the production binary (API, worker, admin commands). It does not contain the
# Temporal server; run Temporal from its official images (see docker-compose.yml).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/meterbridge ./cmd/meterbridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/meterbridge /usr/local/bin/meterbridge
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/meterbridge"]
