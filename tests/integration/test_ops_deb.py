"""`make deb`: lintian finds no error, and the package installs, removes and
purges on this machine (dpkg -i / -r / -P): user rpxy, conffiles, man pages,
a working binary. The test refuses to touch a machine where rpxy is already
installed, and undoes everything it did (the package, the user, the
directories) whatever happens. One dpkg at a time: xdist_group "dpkg"."""
import os
import pwd
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, REPO
from ops_make import make

PATHS = ["/usr/sbin/rpxy", "/etc/rpxy", "/etc/logrotate.d/rpxy", "/lib/systemd/system/rpxy.service",
         "/usr/share/man/man8/rpxy.8.gz", "/usr/share/man/man5/rpxy.toml.5.gz", "/usr/share/doc/rpxy"]
STATE_DIRS = ["/var/log/rpxy", "/var/lib/rpxy", "/var/cache/rpxy"]


def status():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "rpxy"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else "not-installed"


def dpkg(*args):
    """dpkg ARGS, waiting (up to a minute) while another dpkg or apt holds
    the lock; asserts success."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    deadline = time.monotonic() + 60
    while True:
        r = subprocess.run(["dpkg", *args], capture_output=True, text=True, env=env, timeout=120)
        if r.returncode == 0:
            return r
        if "lock" not in r.stderr or time.monotonic() > deadline:
            raise AssertionError(f"dpkg {' '.join(args)}: {r.stdout}{r.stderr}")
        time.sleep(1)


def user_exists():
    try:
        pwd.getpwnam("rpxy")
        return True
    except KeyError:
        return False


@pytest.fixture
def clean_machine():
    """Asserts nothing of rpxy is installed; afterwards purges the package
    and removes the user and directories this test created."""
    assert status() in ("not-installed", "unknown ok not-installed"), \
        f"rpxy is installed here ({status()}): this test would remove it"
    present = [p for p in PATHS if os.path.lexists(p)]
    assert not present, f"{present} exist: this test would overwrite them"
    had_user = user_exists()
    had_dirs = {d for d in STATE_DIRS if os.path.exists(d)}
    yield
    if status() not in ("not-installed", "unknown ok not-installed"):
        subprocess.run(["dpkg", "-P", "rpxy"], capture_output=True)
    if not had_user and user_exists():
        subprocess.run(["userdel", "rpxy"], capture_output=True)
    for d in set(STATE_DIRS) - had_dirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.xdist_group("dpkg")
def test_deb_lintian_install_remove_purge(clean_machine):
    version = (REPO / "VERSION").read_text().strip()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    deb = make("deb").stdout.strip()
    assert deb == str(BUILD.resolve() / f"rpxy_{version}_{arch}.deb")

    r = subprocess.run(["lintian", "--allow-root", "--tag-display-limit", "0", deb],
                       capture_output=True, text=True, timeout=300)
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    assert r.returncode == 0 and not errors, r.stdout + r.stderr

    dpkg("-i", deb)
    assert status() == "install ok installed"
    r = subprocess.run(["/usr/sbin/rpxy", "--version"], capture_output=True, text=True)
    assert r.stdout == f"rpxy {version}\n"
    user = pwd.getpwnam("rpxy")  # made by postinst: a system user without a login
    assert user.pw_uid < 1000 and user.pw_dir == "/var/lib/rpxy"
    assert user.pw_shell in ("/usr/sbin/nologin", "/bin/false")
    r = subprocess.run(["/usr/sbin/rpxy", "--config", "/etc/rpxy/config.toml", "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    conffiles = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "rpxy"],
                               capture_output=True, text=True).stdout
    assert "/etc/rpxy/config.toml " in conffiles and "/etc/logrotate.d/rpxy " in conffiles
    r = subprocess.run(["man", "-w", "5", "rpxy.toml"], capture_output=True, text=True)
    assert r.stdout.strip() == "/usr/share/man/man5/rpxy.toml.5.gz"
    r = subprocess.run(["logrotate", "-d", "/etc/logrotate.d/rpxy"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

    # remove: the binary goes, the edited configuration stays
    with open("/etc/rpxy/config.toml", "a") as f:
        f.write("# edited by the administrator\n")
    os.makedirs("/var/log/rpxy", exist_ok=True)
    open("/var/log/rpxy/access.log", "w").close()
    dpkg("-r", "rpxy")
    assert status() == "deinstall ok config-files"
    assert not os.path.exists("/usr/sbin/rpxy")
    assert "administrator" in open("/etc/rpxy/config.toml").read()

    # purge: configuration and what the service wrote go too
    dpkg("-P", "rpxy")
    assert status() in ("not-installed", "unknown ok not-installed")
    left = [p for p in PATHS + STATE_DIRS if os.path.lexists(p)]
    assert not left, left
