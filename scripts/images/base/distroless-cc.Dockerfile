# Local stand-in for gcr.io/distroless/cc-debian12 (no registry here): glibc, libgcc, libstdc++,
# libgomp, libssl, CA certificates and tzdata from Debian's packages; no shell, no package
# manager; users root, nobody and nonroot (65532). Built by scripts/image.sh.
FROM debian:bookworm-slim AS packages
RUN apt-get update \
 && mkdir -p /rootfs /debs && cd /debs \
 && apt-get download base-files netbase tzdata ca-certificates libc6 libgcc-s1 libgomp1 libstdc++6 libssl3 \
 && for deb in *.deb; do dpkg-deb -x "$deb" /rootfs; done \
 && rm -rf /rootfs/usr/share/doc /rootfs/usr/share/man /rootfs/usr/share/info /rootfs/usr/share/lintian /rootfs/usr/share/locale \
 && mkdir -p /rootfs/tmp /rootfs/root /rootfs/home/nonroot /rootfs/etc/ssl/certs \
 && chmod 1777 /rootfs/tmp && chown 65532:65532 /rootfs/home/nonroot \
 && cat /rootfs/usr/share/ca-certificates/mozilla/*.crt > /rootfs/etc/ssl/certs/ca-certificates.crt \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd \
 && printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > /rootfs/etc/group \
 && ldconfig -r /rootfs

FROM scratch
COPY --from=packages /rootfs /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532
WORKDIR /home/nonroot
