"""Every invalid value and contradiction gets an error naming file, line,
column, key and reason; warnings do not stop a valid file."""
import pytest


APP = '[apps.a]\nserver_name = "a.test"\nreverse_proxy = [{ upstream = [{ location = "127.0.0.1:9000" }] }]\n'


def route(extra="", upstream='{ location = "127.0.0.1:9000" }'):
    return f'[apps.a]\nserver_name = "a.test"\n[[apps.a.reverse_proxy]]\nupstream = [{upstream}]\n{extra}'


# (id, config text, expected first diagnostic line without the "<file>:" prefix)
ERRORS = [
    # TOML syntax errors carry the parser's position and message.
    ("toml-syntax", "listen_port 8080\n", '1:13: error: expected \'=\' after key "listen_port"'),
    # types and ranges
    ("port-type", 'listen_port = "8080"\n' + APP,
     "1:15: error: listen_port: expected integer 0-65535, got string"),
    ("port-range", "listen_port = 65536\n" + APP,
     "1:15: error: listen_port: value 65536 out of range 0-65535"),
    ("port-negative", "listen_port = -1\n" + APP,
     "1:15: error: listen_port: value -1 out of range 0-65535"),
    ("port-float", "listen_port = 80.0\n" + APP,
     "1:15: error: listen_port: expected integer 0-65535, got float"),
    ("bool-type", 'listen_port = 80\nlisten_ipv6 = "yes"\n' + APP,
     "2:15: error: listen_ipv6: expected true or false, got string"),
    ("u32-range", "listen_port = 80\nmax_clients = 4294967296\n" + APP,
     "2:15: error: max_clients: value 4294967296 out of range 0-4294967295"),
    ("apps-not-table", "listen_port = 80\napps = 3\n",
     "2:8: error: apps: expected a table of named tables, got integer"),
    ("app-not-table", "listen_port = 80\n[apps]\na = 1\n",
     "3:1: error: apps.a: expected a table, got integer"),
    ("reverse-proxy-not-array", 'listen_port = 80\n[apps.a]\nserver_name = "a.test"\nreverse_proxy = "x"\n',
     "4:17: error: apps.a.reverse_proxy: expected an array of tables, got string"),
    ("upstream-entry-not-table", "listen_port = 80\n" + route(upstream='"127.0.0.1"'),
     '5:13: error: apps.a.reverse_proxy[0].upstream[0]: expected a table, got string'),
    # required keys
    ("missing-apps", "listen_port = 80\n",
     "1:1: error: apps: missing required key in the top level"),
    ("missing-server-name", "listen_port = 80\n[apps.a]\nreverse_proxy = []\n",
     "2:1: error: apps.a.server_name: missing required key in [apps.<name>]"),
    ("missing-reverse-proxy", 'listen_port = 80\n[apps.a]\nserver_name = "a.test"\n',
     "2:1: error: apps.a.reverse_proxy: missing required key in [apps.<name>]"),
    ("missing-upstream", 'listen_port = 80\n[apps.a]\nserver_name = "a.test"\n[[apps.a.reverse_proxy]]\npath = "/x"\n',
     "4:1: error: apps.a.reverse_proxy[0].upstream: missing required key in [[apps.<name>.reverse_proxy]]"),
    ("missing-location", "listen_port = 80\n" + route(upstream="{ tls = true }"),
     '5:13: error: apps.a.reverse_proxy[0].upstream[0].location: missing required key in upstream entry'),
    ("empty-upstream", "listen_port = 80\n" + route(upstream=""),
     '5:1: error: apps.a.reverse_proxy[0].upstream: At least one upstream must be specified'),
    ("empty-apps", "listen_port = 80\n[apps]\n",
     '2:2: error: apps: Wrong application spec.: [apps] has no application'),
    ("acme-email", "listen_port = 80\n" + APP + "[experimental.acme]\n",
     "5:1: error: experimental.acme.email: missing required key in [experimental.acme]"),
    ("proxy-protocol-trusted", "listen_port = 80\n" + APP + "[experimental.tcp_recv_proxy_protocol]\ntimeout = 10\n",
     "5:1: error: experimental.tcp_recv_proxy_protocol.trusted_proxies: missing required key in [experimental.tcp_recv_proxy_protocol]"),
    # unknown and misplaced keys
    ("unknown-typo", "listen_port = 80\nlisten_prot_tls = 443\n" + APP,
     "2:1: error: listen_prot_tls: unknown key (did you mean `listen_port_tls`?)"),
    ("unknown-app-table", 'listen_port = 80\n[app.x]\nserver_name = "x"\n' + APP,
     "2:2: error: app: unknown key (did you mean `apps`?)"),
    ("unknown-revese-proxy", 'listen_port = 80\n[apps.a]\nserver_name = "a.test"\n[[apps.a.revese_proxy]]\nupstream = []\n',
     '4:10: error: apps.a.revese_proxy: unknown key (did you mean `reverse_proxy`?)'),
    ("misplaced-upstream-options", 'listen_port = 80\n' + APP + 'upstream_options = ["forwarded_header"]\n',
     "5:1: error: apps.a.upstream_options: unknown key in [apps.<name>] (`upstream_options` belongs in [[apps.<name>.reverse_proxy]])"),
    ("unknown-nothing-close", "listen_port = 80\nfrobnicate = 1\n" + APP,
     "2:1: error: frobnicate: unknown key in the top level"),
    ("unknown-in-tls", "listen_port = 80\nlisten_port_tls = 443\n" + APP + 'tls = { tls_cert_path = "c", tls_cert_key_path = "k", https_redirect = true }\n',
     '6:55: error: apps.a.tls.https_redirect: unknown key (did you mean `https_redirection`?)'),
    ("unknown-in-experimental", "listen_port = 80\n" + APP + "[experimental]\nignore_sni = true\n",
     '6:1: error: experimental.ignore_sni: unknown key (did you mean `ignore_sni_consistency`?)'),
    ("unknown-in-h3", "listen_port = 80\n" + APP + "[experimental.h3]\nmax_idle_timout = 3\n",
     "6:1: error: experimental.h3.max_idle_timout: unknown key (did you mean `max_idle_timeout`?)"),
    ("removed-https-redirection-port", "listen_port = 80\nhttps_redirection_port = 443\n" + APP,
     "2:1: error: https_redirection_port: `https_redirection_port` was renamed to `public_https_port` in 0.13; update your config"),
    # listeners
    ("no-ports", APP,
     "1:1: error: listen_port: Either/Both of http_port or https_port must be specified (set listen_port and/or listen_port_tls)"),
    ("same-ports", "listen_port = 8080\nlisten_port_tls = 8080\n" + APP,
     "2:1: error: listen_port_tls: http_port and https_port must be different (both are 8080)"),
    ("public-https-port-without-tls", "listen_port = 80\npublic_https_port = 443\n" + APP,
     "2:1: error: public_https_port: `public_https_port` can only be set when the TLS listener `listen_port_tls` is configured"),
    ("v4-bad", 'listen_port = 80\nlisten_address_v4 = ["127.0.0.1", "256.0.0.1"]\n' + APP,
     "2:35: error: listen_address_v4: Invalid listen_address_v4 '256.0.0.1': IPv4 octet out of range"),
    ("v4-is-v6", 'listen_port = 80\nlisten_address_v4 = "::1"\n' + APP,
     "2:21: error: listen_address_v4: Invalid listen_address_v4 '::1': not an IPv4 address"),
    ("v4-empty", "listen_port = 80\nlisten_address_v4 = []\n" + APP,
     "2:21: error: listen_address_v4: listen_address_v4 must not be an empty array"),
    ("v4-wildcard-mix", 'listen_port = 80\nlisten_address_v4 = ["0.0.0.0", "127.0.0.1"]\n' + APP,
     "2:21: error: listen_address_v4: listen_address_v4 must not contain the wildcard address '0.0.0.0' when multiple addresses are specified"),
    ("v6-wildcard-mix", 'listen_port = 80\nlisten_address_v6 = ["::", "::1"]\n' + APP,
     "2:21: error: listen_address_v6: listen_address_v6 must not contain the wildcard address '::' when multiple addresses are specified"),
    ("v6-is-v4", 'listen_port = 80\nlisten_address_v6 = "127.0.0.1"\n' + APP,
     "2:21: error: listen_address_v6: Invalid listen_address_v6 '127.0.0.1': not an IPv6 address"),
    ("v4-element-type", 'listen_port = 80\nlisten_address_v4 = ["127.0.0.1", 1]\n' + APP,
     '2:35: error: listen_address_v4[1]: expected a string, got integer'),
    # apps
    ("server-name-invalid", 'listen_port = 80\n[apps.a]\nserver_name = "*.example.com"\nreverse_proxy = []\n',
     '3:15: error: apps.a.server_name: Invalid server_name "*.example.com": label must start and end with an alphanumeric character'),
    ("server-name-trailing-dot", 'listen_port = 80\n[apps.a]\nserver_name = "example.com."\nreverse_proxy = []\n',
     '3:15: error: apps.a.server_name: Invalid server_name "example.com.": each label must be 1-63 characters long'),
    ("server-name-unicode", 'listen_port = 80\n[apps.a]\nserver_name = "bücher.example"\nreverse_proxy = []\n',
     '3:15: error: apps.a.server_name: Invalid server_name "bücher.example": must be ASCII (use punycode for internationalized names)'),
    ("server-name-dup", "listen_port = 80\n" + APP + '[apps.b]\nserver_name = "A.test"\nreverse_proxy = []\n',
     '6:1: error: apps.b.server_name: server_name "a.test" is already served by app "a"'),
    ("app-name-case-dup", 'listen_port = 80\n[apps.A]\nserver_name = "x.test"\nreverse_proxy = []\n[apps.a]\nserver_name = "y.test"\nreverse_proxy = []\n',
     '5:1: error: apps.a: app name "a" is used twice (names are case-insensitive; first at line 2)'),
    ("plaintext-only-app", "listen_port_tls = 443\n" + APP,
     '2:1: error: apps.a: Some apps serve only plaintext HTTP: app "a" has no tls table but listen_port is not set'),
    ("tls-without-tls-port", "listen_port = 80\n" + APP + 'tls = { tls_cert_path = "c", tls_cert_key_path = "k" }\n',
     "5:1: error: apps.a.tls: a tls table needs the TLS listener: set listen_port_tls (or remove tls)"),
    ("https-redirection-one-port", "listen_port_tls = 443\n" + APP + 'tls = { https_redirection = false, tls_cert_path = "c", tls_cert_key_path = "k" }\n',
     "5:9: error: apps.a.tls.https_redirection: https_redirection can be specified only when both http_port and https_port are specified. Just remove https_redirection settings in each app."),
    ("tls-missing-key", "listen_port = 80\nlisten_port_tls = 443\n" + APP + 'tls = { tls_cert_path = "c" }\n',
     "6:7: error: apps.a.tls.tls_cert_key_path: tls_cert_key_path is required (or set acme = true)"),
    ("tls-acme-and-cert", "listen_port = 80\nlisten_port_tls = 443\n" + APP + 'tls = { acme = true, tls_cert_path = "c" }\n[experimental.acme]\nemail = "a@b.c"\n',
     "6:22: error: apps.a.tls.tls_cert_path: tls_cert_path must not be set together with acme = true"),
    ("acme-without-section", "listen_port = 80\nlisten_port_tls = 443\n" + APP + "tls = { acme = true }\n",
     "6:9: error: apps.a.tls.acme: acme = true requires an [experimental.acme] table with `email`"),
    # routes
    ("two-default-routes", "listen_port = 80\n" + route() + '[[apps.a.reverse_proxy]]\nupstream = [{ location = "127.0.0.1:9001" }]\n',
     '6:1: error: apps.a.reverse_proxy[1]: Multiple default reverse proxy setting: this route and the one at line 4 both have no `path`'),
    ("duplicate-path", "listen_port = 80\n" + route('path = "/api"\n') + '[[apps.a.reverse_proxy]]\npath = "/api/"\nupstream = [{ location = "127.0.0.1:9001" }]\n',
     '8:1: error: apps.a.reverse_proxy[1].path: duplicate route path "/api/": the route at line 4 already serves it'),
    ("path-no-slash", "listen_port = 80\n" + route('path = "api"\n'),
     '6:1: error: apps.a.reverse_proxy[0].path: route path "api" must start with "/" (it could never match)'),
    ("replace-path-no-slash", "listen_port = 80\n" + route('path = "/a"\nreplace_path = "b"\n'),
     '7:1: error: apps.a.reverse_proxy[0].replace_path: replace_path "b" must start with "/"'),
    ("access-log-format", 'listen_port = 80\naccess_log_format = "jsonl"\n' + APP,
     '2:21: error: access_log_format: unknown access_log_format "jsonl" (expected "rpxy" or "json")'),
    ("access-log-format-type", "listen_port = 80\naccess_log_format = true\n" + APP,
     "2:21: error: access_log_format: expected a string, got boolean"),
    ("load-balance-typo", "listen_port = 80\n" + route('load_balance = "roundrobin"\n'),
     '6:16: error: apps.a.reverse_proxy[0].load_balance: unknown load_balance "roundrobin" (did you mean "round_robin"?)'),
    ("load-balance-type", "listen_port = 80\n" + route("load_balance = 1\n"),
     '6:16: error: apps.a.reverse_proxy[0].load_balance: expected a string, got integer'),
    ("upstream-option-typo", "listen_port = 80\n" + route('upstream_options = ["keep_orignal_host"]\n'),
     '6:21: error: apps.a.reverse_proxy[0].upstream_options: unknown upstream option "keep_orignal_host" (did you mean "keep_original_host"?)'),
    ("upstream-option-unknown", "listen_port = 80\n" + route('upstream_options = ["turbo"]\n'),
     '6:21: error: apps.a.reverse_proxy[0].upstream_options: unknown upstream option "turbo" (known: keep_original_host, set_upstream_host, upgrade_insecure_requests, force_http11_upstream, force_http2_upstream, forwarded_header)'),
    ("force-both", "listen_port = 80\n" + route('upstream_options = ["force_http11_upstream", "force_http2_upstream"]\n'),
     '6:1: error: apps.a.reverse_proxy[0].upstream_options: Invalid upstream option setting: force_http11_upstream and force_http2_upstream are mutually exclusive'),
    ("sticky-without-secret", "listen_port = 80\n" + route('load_balance = "sticky"\n'),
     '6:1: error: apps.a.reverse_proxy[0].load_balance: sticky_cookie_secret is required when any reverse_proxy entry uses load_balance = "sticky"'),
    ("sticky-secret-short", 'listen_port = 80\nsticky_cookie_secret = "abcd"\n' + route('load_balance = "sticky"\n'),
     "2:1: error: sticky_cookie_secret: sticky_cookie_secret must be base64url without padding and decode to exactly 32 bytes: decodes to 3 bytes"),
    ("sticky-secret-padded", 'listen_port = 80\nsticky_cookie_secret = "5_0aLI5pyN92tYnyEPOqjrmx-pUSvqPwjLRe85A_FuE="\n' + route('load_balance = "sticky"\n'),
     "2:1: error: sticky_cookie_secret: sticky_cookie_secret must be base64url without padding and decode to exactly 32 bytes: padding not allowed"),
    ("sticky-secret-space", 'listen_port = 80\nsticky_cookie_secret = "5_0aLI5pyN92tYnyEPOqjrmx pUSvqPwjLRe85A_FuE"\n' + route('load_balance = "sticky"\n'),
     "2:1: error: sticky_cookie_secret: sticky_cookie_secret must not contain embedded whitespace"),
    ("primary-backup-no-health", "listen_port = 80\n" + route('load_balance = "primary_backup"\n'),
     '6:1: error: apps.a.reverse_proxy[0].load_balance: load_balance = "primary_backup" requires health_check to be enabled'),
    # upstream locations
    ("location-scheme", "listen_port = 80\n" + route(upstream='{ location = "http://127.0.0.1:9000" }'),
     '5:26: error: apps.a.reverse_proxy[0].upstream[0].location: Upstream uri is invalid: write the location without a scheme ("http://127.0.0.1:9000"); use `tls = true` for https'),
    ("location-port", "listen_port = 80\n" + route(upstream='{ location = "127.0.0.1:70000" }'),
     '5:26: error: apps.a.reverse_proxy[0].upstream[0].location: Upstream uri is invalid: port must be 1-65535 in "127.0.0.1:70000"'),
    ("location-space", "listen_port = 80\n" + route(upstream='{ location = "bad host" }'),
     '5:26: error: apps.a.reverse_proxy[0].upstream[0].location: Upstream uri is invalid: character \' \' not allowed in host "bad host"'),
    ("location-v6", "listen_port = 80\n" + route(upstream='{ location = "[::g]:80" }'),
     '5:26: error: apps.a.reverse_proxy[0].upstream[0].location: Upstream uri is invalid: bad IPv6 literal in "[::g]:80"'),
    ("location-empty", "listen_port = 80\n" + route(upstream='{ location = "" }'),
     '5:26: error: apps.a.reverse_proxy[0].upstream[0].location: Upstream uri is invalid: no host in ""'),
    # health checks
    ("health-type", "listen_port = 80\n" + route('health_check = { type = "icmp" }\n'),
     '6:25: error: apps.a.reverse_proxy[0].health_check.type: Unknown health_check type: "icmp" (expected "tcp" or "http")'),
    ("health-timeout", "listen_port = 80\n" + route("health_check = { interval = 5, timeout = 5 }\n"),
     '6:32: error: apps.a.reverse_proxy[0].health_check.timeout: health_check.timeout (5s) must be less than interval (5s)'),
    ("health-threshold", "listen_port = 80\n" + route("health_check = { unhealthy_threshold = 0 }\n"),
     '6:18: error: apps.a.reverse_proxy[0].health_check.unhealthy_threshold: health_check.unhealthy_threshold must be >= 1'),
    ("health-http-path", "listen_port = 80\n" + route('health_check = { type = "http" }\n'),
     '6:18: error: apps.a.reverse_proxy[0].health_check.type: health_check.path is required when type = "http"'),
    ("health-http-path-slash", "listen_port = 80\n" + route('health_check = { type = "http", path = "healthz" }\n'),
     '6:33: error: apps.a.reverse_proxy[0].health_check.path: health_check.path must start with "/" (got "healthz")'),
    ("health-status", "listen_port = 80\n" + route('health_check = { expected_status = 42 }\n'),
     '6:36: error: apps.a.reverse_proxy[0].health_check.expected_status: value 42 out of range 100-599'),
    ("health-type-bad", "listen_port = 80\n" + route('health_check = "yes"\n'),
     '6:16: error: apps.a.reverse_proxy[0].health_check: expected true, false or a table, got string'),
    # body size
    ("body-negative", "listen_port = 80\nrequest_max_body_size = -1\n" + APP,
     "2:25: error: request_max_body_size: request_max_body_size must not be negative, got -1"),
    ("body-empty", 'listen_port = 80\nrequest_max_body_size = "  "\n' + APP,
     "2:25: error: request_max_body_size: request_max_body_size must not be an empty string"),
    ("body-format", 'listen_port = 80\nrequest_max_body_size = "10kb"\n' + APP,
     '2:25: error: request_max_body_size: request_max_body_size has invalid format: "10kb" (expected bytes with an optional k, m or g suffix, or "unlimited")'),
    ("body-decimal", 'listen_port = 80\nrequest_max_body_size = "1.5M"\n' + APP,
     '2:25: error: request_max_body_size: request_max_body_size has invalid format: "1.5M" (expected bytes with an optional k, m or g suffix, or "unlimited")'),
    ("body-overflow", 'listen_port = 80\nrequest_max_body_size = "99999999999999999999"\n' + APP,
     '2:25: error: request_max_body_size: request_max_body_size value "99999999999999999999" overflows u64'),
    ("body-overflow-suffix", 'listen_port = 80\nrequest_max_body_size = "17179869184G"\n' + APP,
     '2:25: error: request_max_body_size: request_max_body_size value "17179869184G" overflows u64'),
    ("body-float", "listen_port = 80\nrequest_max_body_size = 1.5\n" + APP,
     '2:25: error: request_max_body_size: expected an integer or a string such as "64M", got float'),
    # trusted proxies
    ("trusted-bare-ip", 'listen_port = 80\ntrusted_forwarded_proxies = ["10.0.0.1"]\n' + APP,
     "2:30: error: trusted_forwarded_proxies: invalid trusted proxy entry `10.0.0.1`: missing /prefix length (expected a CIDR such as 10.0.0.0/8, or one of cloudflare, fastly, cloudfront)"),
    ("trusted-unknown-alias", 'listen_port = 80\ntrusted_forwarded_proxies = "akamai"\n' + APP,
     "2:29: error: trusted_forwarded_proxies: invalid trusted proxy entry `akamai`: not a CIDR and not a known alias (expected a CIDR such as 10.0.0.0/8, or one of cloudflare, fastly, cloudfront)"),
    ("pp-empty", "listen_port = 80\n" + APP + "[experimental.tcp_recv_proxy_protocol]\ntrusted_proxies = []\n",
     "6:19: error: experimental.tcp_recv_proxy_protocol.trusted_proxies: tcp_recv_proxy_protocol.trusted_proxies must not be empty"),
    ("pp-bare-ip", "listen_port = 80\n" + APP + '[experimental.tcp_recv_proxy_protocol]\ntrusted_proxies = ["127.0.0.1"]\n',
     "6:20: error: experimental.tcp_recv_proxy_protocol.trusted_proxies: Invalid CIDR in trusted_proxies: 127.0.0.1: missing /prefix length"),
    ("pp-alias-not-allowed", "listen_port = 80\n" + APP + '[experimental.tcp_recv_proxy_protocol]\ntrusted_proxies = "10.0.0.0/8"\n',
     "6:19: error: experimental.tcp_recv_proxy_protocol.trusted_proxies: expected an array of CIDR strings, got string"),
    # cache
    ("cache-entry-zero", "listen_port = 80\n" + APP + "[experimental.cache]\nmax_cache_entry = 0\n",
     "6:1: error: experimental.cache.max_cache_entry: max_cache_entry must be at least 1"),
    ("cache-memory-over-each", "listen_port = 80\n" + APP + "[experimental.cache]\nmax_cache_each_size = 100\nmax_cache_each_size_on_memory = 200\n",
     "7:1: error: experimental.cache.max_cache_each_size_on_memory: max_cache_each_size_on_memory (200) must not exceed max_cache_each_size (100)"),
    ("h3-body-string", 'listen_port = 80\nlisten_port_tls = 443\n' + APP + '[experimental.h3]\nrequest_max_body_size = "1M"\n',
     "7:25: error: experimental.h3.request_max_body_size: expected integer (bytes), got string"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_invalid_config(check, case):
    name, text, want = case
    path, r = check(text)
    assert r.returncode == 1, r.stdout
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[-1].startswith(f"{path}: configuration is invalid (")
    errors = [l for l in lines if ": error: " in l]
    assert errors, r.stderr
    assert all(l.startswith(f"{path}:") for l in errors)
    if want is not None:
        assert errors[0] == f"{path}:{want}", r.stderr


def test_toml_syntax_error_location(check):
    path, r = check("listen_port = 80\n[apps.a]\nserver_name = 'a.test\n")
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{path}:3:15: error: ")
    assert "unterminated" in first


WARNINGS = [
    ("deprecated-h3-body", "listen_port = 80\nlisten_port_tls = 443\n" + APP + "[experimental.h3]\nrequest_max_body_size = 65536\n",
     "7:1: warning: experimental.h3.request_max_body_size: deprecated: `experimental.h3.request_max_body_size` is deprecated and will be removed in 0.14.0; use the top-level `request_max_body_size` (here, 0 rejects any body)."),
    ("body-unlimited", 'listen_port = 80\nrequest_max_body_size = "Unlimited"\n' + APP,
     "2:1: warning: request_max_body_size: request bodies are unlimited: any client may send an arbitrarily large body"),
    ("body-zero-suffix", 'listen_port = 80\nrequest_max_body_size = "0 M"\n' + APP,
     "2:1: warning: request_max_body_size: request bodies are unlimited: any client may send an arbitrarily large body"),
    ("default-app-missing", 'listen_port = 80\ndefault_app = "nope"\n' + APP,
     '2:1: warning: default_app: default_app "nope" names no [apps.<name>] table; plaintext requests for unknown hosts will get 503'),
    ("unused-bad-secret", 'listen_port = 80\nsticky_cookie_secret = "short"\n' + APP,
     '2:1: warning: sticky_cookie_secret: sticky_cookie_secret must be base64url without padding and decode to exactly 32 bytes: invalid length (unused: no route has load_balance = "sticky")'),
    ("h3-without-tls", "listen_port = 80\n" + APP + "[experimental.h3]\n",
     '5:15: warning: experimental.h3: [experimental.h3] has no effect without listen_port_tls'),
    ("location-path", "listen_port = 80\n" + route(upstream='{ location = "127.0.0.1:9000/base" }'),
     '5:26: warning: apps.a.reverse_proxy[0].upstream[0].location: the path in "127.0.0.1:9000/base" is ignored: only host and port are used (use replace_path to rewrite paths)'),
]


@pytest.mark.parametrize("case", WARNINGS, ids=[c[0] for c in WARNINGS])
def test_warning_keeps_config_valid(check, case):
    name, text, want = case
    path, r = check(text)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[0] == f"{path}:{want}"
    assert r.stdout.endswith(f"{path}: configuration is valid (1 warning)\n")
