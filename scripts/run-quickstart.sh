#!/usr/bin/env bash
# `make run`: validates the quick-start config and shows what rpxy will serve.
# The proxy core (listeners, forwarding) is not built yet; until it lands this
# only runs the config check, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
config=examples/quickstart.toml
echo "== rpxy --config $config --check =="
"$build/rpxy" --config "$config" --check
cat <<TXT

The configuration above is valid. This build does not forward traffic yet:
the proxy core (listeners, HTTP/1.1, routing) is the next piece of work, and
'make run' will then start a sample backend and the proxy and print curl
commands to try.

Things to try now:
  $build/rpxy --help
  $build/rpxy --config config-example.toml --check
  echo 'listen_port = "80"' > /tmp/bad.toml && $build/rpxy --config /tmp/bad.toml --check
TXT
