"""`make install` / `make uninstall` (PREFIX, DESTDIR), the generated man
pages, and the systemd unit checked by `systemd-analyze verify`."""
import os
import re
import stat
import subprocess

from conftest import REPO, RPXY, run_rpxy
from ops_make import make

INSTALLED = {
    "usr/sbin/rpxy": 0o755,
    "usr/share/man/man8/rpxy.8": 0o644,
    "usr/share/man/man5/rpxy.toml.5": 0o644,
    "usr/share/doc/rpxy/config-example.toml": 0o644,
    "usr/share/doc/rpxy/config.toml": 0o644,
    "usr/lib/systemd/system/rpxy.service": 0o644,
    "etc/logrotate.d/rpxy": 0o644,
}


def files_under(root):
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir()}


def test_man_pages_are_generated_and_render_cleanly():
    for option, page in (("--dump-man", "rpxy.8"), ("--dump-config-man", "rpxy.toml.5")):
        r = run_rpxy(option)
        assert r.returncode == 0
        assert r.stdout == (REPO / "docs/man" / page).read_text(), \
            f"docs/man/{page} is stale: run 'make docs'"
        # groff with every warning on: a roff mistake in the generator shows here
        g = subprocess.run(["groff", "-man", "-ww", "-z"], input=r.stdout, capture_output=True,
                           text=True)
        assert g.returncode == 0 and g.stderr == "", g.stderr
    config_page = run_rpxy("--dump-config-man").stdout
    # the same keys as docs/config.md, in the same order, from the same table
    md_keys = re.findall(r"^\| `([^`]+)`", (REPO / "docs/config.md").read_text(), re.M)
    man_keys = re.findall(r"^\.TP\n\\fB([^\\]+)\\fR", config_page, re.M)
    assert len(md_keys) > 50 and man_keys == md_keys
    assert "\\fBshutdown_timeout\\fR \\fI(ours)\\fR (integer 0-3600 (seconds); default: 10)" \
        in config_page


def test_install_and_uninstall_with_destdir(tmp_path):
    dest = tmp_path / "stage"
    keep = dest / "usr/share/doc/other/README"  # not ours: uninstall must leave it
    keep.parent.mkdir(parents=True)
    keep.write_text("x")
    make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert files_under(dest) == set(INSTALLED) | {"usr/share/doc/other/README"}
    for rel, mode in INSTALLED.items():
        assert stat.S_IMODE((dest / rel).stat().st_mode) == mode, rel
    assert (dest / "usr/sbin/rpxy").read_bytes() == RPXY.read_bytes()
    unit = (dest / "usr/lib/systemd/system/rpxy.service").read_text()
    assert "ExecStart=/usr/sbin/rpxy --config /etc/rpxy/config.toml --log-dir /var/log/rpxy\n" \
        in unit
    assert "@" not in unit.replace("$MAINPID", "")  # every placeholder substituted
    make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    assert files_under(dest) == {"usr/share/doc/other/README"}
    assert not (dest / "usr/share/doc/rpxy").exists()


def test_unit_passes_systemd_analyze_verify(tmp_path):
    # installed for real under a temporary prefix, so that the unit's
    # ExecStart binary and its Documentation= man pages exist
    prefix, etc = tmp_path / "usr", tmp_path / "etc"
    make("install", f"PREFIX={prefix}", f"SYSCONFDIR={etc}")
    unit = prefix / "lib/systemd/system/rpxy.service"
    env = dict(os.environ, MANPATH=str(prefix / "share/man"))
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
    text = unit.read_text()
    for line in ("Type=notify", f"ExecStart={prefix}/sbin/rpxy --config {etc}/rpxy/config.toml",
                 "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "AmbientCapabilities=CAP_NET_BIND_SERVICE", "User=rpxy",
                 "ReadWritePaths=/var/log/rpxy /var/lib/rpxy /var/cache/rpxy"):
        assert line in text, line
    # the starting config the unit points to is valid
    r = run_rpxy("--config", REPO / "dist/config.toml", "--check")
    assert r.returncode == 0, r.stderr
