"""Benchmark: the Linux fact set of 50 hosts, our SSH layer against pytest-testinfra.

    pip install pytest-testinfra pytest-xdist        # only for this benchmark
    python -m bench.hosts_ssh [--hosts 50] [--runs 3] [--testinfra-runs 1] [--xdist-runs 1]

Runs as root (it starts the stand-ins' real OpenSSH sshd, `demo/standins/sshd_server.py`, on 127.0.0.2-51, one
port, so each address is a "host"; install it with `bash tests/run.sh`). Then, each in its own
process so peak memory is that tool's own:

* **ours**: one `open_session` per host, the Linux gatherer's one batched command
  (`collectors.hosts.linux.command.linux_command()`, parsed with `parse_linux`; until that package exists,
  a stand-in batched script below), hosts in parallel with `hosts_settings.max_concurrency` (8);
* **testinfra**: the same facts as a testinfra user gathers them: a test module with one test per
  fact using testinfra's modules (`system_info`, `file`, `group`, `socket`, `mount_point`) and
  `host.run`, `--hosts` listing the 50 hosts with the paramiko backend (one `host` fixture per
  host), sequentially, and again with pytest-xdist `-n 4`.

Round trips per host are counted on the server (every command a host receives is recorded by the
harness's ForceCommand), logins per host from sshd's log, wall time around each process, peak memory
as the highest summed RSS of the process tree (sampled every 20 ms). Nothing here writes to the
hosts: no `apt-get update`, only reads.

All 50 "hosts" share this machine's CPUs, so the remote work (the same commands for both tools) is
a floor for every column. This machine's image also disables apt's package cache (docker-clean), so
each `apt list --upgradable` rebuilds it (~0.6 s of CPU; about 25 s for 50 hosts on 2 vCPUs, for
either tool). `--apt-cache` gives the hosts' apt a cache in a bench-owned folder through APT_CONFIG,
as a normal Debian server has; report both runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAX_CONCURRENCY = 8

# The stand-in for the Linux gatherer's batched command (used only while collectors/hosts/linux/
# does not exist): the same facts the testinfra module below gathers, in one round trip.
FALLBACK_SCRIPT = r"""
export LC_ALL=C
s() { printf '\n<<<%s>>>\n' "$1"; }
s os-release; cat /etc/os-release
s kernel; uname -r
s apt-upgradable; apt list --upgradable 2>/dev/null
s apt-index-mtime; stat -Lc %Y /var/lib/apt/lists 2>&1
s lsblk; lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE 2>&1
s mounts; cat /proc/mounts
s nft; nft -j list ruleset 2>&1
s iptables; iptables-save 2>&1
s ufw; ufw status verbose 2>&1
s firewalld; firewall-cmd --state 2>&1
s listeners; ss -Htulnp 2>&1
s groups; getent group sudo wheel admin
s sudoers; cat /etc/sudoers /etc/sudoers.d/* 2>&1
s authorized-keys
getent passwd | while IFS=: read -r user _ _ _ _ home _; do
  for f in "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2"; do
    [ -r "$f" ] && ssh-keygen -lf "$f" 2>&1 | sed "s|^|$user |"
  done
done
s sshd; sshd -T 2>&1
exit 0
"""

TESTINFRA_MODULE = '''
"""The Linux fact set as a testinfra user writes it: one test per fact, testinfra modules + host.run."""

def test_os_release(host):
    info = host.system_info
    assert info.type == "linux"
    assert info.distribution and info.release is not None
    assert "ID=" in host.file("/etc/os-release").content_string


def test_kernel(host):
    assert host.check_output("uname -r")


def test_pending_updates(host):
    assert host.run("apt list --upgradable").rc == 0


def test_package_index_age(host):
    assert host.file("/var/lib/apt/lists").mtime


def test_block_devices(host):
    assert host.run("lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE").rc == 0


def test_root_mount(host):
    assert host.mount_point("/").exists


def test_firewall(host):
    for command in ("nft -j list ruleset", "iptables-save", "ufw status verbose", "firewall-cmd --state"):
        host.run(command)


def test_listeners(host):
    assert host.socket.get_listening_sockets()


def test_admin_groups(host):
    for name in ("sudo", "wheel", "admin"):
        group = host.group(name)
        if group.exists:
            group.members


def test_sudoers(host):
    sudoers = host.file("/etc/sudoers")
    if sudoers.exists:
        sudoers.content_string
    host.run("cat /etc/sudoers.d/*")


def test_authorized_keys(host):
    keys = host.file("/root/.ssh/authorized_keys")
    if keys.exists:
        host.run("ssh-keygen -lf /root/.ssh/authorized_keys")


def test_sshd_config(host):
    assert host.run("sshd -T").rc == 0
'''


@dataclass
class Measured:
    """One run of one tool."""

    wall_seconds: float
    peak_rss_mib: float
    round_trips: dict[str, int]
    logins: dict[str, int]
    failures: int
    note: str = ""


def _tree_rss_kib(root: int) -> int:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        for line in status.splitlines():
            if line.startswith("PPid:"):
                parents[pid] = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(rss.get(pid, 0) for pid in tree)


def _run_measured(command: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run `command`; return wall seconds, peak RSS of its process tree (MiB) and its output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode not in (0, 1):  # pytest exits 1 when a test fails; that is still a run
        raise RuntimeError(
            f"{command[:4]} exited {process.returncode}:\n{output.decode(errors='replace')[-3000:]}"
        )
    return wall, peak / 1024, output.decode(errors="replace")


# --------------------------------------------------------------------------- our side (child process)


def run_ours(spec_file: Path) -> None:
    """Child process: gather every host's facts with our SSH layer; print a JSON summary."""
    sys.path.insert(0, str(ROOT))
    from collectors.config.inventory import HostEntry
    from collectors.hosts.commands import CommandResult, GatherCommand, HostError
    from collectors.hosts.ssh import open_session

    spec = json.loads(spec_file.read_text())
    hosts = [HostEntry(**entry) for entry in spec["hosts"]]
    parse: Callable[[CommandResult, HostEntry], object] | None
    try:
        linux_command = importlib.import_module("collectors.hosts.linux.command")
        linux_parse = importlib.import_module("collectors.hosts.linux.parse")
        command: GatherCommand = linux_command.linux_command()
        parse = linux_parse.parse_linux
        gatherer = "collectors.hosts.linux (linux_command + parse_linux)"
    except ImportError:
        command = GatherCommand(command=FALLBACK_SCRIPT)
        parse = None
        gatherer = "bench stand-in script (collectors/hosts/linux/ not present)"

    def gather(host: HostEntry) -> str | None:
        try:
            with open_session(host, resolve=lambda p: p, max_output_bytes=16 * 1024 * 1024) as session:
                result: CommandResult = session.run(command.command, command.stdin, timeout=300)
            if parse is not None:
                parse(result, host)
            elif result.exit_code != 0 or b"<<<sshd>>>" not in result.stdout:
                return f"{host.name}: exit {result.exit_code}"
        except HostError as exc:
            return str(exc)
        return None

    with ThreadPoolExecutor(spec["concurrency"]) as pool:
        errors = [error for error in pool.map(gather, hosts) if error]
    print(json.dumps({"errors": errors, "gatherer": gatherer}))


# --------------------------------------------------------------------------- orchestration


def _apt_cache_config(work: Path) -> Path:
    """An APT_CONFIG that re-enables apt's package cache in a bench-owned folder, built once up front.

    APT reads $APT_CONFIG first, then apt.conf.d, then Dir::Etc::Main: pointing Main at our file lets
    it override the image's `Dir::Cache::pkgcache ""` without touching /etc/apt.
    """
    cache = work / "apt-cache"
    cache.mkdir()
    main = work / "apt-main.conf"
    main.write_text(
        f'Dir::Cache "{cache}";\nDir::Cache::pkgcache "pkgcache.bin";\nDir::Cache::srcpkgcache "srcpkgcache.bin";\n'
    )
    config = work / "apt.conf"
    config.write_text(f'Dir::Etc::Main "{main}";\n')
    env = {**os.environ, "APT_CONFIG": str(config), "LC_ALL": "C"}
    subprocess.run(["apt", "list", "--upgradable"], env=env, capture_output=True, check=True)
    return config


def _counts(sshd: Any, names: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    return (
        {name: len(sshd.commands_received(name)) for name in names},
        {name: sshd.logins(name) for name in names},
    )


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after}


def _measure(
    sshd: Any, names: list[str], command: Sequence[str], cwd: Path, env: dict[str, str]
) -> tuple[Measured, str]:
    trips_before, logins_before = _counts(sshd, names)
    wall, peak, output = _run_measured(command, cwd, env)
    trips_after, logins_after = _counts(sshd, names)
    measured = Measured(
        wall_seconds=wall,
        peak_rss_mib=peak,
        round_trips=_delta(trips_after, trips_before),
        logins=_delta(logins_after, logins_before),
        failures=0,
    )
    return measured, output


def _per_host(values: dict[str, int]) -> str:
    numbers = sorted(values.values())
    if numbers[0] == numbers[-1]:
        return str(numbers[0])
    return f"{numbers[0]}-{numbers[-1]} (mean {statistics.mean(numbers):.1f})"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="runs of ours (median reported)")
    parser.add_argument("--testinfra-runs", type=int, default=1)
    parser.add_argument("--xdist-runs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=MAX_CONCURRENCY)
    parser.add_argument(
        "--apt-cache",
        action="store_true",
        help="give the hosts' apt a package cache (bench-owned, via APT_CONFIG), as a normal Debian server "
        "has; container images disable it, which makes every `apt list` rebuild it (~0.6 s of CPU)",
    )
    parser.add_argument("--ours-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ours_child:
        run_ours(args.ours_child)
        return 0

    sys.path.insert(0, str(ROOT))
    for module in ("testinfra", "xdist"):
        try:
            __import__(module)
        except ImportError:
            print(f"{module} is missing: pip install pytest-testinfra pytest-xdist", file=sys.stderr)
            return 2

    work = Path(tempfile.mkdtemp(prefix="bench-hosts-"))
    try:
        return _bench(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _bench(args: argparse.Namespace, work: Path) -> int:
    from demo.standins.sshd_server import HostBehaviour, SshdServer

    names = [f"host{n:02d}" for n in range(2, 2 + args.hosts)]
    behaviour = HostBehaviour(env={"APT_CONFIG": str(_apt_cache_config(work))}) if args.apt_cache else None
    with SshdServer(work / "sshd", dict.fromkeys(names, behaviour)) as sshd:
        entries = [sshd.host_entry(name, command_timeout_seconds=300.0) for name in names]
        spec = work / "spec.json"
        spec.write_text(
            json.dumps(
                {"hosts": [e.model_dump(mode="json") for e in entries], "concurrency": args.concurrency}
            )
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}

        # testinfra: its paramiko backend takes the key from the host spec; it never reads known_hosts
        # (WarningPolicy accepts any key); the ssh_config only silences that warning.
        ssh_config = work / "ssh_config"
        ssh_config.write_text("Host *\n  StrictHostKeyChecking no\n")
        (work / "testinfra").mkdir()
        (work / "testinfra" / "test_linux_facts.py").write_text(textwrap.dedent(TESTINFRA_MODULE))
        hostspecs = ",".join(
            f"paramiko://root@{e.address}:{e.port}?ssh_identity_file={e.key_file}" for e in entries
        )
        testinfra_cmd = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            f"--hosts={hostspecs}", f"--ssh-config={ssh_config}", "test_linux_facts.py",
        ]  # fmt: skip

        results: dict[str, list[Measured]] = {"ours": [], "testinfra": [], "testinfra -n 4": []}
        gatherer = ""
        for _ in range(args.runs):
            measured, output = _measure(
                sshd, names, [sys.executable, "-m", "bench.hosts_ssh", "--ours-child", str(spec)], ROOT, env
            )
            summary = json.loads(output.strip().splitlines()[-1])
            measured.failures = len(summary["errors"])
            gatherer = summary["gatherer"]
            if summary["errors"]:
                print("ours: errors:", *summary["errors"][:5], sep="\n  ", file=sys.stderr)
            results["ours"].append(measured)
            print(f"ours: {measured.wall_seconds:.2f} s", flush=True)
        for label, extra, runs in (
            ("testinfra", [], args.testinfra_runs),
            ("testinfra -n 4", ["-n", "4"], args.xdist_runs),
        ):
            for _ in range(runs):
                measured, output = _measure(sshd, names, testinfra_cmd + extra, work / "testinfra", env)
                tail = output.strip().splitlines()[-1] if output.strip() else ""
                measured.note = tail
                measured.failures = 0 if " failed" not in tail and "error" not in tail else 1
                results[label].append(measured)
                print(f"{label}: {measured.wall_seconds:.2f} s ({tail})", flush=True)

    print()
    apt = (
        "apt package cache on (--apt-cache)"
        if args.apt_cache
        else "apt as this machine has it (no package cache)"
    )
    print(
        f"{args.hosts} hosts (sshd on 127.0.0.2-{1 + args.hosts}), full Linux fact set, {apt}; ours: {gatherer}"
    )
    print(
        f"{'':16} {'wall (median)':>14} {'runs':>5} {'round trips/host':>17} {'logins/host':>12} {'peak RSS':>10}"
    )
    ours_wall = statistics.median(m.wall_seconds for m in results["ours"])
    for label, runs in results.items():
        if not runs:
            continue
        wall = statistics.median(m.wall_seconds for m in runs)
        last = runs[-1]
        print(
            f"{label:16} {wall:>12.2f} s {len(runs):>5} {_per_host(last.round_trips):>17} "
            f"{_per_host(last.logins):>12} {max(m.peak_rss_mib for m in runs):>6.0f} MiB"
        )
    for label in ("testinfra", "testinfra -n 4"):
        if results[label]:
            wall = statistics.median(m.wall_seconds for m in results[label])
            target = 5 if label == "testinfra" else 2
            verdict = "met" if wall / ours_wall >= target else "NOT met"
            print(f"speed-up vs {label}: {wall / ours_wall:.1f}x (target {target}x: {verdict})")
    failures = {label: sum(m.failures for m in runs) for label, runs in results.items()}
    if any(failures.values()):
        print(f"runs with failures: {failures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
