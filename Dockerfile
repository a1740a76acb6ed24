# The operator image: `dynamoctl` on a minimal non-root base. The Deployment that
# `dynamoctl install` and the Helm chart create runs it as `dynamoctl run controller ...`.
#
#   docker build -t $DOCKER_SERVER/dynamo-operator:$IMAGE_TAG .
#
# Without a container engine, `cargo build --release --locked` builds the same binary
# (target/release/dynamoctl); see docs/installation.md.

FROM rust:1.95 AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin dynamoctl \
 && cp target/release/dynamoctl /dynamoctl

# distroless/cc: glibc and libgcc only, no shell; runs as uid 65532 (nonroot), the
# runAsUser the Deployment sets for the "restricted" pod security profile.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /dynamoctl /usr/local/bin/dynamoctl
USER 65532:65532
ENTRYPOINT ["dynamoctl"]
CMD ["run", "controller"]
