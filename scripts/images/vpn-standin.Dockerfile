# A stand-in for gluetun (qmcgaw/gluetun), whose image cannot be pulled here, keeping its contract
# as the operator uses it (operator/builders/vpn.ts; docs/exchange-protocols.md §3): entrypoint
# /gluetun-entrypoint (`healthcheck` for the exec probes), gluetun's environment, the firewall as
# kill switch, the HTTP proxy, the control server and the health server. The tunnel is VXLAN over
# UDP to WIREGUARD_ENDPOINT_IP:WIREGUARD_ENDPOINT_PORT (this kernel has no WireGuard), ending at
# the exit of test/support/vpn-exit.ts. Runs as root with NET_ADMIN only: iproute2 and nft talk
# netlink (iptables-legacy would need NET_RAW too). Built by scripts/image.sh (vpn-standin).
FROM node:24.22.3-bookworm-slim AS node

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 nftables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY vpn-standin/ /opt/vpn-standin/
RUN chmod 0755 /opt/vpn-standin/gluetun-entrypoint \
 && ln -s /opt/vpn-standin/gluetun-entrypoint /gluetun-entrypoint
EXPOSE 8888 8000
ENTRYPOINT ["/gluetun-entrypoint"]
