#!/usr/bin/env bash
#  Installs what the deploy suite needs beyond scripts/deps.sh: a Docker
#  engine (docker.io: dockerd, containerd, runc, the docker CLI) and
#  Debian's docker-compose 1.29. Kept apart from scripts/deps.sh so the
#  normal build and test never pull Docker; tests/deploy/test_compose.py
#  runs this when they are missing. Idempotent; needs root (or sudo).
set -euo pipefail

packages=(docker.io docker-compose iproute2)

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
