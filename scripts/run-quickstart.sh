#!/usr/bin/env bash
# `make run`: starts two sample backends and rpxy on examples/quickstart.toml,
# prints what to try, and stops everything on Ctrl-C or SIGTERM (GNU make
# passes a SIGTERM it gets on to this script).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
config=examples/quickstart.toml
pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true # rpxy drains its connections first
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# listening PORT: something accepts connections on 127.0.0.1:PORT
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# wait_for PORT WHAT: up to 5 s for PORT to listen
wait_for() {
  for _ in $(seq 50); do
    listening "$1" && return 0
    sleep 0.1
  done
  echo "make run: $2 did not start listening on port $1" >&2
  exit 1
}

for port in 8080 8081 8082 8443; do
  if listening "$port"; then
    echo "make run: port $port is already in use; stop what uses it first" >&2
    exit 1
  fi
done
# a self-signed certificate for the HTTPS port (made once)
if [ ! -s build/quickstart/localhost.key ]; then
  mkdir -p build/quickstart
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout build/quickstart/localhost.key -out build/quickstart/localhost.crt 2>/dev/null
  chmod 600 build/quickstart/localhost.key
fi
/usr/bin/python3 -m http.server 8081 --bind 127.0.0.1 --directory examples/www >/dev/null 2>&1 &
pids+=($!)
"$build/bench-backend" 127.0.0.1:8082 >/dev/null 2>&1 &
pids+=($!)
# the backends first, so that the first request through rpxy finds them
wait_for 8081 "the sample file server"
wait_for 8082 "the sample hello server"

"$build/rpxy" --config "$config" --check
echo
"$build/rpxy" --config "$config" &
pids+=($!)
wait_for 8080 rpxy
wait_for 8443 rpxy
cat <<TXT

rpxy is running on http://localhost:8080 and https://localhost:8443
(config: $config). Try:

  curl -i http://localhost:8080/                 # the file server, through rpxy
  curl -ik https://localhost:8443/               # the same over TLS (self-signed)
  $build/pq-client localhost 8443 --sni localhost --get /   # post-quantum key exchange:
                                                 # prints group=X25519MLKEM768
  curl -i http://localhost:8080/api/hello        # /api -> /v1 on the hello server
  curl -i -H 'Host: unknown.example' http://localhost:8080/   # 503: no such app
  curl -i http://localhost:8080/ -H 'Transfer-Encoding: chunked' -H 'Content-Length: 1'  # 400

Edit $config while it runs: the change is applied at once (or kill -HUP).
Press Ctrl-C to stop.
TXT
wait "${pids[-1]}" || true
