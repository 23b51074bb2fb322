#!/usr/bin/env bash
# A container engine behind the Docker Engine API, for remit's container tests and image builds.
#
# Podman (rootful, Debian's packages) serves the Docker API on a unix socket, so the docker SDK,
# the docker CLI and moto's Batch docker mode all work against it. Usage:
#
#   eval "$(scripts/container-engine.sh start)"   # install if needed, start, export DOCKER_HOST...
#   scripts/container-engine.sh env               # print the export lines only (starts nothing)
#   scripts/container-engine.sh status            # exit 0 if the engine answers
#   scripts/container-engine.sh stop              # stop the service this script started
#   source scripts/container-engine.sh [start]    # same as the eval line, in the current shell
#
# State (containers.conf, socket, pid file, service log) lives in
# ${REMIT_ENGINE_DIR:-/tmp/remit-podman}. Everything but the export lines goes to stderr, so
# stdout can be eval'ed. Needs root (or sudo) for apt-get and for rootful podman.

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: run this file as a child process, so strict mode and `exit` stay out of the
    # caller's shell, then apply its export lines here. An explicit subcommand is required to
    # be passed through: a bare `source` would otherwise see the caller's own "$1".
    _remit_engine_out="$(bash "${BASH_SOURCE[0]}" "${1:-start}")" || {
        unset _remit_engine_out
        return 1
    }
    eval "$_remit_engine_out"
    unset _remit_engine_out
    return 0
fi

set -euo pipefail

ENGINE_DIR="${REMIT_ENGINE_DIR:-/tmp/remit-podman}"
SOCK="$ENGINE_DIR/podman.sock"          # unix socket paths must stay under ~100 characters
CONF="$ENGINE_DIR/containers.conf"
PIDFILE="$ENGINE_DIR/podman.pid"
LOG="$ENGINE_DIR/podman.log"

# Debian packages the engine and the image build need. curl pings the socket; debootstrap
# makes the base image (no registry is reachable, see scripts/build-images.sh).
PACKAGES=(podman runc uidmap slirp4netns fuse-overlayfs debootstrap curl)

log() { echo "container-engine: $*" >&2; }
die() { log "error: $*"; exit 1; }

# apt-get and rootful podman need root; fall back to sudo for apt-get when available.
if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    SUDO=()
    log "warning: not root and no sudo: package installs and rootful podman will fail"
fi

install_packages() {
    local pkg missing=()
    for pkg in "${PACKAGES[@]}"; do
        # shellcheck disable=SC2016  # ${db:Status-Status} is dpkg-query's format, not bash's
        if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]]; then
            missing+=("$pkg")
        fi
    done
    # Quiet when everything is there: no apt-get at all.
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing ${missing[*]} (apt-get)"
    # apt's chatter goes to stderr: stdout is reserved for the export lines.
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    # runc is listed explicitly so apt picks it for podman's "crun | runc" dependency.
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >&2
}

write_conf() {
    # Defaults fail on this kind of host: crun cannot raise RLIMIT_NOFILE and does not handle
    # hybrid cgroups. runc plus lower default ulimits work. Written via a temp file + rename so a
    # concurrently starting podman never reads half a file.
    mkdir -p "$ENGINE_DIR"
    local tmp
    tmp="$(mktemp "$ENGINE_DIR/containers.conf.XXXXXX")"
    cat >"$tmp" <<'CONF'
# Written by remit's scripts/container-engine.sh; named by CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
    chmod 644 "$tmp"
    mv -f "$tmp" "$CONF"
}

print_env() {
    printf 'export DOCKER_HOST=%q\n' "unix://$SOCK"
    printf 'export CONTAINERS_CONF=%q\n' "$CONF"
}

# The Docker API's own health check: GET /_ping answers "OK".
answers() {
    [[ -S "$SOCK" ]] || return 1
    [[ "$(curl --silent --max-time 3 --unix-socket "$SOCK" http://d/_ping 2>/dev/null)" == OK ]]
}

# The pid in the pid file, if that process is still the podman service we started (guards
# against the pid having been reused by an unrelated process).
our_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "podman system service" || return 1
    echo "$pid"
}

start() {
    install_packages
    write_conf
    if answers; then
        log "engine already answers on $SOCK"
        print_env
        return 0
    fi
    # A socket file without a listener (e.g. after a crash or reboot) would make podman fail.
    rm -f "$SOCK"
    log "starting podman system service on $SOCK (log: $LOG)"
    # setsid: own session, so a terminal hang-up or Ctrl-C in the caller does not kill it.
    # stdin/stdout/stderr are redirected so `eval "$(... start)"` does not wait for this
    # long-lived child to close the command substitution's pipe.
    CONTAINERS_CONF="$CONF" setsid podman system service --time=0 "unix://$SOCK" \
        </dev/null >>"$LOG" 2>&1 &
    local pid=$!
    echo "$pid" >"$PIDFILE"
    # Wait up to 30 s for the API to answer; stop early if the service died.
    local i
    for ((i = 0; i < 150; i++)); do
        if answers; then
            log "engine ready (pid $pid)"
            print_env
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$LOG" >&2 || true
            rm -f "$PIDFILE"
            die "podman system service exited; see $LOG"
        fi
        sleep 0.2
    done
    tail -n 20 "$LOG" >&2 || true
    die "podman system service (pid $pid) did not answer on $SOCK within 30 s"
}

stop() {
    local pid i
    if ! pid="$(our_pid)"; then
        log "no service started by this script is running (pid file: $PIDFILE)"
        rm -f "$PIDFILE"
        return 0
    fi
    log "stopping podman system service (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE" "$SOCK"
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    env) print_env ;;
    status)
        if answers; then log "engine answers on $SOCK"; else log "no engine on $SOCK"; exit 1; fi
        ;;
    install) install_packages ;;
    -h | --help | help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown subcommand '$1' (start, stop, env, status, install)" ;;
esac
