#!/usr/bin/env bash
#  Installs the Debian 12 packages CertChain needs to build, test and run.
#  Idempotent: asks apt only for what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
    build-essential pkg-config meson ninja-build
    libzmq3-dev libczmq-dev libsodium-dev librocksdb-dev
    libprotobuf-c-dev protobuf-c-compiler check
    python3 python3-zmq valgrind iproute2
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "certchain: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
