#!/usr/bin/env bash
# Installs every Debian package the build and the tests need, and nothing
# when all are present already (so make targets can call it every time).
# Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  # build
  build-essential pkg-config libssl-dev libnghttp2-dev libngtcp2-dev libnghttp3-dev
  # ACME client: HTTP and JSON
  libcurl4-openssl-dev libjansson-dev
  # sanitizers and fuzzers (clang's runtime carries libFuzzer, ASan, UBSan)
  clang llvm libclang-rt-14-dev
  # tests: Debian's python3 with pytest, and real clients
  python3 python3-pytest python3-pytest-xdist python3-websockets python3-cryptography curl
  ca-certificates nghttp2-client openssl
  # HTTP/2 and gRPC tests: frame-level client, HTTP/2 client library, gRPC server and client
  python3-h2 python3-httpx python3-grpcio
  # ACME tests: a real ACME server (pebble; the package carries pebble-challtestsrv too)
  pebble
  # PROXY protocol tests: HAProxy as a real sender (send-proxy, send-proxy-v2)
  haproxy
  # HTTP/3 tests: ngtcp2's client (gtlsclient)
  ngtcp2-client
  # TLS end-to-end tests: Chromium (offers X25519MLKEM768), certutil for its trust store, testssl.sh
  chromium libnss3-tools testssl.sh
  # constant-time check of ML-KEM (memcheck)
  valgrind
  # format check
  clang-format
  # packaging and operations: systemd-analyze verify, logrotate -d, make deb + lintian, man pages
  systemd logrotate dpkg-dev fakeroot lintian man-db
  # the admin listener's /metrics checked by promtool
  prometheus
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once if an install fails.
if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
