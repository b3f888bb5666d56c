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

Secrets never leave the host: sudoers is reduced on the host to user lists, runas specs, tags and
command names (never `Defaults`, never a command's arguments except sudoedit's files; see
collectors/hosts/sudoers.py); authorized_keys to `SHA256:` fingerprint and key type (never the key
comment); passwd to user name, UID and group id (no GECOS).

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
- Admins (collectors/hosts/linux_admins.py): members of sudo, wheel and admin (supplementary and
  primary), every other account with UID 0, and the users of every sudoers rule that lets them
  become root: ALL, a shell, su, an editor, an interpreter or another GTFOBins-class program run as
  root, sudoedit of a system file (User_Alias, %group and #uid expanded; a group the host cannot
  list stays "%name"); root is left out. A rule the parser cannot classify counts, quoted.

Fail closed (issue 12): every output must have the shape its tool prints. apt without its
"Listing..." line, an lsblk device without name/type/mountpoint/fstype, findmnt missing or
malformed (it is needed to find mounts lsblk does not show), an nft listing without metainfo, a
base chain with a missing or unknown type/hook/prio/policy, a rule of (or a jump to) a chain the
listing does not hold, a verdict map entry that is not [value, verdict], iptables-save without a
COMMIT or an INPUT policy, an `ss` line whose columns are not State/Recv-Q/Send-Q/Local/Peer, no
listening TCP socket at all (the host answered over SSH), a firewall tool reported neither read
nor absent: each makes its fact (volumes, firewall, pending updates) an error with the reason,
never a shorter list. A parser exception nobody foresaw makes its fact an error too (`_guarded`).
An nft statement the parser does not know makes its rule conditional: a drop behind it no longer
ends the chain, and an accept behind it still counts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

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
from collectors.hosts.linux_admins import AdminsUnreadable, linux_admins

SCRIPT_VERSION = "1"

T = TypeVar("T")

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
  awk -v MAIN="$SUDOERS" -v SQ="'" '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function istag(w) { return w ~ /^(NO)?(PASSWD|EXEC|SETENV|LOG_INPUT|LOG_OUTPUT|MAIL|FOLLOW|INTERCEPT)$/ }
