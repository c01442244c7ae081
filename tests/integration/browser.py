"""Headless Chromium (Debian's package) for the browser tests: a HOME whose
NSS database trusts a test CA, and a run of --dump-dom on one URL in a
session of its own, every process of which is killed afterwards."""
import os
import shutil
import signal
import subprocess
import time
import uuid

CHROMIUM = "/usr/bin/chromium"
# a.test, the test app's name (tls_app), is 127.0.0.1; other names go to the
# system's resolver
HOST_RULES = "MAP a.test 127.0.0.1"


def nss_home(tmp_path, ca):
    """A HOME whose NSS database (~/.pki/nssdb, which Chromium on Linux reads
    for locally trusted roots) trusts CA for TLS servers."""
    assert shutil.which("certutil"), "libnss3-tools is installed by scripts/install-deps.sh"
    home = tmp_path / "home"
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    for args in (["-N", "--empty-password"], ["-A", "-t", "C,,", "-n", "rpxy test CA", "-i", ca]):
        subprocess.run(["certutil", "-d", f"sql:{db}", *args], check=True, capture_output=True,
                       timeout=30)
    return home


def chromium_pids(sid, marker):
    """Live (not zombie) processes in session SID or with MARKER in their
    command line (crashpad handlers call setsid(); their --database is
    under our per-run XDG_CONFIG_HOME)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # state ppid pgrp session ...
        if fields[0] != "Z" and (int(fields[3]) == sid or marker.encode() in cmdline):
            pids.append(int(entry))
    return pids


def chromium_dump_dom(url, tmp_path, home, timeout=30, host_rules=HOST_RULES, extra_args=()):
    """Runs headless Chromium on URL in a session of its own, with
    --host-resolver-rules=HOST_RULES and EXTRA_ARGS; returns the serialized
    DOM (stdout) and stderr. Every process of that session is killed
    afterwards, whatever happened."""
    assert os.access(CHROMIUM, os.X_OK), "chromium is installed by scripts/install-deps.sh"
    profile = tmp_path / f"chromium-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(profile / "config"),
               XDG_CACHE_HOME=str(profile / "cache"))
    args = [CHROMIUM, "--headless",
            # as root (and in most containers) Chromium's sandbox cannot start; the only
            # page loaded is our own backend's
            "--no-sandbox",
            "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            f"--user-data-dir={profile}",
            f"--host-resolver-rules={host_rules}",
            *extra_args,
            "--dump-dom", url]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)

    def kill_all():
        deadline = time.monotonic() + 10
        while True:
            pids = chromium_pids(proc.pid, str(profile))
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not pids:
                return
            assert time.monotonic() < deadline, f"chromium processes left: {pids}"
            time.sleep(0.1)

    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_all()
        out, err = proc.communicate(timeout=10)
        err += f"\nchromium did not finish in {timeout}s"
    finally:
        kill_all()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    return out, err
