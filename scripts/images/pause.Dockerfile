# containerd's sandbox ("pause") image for the rig's node: a process that only sleeps.
FROM debian:bookworm-slim AS busybox
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox-static \
 && rm -rf /var/lib/apt/lists/*

FROM scratch
COPY --from=busybox /bin/busybox /bin/busybox
USER 65535:65535
ENTRYPOINT ["/bin/busybox", "sleep", "2147483647"]
