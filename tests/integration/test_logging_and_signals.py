"""Run mode: log destinations and format, RUST_LOG, SIGHUP reload, SIGUSR1
log reopen, SIGTERM exit, and refusal to start on an invalid config."""
import os
import re
import signal
import stat
import subprocess
import time

import pytest

from conftest import RPXY, run_rpxy

from conftest import free_port

PORT = free_port()
VALID = (f'listen_port = {PORT}\nlisten_address_v4 = "127.0.0.1"\n[apps.a]\nserver_name = "a.test"\n'
         'reverse_proxy = [{ upstream = [{ location = "127.0.0.1:9" }] }]\n')
TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


class Proxy:
    """rpxy started in run mode, stdout collected to a file."""

    def __init__(self, config, tmp_path, log_dir=None, env=None):
        self.out_path = tmp_path / "stdout.txt"
        args = [str(RPXY), "--config", str(config)]
        if log_dir:
            args += ["--log-dir", str(log_dir)]
        full_env = {k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "RPXY_LOG")}
        full_env.update(env or {})
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT, env=full_env)

    def stdout(self):
        return self.out_path.read_text()

    def wait_for(self, read, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = read()
            if re.search(pattern, text, re.M):
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not seen; got:\n{read()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=10)
        self.out.close()
        return rc


@pytest.fixture
def proxies():
    started = []
    yield lambda *a, **kw: started.append(Proxy(*a, **kw)) or started[-1]
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()


def test_stdout_logging_format_and_sigterm(write_config, tmp_path, proxies):
    p = proxies(write_config(VALID), tmp_path)
    text = p.wait_for(p.stdout, r"Registering application a\.test \(a\)")
    assert re.search(rf"^{TS}  INFO Start rpxy service with dynamic config reloader$", text, re.M)
    assert re.search(rf"^{TS}  INFO Listen IPv4$", text, re.M)
    assert re.search(rf"^{TS}  INFO Listen port: {PORT}$", text, re.M)
    assert re.search(rf"^{TS}  INFO Cache is disabled$", text, re.M)
    assert p.stop() == 0
    assert re.search(rf"^{TS}  INFO SIGTERM received: shutting down gracefully$", p.stdout(),
                     re.M)


def test_rust_log_level_filters(write_config, tmp_path, proxies):
    unlimited = VALID.replace("[apps.a]", "request_max_body_size = 0\n[apps.a]")
    p = proxies(write_config(unlimited), tmp_path, env={"RUST_LOG": "WARN"})
    p.wait_for(p.stdout, r" WARN request_max_body_size is unlimited")
    assert p.stop() == 0
    assert " INFO " not in p.stdout()


def test_rpxy_log_alias(write_config, tmp_path, proxies):
    p = proxies(write_config(VALID), tmp_path, env={"RPXY_LOG": "error"})
    time.sleep(0.5)
    assert p.stop() == 0
    assert p.stdout() == ""


def test_log_dir_files(write_config, tmp_path, proxies):
    log_dir = tmp_path / "logs" / "nested"
    p = proxies(write_config(VALID), tmp_path, log_dir=log_dir)
    rpxy_log = log_dir / "rpxy.log"
    p.wait_for(lambda: rpxy_log.read_text() if rpxy_log.exists() else "",
               r"Registering application")
    assert p.stdout().splitlines()[:4] == [
        f"Activate logging to files: {log_dir}",
        f"Directory does not exist, creating: {log_dir}",
        f"Access log: {log_dir}/access.log",
        f"System and error log: {log_dir}/rpxy.log",
    ]
    for name in ("rpxy.log", "access.log"):
        mode = stat.S_IMODE(os.stat(log_dir / name).st_mode)
        assert mode == 0o640, (name, oct(mode))
    assert re.search(rf"^{TS}  INFO Listen port: {PORT}$", rpxy_log.read_text(), re.M)
    assert p.stop() == 0


def test_sigusr1_reopens_log_files(write_config, tmp_path, proxies):
    log_dir = tmp_path / "logs"
    p = proxies(write_config(VALID), tmp_path, log_dir=log_dir)
    rpxy_log = log_dir / "rpxy.log"
    p.wait_for(lambda: rpxy_log.read_text() if rpxy_log.exists() else "", r"Registering")
    rotated = log_dir / "rpxy.log.1"
    os.rename(rpxy_log, rotated)
    p.proc.send_signal(signal.SIGUSR1)
    p.wait_for(lambda: rpxy_log.read_text() if rpxy_log.exists() else "", r"Log files reopened")
    p.proc.send_signal(signal.SIGHUP)
    p.wait_for(lambda: rpxy_log.read_text(), r"Configuration updated\.")
    assert "Configuration updated." not in rotated.read_text()
    assert "Registering application" in rotated.read_text()
    assert p.stop() == 0


def test_sighup_keeps_old_config_when_new_is_invalid(write_config, tmp_path, proxies):
    cfg = write_config(VALID)
    p = proxies(cfg, tmp_path)
    p.wait_for(p.stdout, r"Registering application")
    cfg.write_text(VALID.replace(f"listen_port = {PORT}", f'listen_port = "{PORT}"'))
    p.proc.send_signal(signal.SIGHUP)
    text = p.wait_for(p.stdout, r"Configuration does not updated")
    assert re.search(rf"^{TS} ERROR {re.escape(str(cfg))}:1:15: error: listen_port: "
                     r"expected integer 0-65535, got string$", text, re.M)
    assert p.proc.poll() is None, "an invalid reload must not stop the process"
    cfg.write_text(VALID.replace("a.test", "b.test"))
    p.proc.send_signal(signal.SIGHUP)
    p.wait_for(p.stdout, r"Configuration updated\.")
    assert p.stop() == 0


def test_invalid_config_at_startup_exits_1(write_config, tmp_path):
    cfg = write_config(VALID.replace("a.test", "a..test"))
    r = run_rpxy("--config", cfg, timeout=10)
    assert r.returncode == 1
    assert re.search(rf"^{TS} ERROR {re.escape(str(cfg))}:4:15: error: apps.a.server_name: "
                     r'Invalid server_name "a\.\.test": each label must be 1-63 characters long$',
                     r.stdout, re.M)
    assert re.search(rf"^{TS} ERROR rpxy service exited: Invalid configuration", r.stdout, re.M)


def test_unopenable_log_dir_exits_1(write_config, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = run_rpxy("--config", write_config(VALID), "--log-dir", blocker / "logs", timeout=10)
    assert r.returncode == 1
    assert "cannot create log directory" in r.stderr


def test_control_characters_in_logged_values_are_escaped(write_config, tmp_path):
    cfg = write_config('listen_port = 80\n"evil\\nkey" = 1\n[apps.a]\nserver_name = "a.test"\n'
                       'reverse_proxy = []\n')
    r = run_rpxy("--config", cfg, timeout=10)
    assert r.returncode == 1
    lines = [l for l in r.stdout.splitlines() if "evil" in l]
    assert len(lines) == 1 and "evil\\nkey" in lines[0], r.stdout
