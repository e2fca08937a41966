# One image with every mediadist binary; docker-compose.yml picks one per service.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --workspace --bins

FROM debian:bookworm-slim
RUN useradd --system mediadist
COPY --from=build /src/target/release/mediadist /src/target/release/mediadist-intake \
     /src/target/release/mediadist-preparation /src/target/release/mediadist-collection \
     /src/target/release/mediadist-relay /src/target/release/mediadist-api /src/target/release/kiosk /usr/local/bin/
COPY samples /opt/mediadist/samples
USER mediadist
CMD ["mediadist", "up"]
