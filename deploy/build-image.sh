#!/usr/bin/env bash
#  build-image.sh - the CertChain container image, made without a registry.
#
#  usage: deploy/build-image.sh [--build DIR] [--tag TAG] [--docker CMD]
#
#  Stage 1 (here, on the host): the binaries come from a meson build
#  directory (default: build; built first with `ninja -C DIR` when it lacks
#  them). A minimal root filesystem is made from them: the six CertChain
#  binaries, the few tools the entrypoint and the README's backup use
#  (dash, sed, tr, env, mkdir, chmod, cat, ls, rm, mv, cp, sleep, tar,
#  gzip, id), the shared libraries all of them load (their ldd closure,
#  with the dynamic loader), /etc/passwd and /etc/group with the non-root
#  user certchain (uid and gid 10001), and the data folders owned by it.
#  That tree is imported as the image certchain-root:TAG (`docker import`).
#
#  Stage 2 (deploy/Dockerfile, `docker build`): FROM scratch, the tree of
#  stage 1 copied in, plus the entrypoint, the user, the data volume and
#  the ports, giving certchain:TAG (default TAG: local). Nothing is
#  downloaded at any point. DOCKER (or --docker) names the docker CLI.
#
#  DESIGN: no registry is reachable where this is built and tested, so the
#  usual multi-stage build FROM debian:12 cannot run; building on a Debian
#  12 host and copying the ldd closure gives the same result (only the
#  runtime libraries, no compiler, no package manager) in seconds. The
#  image must run on the libraries of the host that built it: build on
#  Debian 12 (README.md, "Building the image").
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(dirname "$here")"
build_dir="$source_dir/build"
tag="local"
docker="${DOCKER:-docker}"

while [ $# -gt 0 ]; do
    case "$1" in
        --build) build_dir="$2"; shift 2 ;;
        --tag) tag="$2"; shift 2 ;;
        --docker) docker="$2"; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0" | sed 's/^#\( \{1,2\}\|$\)//'; exit 0 ;;
        *) echo "build-image.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

binaries=(
    services/relay/certchain-relay
    services/validator/certchain-validator
    services/verifier/certchain-verifier
    services/ca/certchain-ca
    tools/cli/certchain
    tools/tap/certchain-tap
)
tools=(sh dash sed tr env mkdir chmod cat ls rm mv cp sleep tar gzip id)

missing=0
for b in "${binaries[@]}"; do
    [ -x "$build_dir/$b" ] || missing=1
done
if [ $missing -eq 1 ]; then
    [ -f "$build_dir/build.ninja" ] || meson setup "$build_dir" "$source_dir" >/dev/null
    ninja -C "$build_dir" -j"${JOBS:-1}" >/dev/null
fi

root="$(mktemp -d /var/tmp/certchain-root.XXXXXX)"
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,usr/bin,usr/local/bin,etc,tmp,var/lib/certchain,etc/certchain/genesis,etc/certchain/ca,etc/certchain/faucet}
chmod 1777 "$root/tmp"

#  Copies the shared libraries a host file loads (its ldd closure, the
#  dynamic loader included) into the root, at the same paths.
add_libs () {
    ldd "$1" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' |
    while read -r lib; do
        if [ ! -e "$root$lib" ]; then
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        fi
    done
}

for b in "${binaries[@]}"; do
    install -m 0755 "$build_dir/$b" "$root/usr/local/bin/$(basename "$b")"
    add_libs "$build_dir/$b"
done
for t in "${tools[@]}"; do
    path="$(readlink -f "$(command -v "$t")")"
    mkdir -p "$root$(dirname "$path")"
    [ -e "$root$path" ] || cp "$path" "$root$path"
    add_libs "$path"
    [ -e "$root/bin/$t" ] || ln -s "$path" "$root/bin/$t"
done

cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
certchain:x:10001:10001:certchain:/var/lib/certchain:/usr/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
certchain:x:10001:
EOF
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chown -R 10001:10001 "$root/var/lib/certchain" "$root/etc/certchain"
chmod 0700 "$root/etc/certchain/ca" "$root/etc/certchain/faucet"

echo "build-image.sh: root filesystem $(du -sh "$root" | cut -f1) in $root" >&2
tar -C "$root" --numeric-owner -c . | "$docker" import - "certchain-root:$tag" >/dev/null
"$docker" build -q --build-arg "BASE=certchain-root:$tag" -t "certchain:$tag" \
    -f "$here/Dockerfile" "$here" >/dev/null
echo "certchain:$tag"
