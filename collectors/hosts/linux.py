"""Linux hosts: one batched POSIX sh script, and its output parsed into `HostFacts`.

The script (`LINUX_SCRIPT`) is fed to `sh -s` on the host's stdin in a single round trip. It
only reads: it never refreshes a package index (`apt-get update`, `dnf makecache`), loads a
kernel module or writes a file. It runs as whatever the SSH user is; sections that need root
(firewall rules, sudoers, other users' authorized_keys, `sshd -T`) are errors for that section
when unreadable, never a crash and never a pass. `linux_command(elevate=True)` runs the whole
script through `sudo -n` for accounts that are allowed to.

Output format: every section is framed by markers whose bodies are base64, so nothing a
command prints can be mistaken for a marker::

    @@AUDIT-BEGIN v=1@@
    @@AUDIT-SECTION name=os-release@@
    <base64 of stdout>
    @@AUDIT-RC 0@@
    @@AUDIT-STDERR@@
    <base64 of stderr, at most 4000 bytes>
    @@AUDIT-END name=os-release@@
    @@AUDIT-ABSENT name=nft tool=nft@@          (the tool is not installed)
    @@AUDIT-DONE sections=25@@

Secrets never leave the host: sudoers is reduced on the host to user lists and whether a rule
grants ALL (never `Defaults`, never command lines); authorized_keys to `SHA256:` fingerprint and
key type (never the key comment); passwd to user name and group id (no GECOS).

What the parser decides (the controls judge):
- Pending updates: apt (a suite containing `-security` is a security update; index age is the
  newest `/var/lib/apt/lists/*Release` mtime, which apt stamps with the archive's Last-Modified,
  or APT::Periodic's update-success-stamp) or dnf/yum from the metadata cache (`-C`):
  `updateinfo list --security`, else `check-update --security` (exit 100 = updates, 0 = none).
- Volumes: every filesystem lsblk shows mounted, plus block-backed mounts only findmnt shows;
  encrypted iff a `crypt` device is the filesystem's device or beneath it. Kinds: root, data,
  boot (/boot, /boot/efi, /efi), swap ([SWAP]), image (squashfs/iso9660: snaps, media). A ZFS
  dataset or a device lsblk does not list is reported unencrypted (not shown to be encrypted);
  network filesystems, tmpfs and overlay are not volumes of this host.
- Firewall: one profile per input-hook filter chain ("nftables <family> <table> <chain>",
  "iptables filter INPUT", "ip6tables filter INPUT"), per active/default firewalld zone and for
  ufw. Accept rules are collected through jumps, inheriting the jumping rule's matches; accepts
  only for loopback, established/related traffic or `ct status dnat` are not inbound allow
  rules. Drop rules in front of an accept are not modelled (the accept is judged as written),
  except that an unconditional drop/reject ends a chain: it is the chain's effective default
  ("reject (last rule; chain policy accept)") and hides what follows. An nf_tables table that
  iptables-save also lists is read from iptables-save (nft shows its xt matches opaquely).
  Any firewall tool present but unreadable makes the whole firewall section an error.
- Admins: members of sudo, wheel and admin (supplementary and primary), and the users of every
  sudoers rule granting ALL (User_Alias and %group expanded; a group the host cannot list stays
  "%name"); root is left out. Rules granting specific commands are not counted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from collectors.config import HostEntry
from collectors.hosts.commands import CommandResult, GatherCommand, HostOutputError
from collectors.hosts.facts import (
    FirewallProfile,
    HostAdmins,
    HostFacts,
    HostFirewall,
    InboundAllowRule,
    LinuxPendingUpdate,
    LinuxUpdates,
    Listener,
    OperatingSystem,
    Volume,
)

SCRIPT_VERSION = "1"

LINUX_SCRIPT = r"""
main() {
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
LANG=C
export PATH LC_ALL LANG
SUDOERS=/etc/sudoers
if ! command -v base64 >/dev/null 2>&1; then
  printf '@@AUDIT-FATAL base64 is not installed on this host@@\n'
  return 3
fi
exec 3>&1
_count=0
printf '@@AUDIT-BEGIN v=1@@\n'

sec() {
  _n=$1
  shift
  _count=$((_count + 1))
  printf '@@AUDIT-SECTION name=%s@@\n' "$_n"
  _e=$( { _o=$("$@" 3>&-; printf '\n%s' "$?")
          printf '%s' "${_o%
*}" | base64 >&3
          printf '@@AUDIT-RC %s@@\n' "${_o##*
}" >&3; } 2>&1 )
  printf '@@AUDIT-STDERR@@\n'
  printf '%.4000s' "$_e" | base64
  printf '@@AUDIT-END name=%s@@\n' "$_n"
}

tool() {
  if command -v "$2" >/dev/null 2>&1; then
    _t=$1
    shift 2
    sec "$_t" "$@"
  else
    _count=$((_count + 1))
    printf '@@AUDIT-ABSENT name=%s tool=%s@@\n' "$1" "$2"
  fi
}

os_release() {
  if [ -r /etc/os-release ]; then cat /etc/os-release; else cat /usr/lib/os-release; fi
}

apt_index() {
  stat -c '%Y %n' /var/lib/apt/lists/*Release /var/lib/apt/periodic/update-success-stamp 2>/dev/null
  return 0
}

dnf_index() {
  stat -c '%Y %n' /var/cache/dnf/*/repodata/repomd.xml /var/cache/libdnf5/*/repodata/repomd.xml \
    /var/cache/yum/*/*/*/repomd.xml 2>/dev/null
  return 0
}

firewalld_info() {
  _s=$(firewall-cmd --state 2>&1)
  _r=$?
  printf 'state: %s\n' "$_s"
  [ "$_r" -eq 0 ] || return 0
  firewall-cmd --list-all-zones
}

admin_groups() {
  getent group sudo wheel admin
  _r=$?
  [ "$_r" -eq 2 ] && return 0
  return "$_r"
}

sudoers_specs() {
  if [ ! -e "$SUDOERS" ]; then
    printf 'NO-SUDOERS\n'
    return 0
  fi
  if [ ! -r "$SUDOERS" ]; then
    printf '%s: permission denied (readable by root only)\n' "$SUDOERS" >&2
    return 13
  fi
  _files=$SUDOERS
  _dirs=$(awk '$1 == "#includedir" || $1 == "@includedir" { print $2 }' "$SUDOERS")
  _incs=$(awk '$1 == "#include" || $1 == "@include" { print $2 }' "$SUDOERS")
  for _d in $_dirs; do
    [ -d "$_d" ] || continue
    if [ ! -r "$_d" ] || [ ! -x "$_d" ]; then
      printf '%s: permission denied\n' "$_d" >&2
      return 13
    fi
    for _f in "$_d"/*; do
      case ${_f##*/} in *~ | *.*) continue ;; esac
      [ -f "$_f" ] && _files="$_files
$_f"
    done
  done
  for _f in $_incs; do
    [ -f "$_f" ] && _files="$_files