function lastword(s) { sub(/[ \t]+$/, "", s); match(s, /[^ \t,():=]*$/); return substr(s, RSTART) }
function q(s) { gsub(SQ, SQ "\\" SQ SQ, s); return SQ s SQ }
function fail(msg) { printf "%s\n", msg > "/dev/stderr"; failed = 13 }
function safe(w) { return (w ~ "^[]A-Za-z0-9_%#+!*.,:@/[][]A-Za-z0-9_%#+!*.,:@/[-]*$") ? substr(w, 1, 60) : "?" }
function splitat(s, a, seps,    n, i, c, depth, cur, w) {
  n = 0; depth = 0; cur = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") { cur = cur c substr(s, i + 1, 1); i++; continue }
    if (c == "(") depth++
    else if (c == ")") { if (--depth < 0) return -1 }
    else if (depth == 0 && index(seps, c)) {
      if (c == ":") { w = lastword(cur); if (istag(w) || w ~ /^sha(224|256|384|512)$/) { cur = cur c; continue } }
      a[++n] = cur; cur = ""; continue
    }
    cur = cur c
  }
  if (depth != 0) return -1
  a[++n] = cur
  return n
}
function words(s, w,    n, i, c, cur) {
  n = 0; cur = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") { cur = cur c substr(s, i + 1, 1); i++; continue }
    if (c == " ") { if (cur != "") { w[++n] = cur; cur = "" }; continue }
    cur = cur c
  }
  if (cur != "") w[++n] = cur
  return n
}
function settag(t,    base) {
  base = t; if (substr(t, 1, 2) == "NO") base = substr(t, 3)
  TAGS = " " TAGS " "; gsub(" " base " ", " ", TAGS); gsub(" NO" base " ", " ", TAGS)
  TAGS = trim(TAGS " " t); gsub(/  +/, " ", TAGS)
}
function command(s,    w, n, i, neg, j, a) {
  s = trim(s)
  if (substr(s, 1, 1) == "(") {
    j = index(s, ")")
    RUNAS = "(" trim(substr(s, 2, j - 2)) ")"; gsub(/ +/, " ", RUNAS)
    s = trim(substr(s, j + 1))
  }
  for (;;) {
    if (match(s, /^[A-Z_]+ *:/) && istag(trim(substr(s, 1, RLENGTH - 1)))) {
      settag(trim(substr(s, 1, RLENGTH - 1))); s = trim(substr(s, RLENGTH + 1)); continue
    }
    if (match(s, /^[A-Z_]+=/)) {
      n = words(s, w); s = ""
      for (i = 2; i <= n; i++) s = s " " w[i]
      s = trim(s); continue
    }
    break
  }
  neg = ""
  while (substr(s, 1, 1) == "!") { neg = (neg == "") ? "!" : ""; s = trim(substr(s, 2)) }
  if (match(s, /^sha(224|256|384|512):[^ ]*/)) s = trim(substr(s, RLENGTH + 1))
  n = words(s, w)
  if (n && substr(w[1], 1, 1) != "/" && substr(w[1], 1, 1) != "^" && w[1] !~ /^[A-Z][A-Z0-9_]*$/ && w[1] != "sudoedit" && w[1] != "list") w[1] = "?"
  CMD = neg (n ? w[1] : ""); ARGS = "-"
  if (n < 2) return
  if (w[1] == "sudoedit") { ARGS = w[2]; for (i = 3; i <= n; i++) ARGS = ARGS " " w[i]; return }
  if (n == 2 && w[2] == "\"\"") { ARGS = "\"\""; return }
  ARGS = "<args>"
  for (i = 2; i <= n; i++) {
    a = w[i]; gsub(/\\./, "", a)
    if (a ~ /[*?[]/ || substr(w[i], 1, 1) == "^") ARGS = "<wildcard-args>"
  }
}
function definitions(kind, text, lineno,    d, nd, k, p, name, items, ni, m, v) {
  nd = splitat(text, d, ":")
  if (nd < 0) { print "UNREAD\t" lineno "\t" kind; return }
  for (k = 1; k <= nd; k++) {
    p = index(d[k], "=")
    if (p == 0) { print "UNREAD\t" lineno "\t" kind; continue }
    name = trim(substr(d[k], 1, p - 1)); v = trim(substr(d[k], p + 1))
    if (kind == "Cmnd_Alias") {
      ni = splitat(v, items, ",")
      if (ni < 0) { print "UNREAD\t" lineno "\t" kind " " name; continue }
      RUNAS = "-"; TAGS = ""
      for (m = 1; m <= ni; m++) { command(items[m]); print "CMND_ALIAS\t" lineno "\t" name "\t" CMD "\t" ARGS }
    } else {
      gsub(/ *, */, ",", v)
      print (kind == "User_Alias" ? "USER_ALIAS" : "RUNAS_ALIAS") "\t" lineno "\t" name "\t" v
    }
  }
}
function rule(l, lineno,    p, head, users, hosts, s, ns, k, items, ni, m) {
  p = index(l, "=")
  head = trim(substr(l, 1, p - 1)); gsub(/ *, */, ",", head)
  if (!match(head, / [^ ]+$/)) { split(head, s, / +/); print "UNREAD\t" lineno "\t" safe(s[1]); return }
  users = substr(head, 1, RSTART - 1); hosts = safe(trim(substr(head, RSTART)))
  ns = splitat(hosts "=" substr(l, p + 1), s, ":")
  if (ns < 0) { print "RULE\t" lineno "\t" users "\t" hosts "\t-\t\t<unreadable>\t-"; return }
  for (k = 1; k <= ns; k++) {
    p = index(s[k], "=")
    if (p == 0) { print "RULE\t" lineno "\t" users "\t?\t-\t\t<unreadable>\t-"; continue }
    hosts = trim(substr(s[k], 1, p - 1)); gsub(/ *, */, ",", hosts); hosts = safe(hosts)
    ni = splitat(substr(s[k], p + 1), items, ",")
    if (ni < 0) { print "RULE\t" lineno "\t" users "\t" hosts "\t-\t\t<unreadable>\t-"; continue }
    RUNAS = "-"; TAGS = ""
    for (m = 1; m <= ni; m++) {
      command(items[m])
      print "RULE\t" lineno "\t" users "\t" hosts "\t" RUNAS "\t" TAGS "\t" CMD "\t" ARGS
    }
  }
}
function incpath(path, from,    dir) {
  if (path ~ /^"/) { path = substr(path, 2); sub(/"$/, "", path) }
  gsub(/%h/, HOST, path)
  if (substr(path, 1, 1) != "/") { dir = from; sub(/\/[^\/]*$/, "", dir); path = dir "/" path }
  return path
}
function readdir(dir, depth,    cmd, name, n, i, names) {
  if (system("test -d " q(dir)) != 0) { print "MISSING\t" dir; return }
  if (system("test -r " q(dir) " && test -x " q(dir)) != 0) { fail(dir ": permission denied"); return }
  cmd = "ls -1A " q(dir)
  n = 0
  while ((cmd | getline name) > 0) names[++n] = name
  close(cmd)
  for (i = 1; i <= n; i++) {
    if (names[i] ~ /~$/ || index(names[i], ".")) continue
    if (system("test -f " q(dir "/" names[i])) == 0) readfile(dir "/" names[i], depth + 1)
  }
}
function readfile(f, depth,    line, rc, l, buf, start, lineno, kw, arg, parts) {
  if (depth > 32) { fail(f ": includes nested more than 32 deep"); return }
  if (f in SEEN) return
  SEEN[f] = 1
  if (system("test -e " q(f)) != 0) { print "MISSING\t" f; return }
  print "FILE\t" f
  lineno = 0; buf = ""; start = 0
  while ((rc = (getline line < f)) > 0) {
    lineno++
    gsub(/\t/, " ", line)
    if (line ~ /\\$/) { if (!start) start = lineno; buf = buf substr(line, 1, length(line) - 1) " "; continue }
    l = buf line; if (!start) start = lineno; buf = ""
    if (match(l, /^ *[#@]include(dir)? +/)) {
      kw = trim(substr(l, 1, RLENGTH)); arg = incpath(trim(substr(l, RLENGTH + 1)), f)
      if (kw ~ /dir$/) readdir(arg, depth); else readfile(arg, depth + 1)
      start = 0; continue
    }
    sub(/(^| )#([^0-9].*)?$/, "", l)
    l = trim(l)
    if (l == "") { start = 0; continue }
    if (l ~ /^Defaults/) {
      if (l ~ /env_keep/ && l ~ /LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|PYTHONPATH|PYTHONSTARTUP|PERL5LIB|PERL5OPT|PERLLIB|RUBYLIB|RUBYOPT|BASH_ENV|NODE_OPTIONS/)
        print "DEFAULT\t" start "\tenv_keep_loader"
      if (l ~ /[ ,]setenv( |,|$)/) print "DEFAULT\t" start "\tsetenv"
      start = 0; continue
    }
    if (match(l, /^(User_Alias|Runas_Alias|Cmnd_Alias|Cmd_Alias|Host_Alias) +/)) {
      kw = trim(substr(l, 1, RLENGTH)); if (kw == "Cmd_Alias") kw = "Cmnd_Alias"
      if (kw != "Host_Alias") definitions(kw, substr(l, RLENGTH + 1), start)
      start = 0; continue
    }
    if (index(l, "=") == 0) { split(l, parts, / +/); print "UNREAD\t" start "\t" safe(parts[1]); start = 0; continue }
    rule(l, start)
    start = 0
  }
  if (rc < 0) fail(f ": permission denied (readable by root only)")
  close(f)
}
BEGIN {
  failed = 0
  "uname -n" | getline HOST; close("uname -n"); sub(/\..*/, "", HOST)
  readfile(MAIN, 0)
  exit failed
}' </dev/null
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
sec passwd sh -c 'getent passwd | cut -d: -f1,3,4'
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
    """Return the packages `apt list --upgradable` lists; security when a suite ends in -security.

    apt always prints "Listing..." first, also when nothing is upgradable: output without it is
    not apt's answer (cut off, or another program), so it is refused rather than read as "none".
    """
    if not any(line.strip().startswith("Listing") for line in text.splitlines()):
        raise ValueError("apt list printed no 'Listing...' line")
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
        if not line.strip():
            continue
        stamp, _, path = line.partition(" ")
        if not stamp.isdigit() or not path:
            raise ValueError(f"unrecognised package index time {line.strip()[:80]!r}")
        newest = max(newest or 0, int(stamp))
    if newest is None:
        return None
    try:
        return datetime.fromtimestamp(newest, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"package index time {newest} is not a date") from None


def _linux_updates(sections: Mapping[str, Section], errors: dict[str, str]) -> LinuxUpdates | None:
    dnf_index = sections.get("dnf-index")
    apt = sections.get("apt")
    try:
        index_updated = (
            parse_index_times(dnf_index.stdout) if dnf_index is not None and dnf_index.ok else None
        )
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


def _optional_text(node: Mapping[str, Any], key: str, what: str) -> None:
    if key not in node:
        raise ValueError(f"{what} has no {key!r} field")
    if node[key] is not None and not isinstance(node[key], str):
        raise ValueError(f"{what} has a {key!r} that is {type(node[key]).__name__}, not text")


def _check_block_device(node: object) -> Mapping[str, Any]:
    """Return a block device of `lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE`; raise ValueError when it is not one.

    name and type must be text: a device without a type cannot be shown to be (or not be) a crypt
    device. The mountpoint (or lsblk 2.37+'s mountpoints list) and fstype fields must be there,
    null when the device has none; children, when present, must be a list.
    """
    if not isinstance(node, Mapping):
        raise ValueError("a block device is not an object")
    name = node.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a block device has no name")
    kind = node.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"block device {name} has no type")
    if "mountpoints" in node:
        points = node["mountpoints"]
        if not isinstance(points, list) or not all(p is None or isinstance(p, str) for p in points):
            raise ValueError(f"block device {name} has mountpoints that are not a list of paths")
    else:
        _optional_text(node, "mountpoint", f"block device {name}")
    _optional_text(node, "fstype", f"block device {name}")
    if "children" in node and not isinstance(node["children"], list):
        raise ValueError(f"the children of block device {name} are not a list")
    return node


def _walk_lsblk(
    nodes: Iterable[Any], chain: tuple[Mapping[str, Any], ...]
) -> Iterator[tuple[Mapping[str, Any], tuple[Mapping[str, Any], ...]]]:
    for item in nodes:
        node = _check_block_device(item)
        path = (*chain, node)
        yield node, path
        yield from _walk_lsblk(node.get("children") or [], path)


def parse_findmnt(findmnt_json: str) -> list[Mapping[str, Any]]:
    """Return the mounts of `findmnt -J -l -o TARGET,SOURCE,FSTYPE`; raise ValueError when it is not that."""
    document = json.loads(findmnt_json)
    found = document.get("filesystems") if isinstance(document, Mapping) else None
    if not isinstance(found, list) or not found:
        raise ValueError("findmnt output has no filesystems list")
    for entry in found:
        if not isinstance(entry, Mapping):
            raise ValueError("a findmnt filesystem is not an object")
        target = entry.get("target")
        if not isinstance(target, str) or not target:
            raise ValueError("a findmnt filesystem has no target")
        for key in ("source", "fstype"):
            _optional_text(entry, key, f"findmnt filesystem {target}")
    return found


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
    if findmnt_json is not None:
        mounts = parse_findmnt(findmnt_json)
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


def _volumes(sections: Mapping[str, Section], errors: dict[str, str]) -> tuple[Volume, ...] | None:
    """Return the volumes from lsblk and findmnt; both are needed (findmnt finds mounts lsblk does not show)."""
    lsblk, findmnt = sections.get("lsblk"), sections.get("findmnt")
    if lsblk is None or not lsblk.ok:
        errors["volumes"] = lsblk.failure("lsblk") if lsblk else "lsblk was not reported"
        return None
    if findmnt is None or not findmnt.ok:
        reason = findmnt.failure("findmnt") if findmnt else "findmnt was not reported"
        errors["volumes"] = f"{reason}, so mounts that lsblk does not show cannot be found"
        return None
    try:
        return parse_volumes(lsblk.stdout, findmnt.stdout)
    except (ValueError, TypeError, AttributeError) as exc:
        errors["volumes"] = f"lsblk/findmnt output cannot be read: {exc}"
        return None


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


NFT_VERDICTS = ("accept", "drop", "reject", "return", "jump", "goto", "continue")


def _nft_target(name: str, body: Any, label: str) -> str | None:
    """Return the chain a jump/goto names (None for other verdicts); raise ValueError when it names none."""
    if name not in ("jump", "goto"):
        return None
    target = body.get("target") if isinstance(body, Mapping) else None
    if not isinstance(target, str) or not target:
        raise ValueError(f"{label}: {name} without a target chain")
    return target


def _nft_vmap(vmap: Any, sets: Mapping[str, list[Any]], label: str) -> list[tuple[Any, str, str | None]]:
    """Return (value, verdict, jump target) of each entry of a verdict map, inline or named (@map)."""
    if not isinstance(vmap, Mapping) or "key" not in vmap:
        raise ValueError(f"{label}: a verdict map without a key")
    data = vmap.get("data")
    if isinstance(data, str) and data.startswith("@"):
        pairs = sets.get(data[1:])
        if pairs is None:
            raise ValueError(f"{label}: verdict map {data} is not in the ruleset")
    elif isinstance(data, Mapping) and isinstance(data.get("set"), list):
        pairs = data["set"]
    else:
        raise ValueError(f"{label}: a verdict map whose entries cannot be read")
    entries = []
    for pair in pairs:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not isinstance(pair[1], Mapping)
            or len(pair[1]) != 1
        ):
            raise ValueError(f"{label}: a verdict map entry that is not [value, verdict]")
        name = next(iter(pair[1]))
        if name not in NFT_VERDICTS:
            raise ValueError(f"{label}: unknown verdict {name!r} in a verdict map")
        entries.append((pair[0], name, _nft_target(name, pair[1][name], label)))
    return entries


def _nft_rule(rule: Mapping[str, Any], sets: Mapping[str, list[Any]], label: str) -> list[_Rule]:
    cond = _Cond()
    conditional = False
    verdicts: list[tuple[str, str | None, _Cond]] = []
    exprs = rule.get("expr")
    if not isinstance(exprs, list) or not exprs:
        raise ValueError(f"{label} has no expression list")
    for expr in exprs:
        if not isinstance(expr, Mapping) or len(expr) != 1:
            raise ValueError(f"{label} has an expression that is not a one-key object")
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
            for value, name, target in _nft_vmap(expr["vmap"], sets, label):
                matched = _nft_match(
                    {"op": "==", "left": expr["vmap"].get("key"), "right": value}, cond, sets
                )
                verdicts.append((name, target, matched))
            conditional = True
        elif any(k in expr for k in NFT_VERDICTS):
            name = next(k for k in NFT_VERDICTS if k in expr)
            verdicts.append((name, _nft_target(name, expr[name], label), cond))
        elif any(k in expr for k in ("counter", "log", "comment", "notrack", "meta_set", "mangle", "last")):
            continue
        else:
            # limit, quota, fib, socket, a set statement, queue, nat ...: whatever it does, it is no
            # accept and may make the rule conditional, so a drop after it does not end the chain.
            conditional = True
            cond = replace(cond, notes=(*cond.notes, f"statement {next(iter(expr))} not judged"))
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
    if not any(isinstance(item, Mapping) and "metainfo" in item for item in items):
        raise ValueError("nft output has no metainfo: it is not what nft -j list ruleset prints")
    skipped = set(skip_tables)
    sets: dict[tuple[str, str], dict[str, list[Any]]] = {}
    ruleset = _Ruleset()
    chains: list[Mapping[str, Any]] = []
    for item in items:
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ValueError("an nftables list item is not a one-key object")
        if "set" in item or "map" in item:
            entry = item.get("set") or item.get("map") or {}
            elements = entry.get("elem") or []
            if not isinstance(elements, list):
                raise ValueError(f"the elements of set {entry.get('name')} are not a list")
            sets.setdefault((str(entry.get("family")), str(entry.get("table"))), {})[
                str(entry.get("name"))
            ] = list(elements)
        elif "chain" in item:
            chains.append(item["chain"])
    known_chains: set[str] = set()
    for chain in chains:
        _check_nft_chain(chain)
        family, table, name = chain["family"], chain["table"], chain["name"]
        known_chains.add(f"{family} {table} {name}")
        if family not in ("ip", "ip6", "inet") or (family, table) in skipped:
            continue
        if chain.get("hook") == "input" and chain.get("type") == "filter":
            ruleset.bases.append(
                (f"nftables {family} {table} {name}", f"{family} {table} {name}", chain["policy"])
            )
    for item in items:
        if not isinstance(item, Mapping) or "rule" not in item:
            continue
        rule = item["rule"]
        family, table, chain_name = rule.get("family"), rule.get("table"), rule.get("chain")
        if not all(isinstance(v, str) and v for v in (family, table, chain_name)):
            raise ValueError("a rule without its family, table or chain")
        key = f"{family} {table} {chain_name}"
        if key not in known_chains:
            raise ValueError(f"a rule of chain {key}, which the listing does not hold")
        if (family, table) in skipped:
            continue
        label = f"nftables {family} {table} {chain_name} #{rule.get('handle')}"
        if rule.get("comment"):
            label += f" ({rule['comment']})"
        table_sets = sets.get((family, table), {})
        for parsed in _nft_rule(rule, table_sets, label):
            target = f"{family} {table} {parsed.target}" if parsed.target else None
            if target is not None and target not in known_chains:
                raise ValueError(f"{label} jumps to chain {parsed.target}, which the listing does not hold")
            ruleset.chains.setdefault(key, []).append(replace(parsed, target=target))
    return _judge_ruleset(ruleset)


NFT_FAMILIES = frozenset({"ip", "ip6", "inet", "arp", "bridge", "netdev"})
NFT_CHAIN_TYPES = frozenset({"filter", "nat", "route"})
NFT_HOOKS = frozenset({"prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"})
NFT_POLICIES = frozenset({"accept", "drop"})


def _check_nft_chain(chain: Any) -> None:
    """Raise ValueError unless `chain` is a chain as nft -j prints it: a base chain has all four of
    type, hook, prio and policy, with values nft knows (a chain whose hook or type cannot be read
    could be the input chain that holds the accept rules)."""
    if not isinstance(chain, Mapping):
        raise ValueError("a chain is not an object")
    family, table, name = chain.get("family"), chain.get("table"), chain.get("name")
    if not all(isinstance(v, str) and v for v in (family, table, name)):
        raise ValueError("a chain without its family, table or name")
    where = f"chain {family} {table} {name}"
    if family not in NFT_FAMILIES:
        raise ValueError(f"{where} has the unknown family {family!r}")
    base_fields = [k for k in ("type", "hook", "prio", "policy") if k in chain]
    if not base_fields:
        return
    if len(base_fields) != 4:
        missing = sorted({"type", "hook", "prio", "policy"} - set(base_fields))
        raise ValueError(f"base {where} has no {', '.join(missing)}")
    for key, allowed in (("type", NFT_CHAIN_TYPES), ("hook", NFT_HOOKS), ("policy", NFT_POLICIES)):
        if chain[key] not in allowed:
            raise ValueError(f"base {where} has the unknown {key} {str(chain[key])[:20]!r}")
    if isinstance(chain["prio"], bool) or not isinstance(chain["prio"], int | str):
        raise ValueError(f"base {where} has a prio that is {type(chain['prio']).__name__}")


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
    committed = True
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            if not committed:
                raise ValueError(f"{family}-save table {table} has no COMMIT line")
            table, committed = line[1:], False
            continue
        if line == "COMMIT":
            committed = True
            continue
        if table != "filter":
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
    if not committed:
        raise ValueError(f"{family}-save output ends inside table {table} (no COMMIT): it is cut off")
    if ruleset.chains.get("INPUT") and "INPUT" not in policies:
        raise ValueError(f"{family}-save lists INPUT rules but no :INPUT policy line")
    if "INPUT" in policies:
        policy = policies["INPUT"].upper()
        if policy not in ("ACCEPT", "DROP"):
            raise ValueError(f"{family}-save INPUT chain has policy {policies['INPUT'][:20]!r}")
        ruleset.bases.append((f"{family} filter INPUT", "INPUT", policy.lower()))
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


SS_LISTENING_STATES = frozenset({"LISTEN", "UNCONN"})
"""The states `ss -tl` (LISTEN) and `ss -ul` (UNCONN) list."""


def parse_ss(text: str, protocol: str) -> tuple[Listener, ...]:
    """Return the listening sockets of `ss -tlnp` / `ss -ulnp` (header line skipped)."""
    listeners = []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens or tokens[0] in ("State", "Netid"):
            continue
        if (
            len(tokens) < 5
            or tokens[0] not in SS_LISTENING_STATES
            or not tokens[1].isdigit()
            or not tokens[2].isdigit()
        ):
            # State Recv-Q Send-Q Local Peer [Process]: anything else (a Netid column, a cut line)
            # would shift the columns and misread the port.
            raise ValueError(f"unrecognised ss line {line.strip()[:100]!r}")
        local = tokens[3]
        address, colon, port_text = local.rpartition(":")
        if not colon:
            raise ValueError(f"unrecognised ss local address {local!r}")
        if not port_text.isdigit() or int(port_text) > 65535:
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


FIREWALL_TOOLS = ("nft", "iptables", "ip6tables", "ufw", "firewalld")
"""The firewall sections the script always reports: read, or marked absent (not installed)."""


def _firewall(sections: Mapping[str, Section], errors: dict[str, str]) -> HostFirewall | None:
    problems: list[str] = []
    profiles: list[FirewallProfile] = []
    rules: list[InboundAllowRule] = []
    skip: list[tuple[str, str]] = []
    parsed_ipt: dict[str, tuple[list[FirewallProfile], list[InboundAllowRule]]] = {}
    problems.extend(
        f"{tool} was not reported (the fact script reports every firewall tool, installed or not)"
        for tool in FIREWALL_TOOLS
        if tool not in sections
    )
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
            found = parse_ss(section.stdout, protocol)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if protocol == "TCP" and not found:
            # The auditor reached this host over SSH: its sshd listens, so an empty list is not the truth.
            problems.append("ss lists no listening TCP socket, yet the host answered over SSH")
        listeners.extend(found)
    if problems:
        errors["firewall"] = "; ".join(problems)
        return None
    return HostFirewall(profiles=tuple(profiles), inbound_allow=tuple(rules), listeners=tuple(listeners))


# --- admins and keys ---------------------------------------------------------------------------------


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
    try:
        return linux_admins(*(sections[name].stdout for name in needed))
    except AdminsUnreadable as exc:
        errors["admins"] = str(exc)
        return None


def parse_sshd_t(text: str) -> dict[str, str]:
    """Return `sshd -T` as {keyword: value}; a keyword given several times has its values joined by newlines."""
    config: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            config.setdefault(key.lower(), []).append(value.strip())
    return {key: "\n".join(values) for key, values in config.items()}


# --- everything --------------------------------------------------------------------------------------


def _guarded(
    fact: str,
    builder: Callable[[Mapping[str, Section], dict[str, str]], T],
    sections: Mapping[str, Section],
    errors: dict[str, str],
) -> T | None:
    """Return `builder(sections, errors)`; an exception it did not foresee makes `fact` an error, never a traceback.

    The builders turn every shape they know to be wrong into a section error themselves; this is
    the net under them, so that one malformed output costs that fact only, not the host or the run.
    """
    try:
        return builder(sections, errors)
    except Exception as exc:  # any surprise in one section's output is that section's error
        errors[fact] = (
            f"{fact} could not be read from the fact script's output ({type(exc).__name__}: {str(exc)[:200]})"
        )
        return None


def _sshd_config(sections: Mapping[str, Section], errors: dict[str, str]) -> dict[str, str] | None:
    sshd = sections.get("sshd")
    if sshd is not None and sshd.ok:
        return parse_sshd_t(sshd.stdout)
    errors["sshd_config"] = sshd.failure("sshd -T") if sshd else "sshd -T was not reported"
    return None


def parse_linux(result: CommandResult, host: HostEntry) -> HostFacts:
    """Return the facts in the Linux fact script's output; raise HostOutputError when it is not that.

    Each fact (os, pending updates, volumes, firewall, admins, sshd_config) is read on its own: one
    that cannot be read is None with its reason in `section_errors`, whatever went wrong.
    """
    if result.exit_code != 0:
        detail = " ".join(result.stderr.decode("utf-8", errors="replace").split())[:300]
        raise HostOutputError(
            f"Linux host {host.name}: the fact script exited {result.exit_code}"
            + (f": {detail}" if detail else "")
        )
    sections = split_sections(result.stdout, f"Linux host {host.name}")
    errors: dict[str, str] = {}
    os_facts = _guarded("os", _operating_system, sections, errors) or OperatingSystem(
        family="linux", product="Linux (os-release unreadable)", version=""
    )
    return HostFacts(
        name=host.name,
        address=host.address,
        roles=tuple(host.roles),
        os=os_facts,
        firewall=_guarded("firewall", _firewall, sections, errors),
        admins=_guarded("admins", _admins, sections, errors),
        volumes=_guarded("volumes", _volumes, sections, errors),
        linux_updates=_guarded("linux_updates", _linux_updates, sections, errors),
        sshd_config=_guarded("sshd_config", _sshd_config, sections, errors),
        section_errors=errors,
    )
