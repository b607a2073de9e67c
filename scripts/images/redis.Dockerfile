# Redis for the rig's cluster, from Debian's package, under the official image's contract as the
# chart uses it: `redis-server` and `redis-cli` on PATH, a `sh`, user redis with uid/gid 999.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && groupmod -g 999 redis && usermod -u 999 -g 999 redis \
 && mkdir -p /data && chown 999:999 /data
WORKDIR /data
USER 999:999
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