$_f"
  done
  _rc=0
  printf '%s\n' "$_files" | while IFS= read -r _f; do
    if [ ! -r "$_f" ]; then
      printf '%s: permission denied\n' "$_f" >&2
      exit 13
    fi
    printf 'FILE\t%s\n' "$_f"
    awk '
      function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
      /\\$/ { buf = buf substr($0, 1, length($0) - 1) " "; next }
      {
        l = buf $0; buf = ""
        if (l ~ /^[ \t]*[#@]include/) next
        sub(/(^|[ \t])#([^0-9].*)?$/, "", l)
        l = trim(l)
        if (l == "" || l ~ /^Defaults/) next
        if (l ~ /^(Host_Alias|Runas_Alias|Cmnd_Alias|Cmd_Alias)[ \t]/) next
        if (l ~ /^User_Alias[ \t]/) { sub(/^User_Alias[ \t]+/, "", l); print "USER_ALIAS\t" l; next }
        p = index(l, "=")
        if (p == 0) next
        head = substr(l, 1, p - 1)
        gsub(/[ \t]*,[ \t]*/, ",", head)
        split(trim(head), parts, /[ \t]+/)
        cmds = substr(l, p + 1)
        gsub(/\([^)]*\)/, "", cmds)
        gsub(/[A-Z_]+:/, ",", cmds)
        n = split(cmds, items, ",")
        all = "SOME"
        for (i = 1; i <= n; i++) if (trim(items[i]) == "ALL") all = "ALL"
        print "SPEC\t" parts[1] "\t" all
      }' "$_f" || exit 1
  done || _rc=$?
  return "$_rc"
}

key_files() {
  _p=$(sshd -T 2>/dev/null | awk 'tolower($1) == "authorizedkeysfile" { $1 = ""; print; exit }')
  if [ -z "$_p" ]; then
    _p=$(awk 'tolower($1) == "match" { exit } tolower($1) == "authorizedkeysfile" { $1 = ""; print; exit }' \
      /etc/ssh/sshd_config 2>/dev/null)
  fi
  [ -n "$_p" ] || _p=".ssh/authorized_keys .ssh/authorized_keys2"
  printf '%s' "$_p"
}

authorized_keys() {
  command -v ssh-keygen >/dev/null 2>&1 || { printf 'ssh-keygen is not installed\n' >&2; return 127; }
  _pats=$(key_files)
  printf 'PATTERNS\t%s\n' "$_pats"
  getent passwd | while IFS=: read -r _u _x _uid _gid _g _h _s; do
    [ -n "$_u" ] || continue
    for _pat in $_pats; do
      [ "$_pat" = none ] && continue
      case $_pat in
        *%*) _f=$(printf '%s' "$_pat" | sed -e "s|%h|$_h|g" -e "s|%u|$_u|g" -e "s|%U|$_uid|g" -e 's|%%|%|g') ;;
        *) _f=$_pat ;;
      esac
      case $_f in /*) ;; *) _f="$_h/$_f" ;; esac
      _dir=${_f%/*}
      if [ -e "$_f" ]; then
        if [ -r "$_f" ]; then
          ssh-keygen -E sha256 -lf "$_f" 2>/dev/null | awk -v u="$_u" -v f="$_f" '
            $2 ~ /^SHA256:/ { t = $NF; gsub(/[()]/, "", t); print "KEY\t" u "\t" f "\t" $2 "\t" t }'
        else
          printf 'UNREADABLE\t%s\t%s\n' "$_u" "$_f"
        fi
      elif [ -d "$_h" ] && [ ! -x "$_h" ]; then
        printf 'UNREADABLE\t%s\t%s\n' "$_u" "$_f"
      elif [ -d "$_dir" ] && [ ! -x "$_dir" ]; then
        printf 'UNREADABLE\t%s\t%s\n' "$_u" "$_f"
      fi
    done
  done
}

sec os-release os_release
sec kernel uname -r
if command -v apt >/dev/null 2>&1; then
  sec apt apt list --upgradable
  sec apt-index apt_index
fi
if command -v dnf >/dev/null 2>&1; then
  sec dnf-updateinfo dnf -q -C updateinfo list --security
  sec dnf-check-update dnf -q -C check-update --security
  sec dnf-index dnf_index
elif command -v yum >/dev/null 2>&1; then
  sec yum-updateinfo yum -q -C updateinfo list security
  sec yum-check-update yum -q -C check-update --security
  sec dnf-index dnf_index
fi
tool lsblk lsblk lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE
tool findmnt findmnt findmnt -J -l -o TARGET,SOURCE,FSTYPE
tool nft nft nft -j list ruleset
tool iptables iptables-save iptables-save
tool ip6tables ip6tables-save ip6tables-save
tool ufw ufw ufw status verbose
tool firewalld firewall-cmd firewalld_info
tool ss-tcp ss ss -tlnp
tool ss-udp ss ss -ulnp
sec passwd sh -c 'getent passwd | cut -d: -f1,4'
sec groups sh -c 'getent group | cut -d: -f1,3,4'
sec admin-groups admin_groups
sec sudoers sudoers_specs
sec authorized-keys authorized_keys
tool sshd sshd sshd -T
printf '@@AUDIT-DONE sections=%s@@\n' "$_count"
return 0
}
main </dev/null
"""
"""The fact script. The whole body is one function, so `sh` has read all of it before anything
runs (a truncated script is a syntax error, not half an audit) and no command can read the rest
of the script from stdin."""


def linux_command(elevate: bool = False) -> GatherCommand:
    """Return the batched Linux fact command: `sh -s` reading `LINUX_SCRIPT` from stdin.

    stdin rather than the command line: the login shell (bash, zsh, even fish or csh) only has
    to start `sh -s`, so nothing in the script is re-quoted or interpreted by it, the script does
    not show in the process list, and there is no command-line length limit. `elevate` runs it
    through `sudo -n` (never prompts; fails at once when the account may not), for accounts that
    are allowed to read firewall rules, sudoers and every authorized_keys file.
    """
    command = "sudo -n sh -s" if elevate else "sh -s"
    return GatherCommand(command=command, stdin=LINUX_SCRIPT.lstrip().encode("utf-8"))


# --- the framing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One section of the script's output."""

    name: str
    rc: int
    stdout: str
    stderr: str
    absent_tool: str | None = None

    @property
    def absent(self) -> bool:
        """True when the section's tool is not installed on the host."""
        return self.absent_tool is not None

    @property
    def ok(self) -> bool:
        """True when the section ran and exited 0."""
        return not self.absent and self.rc == 0

    def failure(self, what: str) -> str:
        """Describe why the section could not be used."""
        if self.absent_tool is not None:
            return f"{what}: {self.absent_tool} is not installed"
        detail = " ".join(self.stderr.split())[:300]
        return f"{what} failed (exit {self.rc})" + (f": {detail}" if detail else "")


_MARKER = re.compile(r"^@@AUDIT-([A-Z]+)(?: (.*?))?@@$")
_B64_LINE = re.compile(r"^[A-Za-z0-9+/=]*$")


def _attrs(text: str | None) -> dict[str, str]:
    return dict(part.split("=", 1) for part in (text or "").split() if "=" in part)


def _decode(lines: list[str], host: str, section: str) -> str:
    try:
        raw = base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):
        raise HostOutputError(f"{host}: section {section} is not valid base64") from None
    return raw.decode("utf-8", errors="replace")


def split_sections(stdout: bytes, host: str) -> dict[str, Section]:
    """Return the sections of the script's output by name; raise HostOutputError when it is not that.

    Text before the begin marker (a login banner, a noisy .bashrc) is ignored; anything else
    that is not a marker or base64 inside the framing is garbage, and a missing end or done
    marker means the output was truncated.
    """
    text = stdout.decode("utf-8", errors="replace")
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("@@AUDIT-"))
    except StopIteration:
        shown = " ".join(text.split())[:200]
        raise HostOutputError(
            f"{host}: the Linux fact script printed no audit markers"
            + (f" (output starts: {shown!r})" if shown else " (no output)")
        ) from None
    sections: dict[str, Section] = {}
    current: dict[str, Any] | None = None
    done: int | None = None
    began = False
    for number, raw_line in enumerate(lines[start:], start=start + 1):
        line = raw_line.strip()
        if done is not None:
            break
        marker = _MARKER.match(line)
        if marker is None:
            if current is not None and _B64_LINE.match(line):
                current["stderr" if current["in_stderr"] else "stdout"].append(line)
                continue
            raise HostOutputError(
                f"{host}: unexpected output at line {number} of the Linux fact script: {line[:80]!r}"
            )
        kind, attrs = marker.group(1), _attrs(marker.group(2))
        if kind == "FATAL":
            raise HostOutputError(f"{host}: the Linux fact script stopped: {marker.group(2)}")
        if kind == "BEGIN":
            if attrs.get("v") != SCRIPT_VERSION:
                raise HostOutputError(f"{host}: unknown fact script version {attrs.get('v')!r}")
            began = True
            continue
        if not began:
            raise HostOutputError(f"{host}: audit marker {kind} before the begin marker")
        if kind == "SECTION":
            if current is not None:
                raise HostOutputError(f"{host}: section {current['name']} has no end marker")
            current = {
                "name": attrs.get("name", "?"),
                "stdout": [],
                "stderr": [],
                "rc": None,
                "in_stderr": False,
            }
        elif kind == "RC" and current is not None and current["rc"] is None:
            try:
                current["rc"] = int((marker.group(2) or "").strip())
            except ValueError:
                raise HostOutputError(f"{host}: section {current['name']} has a bad exit code") from None
        elif kind == "STDERR" and current is not None and current["rc"] is not None:
            current["in_stderr"] = True
        elif kind == "END" and current is not None and current["in_stderr"]:
            name = current["name"]
            if attrs.get("name") != name:
                raise HostOutputError(f"{host}: section {name} ends as {attrs.get('name')!r}")
            sections[name] = Section(
                name=name,
                rc=current["rc"],
                stdout=_decode(current["stdout"], host, name),
                stderr=_decode(current["stderr"], host, name),
            )
            current = None
        elif kind == "ABSENT" and current is None:
            name = attrs.get("name", "?")
            sections[name] = Section(
                name=name, rc=127, stdout="", stderr="", absent_tool=attrs.get("tool", name)
            )
        elif kind == "DONE" and current is None:
            try:
                done = int(attrs.get("sections", ""))
            except ValueError:
                raise HostOutputError(f"{host}: bad done marker {line!r}") from None
        else:
            raise HostOutputError(f"{host}: audit marker {kind} out of place at line {number}")
    if not began:
        raise HostOutputError(f"{host}: the Linux fact script output has no begin marker")
    if done is None:
        where = f" inside section {current['name']}" if current is not None else ""
        raise HostOutputError(
            f"{host}: the Linux fact script output is truncated{where} ({len(sections)} section(s) complete)"
        )
    if done != len(sections):
        raise HostOutputError(f"{host}: the fact script reported {done} sections, {len(sections)} arrived")
    return sections


# --- os-release, kernel ------------------------------------------------------------------------------


def parse_os_release(text: str) -> dict[str, str]:
    """Return the KEY=value pairs of an os-release file (quotes removed)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = " ".join(parts)
    return values


def _operating_system(sections: Mapping[str, Section], errors: dict[str, str]) -> OperatingSystem:
    release = sections.get("os-release")
    kernel_section = sections.get("kernel")
    kernel = kernel_section.stdout.strip() or None if kernel_section and kernel_section.ok else None
    if release is None or not release.ok:
        errors["os"] = (
            release.failure("reading /etc/os-release") if release else "os-release was not reported"
        )
        return OperatingSystem(
            family="linux", product="Linux (os-release unreadable)", version="", kernel=kernel
        )
    values = parse_os_release(release.stdout)
    product = values.get("PRETTY_NAME") or " ".join(
        p for p in (values.get("NAME"), values.get("VERSION")) if p
    )
    return OperatingSystem(
        family="linux",
        product=product or "Linux",
        version=values.get("VERSION_ID", ""),
        distribution=values.get("ID"),
        kernel=kernel,
    )


# --- package updates ---------------------------------------------------------------------------------

_APT_LINE = re.compile(r"^(?P<pkg>[^/\s]+)/(?P<suites>\S+)\s+(?P<version>\S+)\s+\S+(?:\s+\[.*\])?$")


def parse_apt_upgradable(text: str) -> tuple[LinuxPendingUpdate, ...]:
    """Return the packages `apt list --upgradable` lists; security when a suite ends in -security."""
    pending = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("Listing", "WARNING", "N:", "W:", "E:")):
            continue
        match = _APT_LINE.match(line)
        if match is None:
            raise ValueError(f"unrecognised apt list line {line[:100]!r}")
        suites = match.group("suites")
        pending.append(
            LinuxPendingUpdate(
                package=match.group("pkg"),
                version=match.group("version"),
                origin=suites,
                security=any("-security" in suite for suite in suites.split(",")),
            )
        )
    return tuple(pending)


def _split_nevra(nevra: str) -> tuple[str, str]:
    """Return (name, epoch:version-release) of an RPM NEVRA such as openssl-1:3.0.7-25.el9_3.x86_64."""
    base = (
        nevra.rsplit(".", 1)[0]
        if re.search(r"\.(x86_64|aarch64|noarch|i686|ppc64le|s390x|src)$", nevra)
        else nevra
    )
    parts = base.rsplit("-", 2)
    if len(parts) < 3:
        return base, ""
    return parts[0], f"{parts[1]}-{parts[2]}"


def parse_dnf_updateinfo(text: str) -> tuple[LinuxPendingUpdate, ...]:
    """Return the packages of `dnf updateinfo list --security` (dnf 4, yum and dnf 5 layouts)."""
    pending = []
    dnf5 = False
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        if tokens[0] == "Name" and "Type" in tokens:
            dnf5 = True
            continue
        if line.startswith(("Last metadata", "Updating", "Loaded plugins")):
            continue
        if dnf5 and len(tokens) >= 4:
            advisory, severity, nevra = tokens[0], tokens[2], tokens[3]
        elif len(tokens) == 3:
            advisory, severity, nevra = tokens[0], tokens[1].removesuffix("/Sec."), tokens[2]
        else:
            raise ValueError(f"unrecognised updateinfo line {line.strip()[:100]!r}")
        name, version = _split_nevra(nevra)
        pending.append(
            LinuxPendingUpdate(
                package=name, version=version, origin=f"{advisory} ({severity})", security=True
            )
        )
    return tuple(pending)


def parse_dnf_check_update(text: str) -> tuple[LinuxPendingUpdate, ...]:
    """Return the packages of `dnf check-update --security` ("name.arch  version  repo" lines)."""
    pending = []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        if tokens[0] in ("Obsoleting", "Security:") or line.startswith(("Last metadata", " ")):
            if tokens[0] == "Obsoleting":
                break
            continue
        if len(tokens) != 3:
            raise ValueError(f"unrecognised check-update line {line.strip()[:100]!r}")
        name = tokens[0].rsplit(".", 1)[0]
        pending.append(LinuxPendingUpdate(package=name, version=tokens[1], origin=tokens[2], security=True))
    return tuple(pending)


def parse_index_times(text: str) -> datetime | None:
    """Return the newest of the `stat -c '%Y %n'` times listed, as a UTC datetime."""
    newest: int | None = None
    for line in text.splitlines():
        stamp = line.split(" ", 1)[0]
        if stamp.isdigit():
            newest = max(newest or 0, int(stamp))
    return datetime.fromtimestamp(newest, UTC) if newest is not None else None


def _linux_updates(sections: Mapping[str, Section], errors: dict[str, str]) -> LinuxUpdates | None:
    dnf_index = sections.get("dnf-index")
    index_updated = parse_index_times(dnf_index.stdout) if dnf_index is not None and dnf_index.ok else None
    apt = sections.get("apt")
    try:
        if apt is not None:
            if not apt.ok:
                errors["linux_updates"] = apt.failure("apt list --upgradable")
                return None
            apt_index = sections.get("apt-index")
            updated = parse_index_times(apt_index.stdout) if apt_index is not None and apt_index.ok else None
            return LinuxUpdates(
                manager="apt", pending=parse_apt_upgradable(apt.stdout), index_updated=updated
            )
        for manager, prefix in (("dnf", "dnf"), ("yum", "yum")):
            info, check = sections.get(f"{prefix}-updateinfo"), sections.get(f"{prefix}-check-update")
            if info is None and check is None:
                continue
            kind: Literal["dnf", "yum"] = "dnf" if manager == "dnf" else "yum"
            if info is not None and info.ok:
                return LinuxUpdates(
                    manager=kind, pending=parse_dnf_updateinfo(info.stdout), index_updated=index_updated
                )
            if check is not None and check.rc in (0, 100):
                # exit 100: updates are available; 0: none.
                pending = parse_dnf_check_update(check.stdout)
                if check.rc == 100 and not pending:
                    raise ValueError("check-update exited 100 (updates available) but listed none")
                return LinuxUpdates(manager=kind, pending=pending, index_updated=index_updated)
            reasons = [
                s.failure(f"{manager} {s.name.split('-', 1)[1]}") for s in (info, check) if s is not None
            ]
            errors["linux_updates"] = "; ".join(reasons)
            return None
    except ValueError as exc:
        errors["linux_updates"] = f"pending updates cannot be read: {exc}"
        return None
    errors["linux_updates"] = "no supported package manager (apt, dnf or yum) was found"
    return None


# --- volumes -----------------------------------------------------------------------------------------

BOOT_MOUNTS = frozenset({"/boot", "/boot/efi", "/efi"})
"""Boot partitions: they hold the kernel and boot loader, which firmware must read unencrypted."""
IMAGE_FSTYPES = frozenset({"squashfs", "iso9660", "udf", "erofs"})
"""Read-only images (snap packages, installation media): no data is written to them."""
PSEUDO_FSTYPES = frozenset(
    {
        "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "cgroup", "cgroup2", "securityfs",
        "debugfs", "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs", "pstore", "bpf", "autofs",
        "binfmt_misc", "efivarfs", "overlay", "nsfs", "rpc_pipefs", "nfsd", "selinuxfs", "fuse.lxcfs",
        "fuse.gvfsd-fuse", "fuse.portal", "squashfs", "swap",
    }
)  # fmt: skip
NETWORK_FSTYPES = ("nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "9p", "virtiofs", "ceph", "glusterfs")


def _volume_kind(mount: str, fstype: str | None) -> str:
    if mount == "[SWAP]" or fstype == "swap":
        return "swap"
    if mount == "/":
        return "root"
    if mount in BOOT_MOUNTS:
        return "boot"
    if fstype in IMAGE_FSTYPES:
        return "image"
    return "data"


def _chain_text(chain: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for node in chain:
        kind = node.get("type") or "?"
        fstype = node.get("fstype")
        parts.append(f"{node.get('name')} ({kind}{', ' + fstype if fstype else ''})")
    return " > ".join(parts)


def _walk_lsblk(
    nodes: Iterable[Any], chain: tuple[Mapping[str, Any], ...]
) -> Iterator[tuple[Mapping[str, Any], tuple[Mapping[str, Any], ...]]]:
    for node in nodes:
        if not isinstance(node, Mapping):
            raise ValueError("a block device is not an object")
        path = (*chain, node)
        yield node, path
        children = node.get("children") or []
        if not isinstance(children, list):
            raise ValueError("children is not a list")
        yield from _walk_lsblk(children, path)


def parse_volumes(lsblk_json: str, findmnt_json: str | None = None) -> tuple[Volume, ...]:
    """Return a Volume for every mounted filesystem lsblk shows (and block-backed mounts it misses).

    Encrypted iff the device or one of its ancestors is of type `crypt` (an open LUKS or plain
    dm-crypt mapping). Kinds: "root" (/), "data", "boot" (/boot, /boot/efi, /efi), "swap", "image"
    (read-only squashfs/iso images such as snaps); the control decides which kinds it judges.
    """
    document = json.loads(lsblk_json)
    devices = document.get("blockdevices") if isinstance(document, Mapping) else None
    if not isinstance(devices, list):
        raise ValueError("lsblk output has no blockdevices list")
    fstypes: dict[str, str] = {}
    mounts: list[Mapping[str, Any]] = []
    if findmnt_json:
        found = json.loads(findmnt_json).get("filesystems") or []
        mounts = [m for m in found if isinstance(m, Mapping)]
        fstypes = {str(m.get("target")): str(m.get("fstype")) for m in mounts if m.get("fstype")}
    volumes: dict[str, Volume] = {}
    by_name: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for node, chain in _walk_lsblk(devices, ()):
        by_name.setdefault(str(node.get("name")), chain)
        points = node.get("mountpoints") or [node.get("mountpoint")]
        for mount in points:
            if not mount or mount in volumes:
                continue
            fstype = node.get("fstype") or fstypes.get(mount)
            encrypted = any(n.get("type") == "crypt" for n in chain)
            volumes[mount] = Volume(
                mount=mount, kind=_volume_kind(mount, fstype), encrypted=encrypted, detail=_chain_text(chain)
            )
    shown_devices = {v.detail for v in volumes.values()}
    for entry in mounts:
        target, source, fstype = str(entry.get("target")), str(entry.get("source") or ""), entry.get("fstype")
        if target in volumes or fstype in PSEUDO_FSTYPES or str(fstype).startswith(NETWORK_FSTYPES):
            continue
        if fstype == "zfs":
            volumes[target] = Volume(
                mount=target,
                kind=_volume_kind(target, "zfs"),
                encrypted=False,
                detail=f"zfs dataset {source}: native ZFS encryption is not inspected, so it is not shown to be encrypted",
            )
            continue
        if not source.startswith("/dev/"):
            continue
        device = source.split("[", 1)[0]
        name = device.removeprefix("/dev/mapper/").removeprefix("/dev/")
        found = by_name.get(name)
        if found is None:
            volumes[target] = Volume(
                mount=target,
                kind=_volume_kind(target, fstype),
                encrypted=False,
                detail=f"{source}: not a block device lsblk lists, so it is not shown to be encrypted",
            )
            continue
        if _chain_text(found) in shown_devices:
            continue  # another mount (bind mount, btrfs subvolume) of a device already judged
        volumes[target] = Volume(
            mount=target,
            kind=_volume_kind(target, fstype),
            encrypted=any(n.get("type") == "crypt" for n in found),
            detail=_chain_text(found),
        )
    return tuple(volumes[m] for m in sorted(volumes))


# --- firewall: a common form of nftables and iptables chains -------------------------------------------

ANY = "Any"


@dataclass(frozen=True)
class _Cond:
    """What a rule (with the rules that jumped to it) matches."""

    protocols: tuple[str, ...] | None = None
    ports: tuple[str, ...] | None = None
    remotes: tuple[str, ...] | None = None
    loopback: bool = False
    not_new: bool = False
    notes: tuple[str, ...] = ()

    def within(self, outer: _Cond) -> _Cond:
        """Return this rule's match inside the match of the rule that jumped here.

        Where both constrain the same thing, the inner one is kept: the true match is the
        intersection, which lies inside either, so this never admits less than the rule does.
        """
        return _Cond(
            protocols=self.protocols if self.protocols is not None else outer.protocols,
            ports=self.ports if self.ports is not None else outer.ports,
            remotes=self.remotes if self.remotes is not None else outer.remotes,
            loopback=self.loopback or outer.loopback,
            not_new=self.not_new or outer.not_new,
            notes=outer.notes + self.notes,
        )


@dataclass(frozen=True)
class _Rule:
    label: str
    cond: _Cond
    verdict: str
    """accept, drop, reject, jump, goto, return or other."""
    target: str | None = None
    unconditional: bool = False


@dataclass
class _Ruleset:
    chains: dict[str, list[_Rule]] = field(default_factory=dict)
    bases: list[tuple[str, str, str]] = field(default_factory=list)
    """(profile name, chain key, policy) of every input base chain."""


PORT_NAMES = {
    "ssh": "22", "http": "80", "https": "443", "ms-sql-s": "1433", "mysql": "3306", "postgresql": "5432",
    "ms-wbt-server": "3389", "domain": "53", "smtp": "25", "ntp": "123", "snmp": "161", "wsman": "5985",
    "wsmans": "5986",
}  # fmt: skip
PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp", "132": "sctp"}
NOT_NEW_STATES = frozenset({"established", "related", "invalid"})


def _emit(cond: _Cond, base: str, out: list[InboundAllowRule], label: str) -> None:
    if cond.loopback or cond.not_new:
        return
    name = label + (f" [{'; '.join(cond.notes)}]" if cond.notes else "")
    protocols = cond.protocols or (ANY,)
    for protocol in protocols:
        shown = protocol.upper() if protocol.lower() in ("tcp", "udp") else protocol
        if protocol.lower() in ("icmp", "ipv6-icmp", "icmpv6"):
            shown = "ICMPv6" if "6" in protocol else "ICMP"
        out.append(
            InboundAllowRule(
                name=name,
                protocol=shown,
                local_ports=cond.ports if cond.ports is not None else (ANY,),
                remote_addresses=cond.remotes if cond.remotes is not None else (ANY,),
                profiles=(base,),
            )
        )


def _walk(
    ruleset: _Ruleset,
    chain: str,
    outer: _Cond,
    base: str,
    out: list[InboundAllowRule],
    stack: tuple[str, ...],
) -> str | None:
    """Collect the accept rules reachable from `chain`; return the verdict of an unconditional end."""
    if chain in stack or len(stack) > 32:
        return None
    for rule in ruleset.chains.get(chain, []):
        cond = rule.cond.within(outer)
        if rule.verdict == "accept":
            _emit(cond, base, out, rule.label)
        elif rule.verdict in ("jump", "goto") and rule.target is not None:
            end = _walk(ruleset, rule.target, cond, base, out, (*stack, chain))
            if rule.unconditional and end in ("accept", "drop", "reject"):
                return end
        if rule.unconditional and rule.verdict in ("accept", "drop", "reject", "return", "goto"):
            return rule.verdict if rule.verdict != "goto" else None
    return None


def _judge_ruleset(ruleset: _Ruleset) -> tuple[list[FirewallProfile], list[InboundAllowRule]]:
    profiles: list[FirewallProfile] = []
    rules: list[InboundAllowRule] = []
    for name, key, policy in ruleset.bases:
        end = _walk(ruleset, key, _Cond(), name, rules, ())
        default = policy
        if policy == "accept" and end in ("drop", "reject"):
            default = f"{end} (last rule; chain policy accept)"
        profiles.append(FirewallProfile(name=name, enabled=True, default_inbound=default))
    return profiles, list(dict.fromkeys(rules))  # a chain reached by two paths lists its rules once


# --- nftables JSON -----------------------------------------------------------------------------------


def _nft_scalar(value: Any, kind: str) -> str:
    if isinstance(value, Mapping):
        if "range" in value:
            low, high = value["range"]
            return f"{_nft_scalar(low, kind)}-{_nft_scalar(high, kind)}"
        if "prefix" in value:
            prefix = value["prefix"]
            return f"{prefix.get('addr')}/{prefix.get('len')}"
        if "elem" in value and isinstance(value["elem"], Mapping):
            return _nft_scalar(value["elem"].get("val"), kind)
        raise ValueError(f"unsupported value {json.dumps(value)[:80]}")
    text = str(value)
    if kind == "port":
        return PORT_NAMES.get(text, text)
    if kind == "protocol":
        return PROTOCOL_NUMBERS.get(text, text)
    return text


def _nft_values(right: Any, kind: str, sets: Mapping[str, list[Any]]) -> tuple[str, ...] | None:
    """Return the values a match's right-hand side names; None when they cannot be known."""
    try:
        if isinstance(right, str) and right.startswith("@"):
            elements = sets.get(right[1:])
            if elements is None:
                return (f"{right} (set not found)",)
            return tuple(_nft_scalar(e, kind) for e in elements)
        if isinstance(right, Mapping) and "set" in right:
            return tuple(_nft_scalar(e, kind) for e in right["set"])
        return (_nft_scalar(right, kind),)
    except (ValueError, TypeError, KeyError):
        return None


def _port_comparison(op: str, value: Any) -> tuple[str, ...] | None:
    try:
        port = int(value)
    except (TypeError, ValueError):
        return None
    spans = {"<": (0, port - 1), "<=": (0, port), ">": (port + 1, 65535), ">=": (port, 65535)}
    low, high = spans[op]
    return (f"{low}-{high}",) if low <= high else ()


def _nft_match(match: Mapping[str, Any], cond: _Cond, sets: Mapping[str, list[Any]]) -> _Cond:
    op, left, right = match.get("op", "=="), match.get("left"), match.get("right")
    positive = op in ("==", "in")
    if not isinstance(left, Mapping):
        return replace(cond, notes=(*cond.notes, "unrecognised match"))
    if "payload" in left:
        payload = left["payload"] or {}
        protocol, fieldname = payload.get("protocol"), payload.get("field")
        if fieldname == "dport" and protocol in ("tcp", "udp", "th", "sctp", "dccp"):
            protocols = cond.protocols if protocol == "th" else (protocol,)
            if op in ("<", "<=", ">", ">="):
                ports = _port_comparison(op, right)
            else:
                ports = _nft_values(right, "port", sets) if positive else None
            return replace(cond, protocols=protocols, ports=ports)
        if fieldname == "saddr" and protocol in ("ip", "ip6"):
            remotes = _nft_values(right, "address", sets) if positive else None
            if not positive:
                cond = replace(
                    cond, notes=(*cond.notes, f"{protocol} saddr {op} a list: every other address")
                )
            return replace(cond, remotes=remotes)
        if (protocol, fieldname) in (("ip", "protocol"), ("ip6", "nexthdr")) and positive:
            return replace(cond, protocols=_nft_values(right, "protocol", sets))
        if protocol in ("icmp", "icmpv6") and cond.protocols is None:
            return replace(cond, protocols=("icmp" if protocol == "icmp" else "ipv6-icmp",))
        if protocol in ("tcp", "udp") and cond.protocols is None:
            return replace(cond, protocols=(protocol,))
        return cond
    if "meta" in left:
        key = (left["meta"] or {}).get("key")
        if key == "l4proto" and positive:
            return replace(cond, protocols=_nft_values(right, "protocol", sets))
        if key in ("iif", "iifname") and positive:
            names = _nft_values(right, "interface", sets) or ()
            return replace(cond, loopback=bool(names) and all(n == "lo" for n in names))
        return cond
    if "ct" in left:
        key = (left["ct"] or {}).get("key")
        if key == "state" and positive:
            states = set(_nft_values(right, "state", sets) or ())
            return replace(cond, not_new=bool(states) and states <= NOT_NEW_STATES)
        if key == "status" and positive:
            # "ct status dnat accept": connections a nat rule redirected; judged with that nat rule.
            return replace(cond, not_new=True)
        return cond
    return cond


def _nft_rule(rule: Mapping[str, Any], sets: Mapping[str, list[Any]], label: str) -> list[_Rule]:
    cond = _Cond()
    conditional = False
    verdicts: list[tuple[str, str | None, _Cond]] = []
    for expr in rule.get("expr") or []:
        if not isinstance(expr, Mapping):
            continue
        if "match" in expr:
            cond = _nft_match(expr["match"], cond, sets)
            conditional = True
        elif "xt" in expr:
            xt = expr["xt"] or {}
            if xt.get("type") == "match":
                conditional = True
                if xt.get("name") != "comment":
                    cond = replace(cond, notes=(*cond.notes, f"iptables match {xt.get('name')} not readable"))
        elif "vmap" in expr:
            vmap = expr["vmap"] or {}
            key, data = vmap.get("key"), (vmap.get("data") or {}).get("set") or []
            for pair in data:
                if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], Mapping):
                    continue
                value, verdict = pair
                matched = _nft_match({"op": "==", "left": key, "right": value}, cond, sets)
                name = next(iter(verdict))
                target = (verdict.get(name) or {}).get("target") if name in ("jump", "goto") else None
                verdicts.append((name, target, matched))
            conditional = True
        elif any(k in expr for k in ("accept", "drop", "reject", "return", "jump", "goto")):
            name = next(k for k in ("accept", "drop", "reject", "return", "jump", "goto") if k in expr)
            target = (expr[name] or {}).get("target") if name in ("jump", "goto") else None
            verdicts.append((name, target, cond))
        elif any(k in expr for k in ("counter", "log", "comment", "notrack", "meta_set", "mangle")):
            continue
        elif any(k in expr for k in ("limit", "quota", "fib", "socket", "osf", "rt", "exthdr")):
            conditional = True
    return [
        _Rule(label=label, cond=c, verdict=v, target=t, unconditional=not conditional and c == _Cond())
        for v, t, c in verdicts
    ]


def parse_nft(
    document: str, skip_tables: Iterable[tuple[str, str]] = ()
) -> tuple[list[FirewallProfile], list[InboundAllowRule]]:
    """Return the input-hook chains of `nft -j list ruleset` as profiles, and their accept rules.

    Only filter chains on the input hook of the ip, ip6 and inet families count. Accept rules
    are collected through jump/goto with the jumping rule's matches; loopback-only and
    established/related-only accepts are left out (they admit no new connection from the
    network). `skip_tables` names (family, table) pairs better read from iptables-save.
    """
    data = json.loads(document)
    items = data.get("nftables") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise ValueError("nft output has no nftables list")
    skipped = set(skip_tables)
    sets: dict[tuple[str, str], dict[str, list[Any]]] = {}
    ruleset = _Ruleset()
    chains: list[Mapping[str, Any]] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if "set" in item or "map" in item:
            entry = item.get("set") or item.get("map") or {}
            elements = entry.get("elem") or []
            sets.setdefault((str(entry.get("family")), str(entry.get("table"))), {})[
                str(entry.get("name"))
            ] = list(elements)
        elif "chain" in item:
            chains.append(item["chain"])
    for chain in chains:
        family, table, name = chain.get("family"), chain.get("table"), chain.get("name")
        if family not in ("ip", "ip6", "inet") or (family, table) in skipped:
            continue
        if chain.get("hook") == "input" and chain.get("type", "filter") == "filter":
            ruleset.bases.append(
                (
                    f"nftables {family} {table} {name}",
                    f"{family} {table} {name}",
                    chain.get("policy", "accept"),
                )
            )
    for item in items:
        if not isinstance(item, Mapping) or "rule" not in item:
            continue
        rule = item["rule"]
        family, table, chain_name = rule.get("family"), rule.get("table"), rule.get("chain")
        if (family, table) in skipped:
            continue
        label = f"nftables {family} {table} {chain_name} #{rule.get('handle')}"
        if rule.get("comment"):
            label += f" ({rule['comment']})"
        key = f"{family} {table} {chain_name}"
        table_sets = sets.get((family, table), {})
        for parsed in _nft_rule(rule, table_sets, label):
            target = f"{family} {table} {parsed.target}" if parsed.target else None
            ruleset.chains.setdefault(key, []).append(replace(parsed, target=target))
    return _judge_ruleset(ruleset)


# --- iptables-save -----------------------------------------------------------------------------------

_IPT_FLAGS_WITH_VALUE = frozenset({"-p", "--protocol", "-s", "--source", "-d", "--destination", "-i", "--in-interface",
                                   "-o", "--out-interface", "-m", "--match", "-j", "--jump", "-g", "--goto"})  # fmt: skip


def iptables_backend(text: str) -> str | None:
    """Return "nf_tables" or "legacy" from iptables-save's header comment, None without one."""
    for line in text.splitlines():
        if line.startswith("# Generated by"):
            return "nf_tables" if "nf_tables" in line else "legacy"
    return None


def _ipt_rule(tokens: list[str], label: str) -> _Rule:
    cond = _Cond()
    conditional = False
    verdict, target = "other", None
    negate = False
    comment = None
    targeted = False  # options after -j/-g belong to the target (--reject-with, --log-prefix)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "!":
            negate = True
            index += 1
            continue
        value = tokens[index + 1] if index + 1 < len(tokens) else ""
        takes_value = token in _IPT_FLAGS_WITH_VALUE or (
            token.startswith("--") and value and not value.startswith("-") and value != "!"
        )
        if token in ("-p", "--protocol"):
            conditional = True
            if not negate:
                cond = replace(cond, protocols=(PROTOCOL_NUMBERS.get(value, value.lower()),))
        elif token in ("-s", "--source", "--src-range"):
            conditional = True
            if negate:
                cond = replace(
                    cond, remotes=None, notes=(*cond.notes, f"! {token} {value}: every other address")
                )
            else:
                cond = replace(cond, remotes=tuple(v for v in value.split(",") if v))
        elif token in ("--dport", "--destination-port", "--dports", "--destination-ports", "--ports"):
            conditional = True
            if not negate:
                cond = replace(
                    cond, ports=tuple(PORT_NAMES.get(p, p).replace(":", "-") for p in value.split(",") if p)
                )
        elif token in ("-i", "--in-interface"):
            conditional = True
            if not negate and value == "lo":
                cond = replace(cond, loopback=True)
        elif token in ("--ctstate", "--state"):
            conditional = True
            states = {s.lower() for s in value.split(",")}
            if not negate and states <= NOT_NEW_STATES:
                cond = replace(cond, not_new=True)
        elif token == "--match-set":
            conditional = True
            flags = tokens[index + 2] if index + 2 < len(tokens) else ""
            if flags.split(",")[0] == "src" and not negate:
                cond = replace(cond, remotes=(f"ipset {value} (addresses not read)",))
            index += 1  # the flags
        elif token == "--comment":
            comment = value
        elif token in ("-j", "--jump", "-g", "--goto"):
            targeted = True
            upper = value.upper()
            if upper in ("ACCEPT", "DROP", "REJECT", "RETURN"):
                verdict = upper.lower()
            elif token in ("-g", "--goto"):
                verdict, target = "goto", value
            elif value and upper not in ("LOG", "NFLOG", "MARK", "CONNMARK", "ULOG", "AUDIT", "TRACE"):
                verdict, target = "jump", value
        elif token in ("-m", "--match"):
            if value not in ("comment", "tcp", "udp", "multiport", "conntrack", "state", "iprange", "set"):
                conditional = True
                cond = replace(cond, notes=(*cond.notes, f"match {value} not judged"))
        elif token.startswith("-") and not targeted:
            conditional = True
        negate = False
        index += 2 if takes_value else 1
    if comment:
        label += f" ({comment})"
    return _Rule(label=label, cond=cond, verdict=verdict, target=target, unconditional=not conditional)


def parse_iptables_save(
    text: str, family: str = "iptables"
) -> tuple[list[FirewallProfile], list[InboundAllowRule]]:
    """Return the filter table's INPUT chain of iptables-save (or ip6tables-save) and its accept rules."""
    table = None
    ruleset = _Ruleset()
    policies: dict[str, str] = {}
    counters: dict[str, int] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:]
            continue
        if table != "filter" or line == "COMMIT":
            continue
        if line.startswith(":"):
            name, policy = [*line[1:].split(), "-"][:2]
            policies[name] = policy
            ruleset.chains.setdefault(name, [])
            continue
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            raise ValueError(f"unreadable {family}-save line {line[:80]!r}: {exc}") from None
        if len(tokens) < 2 or tokens[0] not in ("-A", "--append"):
            raise ValueError(f"unrecognised {family}-save line {line[:80]!r}")
        chain = tokens[1]
        counters[chain] = counters.get(chain, 0) + 1
        label = f"{family} {chain} rule {counters[chain]}"
        ruleset.chains.setdefault(chain, []).append(_ipt_rule(tokens[2:], label))
    if "INPUT" in policies:
        ruleset.bases.append((f"{family} filter INPUT", "INPUT", policies["INPUT"].lower()))
    return _judge_ruleset(ruleset)


# --- ufw and firewalld -------------------------------------------------------------------------------


def parse_ufw(text: str) -> FirewallProfile:
    """Return ufw as one profile: active or not, with its default for incoming traffic."""
    status = re.search(r"^Status:\s*(\S+)", text, re.MULTILINE)
    if status is None:
        raise ValueError("ufw status has no Status line")
    active = status.group(1).lower() == "active"
    default = re.search(r"^Default:\s*(\w+)\s*\(incoming\)", text, re.MULTILINE)
    if active and default is None:
        raise ValueError("ufw is active but its status shows no default for incoming traffic")
    word = default.group(1).lower() if default else "accept"
    return FirewallProfile(
        name="ufw", enabled=active, default_inbound={"deny": "drop", "allow": "accept"}.get(word, word)
    )


def parse_firewalld(text: str) -> list[FirewallProfile]:
    """Return firewalld's active and default zones as profiles (target default/%%REJECT%% rejects)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("state:"):
        raise ValueError("firewalld output has no state line")
    state = lines[0].removeprefix("state:").strip()
    if state != "running":
        return [FirewallProfile(name="firewalld", enabled=False, default_inbound="accept")]
    profiles = []
    zone: str | None = None
    zone_on = False
    for line in lines[1:]:
        header = re.match(r"^(\S+)(?:\s+\(([^)]*)\))?\s*$", line)
        if header:
            flags = {f.strip() for f in (header.group(2) or "").split(",")}
            zone, zone_on = header.group(1), bool(flags & {"active", "default"})
            continue
        target = re.match(r"^\s+target:\s*(\S+)", line)
        if target and zone and zone_on:
            value = target.group(1).strip("%").upper()
            default = {"DEFAULT": "reject", "REJECT": "reject", "DROP": "drop", "ACCEPT": "accept"}.get(
                value, value.lower()
            )
            profiles.append(
                FirewallProfile(name=f"firewalld zone {zone}", enabled=True, default_inbound=default)
            )
    if not profiles:
        raise ValueError("firewalld is running but no active or default zone was listed")
    return profiles


def profile_families(profile: FirewallProfile) -> frozenset[str]:
    """Return the address families ("ipv4", "ipv6") a firewall profile filters.

    Linux profile names say it: "nftables ip ..." and "iptables ..." filter IPv4 only,
    "nftables ip6 ..." and "ip6tables ..." IPv6 only; inet chains, ufw, firewalld and Windows
    profiles filter both.
    """
    words = profile.name.split()
    if not words:
        return frozenset({"ipv4", "ipv6"})
    if words[0] == "iptables" or words[:2] == ["nftables", "ip"]:
        return frozenset({"ipv4"})
    if words[0] == "ip6tables" or words[:2] == ["nftables", "ip6"]:
        return frozenset({"ipv6"})
    return frozenset({"ipv4", "ipv6"})


# --- listeners ---------------------------------------------------------------------------------------


def parse_ss(text: str, protocol: str) -> tuple[Listener, ...]:
    """Return the listening sockets of `ss -tlnp` / `ss -ulnp` (header line skipped)."""
    listeners = []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens or tokens[0] in ("State", "Netid"):
            continue
        if len(tokens) < 5:
            raise ValueError(f"unrecognised ss line {line.strip()[:100]!r}")
        local = tokens[3]
        address, _, port_text = local.rpartition(":")
        if not port_text.isdigit():
            if port_text == "*":
                continue
            raise ValueError(f"unrecognised ss local address {local!r}")
        address = address.removeprefix("[").replace("]", "") or "*"
        process = re.search(r'\(\("([^"]+)"', " ".join(tokens[5:]))
        listeners.append(
            Listener(
                protocol=protocol,
                address=address,
                port=int(port_text),
                process=process.group(1) if process else None,
            )
        )
    return tuple(sorted(set(listeners), key=lambda item: (item.port, item.protocol, item.address)))


def _firewall(sections: Mapping[str, Section], errors: dict[str, str]) -> HostFirewall | None:
    problems: list[str] = []
    profiles: list[FirewallProfile] = []
    rules: list[InboundAllowRule] = []
    skip: list[tuple[str, str]] = []
    parsed_ipt: dict[str, tuple[list[FirewallProfile], list[InboundAllowRule]]] = {}
    nft = sections.get("nft")
    for name, family, nft_family in (("iptables", "iptables", "ip"), ("ip6tables", "ip6tables", "ip6")):
        section = sections.get(name)
        if section is None or section.absent:
            continue
        if not section.ok:
            problems.append(section.failure(f"{family}-save"))
            continue
        try:
            parsed = parse_iptables_save(section.stdout, family)
        except ValueError as exc:
            problems.append(f"{family}-save output cannot be read: {exc}")
            continue
        if "legacy tables present" in section.stdout:
            # iptables-nft-save warns so when iptables-legacy also holds rules: half the ruleset is unseen.
            problems.append(
                f"{family}-save reports {family}-legacy tables besides nf_tables; the legacy rules are not read"
            )
            continue
        backend = iptables_backend(section.stdout)
        if backend == "nf_tables" and nft is not None and nft.ok:
            # Both show the same nf_tables table; iptables-save can also read its xt matches.
            skip.append((nft_family, "filter"))
        parsed_ipt[name] = parsed
    for parsed_profiles, parsed_rules in parsed_ipt.values():
        profiles.extend(parsed_profiles)
        rules.extend(parsed_rules)
    if nft is not None and not nft.absent:
        if nft.ok:
            try:
                nft_profiles, nft_rules = parse_nft(nft.stdout, skip)
                profiles.extend(nft_profiles)
                rules.extend(nft_rules)
            except (ValueError, TypeError, AttributeError) as exc:
                problems.append(f"nft -j list ruleset output cannot be read: {exc}")
        else:
            problems.append(nft.failure("nft -j list ruleset"))
    ufw = sections.get("ufw")
    if ufw is not None and not ufw.absent:
        try:
            if not ufw.ok:
                raise ValueError(ufw.failure("ufw status verbose"))
            profiles.append(parse_ufw(ufw.stdout))
        except ValueError as exc:
            problems.append(str(exc))
    firewalld = sections.get("firewalld")
    if firewalld is not None and not firewalld.absent:
        try:
            if not firewalld.ok:
                raise ValueError(firewalld.failure("firewall-cmd"))
            profiles.extend(parse_firewalld(firewalld.stdout))
        except ValueError as exc:
            problems.append(str(exc))
    listeners: list[Listener] = []
    for name, protocol in (("ss-tcp", "TCP"), ("ss-udp", "UDP")):
        section = sections.get(name)
        if section is None or not section.ok:
            problems.append(section.failure(f"ss ({protocol})") if section else f"{name} was not reported")
            continue
        try:
            listeners.extend(parse_ss(section.stdout, protocol))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        errors["firewall"] = "; ".join(problems)
        return None
    return HostFirewall(profiles=tuple(profiles), inbound_allow=tuple(rules), listeners=tuple(listeners))


# --- admins and keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Groups:
    members: dict[str, set[str]]
    by_gid: dict[str, str]


def _parse_groups(*texts: str) -> _Groups:
    members: dict[str, set[str]] = {}
    by_gid: dict[str, str] = {}
    for text in texts:
        for line in text.splitlines():
            parts = line.strip().split(":")
            if len(parts) == 3:  # name:gid:members (the script cuts the password field)
                name, gid, users = parts
            elif len(parts) == 4:  # name:x:gid:members (getent group sudo wheel admin)
                name, _, gid, users = parts
            else:
                continue
            members.setdefault(name, set()).update(u for u in users.split(",") if u)
            by_gid.setdefault(gid, name)
    return _Groups(members, by_gid)


def _primary_members(passwd: str) -> dict[str, set[str]]:
    by_gid: dict[str, set[str]] = {}
    for line in passwd.splitlines():
        user, _, gid = line.strip().partition(":")
        if user and gid:
            by_gid.setdefault(gid, set()).add(user)
    return by_gid


ADMIN_GROUPS = ("sudo", "wheel", "admin")


def parse_sudoers_specs(text: str) -> tuple[list[tuple[str, bool]], dict[str, list[str]]]:
    """Return the reduced sudoers lines: (user list, grants ALL) per rule, and User_Alias definitions."""
    specs: list[tuple[str, bool]] = []
    aliases: dict[str, list[str]] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "SPEC":
            users, _, grant = rest.partition("\t")
            specs.append((users, grant == "ALL"))
        elif kind == "USER_ALIAS":
            for definition in rest.split(":"):
                name, _, values = definition.partition("=")
                aliases[name.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return specs, aliases


def _expand_user(
    item: str,
    aliases: Mapping[str, list[str]],
    groups: _Groups,
    primary: Mapping[str, set[str]],
    seen: frozenset[str] = frozenset(),
) -> set[str]:
    item = item.strip()
    if not item or item.startswith("!"):
        return set()
    if item in aliases and item not in seen:
        found: set[str] = set()
        for value in aliases[item]:
            found |= _expand_user(value, aliases, groups, primary, seen | {item})
        return found
    if item.startswith("%"):
        group = item[1:]
        if group.startswith("#"):
            group = groups.by_gid.get(group[1:], group)
        if group not in groups.members:
            return {item}  # a group the host's group database does not list: named as is
        gid = next((g for g, n in groups.by_gid.items() if n == group), None)
        return groups.members[group] | (primary.get(gid, set()) if gid else set())
    return {item}


def parse_authorized_keys(text: str) -> tuple[list[str], list[str]]:
    """Return (fingerprint entries "SHA256:… TYPE user", unreadable files) from the keys section."""
    prints: list[str] = []
    unreadable: list[str] = []
    for line in text.splitlines():
        parts = line.split("\t")
        if parts[0] == "KEY" and len(parts) == 5:
            _, user, _path, fingerprint, key_type = parts
            prints.append(f"{fingerprint} {key_type} {user}")
        elif parts[0] == "UNREADABLE" and len(parts) == 3:
            unreadable.append(f"{parts[2]} (user {parts[1]})")
    return list(dict.fromkeys(prints)), unreadable


def _admins(sections: Mapping[str, Section], errors: dict[str, str]) -> HostAdmins | None:
    needed = {
        "passwd": "getent passwd",
        "groups": "getent group",
        "admin-groups": "getent group sudo wheel admin",
        "sudoers": "reading sudoers",
        "authorized-keys": "reading authorized_keys",
    }
    problems = []
    for name, what in needed.items():
        section = sections.get(name)
        if section is None:
            problems.append(f"{what}: not reported")
        elif not section.ok:
            problems.append(section.failure(what))
    if problems:
        errors["admins"] = "; ".join(problems)
        return None
    groups = _parse_groups(sections["groups"].stdout, sections["admin-groups"].stdout)
    primary = _primary_members(sections["passwd"].stdout)
    members: set[str] = set()
    for group in ADMIN_GROUPS:
        if group in groups.members:
            members |= _expand_user(f"%{group}", {}, groups, primary)
    specs, aliases = parse_sudoers_specs(sections["sudoers"].stdout)
    for users, grants_all in specs:
        if grants_all:
            for item in users.split(","):
                members |= _expand_user(item, aliases, groups, primary)
    members.discard("root")  # root is the superuser whatever sudoers says
    prints, unreadable = parse_authorized_keys(sections["authorized-keys"].stdout)
    if unreadable:
        errors["admins"] = (
            "authorized_keys cannot be read without root: "
            + ", ".join(unreadable[:10])
            + (f" and {len(unreadable) - 10} more" if len(unreadable) > 10 else "")
        )
        return None
    return HostAdmins(members=tuple(sorted(members)), ssh_key_fingerprints=tuple(prints))


def parse_sshd_t(text: str) -> dict[str, str]:
    """Return `sshd -T` as {keyword: value}; a keyword given several times has its values joined by newlines."""
    config: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            config.setdefault(key.lower(), []).append(value.strip())
    return {key: "\n".join(values) for key, values in config.items()}


# --- everything --------------------------------------------------------------------------------------


def parse_linux(result: CommandResult, host: HostEntry) -> HostFacts:
    """Return the facts in the Linux fact script's output; raise HostOutputError when it is not that."""
    if result.exit_code != 0:
        detail = " ".join(result.stderr.decode("utf-8", errors="replace").split())[:300]
        raise HostOutputError(
            f"Linux host {host.name}: the fact script exited {result.exit_code}"
            + (f": {detail}" if detail else "")
        )
    sections = split_sections(result.stdout, f"Linux host {host.name}")
    errors: dict[str, str] = {}
    os_facts = _operating_system(sections, errors)
    updates = _linux_updates(sections, errors)
    volumes: tuple[Volume, ...] | None = None
    lsblk = sections.get("lsblk")
    if lsblk is None or not lsblk.ok:
        errors["volumes"] = lsblk.failure("lsblk") if lsblk else "lsblk was not reported"
    else:
        findmnt = sections.get("findmnt")
        try:
            volumes = parse_volumes(
                lsblk.stdout, findmnt.stdout if findmnt is not None and findmnt.ok else None
            )
        except (ValueError, TypeError, AttributeError) as exc:
            errors["volumes"] = f"lsblk output cannot be read: {exc}"
    firewall = _firewall(sections, errors)
    admins = _admins(sections, errors)
    sshd_config = None
    sshd = sections.get("sshd")
    if sshd is not None and sshd.ok:
        sshd_config = parse_sshd_t(sshd.stdout)
    else:
        errors["sshd_config"] = sshd.failure("sshd -T") if sshd else "sshd -T was not reported"
    return HostFacts(
        name=host.name,
        address=host.address,
        roles=tuple(host.roles),
        os=os_facts,
        firewall=firewall,
        admins=admins,
        volumes=volumes,
        linux_updates=updates,
        sshd_config=sshd_config,
        section_errors=errors,
    )
