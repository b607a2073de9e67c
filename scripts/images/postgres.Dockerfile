# PostgreSQL for the rig's cluster, from Debian's packages, under the official image's contract
# as the chart uses it: POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB/PGDATA read on the first
# start, `pg_isready` and `sh` on PATH, user postgres with the alpine image's uid/gid 70.
# Without LLVM (JIT off): a third of the size.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /usr/lib/postgresql/15/lib/llvmjit*.so /usr/lib/x86_64-linux-gnu/libLLVM-*.so* \
 && groupmod -g 70 postgres && usermod -u 70 -g 70 postgres \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R 70:70 /var/lib/postgresql /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER 70:70
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
