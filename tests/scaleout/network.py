"""Simulated hosts: one Linux network namespace each, joined to the root namespace by a veth pair on one bridge.

    root namespace:   bridge lfr-br0, 10.231.0.1/24  (PostgreSQL and Redis listen here, and only here)
    lfr-host-N:       lo up, eth lfr-hN-ns, 10.231.0.1N/24 (N = 1..9), its root-side end lfr-hN on the bridge

A process started with `ip netns exec lfr-host-N ...` has its own network stack: it reaches the servers only at
10.231.0.1, and they see it at its own address. Everything here is torn down by `destroy`, and anything left with the
same names by an earlier run is removed by `clean_stale` first.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass

PREFIX = "lfr-host-"
BRIDGE = "lfr-br0"
SUBNET = "10.231.0"
SERVER_ADDRESS = f"{SUBNET}.1"  # the root namespace's side: PostgreSQL and Redis bind here
PREFIX_LENGTH = 24


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@dataclass(frozen=True)
class Host:
    number: int  # 1..9

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.number}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.1{self.number}"

    @property
    def veth(self) -> str:
        return f"lfr-h{self.number}"

    @property
    def peer(self) -> str:
        return f"lfr-h{self.number}-ns"

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def pids(self) -> list[int]:
        """Every process running in this namespace."""
        return _netns_pids(self.name)

    def netns_inode(self) -> int:
        """The namespace's identity: what os.stat('/proc/self/ns/net').st_ino shows inside it."""
        return os.stat(f"/run/netns/{self.name}").st_ino

    def kill_all(self) -> list[int]:
        """SIGKILL every process in the namespace (a host losing power); the pids killed."""
        return _netns_kill(self.name)

    def signal_all(self, signum: int) -> list[int]:
        """`signum` to every process in the namespace (SIGSTOP / SIGCONT: the host stalls and resumes)."""
        return _netns_kill(self.name, signum)


def _netns_pids(name: str) -> list[int]:
    found = _ip("netns", "pids", name, check=False)
    return [int(p) for p in found.stdout.split()] if found.returncode == 0 else []


def _netns_kill(name: str, signum: int = signal.SIGKILL) -> list[int]:
    killed = []
    for pid in _netns_pids(name):
        try:
            os.kill(pid, signum)
            killed.append(pid)
        except ProcessLookupError:
            pass
    return killed


def problem() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    probe = f"{PREFIX}probe-{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    bridge = _ip("link", "add", f"lfr-brp{os.getpid() % 10000}", "type", "bridge", check=False)
    if bridge.returncode != 0:
        return f"`ip link add type bridge` failed: {bridge.stderr.strip()}"
    _ip("link", "del", f"lfr-brp{os.getpid() % 10000}", check=False)
    return None


def clean_stale() -> None:
    """Namespaces, bridges and veths with this suite's names left by an earlier run, their processes killed."""
    listed = _ip("netns", "list", check=False).stdout.split("\n")
    for line in listed:
        name = line.split(" ")[0].strip()
        if name.startswith(PREFIX):
            _netns_kill(name)
            _ip("netns", "del", name, check=False)
    links = _ip("-o", "link", "show", check=False).stdout.splitlines()
    for line in links:
        parts = line.split(":")
        if len(parts) > 1:
            name = parts[1].strip().split("@")[0]
            if name == BRIDGE or (name.startswith("lfr-h") and name[5:].split("-")[0].isdigit()):
                _ip("link", "del", name, check=False)


class HostNetwork:
    def __init__(self, count: int):
        assert 1 <= count <= 9
        self.hosts = [Host(n) for n in range(1, count + 1)]

    def create(self) -> None:
        clean_stale()
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{SERVER_ADDRESS}/{PREFIX_LENGTH}", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        for host in self.hosts:
            _ip("netns", "add", host.name)
            _ip("link", "add", host.veth, "type", "veth", "peer", "name", host.peer)
            _ip("link", "set", host.veth, "master", BRIDGE, "up")
            _ip("link", "set", host.peer, "netns", host.name)
            _ip("netns", "exec", host.name, "ip", "link", "set", "lo", "up")
            _ip("netns", "exec", host.name, "ip", "addr", "add", f"{host.address}/{PREFIX_LENGTH}", "dev", host.peer)
            _ip("netns", "exec", host.name, "ip", "link", "set", host.peer, "up")

    def destroy(self) -> list[str]:
        """Kills what still runs in the namespaces and removes them, their veths and the bridge; what is left."""
        for host in self.hosts:
            host.kill_all()
        deadline = time.monotonic() + 10
        while any(h.pids() for h in self.hosts) and time.monotonic() < deadline:
            time.sleep(0.1)
        for host in self.hosts:
            _ip("netns", "del", host.name, check=False)  # its veth end goes with it, and so the pair
        _ip("link", "del", BRIDGE, check=False)
        left = [line.split(" ")[0] for line in _ip("netns", "list", check=False).stdout.splitlines()
                if line.startswith(PREFIX)]
        left += [BRIDGE] if _ip("link", "show", BRIDGE, check=False).returncode == 0 else []
        return left
