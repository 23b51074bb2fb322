#!/usr/bin/env bash
# Build the container images remit's container tests use, without any image registry:
#
#   localhost/remit-python-base:bookworm  Debian bookworm + python3 (3.11), venv, pip, CA certs,
#                                         made with debootstrap from Debian's package mirror
#   localhost/remit-example:latest        examples/aws_batch/docker/Dockerfile on that base:
#                                         remit[aws] from this checkout in /opt/remit
#
# Usage: scripts/build-images.sh [--force] [--refresh-base]
#   --force         rebuild the example image even if remit's source is unchanged
#   --refresh-base  run debootstrap again instead of using the cached rootfs tarball
#
# Repeated runs are cheap: the rootfs tarball is cached in the cache dir
# (${REMIT_IMAGE_CACHE:-/var/cache/remit-images}), the base image is re-imported only when that
# tarball changes, and the example image is rebuilt only when its build context (remit's source,
# the Dockerfile) or the base image changed. Starts the engine through
# scripts/container-engine.sh (which also installs podman and debootstrap).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${REMIT_IMAGE_CACHE:-/var/cache/remit-images}"
MIRROR="${REMIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
INCLUDE=python3,python3-venv,python3-pip,ca-certificates
BASE_IMAGE="localhost/remit-python-base:$SUITE"
EXAMPLE_IMAGE=localhost/remit-example:latest
CONTEXT="$ROOT/examples/aws_batch/docker"
# Labels recording what an image was made from; compared on the next run to skip work.
ROOTFS_LABEL=remit.rootfs-sha256
SOURCE_LABEL=remit.source-sha256

FORCE=0
REFRESH_BASE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        --refresh-base) REFRESH_BASE=1 ;;
        -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-images: unknown option '$arg'" >&2; exit 2 ;;
    esac
done

