# identityd: a static binary on a distroless base, running as a non-root user.
#   docker build -t identityd .
# See compose.yaml for identityd with PostgreSQL and an SMTP catcher.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.buildVersion=${VERSION}" \
        -o /out/identityd ./cmd/identityd \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/identityd /usr/local/bin/identityd
# The data directory (embedded SQLite, when no PostgreSQL is configured) belongs to the
# non-root user the image runs as.
COPY --from=build --chown=65532:65532 /out/data /var/lib/identityd
USER 65532:65532
WORKDIR /var/lib/identityd
ENV IDENTITYD_DATA_DIR=/var/lib/identityd \
    IDENTITYD_PUBLIC_ADDR=0.0.0.0:8080 \
    IDENTITYD_ADMIN_ADDR=0.0.0.0:8081
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/identityd"]
CMD ["serve"]
