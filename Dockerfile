# syntax=docker/dockerfile:1
#
# The orch image: one binary, `orch`, for every role (daemon, web, run worker, migrations).
#
#   docker build -t orch:0.1.0 .
#
# Your own orch (a crate of the workspace whose binary calls the orch library, e.g.
# examples/custom-pipelines) builds the same image around your binary:
#
#   docker build --build-arg ORCH_PACKAGE=custom-pipelines --build-arg ORCH_BIN=custom-pipelines \
#     -t custom-pipelines:0.1.0 .
#
# It is installed as /usr/local/bin/orch either way: the entrypoint the chart and the
# Kubernetes launcher (`orch worker --run-id …` in each run's pod) expect.
#
# Stages: `chef` (the Rust toolchain with cargo-chef), `planner` (reduces the workspace to its
# manifests and Cargo.lock: the recipe), `builder` (compiles the dependencies from the recipe
# alone, a layer that stays cached until Cargo.lock or a manifest changes, then the workspace
# sources) and the final image (distroless cc: glibc, libgcc, CA certificates, no shell).
# See docs/docker.md.

ARG RUST_IMAGE=rust:1.95-slim-trixie
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian13

FROM ${RUST_IMAGE} AS chef
# cargo-chef works out which files compile the dependencies, so the expensive layer is not
# invalidated by a change in orch's own sources. Pinned, and built from its own Cargo.lock.
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# The package and the binary in it: the stock orch, or your own (see the top of this file).
ARG ORCH_PACKAGE=orch
ARG ORCH_BIN=orch
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is rebuilt when Cargo.lock or a Cargo.toml changes.
RUN cargo chef cook --release --locked -p "${ORCH_PACKAGE}" --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p "${ORCH_PACKAGE}" --bin "${ORCH_BIN}" \
    && install -D -m 0755 "target/release/${ORCH_BIN}" /out/bin/orch \
    && install -d -m 0750 /out/home/orch

FROM ${RUNTIME_IMAGE}
# The run store, local objects and step outputs go under ORCH_HOME; on Kubernetes it is an
# emptyDir under a read-only root filesystem (PostgreSQL and S3 hold everything that lasts).
ENV ORCH_HOME=/var/lib/orch
COPY --from=builder /out/bin/orch /usr/local/bin/orch
# ORCH_HOME exists, owned by the orch user, so the image also works without a volume.
COPY --from=builder --chown=10001:10001 /out/home/ /var/lib/
USER 10001:10001
WORKDIR /var/lib/orch
ENTRYPOINT ["orch"]
CMD ["--help"]