log() { echo "build-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

TIMINGS=()
# Run a command and record how long it took (wall clock, bash's EPOCHREALTIME).
timed() {
    local label=$1 start elapsed
    shift
    start=$EPOCHREALTIME
    "$@"
    elapsed="$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
    log "$label: ${elapsed} s"
    TIMINGS+=("$(printf '%-28s %7s s' "$label" "$elapsed")")
}

# The image's ID and one of its labels, or empty strings when the image does not exist.
image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
image_label() {
    podman image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# Images replaced by this run; removed at the end (after dependants are rebuilt) if unused.
REPLACED=()

command -v make >/dev/null 2>&1 || die "make is needed (apt-get install -y make)"

# --- The engine: packages, containers.conf (runc, ulimits), the Docker API socket ------------
# CONTAINERS_CONF matters for the podman CLI below too: `podman build` runs RUN steps with the
# runtime and ulimits it names. bash (not source) so this script's "$@" is not passed along.
eval "$(bash "$ROOT/scripts/container-engine.sh" start)"
export DOCKER_HOST CONTAINERS_CONF

mkdir -p "$CACHE"
# One build at a time per cache dir (two runs would race on the tarball and the tags).
exec 9>"$CACHE/build.lock"
flock 9

# --- (a) Base image: debootstrap rootfs -> cached tarball -> podman import -----------------
# The tarball's name carries a hash of what goes into it, so changing the package list or the
# trimming below (bump ROOTFS_RECIPE) makes a new tarball instead of reusing a stale one.
ROOTFS_RECIPE=2
ROOTFS_KEY="$(printf '%s\n' "$ROOTFS_RECIPE" minbase "$SUITE" "$INCLUDE" | sha256sum | cut -c1-12)"
TARBALL="$CACHE/rootfs-$SUITE-$ROOTFS_KEY.tar.gz"

run_debootstrap() {
    # Debian's mirror over plain http (apt verifies the signed Release files): no TLS trust
    # issues, and the same mirror the host's apt uses.
    if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$1" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1; then
        tail -n 30 "$CACHE/debootstrap.log" >&2
        die "debootstrap failed; see $CACHE/debootstrap.log"
    fi
}

write_tarball() {
    # Numeric owners (no name mapping through the host's passwd); device nodes and pseudo-fs
    # mount points stay empty, as in any image: the runtime populates them. gzip -1: 200 MB ->
    # 85 MB for about 2 s each way. Written to a temp name first so an interrupted run never
    # leaves a truncated tarball behind.
    tar --numeric-owner --anchored --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        -C "$1" -cf - . | gzip -1 >"$TARBALL.tmp"
    mv -f "$TARBALL.tmp" "$TARBALL"
}

# Mounts at or below a directory, deepest first (from /proc/mounts).
mounts_under() {
    awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r
}

# Delete a debootstrap target safely. debootstrap mounts /proc and /sys in it (and, in LXC,
# bind-mounts the host's /dev nodes) and unmounts them when it exits, but not if it is killed:
# unmount whatever is left first, and never recurse into another filesystem, so rm cannot
# reach the host's files through a leftover mount.
remove_rootfs() {
    local mnt
    while read -r mnt; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    done < <(mounts_under "$1")
    if [[ -n "$(mounts_under "$1")" ]]; then
        log "warning: still mounted under $1; not deleting it"
        return 0
    fi
    rm -rf --one-file-system "$1"
}

make_rootfs_tarball() {
    local rootfs
    rootfs="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    # shellcheck disable=SC2064  # expand $rootfs now: it is local to this function
    trap "remove_rootfs '$rootfs'" EXIT
    log "debootstrap $SUITE ($INCLUDE) from $MIRROR (log: $CACHE/debootstrap.log)"
    timed "debootstrap" run_debootstrap "$rootfs"
    # Trim what an image should not carry: downloaded .debs and package lists (about 100 MB;
    # `apt-get update` restores the lists), the build host's hostname and resolv.conf (podman
    # provides its own at run time), and, like Debian's slim images, man pages, translations
    # and docs except the copyright files (about 45 MB).
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    timed "rootfs tarball (tar | gzip)" write_tarball "$rootfs"
    remove_rootfs "$rootfs"
    trap - EXIT
}

if [[ "$REFRESH_BASE" -eq 1 || ! -s "$TARBALL" ]]; then
    make_rootfs_tarball
    # Tarballs of older recipes are dead weight now.
    find "$CACHE" -maxdepth 1 -name "rootfs-$SUITE-*.tar.gz" ! -path "$TARBALL" -delete
else
    log "using cached rootfs $TARBALL"
fi

ROOTFS_SHA="$(sha256sum "$TARBALL" | cut -d' ' -f1)"
if [[ "$(image_label "$BASE_IMAGE" "$ROOTFS_LABEL")" == "$ROOTFS_SHA" ]]; then
    log "$BASE_IMAGE is up to date"
else
    OLD_BASE="$(image_id "$BASE_IMAGE")"
    # podman import gives a bare rootfs no config; --change adds what `docker run` expects
    # (PATH, a default command) and the label this script compares next time.
    timed "podman import" podman import \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change 'CMD ["/bin/bash"]' \
        --change "LABEL $ROOTFS_LABEL=$ROOTFS_SHA" \
        --message "debootstrap --variant=minbase --include=$INCLUDE $SUITE" \
        "$TARBALL" "$BASE_IMAGE" >/dev/null
    [[ -n "$OLD_BASE" ]] && REPLACED+=("$OLD_BASE")
fi
BASE_ID="$(image_id "$BASE_IMAGE")"

# --- (b) Example image: examples/aws_batch/docker on the base ------------------------------
# `make setup` copies remit's source (pyproject.toml, README.md, src/) into the build context.
make -s -C "$CONTEXT" setup

# What the image is built from: every file of the context (by relative path and content) plus
# the base image's ID. Unchanged hash + existing image = nothing to do.
SOURCE_SHA="$(
    {
        cd "$CONTEXT"
        find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 |
            LC_ALL=C sort -z | xargs -0 sha256sum
        echo "base $BASE_ID"
    } | sha256sum | cut -d' ' -f1
)"
# pip in the build must trust whatever this host trusts: here PyPI is reached through an egress
# proxy that re-signs TLS with a CA only the host's bundle has (Debian's ca-certificates in the
# image do not), so pip fails with CERTIFICATE_VERIFY_FAILED. Debian's pip reads
# /etc/ssl/certs/ca-certificates.crt, so the host's bundle is bind-mounted over it for the RUN
# steps only: nothing of it ends up in the image, and it does not affect layer caching.
BUILD_CA="${REMIT_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
CA_OPTS=()
if [[ -r "$BUILD_CA" ]]; then
    CA_OPTS=(--volume "$BUILD_CA:/etc/ssl/certs/ca-certificates.crt:ro")
fi

if [[ "$FORCE" -eq 0 && "$(image_label "$EXAMPLE_IMAGE" "$SOURCE_LABEL")" == "$SOURCE_SHA" ]]; then
    log "$EXAMPLE_IMAGE is up to date (source unchanged)"
else
    OLD_EXAMPLE="$(image_id "$EXAMPLE_IMAGE")"
    # --network host: pip inside the build reaches PyPI through the host's network.
    # --pull=never: the base is local; never ask a registry (none is reachable).
    # Layer caching is on (podman's default), so a source-only change reuses the dependency
    # layer and reinstalls just remit.
    timed "podman build (example)" podman build \
        --network host --pull=never "${CA_OPTS[@]}" \
        --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        --label "$SOURCE_LABEL=$SOURCE_SHA" \
        -t "$EXAMPLE_IMAGE" -f "$CONTEXT/Dockerfile" "$CONTEXT"
    NEW_EXAMPLE="$(image_id "$EXAMPLE_IMAGE")"
    [[ -n "$OLD_EXAMPLE" && "$OLD_EXAMPLE" != "$NEW_EXAMPLE" ]] && REPLACED+=("$OLD_EXAMPLE")
fi

# Drop the images this run replaced (now untagged), newest first: the old example image and its
# dangling build layers sit on top of the old base (`podman rmi` also removes parents left
# dangling, so the old base may already be gone by its turn). Only those: other dangling images
# on the machine are not ours. Fails harmlessly if a container still uses one.
for ((i = ${#REPLACED[@]} - 1; i >= 0; i--)); do
    old="${REPLACED[i]}"
    podman image exists "$old" || continue
    podman rmi "$old" >/dev/null 2>&1 || log "kept replaced image ${old:0:12} (still in use)"
done

log "done. Timings:"
if [[ ${#TIMINGS[@]} -eq 0 ]]; then
    log "  (nothing to do)"
else
    for line in "${TIMINGS[@]}"; do log "  $line"; done
fi
podman images --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' \
    --filter "reference=$BASE_IMAGE" --filter "reference=$EXAMPLE_IMAGE" >&2
