"""sudoers as the Linux fact script reduces it on the host, and whom it lets become root.

The fact script (collectors/hosts/linux/gather.sh, `sudoers_specs`) reads /etc/sudoers and every
file it includes (`#include`, `@include`, `#includedir`, `@includedir`, relative paths as sudo
1.9.1+ reads them, `%h`, nested includes) and prints one tab-separated record per fact, so that
only user lists and the rule text the verdict needs leave the host:

    FILE         <path>
    MISSING      <path>                                     an include that does not exist
    USER_ALIAS   <line> <name> <members>                    also RUNAS_ALIAS
    CMND_ALIAS   <line> <name> <command> <args>
    RULE         <line> <users> <hosts> <runas> <tags> <command> <args>    one per command
    DEFAULT      <line> setenv | env_keep_loader            a Defaults line that lets any command load code
    UNREAD       <line> <first word>                        a line the reducer could not read
    NO-SUDOERS                                              sudo is not configured on the host

<runas> is the rule's Runas_Spec as written ("(ALL : ALL)", "(root)", "(:wheel)") or "-" when the
rule names none (sudo then runs the command as root); runas and tags carry over to the following
commands of a rule, as sudo reads them. <args> never holds a command's arguments, which may hold
secrets ("--password=…"): it is "-" (none), '""' (none allowed), "<args>" or "<wildcard-args>" (a
wildcard or regular expression), except for sudoedit, whose arguments are the files it may edit.
A word that is not a name where the grammar wants one (a command that is neither a full path, a
regular expression, an alias, sudoedit nor list; a host list or first word that is not name-like)
arrives as "?". Defaults lines never leave the host: only the two flags that make every command
root-equivalent.

Who counts as an administrator (`root_grants`): whoever a rule lets run, as root, a command that
can become root. Root: runas ALL (also "ALL, !root": it still reaches every other administrator),
root, #0, a Runas_Alias or group holding root, an account with UID 0, a netgroup or non-Unix group
(cannot be resolved), no runas spec at all (sudo's default is root), and any other administrator
of the host (a shell as them is their sudo rights, keys and start-up files); a group-only runas
("(:disk)") counts when the group is ALL or a privileged group. Root-equivalent commands: ALL
(also inside a Cmnd_Alias), every program of the GTFOBins "sudo" class (shells, su/sudo, editors,
pagers, interpreters, file writers, command runners, package managers; `ROOT_EQUIVALENT_PROGRAMS`),
a directory ("/usr/bin/"), a wildcard program name that can match one of them, sudoedit of any
file, of a file that controls the system (`SYSTEM_PATHS`) or with a wildcard, and any command at
all when the rule has SETENV or a Defaults line keeps LD_PRELOAD-style variables or sets setenv.
A rule the parser cannot classify (an undefined Cmnd_Alias, a relative command, a regular
expression, text the host could not split) counts as an administrator grant, its rule quoted.
Negations never take anything back: sudo's own manual warns that "ALL, !/bin/sh" is no
restriction, and a negated command is no grant. Host lists are not judged: a rule for any host
counts on every host.

Why one module of ~600 lines: the reduced records, the accounts and the root-equivalence rules are
one reading of sudo's grammar (a rule's runas, tags and commands are judged against the aliases
and accounts parsed beside them); split, each half would only make sense with the other open.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from collectors.hosts.facts import AdminGrant

# --- what makes a command root-equivalent ---------------------------------------------------------


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


ROOT_EQUIVALENT_PROGRAMS: Mapping[str, frozenset[str]] = {
    "a shell": _names(
        "sh bash dash zsh ksh ksh93 mksh pdksh csh tcsh fish ash rbash rzsh yash posh elvish nu xonsh "
        "busybox tmux screen script expect byobu dtach"
    ),
    "a way to become another user": _names(
        "su sudo sudoedit doas pkexec runuser login setpriv chroot nsenter unshare capsh machinectl "
        "systemd-run run0 newgrp sg"
    ),
    "an editor": _names(
        "vi vim vim.basic vim.tiny vim.nox vim.gtk3 view rvim rview nvim ex ed red nano rnano pico emacs "
        "emacs-nox joe jmacs jpico jstar rjoe mg jed micro kak hx helix sensible-editor editor vipw vigr "
        "visudo crontab"
    ),
    "a pager or a program that opens one": _names("less more most pg man journalctl systemctl dmesg git"),
    "an interpreter": _names(
        "python pypy perl ruby irb php php-cgi lua luajit node nodejs deno bun tclsh wish jjs jrunscript "
        "Rscript R octave guile julia gdb awk gawk mawk nawk dc bc gimp"
    ),
    "a program that runs other programs": _names(
        "env nice ionice nohup timeout stdbuf taskset time xargs strace ltrace watch flock setarch chrt "
        "start-stop-daemon run-parts parallel rlwrap socat nc ncat netcat openvt firejail bwrap valgrind "
        "perf find make cmake ninja service at batch ssh scp sftp ftp tcpdump nmap ansible "
        "ansible-playbook puppet salt-call terraform ip"
    ),
    "a program that writes any file": _names(
        "cp mv tee dd install rsync tar cpio zip unzip 7z ln chmod chown chgrp chattr setfacl sed patch "
        "truncate curl wget openssl mount umount losetup debugfs"
    ),
    "a package manager": _names(
        "apt apt-get aptitude dpkg yum dnf rpm zypper pacman snap pip pip3 gem npm yarn cargo composer "
        "easy_install"
    ),
    "an account or kernel administration tool": _names(
        "passwd chpasswd usermod useradd adduser userdel gpasswd groupmod groupadd addgroup chage chsh "
        "chfn modprobe insmod rmmod kexec sysctl iptables ip6tables nft docker podman lxc lxd kubectl "
        "ctr crictl"
    ),
}
"""Programs that, run as root, give a root shell or write any file: the GTFOBins "sudo" class
(https://gtfobins.github.io/#+sudo), taken generously. Arguments are not judged: "less
/var/log/syslog" still opens a shell with "!sh"."""

VERSIONED = re.compile(
    r"^(?P<base>python|pypy|perl|ruby|irb|php|lua|luajit|node|nodejs|tclsh|wish|julia|guile|gawk|pip)"
    r"[-.]?\d[\d.]*(?:[-.][a-z]+)?$"
)
"""Versioned interpreter names: python3.11, perl5.36.0, ruby3.1, php8.2, lua5.4, tclsh8.6, pip3.11."""

_VERSION_SAMPLES = ("2", "3", "5", "2.7", "3.11", "5.36", "8.2")

SYSTEM_PATHS = (
    "/etc/", "/root/", "/boot/", "/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/",
    "/opt/", "/var/spool/cron/", "/var/lib/", "/dev/", "/proc/", "/sys/", "/run/",
)  # fmt: skip
"""Files under these directories control the system (sudoers, passwd, cron, systemd units, binaries,
libraries, devices): editing any of them as root is root. /etc is the case the issue names."""
USER_STARTUP_FILES = frozenset(
    {".ssh", ".bashrc", ".profile", ".bash_profile", ".bash_login", ".zshrc", ".zprofile", ".pam_environment"}
)
"""A path through any of these (another user's keys or shell start-up) logs in as, or runs code as, that user."""

PRIVILEGED_GROUPS = frozenset({"root", "disk", "shadow", "sudo", "wheel", "admin", "docker", "lxd", "kmem"})
"""Groups whose membership is root-equivalent (raw disks, password hashes, sudo, container daemons)."""

TAG_NAMES = re.compile(r"^(NO)?(PASSWD|EXEC|SETENV|LOG_INPUT|LOG_OUTPUT|MAIL|FOLLOW|INTERCEPT)$")
ALIAS_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
UNREADABLE = "<unreadable>"
"""The command the host prints for a rule whose commands it could not split."""
WILDCARD = re.compile(r"[*?\[]")


class SudoersFormatError(ValueError):
    """The reduced sudoers output is not what the fact script prints."""


# --- the reduced records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SudoCommand:
    """One command of a rule or Cmnd_Alias, reduced on the host."""

    command: str
    """"/bin/bash", "ALL", "SHELLS" (an alias), "sudoedit", "!/bin/su" (negated)."""
    args: str
    """"-", '""', "<args>", "<wildcard-args>", or the files of sudoedit."""

    def text(self) -> str:
        """Return the command as the rule quotes it."""
        return self.command if self.args == "-" else f"{self.command} {self.args}"


@dataclass(frozen=True)
class SudoRule:
    """One command of one user specification line."""

    source: str
    """"/etc/sudoers line 24"."""
    users: tuple[str, ...]
    hosts: str
    runas: str | None
    """The Runas_Spec as written ("(ALL : ALL)"), or None when the rule names none (root)."""
    tags: tuple[str, ...]
    command: SudoCommand


@dataclass
class ReducedSudoers:
    """Everything the fact script kept of sudoers."""

    configured: bool = True
    files: list[str] = field(default_factory=list)
    rules: list[SudoRule] = field(default_factory=list)
    user_aliases: dict[str, list[str]] = field(default_factory=dict)
    runas_aliases: dict[str, list[str]] = field(default_factory=dict)
    cmnd_aliases: dict[str, list[SudoCommand]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    """Flag ("setenv", "env_keep_loader") -> where it is set."""
    unreadable: list[str] = field(default_factory=list)


def _line(value: str, record: str) -> int:
    if not value.isdigit():
        raise SudoersFormatError(f"{record} record has line number {value[:20]!r}")
    return int(value)


def parse_reduced_sudoers(text: str) -> ReducedSudoers:
    """Return the records of the fact script's sudoers section; raise SudoersFormatError on anything else.

    Records of an older fact script (`SPEC <users> ALL|SOME`, without the commands) are refused: a
    rule that only says "not ALL" cannot be classified.
    """
    reduced = ReducedSudoers()
    current = "(no file)"
    lines = [line for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        kind = fields[0]
        expected = {"FILE": 2, "MISSING": 2, "USER_ALIAS": 4, "RUNAS_ALIAS": 4, "CMND_ALIAS": 5,
                    "RULE": 8, "DEFAULT": 3, "UNREAD": 3, "NO-SUDOERS": 1}  # fmt: skip
        if kind == "SPEC":
            raise SudoersFormatError(
                "it was reduced by an older fact script that kept no commands (SPEC records): "
                "root-equivalent grants cannot be told; collect the host again"
            )
        if kind not in expected:
            raise SudoersFormatError(f"unexpected record {line[:60]!r} (record {number})")
        if len(fields) != expected[kind]:
            raise SudoersFormatError(
                f"{kind} record {number} has {len(fields)} fields, expected {expected[kind]}"
            )
        if kind == "NO-SUDOERS":
            if len(lines) != 1:
                raise SudoersFormatError("NO-SUDOERS comes with other records")
            reduced.configured = False
        elif kind == "FILE":
            current = fields[1]
            reduced.files.append(current)
        elif kind == "MISSING":
            continue
        elif kind in ("USER_ALIAS", "RUNAS_ALIAS"):
            _line(fields[1], kind)
            table = reduced.user_aliases if kind == "USER_ALIAS" else reduced.runas_aliases
            table.setdefault(fields[2], []).extend(m for m in fields[3].split(",") if m.strip())
        elif kind == "CMND_ALIAS":
            _line(fields[1], kind)
            reduced.cmnd_aliases.setdefault(fields[2], []).append(SudoCommand(fields[3], fields[4]))
        elif kind == "RULE":
            _, lineno, users, hosts, runas, tags, command, args = fields
            where = f"{current} line {_line(lineno, kind)}"
            if not users.strip():
                raise SudoersFormatError(f"the rule at {where} names no user")
            reduced.rules.append(
                SudoRule(
                    source=where,
                    users=tuple(u for u in users.split(",") if u.strip()),
                    hosts=hosts,
                    runas=None if runas == "-" else runas,
                    tags=tuple(tags.split()),
                    command=SudoCommand(command, args),
                )
            )
        elif kind == "DEFAULT":
            where = f"{current} line {_line(fields[1], kind)}"
            if fields[2] not in ("setenv", "env_keep_loader"):
                raise SudoersFormatError(f"unknown Defaults flag {fields[2][:30]!r} at {where}")
            reduced.defaults.setdefault(fields[2], where)
        elif kind == "UNREAD":
            reduced.unreadable.append(f"{current} line {_line(fields[1], kind)} (starts {fields[2]!r})")
    if reduced.configured and not reduced.files:
        raise SudoersFormatError("no sudoers file was reported")
    return reduced


# --- the accounts of the host -----------------------------------------------------------------------


@dataclass(frozen=True)
class Accounts:
    """The host's users and groups, as `getent passwd` and `getent group` list them."""

    uids: Mapping[str, str]
    """User name -> UID."""
    primary_gids: Mapping[str, str]
    """User name -> primary GID."""
    group_members: Mapping[str, frozenset[str]]
    """Group name -> supplementary members."""
    group_gids: Mapping[str, str]
    """Group name -> GID."""

    def group_of_gid(self, gid: str) -> str | None:
        """Return the name of the group with `gid`, or None."""
        return next((name for name, number in self.group_gids.items() if number == gid), None)

    def members_of(self, group: str) -> frozenset[str] | None:
        """Return every member of a group (supplementary and primary), or None when the host has no such group."""
        if group not in self.group_members:
            return None
        gid = self.group_gids.get(group)
        primary = {user for user, number in self.primary_gids.items() if gid is not None and number == gid}
        return self.group_members[group] | primary

    def user_of_uid(self, uid: str) -> str | None:
        """Return the first account with `uid`, or None."""
        return next((name for name, number in self.uids.items() if number == uid), None)


# --- who a rule lets run commands -------------------------------------------------------------------


def expand_users(
    items: Iterable[str],
    aliases: Mapping[str, list[str]],
    accounts: Accounts,
    seen: frozenset[str] = frozenset(),
) -> set[str]:
    """Return the accounts a sudoers User_List names, as the control reports them.

    Aliases and groups (%name, %#gid) are expanded; #uid becomes the account's name; "ALL" stays
    "ALL" (every user); a group the host does not list, a non-Unix group (%:name) or a netgroup
    (+name) stays as written, so it is shown and never authorised by accident. Negated entries are
    not subtracted (a rule is taken as broadly as it can be read).
    """
    found: set[str] = set()
    for raw in items:
        item = raw.strip().strip('"')
        if not item or item.startswith("!"):
            continue
        if item in aliases and item not in seen:
            found |= expand_users(aliases[item], aliases, accounts, seen | {item})
        elif item.startswith("%") and not item.startswith("%:"):
            group = item[1:]
            if group.startswith("#"):
                group = accounts.group_of_gid(group[1:]) or group
            members = accounts.members_of(group)
            found |= set(members) if members is not None else {item}
        elif item.startswith("#") and item[1:].isdigit():
            found.add(accounts.user_of_uid(item[1:]) or item)
        else:
            found.add(item)
    return found


def _split_runas(runas: str) -> tuple[list[str], list[str]] | None:
    text = runas.strip()
    if not (text.startswith("(") and text.endswith(")")):
        return None
    inner = text[1:-1]
    users, _, groups = inner.partition(":")
    return [u.strip() for u in users.split(",") if u.strip()], [
        g.strip() for g in groups.split(",") if g.strip()
    ]


def _runas_user_is_root(
    item: str, sudoers: ReducedSudoers, accounts: Accounts, admins: frozenset[str], seen: frozenset[str]
) -> str | None:
    name = item.strip().strip('"')
    if name.startswith("!") or not name:
        return None
    if name == "ALL":
        return "as any user"
    if name in sudoers.runas_aliases and name not in seen:
        for member in sudoers.runas_aliases[name]:
            why = _runas_user_is_root(member, sudoers, accounts, admins, seen | {name})
            if why:
                return f"{why} (Runas_Alias {name})"
        return None
    if name in ("root", "#0"):
        return "as root"
    if name.startswith("#") and name[1:].isdigit():
        return None
    if name.startswith(("%:", "+")):
        return f"as any member of {name}, which cannot be resolved on the host"
    if name.startswith("%"):
        group = name[1:]
        if group.startswith("#"):
            group = accounts.group_of_gid(group[1:]) or group
        members = accounts.members_of(group)
        if members is None:
            return f"as any member of {name}, a group the host does not list"
        root_accounts = [m for m in sorted(members) if accounts.uids.get(m) == "0"]
        if root_accounts:
            return f"as {root_accounts[0]} (a member of {name})"
        administrators = sorted(members & admins)
        return (
            f"as {administrators[0]} (a member of {name}), an administrator of the host"
            if administrators
            else None
        )
    if accounts.uids.get(name) == "0":
        return f"as {name} (UID 0)"
    if name in admins:
        return f"as {name}, an administrator of the host"
    return None


def _runas_group_is_privileged(item: str, sudoers: ReducedSudoers, seen: frozenset[str]) -> str | None:
    name = item.strip().strip('"')
    if name.startswith("!") or not name:
        return None
    if name == "ALL":
        return "with any group (root, disk, shadow, ...)"
    if name in sudoers.runas_aliases and name not in seen:
        for member in sudoers.runas_aliases[name]:
            why = _runas_group_is_privileged(member, sudoers, seen | {name})
            if why:
                return why
        return None
    if name in PRIVILEGED_GROUPS or name == "#0":
        return f"with group {name}"
    return None


def runas_reaches_root(
    runas: str | None, sudoers: ReducedSudoers, accounts: Accounts, admins: frozenset[str] = frozenset()
) -> str | None:
    """Return how a Runas_Spec lets a command run as root (or with a root-equivalent group), else None.

    No spec at all means root (sudo's runas_default); "()" means the invoking user only. A spec that
    cannot be read is taken as root. Running a shell as one of `admins` (the host's other
    administrators) is as good as root: their sudo rights, keys and start-up files are then yours.
    """
    if runas is None:
        return "as root (no runas given: sudo's default)"
    parts = _split_runas(runas)
    if parts is None:
        return f"runas {runas!r} cannot be read, so it is taken as root"
    users, groups = parts
    if users:
        if "ALL" in users and any(
            u.lstrip("!").strip() in ("root", "#0") for u in users if u.startswith("!")
        ):
            return "as any user but root, which includes every other administrator of the host"
        for item in users:
            why = _runas_user_is_root(item, sudoers, accounts, admins, frozenset())
            if why:
                return why
        return None
    for item in groups:
        why = _runas_group_is_privileged(item, sudoers, frozenset())
        if why:
            return why
    return None


# --- what a command lets its runner do ----------------------------------------------------------------


def program_kind(name: str) -> str | None:
    """Return what kind of root-equivalent program `name` (a basename) is, or None."""
    base = name
    versioned = VERSIONED.match(name)
    if versioned:
        base = versioned.group("base")
    for kind, names in ROOT_EQUIVALENT_PROGRAMS.items():
        if name in names or base in names:
            return kind
    return None


def _pattern_reaches(pattern: str) -> list[str]:
    matched = []
    for names in ROOT_EQUIVALENT_PROGRAMS.values():
        for name in sorted(names):
            samples = [name, *(name + v for v in _VERSION_SAMPLES)] if VERSIONED.match(name + "3") else [name]
            if any(fnmatch.fnmatchcase(sample, pattern) for sample in samples):
                matched.append(name)
    return matched


def edit_reaches_root(path: str) -> str | None:
    """Return why sudoedit of `path` (a file or a pattern) is root-equivalent, or None."""
    if not path.startswith("/"):
        return f"sudoedit of {path!r}, not a full path, cannot be classified"
    if WILDCARD.search(path):
        return f"sudoedit of {path}: a wildcard in sudoedit's arguments also matches '/' and '..', so it can reach any file"
    if ".." in path.split("/"):
        return f"sudoedit of {path}: '..' reaches outside the directory"
    if path in ("/etc/sudoers",) or path.startswith("/etc/sudoers.d/"):
        return f"sudoedit of {path}: sudoers itself"
    if any(path.startswith(prefix) or path == prefix.rstrip("/") for prefix in SYSTEM_PATHS):
        return f"sudoedit of {path}: a file that controls the system"
    if USER_STARTUP_FILES & set(path.split("/")):
        return f"sudoedit of {path}: another user's keys or start-up file"
    return None


@dataclass(frozen=True)
class CommandVerdict:
    """Whether one command is root-equivalent, and why."""

    reason: str | None
    """Why it is root-equivalent; None when it is not."""
    unclassified: bool = False
    """True when the parser could not classify it (it then counts as root-equivalent)."""


def command_verdict(
    command: SudoCommand,
    sudoers: ReducedSudoers,
    tags: tuple[str, ...] = (),
    seen: frozenset[str] = frozenset(),
) -> CommandVerdict:
    """Return whether running `command` as root is root-equivalent.

    A negated command is no grant. Any command at all is root-equivalent when the rule has the
    SETENV tag or a Defaults line keeps loader variables or sets setenv (LD_PRELOAD runs code in it).
    """
    name = command.command.strip()
    if name.startswith("!"):
        return CommandVerdict(None)
    if "SETENV" in tags:
        return CommandVerdict(f"{command.text()} with SETENV (the caller's LD_PRELOAD loads code into it)")
    if sudoers.defaults:
        flag, where = sorted(sudoers.defaults.items())[0]
        what = "sets setenv" if flag == "setenv" else "keeps LD_PRELOAD-style variables (env_keep)"
        return CommandVerdict(
            f"{command.text()} while Defaults at {where} {what} (the caller's LD_PRELOAD loads code into it)"
        )
    if name == UNREADABLE:
        return CommandVerdict("the fact script could not split this rule's commands", unclassified=True)
    if name == "ALL":
        return CommandVerdict("ALL commands")
    if name == "list":
        return CommandVerdict(None)
    if name == "sudoedit":
        if command.args == "-":
            return CommandVerdict("sudoedit of any file")
        reasons = [why for path in command.args.split() if (why := edit_reaches_root(path))]
        if reasons:
            return CommandVerdict(
                "; ".join(reasons), unclassified=any("cannot be classified" in r for r in reasons)
            )
        return CommandVerdict(None)
    if ALIAS_NAME.match(name):
        if name not in sudoers.cmnd_aliases:
            return CommandVerdict(
                f"{name} is neither a command nor a Cmnd_Alias defined in sudoers", unclassified=True
            )
        if name in seen:
            return CommandVerdict(None)
        for member in sudoers.cmnd_aliases[name]:
            verdict = command_verdict(member, sudoers, tags, seen | {name})
            if verdict.reason:
                return CommandVerdict(f"{verdict.reason} (in Cmnd_Alias {name})", verdict.unclassified)
        return CommandVerdict(None)
    if name.startswith("^"):
        return CommandVerdict(f"the regular expression {name} cannot be classified", unclassified=True)
    if not name.startswith("/"):
        return CommandVerdict(
            f"{name!r} is not a full path, ALL, sudoedit or a Cmnd_Alias, so it cannot be classified",
            unclassified=True,
        )
    if name.endswith("/"):
        return CommandVerdict(f"every program in the directory {name}")
    program = name.rsplit("/", 1)[1]
    if WILDCARD.search(program):
        reached = _pattern_reaches(program)
        if reached:
            shown = ", ".join(reached[:6]) + (" and more" if len(reached) > 6 else "")
            return CommandVerdict(f"{name} matches {shown}")
        return CommandVerdict(None)
    kind = program_kind(program)
    return CommandVerdict(f"{name}: {kind}" if kind else None)


# --- the grants -----------------------------------------------------------------------------------


def rule_text(rules: list[SudoRule]) -> str:
    """Return the reduced rule as sudoers would read it: "bob ALL = (ALL) NOPASSWD: /bin/bash, ..."."""
    first = rules[0]
    parts: list[str] = []
    runas: str | None = None
    tags: tuple[str, ...] = ()
    for rule in rules:
        prefix = []
        if rule.runas is not None and rule.runas != runas:
            prefix.append(rule.runas)
        if rule.tags != tags and rule.tags:
            prefix.append(" ".join(f"{t}:" for t in rule.tags))
        runas, tags = rule.runas, rule.tags
        parts.append(" ".join([*prefix, rule.command.text()]))
    return f"{','.join(first.users)} {first.hosts} = " + ", ".join(parts)


def root_grants(
    sudoers: ReducedSudoers, accounts: Accounts, admins: frozenset[str] = frozenset()
) -> list[AdminGrant]:
    """Return a grant for every sudoers line that lets its users become root, with the users expanded.

    `admins` are accounts already known to administer the host: a rule that runs a root-equivalent
    command as one of them counts too (call again with the grown set until it no longer grows).
    """
    by_line: dict[tuple[str, tuple[str, ...]], list[SudoRule]] = {}
    for rule in sudoers.rules:
        by_line.setdefault((rule.source, rule.users), []).append(rule)
    grants: list[AdminGrant] = []
    for (source, users), rules in by_line.items():
        reasons: list[str] = []
        unclassified = False
        for rule in rules:
            verdict = command_verdict(rule.command, sudoers, rule.tags)
            if verdict.reason is None:
                continue
            how = runas_reaches_root(rule.runas, sudoers, accounts, admins)
            if how is None:
                continue
            reasons.append(f"runs {verdict.reason} {how}")
            unclassified = unclassified or verdict.unclassified
        if not reasons:
            continue
        members = expand_users(users, sudoers.user_aliases, accounts)
        grants.append(
            AdminGrant(
                members=tuple(sorted(members)),
                source=f"sudoers {source}",
                rule=rule_text(rules),
                reason=("cannot be classified, so counted as root: " if unclassified else "")
                + "; ".join(dict.fromkeys(reasons)),
            )
        )
    return grants
