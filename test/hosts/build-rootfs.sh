#!/usr/bin/env bash
# Builds (once) and caches the Debian root file system of Offpeak's real test hosts, then prints the
# cached tarball's path. Run as root; needs debootstrap. Cached under ${OFFPEAK_HOST_CACHE:-~/.cache/offpeak}.
# The cache key is the suite, variant and package list: change any and a new tarball is built.
set -euo pipefail
SUITE=bookworm
INCLUDE=openssh-server,sudo
CACHE="${OFFPEAK_HOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/offpeak}"
KEY="debian-${SUITE}-minbase-$(printf '%s' "$INCLUDE" | sha256sum | cut -c1-12)"
TARBALL="$CACHE/$KEY.tar"
if [ -s "$TARBALL" ]; then echo "$TARBALL"; exit 0; fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 3; }
mkdir -p "$CACHE"
exec 9>"$CACHE/$KEY.lock"
flock 9
if [ -s "$TARBALL" ]; then echo "$TARBALL"; exit 0; fi
# The machine's own Debian mirror (the only one it can reach), from its apt sources.
MIRROR=$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | head -n1 | tr -d ' ' || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
  { tail -n 30 "$WORK/debootstrap.log" >&2; exit 4; }
# No package caches in the image; nothing of the build machine's network settings.
rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/etc/ssh/ssh_host_"*
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
mv "$WORK/rootfs.tar" "$TARBALL"
echo "$TARBALL"
