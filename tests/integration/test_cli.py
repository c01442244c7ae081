"""The command line: rpxy's flags, usage errors, --check and exit codes."""
import re

from conftest import REPO, run_rpxy

USAGE = "Usage: rpxy [OPTIONS] --config <FILE>"


def test_version():
    for flag in ("-V", "--version"):
        r = run_rpxy(flag)
        assert r.returncode == 0
        assert r.stdout == "rpxy 0.13.2\n"


def test_help():
    for flag in ("-h", "--help"):
        r = run_rpxy(flag)
        assert r.returncode == 0
        assert USAGE in r.stdout
        for opt in ("-c, --config <FILE>", "-l, --log-dir <LOG_DIR>", "--check",
                    "-h, --help", "-V, --version"):
            assert opt in r.stdout


def test_missing_config_is_usage_error():
    r = run_rpxy()
    assert r.returncode == 2
    assert "error: the following required arguments were not provided:" in r.stderr
    assert "--config <FILE>" in r.stderr
    assert USAGE in r.stderr
    assert r.stdout == ""


def test_unknown_flag_is_usage_error():
    r = run_rpxy("--config", "x.toml", "--bogus")
    assert r.returncode == 2
    assert "error: unexpected argument '--bogus' found" in r.stderr


def test_positional_argument_is_usage_error():
    r = run_rpxy("--config", "x.toml", "extra")
    assert r.returncode == 2
    assert "error: unexpected argument 'extra' found" in r.stderr


def test_flag_without_value():
    r = run_rpxy("--config")
    assert r.returncode == 2
    assert "a value is required for '--config <FILE>'" in r.stderr


def test_config_value_forms(write_config):
    path = write_config('listen_port = 8080\n[apps.a]\nserver_name = "a.test"\n'
                        'reverse_proxy = [{ upstream = [{ location = "127.0.0.1:9" }] }]\n')
    for args in (["-c", path], ["--config", path], [f"--config={path}"], [f"-c{path}"]):
        r = run_rpxy(*args, "--check")
        assert r.returncode == 0, (args, r.stderr)


def test_check_missing_file(tmp_path):
    missing = tmp_path / "nope.toml"
    r = run_rpxy("--config", missing, "--check")
    assert r.returncode == 1
    assert f"{missing}: error: cannot open config file: No such file or directory" in r.stderr


def test_check_summary(check):
    path, r = check("""
listen_port = 8080
listen_port_tls = 8443
listen_address_v4 = ["127.0.0.1", "127.0.0.2"]
default_app = "Www"

[apps.www]
server_name = "WWW.Example.COM"
tls = { tls_cert_path = "c.pem", tls_cert_key_path = "k.pem" }

[[apps.www.reverse_proxy]]
upstream = [{ location = "10.0.0.1:8080" }, { location = "backend.internal", tls = true }]
load_balance = "round_robin"

[[apps.www.reverse_proxy]]
path = "/api"
replace_path = "/v2"
upstream = [{ location = "[::1]:9000" }]
upstream_options = ["set_upstream_host", "forwarded_header"]
""")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout
    assert "  http  127.0.0.1:8080\n" in out
    assert "  http  127.0.0.2:8080\n" in out
    assert "  https 127.0.0.1:8443\n" in out
    assert "apps: 1\n" in out
    assert ("  app www: server_name www.example.com, tls, http redirects to https, "
            "default app for plaintext\n") in out
    assert "    route / (default)  [load_balance round_robin]\n" in out
    assert "      upstream http://10.0.0.1:8080\n" in out
    assert "      upstream https://backend.internal:443\n" in out
    assert ("    route /api -> replace_path /v2  [load_balance none, set_upstream_host, "
            "forwarded_header]\n") in out
    assert "      upstream http://[::1]:9000\n" in out
    assert out.endswith(f"{path}: configuration is valid (0 warnings)\n")


def test_check_reports_every_error_and_exits_1(check):
    path, r = check("""
listen_port = "80"
[apps.a]
server_name = "a_b"
reverse_proxy = [{ upstream = [{ location = "x:0" }], load_balance = "rr" }]
""")
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines == [
        f"{path}:2:15: error: listen_port: expected integer 0-65535, got string",
        f'{path}:4:15: error: apps.a.server_name: Invalid server_name "a_b": '
        "label may contain only alphanumerics and '-'",
        f'{path}:5:45: error: apps.a.reverse_proxy[0].upstream[0].location: '
        'Upstream uri is invalid: port must be 1-65535 in "x:0"',
        f'{path}:5:70: error: apps.a.reverse_proxy[0].load_balance: unknown load_balance "rr" '
        "(known: none, round_robin, random, sticky, primary_backup)",
        f"{path}: configuration is invalid (4 errors)",
    ]
    assert r.stdout == ""


def test_dump_config_reference_matches_docs():
    r = run_rpxy("--dump-config-reference")
    assert r.returncode == 0
    assert r.stdout == (REPO / "docs" / "config.md").read_text()
    for key in ("listen_port", "sticky_cookie_secret", "max_cache_each_size_on_memory",
                "trusted_proxies", "upstream_options", "https_redirection"):
        assert re.search(rf"^\| `{key}`", r.stdout, re.M), key
