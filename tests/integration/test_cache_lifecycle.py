"""The cache's life: the directory at start-up, configuration reloads (ours:
entries kept when [experimental.cache] did not change), concurrent misses
of one key collapsed into one upstream request (ours)."""
import os
import re
import subprocess
import threading
import time

import pytest

from cache_backend import CacheOrigin
from conftest import free_port, run_rpxy
from test_cache_hits import config, get


@pytest.fixture
def origin():
    o = CacheOrigin()
    yield o
    o.stop()


def test_directory_is_emptied_at_start_and_created_when_missing(origin, start_proxy, tmp_path):
    junk = tmp_path / "cache" / "old"
    junk.mkdir(parents=True)
    (junk / "body").write_bytes(b"stale")
    (tmp_path / "cache" / "top").write_bytes(b"stale")
    p = start_proxy(config(origin, tmp_path))
    p.wait_log(r"INFO rpxy is ready")  # the listeners are bound before the cache is set up
    assert os.listdir(tmp_path / "cache") == []
    text = config(origin, tmp_path).replace(f'"{tmp_path}/cache"', f'"{tmp_path}/a/b/c"')
    p2 = start_proxy(text)
    p2.wait_log(r"INFO rpxy is ready")
    assert (tmp_path / "a" / "b" / "c").is_dir()
    p2.wait_log(rf'INFO Cache is enabled: cache dir = "{tmp_path}/a/b/c"')


def test_unusable_directory_is_a_located_startup_error(origin, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    text = config(origin, tmp_path).replace(f'"{tmp_path}/cache"', f'"{tmp_path}/file/cache"')
    text = text.replace("{port}", str(free_port()))
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = run_rpxy("--config", path, timeout=10)
    assert r.returncode == 1
    line = text.splitlines().index(f'cache_dir = "{tmp_path}/file/cache"') + 1
    assert re.search(rf"{path}:{line}:1: error: experimental\.cache\.cache_dir: cache_dir "
                     rf'"{tmp_path}/file/cache": {tmp_path}/file is not a directory',
                     r.stdout + r.stderr), r.stdout + r.stderr
    r = run_rpxy("--config", path, "--check", timeout=10)
    assert r.returncode == 1 and "is not a directory" in r.stdout + r.stderr


@pytest.fixture
def read_only_dir(tmp_path):
    """An empty tmpfs mounted read-only at tmp_path/ro: not writable even for
    root, who passes every permission check (the tests run as root)."""
    d = tmp_path / "ro"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(d)], check=True)
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


@pytest.mark.parametrize("sub", ["", "/cache"])
def test_unwritable_directory_is_a_located_startup_error(origin, tmp_path, read_only_dir, sub):
    """cache_dir on a read-only file system, as it is or to be created under
    it: the start stops with the file, line and key, naming the directory
    that cannot be written; --check says the same."""
    wanted = f"{read_only_dir}{sub}"
    text = config(origin, tmp_path).replace(f'"{tmp_path}/cache"', f'"{wanted}"')
    text = text.replace("{port}", str(free_port()))
    path = tmp_path / "bad.toml"
    path.write_text(text)
    line = text.splitlines().index(f'cache_dir = "{wanted}"') + 1
    who = "it" if not sub else str(read_only_dir)
    for args in ((), ("--check",)):
        r = run_rpxy("--config", path, *args, timeout=10)
        assert r.returncode == 1
        assert re.search(rf"{path}:{line}:1: error: experimental\.cache\.cache_dir: cache_dir "
                         rf'"{re.escape(wanted)}": {re.escape(who)} is not writable',
                         r.stdout + r.stderr), r.stdout + r.stderr
    assert os.listdir(read_only_dir) == []


def reload(p, text, n):
    p.path.write_text(text)
    deadline = time.monotonic() + 10
    while len(re.findall(r"INFO Configuration updated\.", p.log())) < n:
        assert time.monotonic() < deadline, p.log()
        time.sleep(0.05)


def test_reload_keeps_entries_when_the_cache_table_is_unchanged(origin, start_proxy, tmp_path):
    text = config(origin, tmp_path, cache="max_cache_entry = 10\nmax_cache_each_size_on_memory = 0")
    p = start_proxy(text)
    assert get(p, "/k")[1] == b"/k #1"
    text = text.replace("{port}", str(p.port))
    reload(p, text + '\n[apps.more]\nserver_name = "more.test"\nreverse_proxy = '
           f'[{{ upstream = [{{ location = "127.0.0.1:{origin.port}" }}] }}]\n', 1)
    assert get(p, "/k")[1] == b"/k #1"  # kept, file and all
    assert len(os.listdir(tmp_path / "cache")) == 1
    reload(p, text.replace("max_cache_entry = 10", "max_cache_entry = 11"), 2)
    assert os.listdir(tmp_path / "cache") == []  # a changed table: emptied
    assert get(p, "/k")[1] == b"/k #2"
    reload(p, text[:text.index("[experimental.cache]")], 3)
    assert get(p, "/k")[1] == b"/k #3"
    assert get(p, "/k")[1] == b"/k #4"  # no cache any more
    p.wait_log(r"INFO Cache is enabled")


def fetch_all(p, path, n, headers=None):
    out = [None] * n

    def one(i):
        out[i] = get(p, path, headers)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_concurrent_misses_are_collapsed(origin, start_proxy, tmp_path):
    origin.set("/lock", delay=0.5)
    p = start_proxy(config(origin, tmp_path))
    results = fetch_all(p, "/lock", 6)
    assert [(r.status, b) for r, b in results] == [(200, b"/lock #1")] * 6
    assert origin.count("/lock") == 1
    assert len(re.findall(r"Cache hit - Return from cache", p.log())) == 5


def test_collapsed_misses_of_an_uncacheable_answer_each_go_upstream(origin, start_proxy,
                                                                    tmp_path):
    origin.set("/nostore", fields=[("Cache-Control", "no-store")], delay=0.2)
    p = start_proxy(config(origin, tmp_path))
    results = fetch_all(p, "/nostore", 3)
    assert sorted(b for _, b in results) == [b"/nostore #1", b"/nostore #2", b"/nostore #3"]


def test_a_waiting_miss_gives_up_after_its_timeout(origin, start_proxy, tmp_path):
    origin.set("/stuck", delay=9)
    p = start_proxy(config(origin, tmp_path))
    first = threading.Thread(target=get, args=(p, "/stuck"))
    first.start()
    deadline = time.monotonic() + 5
    while origin.count("/stuck") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    origin.set("/stuck")
    start = time.monotonic()
    r, body = get(p, "/stuck")
    waited = time.monotonic() - start
    assert r.status == 200 and body == b"/stuck #2"
    assert 4.5 < waited < 8, waited  # the first one is still being fetched
    first.join()


def test_a_large_sharded_cache_hits_and_collapses(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path, cache="max_cache_entry = 100000"))
    paths = [f"/s{i}" for i in range(40)]
    for _ in range(2):
        for path in paths:
            assert get(p, path)[1] == f"{path} #1".encode()
    assert all(origin.count(path) == 1 for path in paths)
    origin.set("/sl", delay=0.5)
    results = fetch_all(p, "/sl", 5)
    assert [b for _, b in results] == [b"/sl #1"] * 5 and origin.count("/sl") == 1
