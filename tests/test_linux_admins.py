"""Linux administrators (12c.host-admins): sudoers reduced on the host by the real fact script, classified
by collectors/hosts/linux/sudoers.py, and judged; plus accounts with UID 0 (issue 12, case 1.4).

The sudoers fixtures are under tests/fixtures/linux/sudoers/root-equivalent: a main file with
Defaults (one holding a secret), aliases, line continuations, negations, wildcards and sudoedit,
a relative `#include`, `@includedir` and `#includedir`, a nested `@include` inside an included
file, and files sudo skips. Its passwd and group files are served by a stand-in `getent` (bin/),
so the script also finds a second UID 0 account. The reduction always runs for real (sh and awk
on this machine, once through a real sshd); the classifier is also tested on literal records.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.config.inventory import HostEntry
from collectors.config.policy import Policy
from collectors.hosts.commands import CommandResult
from collectors.hosts.facts import HostAdmins, HostFacts, OperatingSystem
from collectors.hosts.linux.admins import AdminsUnreadable, linux_admins, parse_passwd
from collectors.hosts.linux.command import LINUX_SCRIPT, linux_command
from collectors.hosts.linux.parse import parse_linux
from collectors.hosts.linux.sections import split_sections
from collectors.hosts.linux.sudoers import (
    Accounts,
    SudoCommand,
    SudoersFormatError,
    command_verdict,
    edit_reaches_root,
    parse_reduced_sudoers,
    program_kind,
    root_grants,
    runas_reaches_root,
)
from collectors.hosts.ssh import open_session
from collectors.messages import english_text
from controls import test_12c_authorised_access as c12c
from controls.framework import Verdict
from demo.standins.sshd_server import HostBehaviour, SshdServer
from tests.control_calls import verdict, verdict_and_evidence

FIXTURE = Path(__file__).parent / "fixtures" / "linux" / "sudoers" / "root-equivalent"
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOST = HostEntry(name="lin-07", address="127.0.0.1", user="auditor", os="linux")

ADMINS = {
    "alice": "group sudo",
    "toor": "UID 0",
    "bob": "/bin/bash: a shell",
    "carol": "(in Cmnd_Alias SHELLS)",
    "dave": "sudoedit of /etc/sudoers: sudoers itself",
    "erin": "/usr/bin/vim: an editor",
    "uma": "/usr/bin/vim: an editor",
    "grace": "/usr/bin/python3.11: an interpreter as root (no runas given",
    "frank": "ALL commands (in Cmnd_Alias EVERYTHING)",
    "judy": "ALL commands",
    "leo": "/usr/bin/* matches",
    "nina": "sudoedit of /etc/nginx/sites-available/*",
    "peggy": "/usr/bin/less: a pager",
    "quentin": "/usr/bin/less: a pager",
    "ivan": "as any user but root, which includes every other administrator",
    "tom": "/usr/bin/find: a program that runs other programs",
    "+netops": "as root",
    "rupert": "/usr/bin/env: a program that runs other programs",
}
"""Every administrator the fixture makes, and a piece of why."""
NOT_ADMINS = ("root", "heidi", "ken", "mallory", "oscar", "nagios", "sam", "mallet", "app", "operator")
"""A shell as a service account, limited or negated commands, sudoedit outside /etc, a group-only runas
with a harmless program, files sudo skips; root is the superuser and is never listed."""


def _script(main: Path, tools: Path) -> str:
    script = LINUX_SCRIPT.replace("SUDOERS=/etc/sudoers\n", f"SUDOERS={main}\n")
    script = script.replace(f"PATH={SBIN_PATH}\n", f"PATH={tools}:{SBIN_PATH}\n")
    assert script.count(str(main)) == 1
    assert script.count(str(tools)) == 1
    return script


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixture (git does not keep every mode) with a quiet `apt` beside the stand-in getent."""
    root = tmp_path_factory.mktemp("sudoers") / "root-equivalent"
    shutil.copytree(FIXTURE, root)
    (root / "bin" / "getent").chmod(0o755)
    apt = root / "bin" / "apt"
    apt.write_text("#!/bin/sh\necho Listing...\n")
    apt.chmod(0o755)
    return root


@pytest.fixture(scope="module")
def local_result(estate: Path) -> CommandResult:
    """The real fact script, run by sh on this machine with the fixture's sudoers and accounts."""
    done = subprocess.run(
        ["sh", "-s"],
        input=_script(estate / "sudoers", estate / "bin").encode(),
        capture_output=True,
        timeout=60,
    )
    return CommandResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def reduced_text(local_result: CommandResult) -> str:
    section = split_sections(local_result.stdout, "x")["sudoers"]
    assert section.ok, section.stderr
    return section.stdout


@pytest.fixture(scope="module")
def admins(local_result: CommandResult) -> HostAdmins:
    facts = parse_linux(local_result, HOST)
    assert facts.admins is not None, facts.section_errors
    return facts.admins


def _why(admins: HostAdmins, member: str) -> str:
    return " | ".join(f"{g.source}: {g.reason}" for g in admins.grants if member in g.members)


# --- the reduction on the host ----------------------------------------------------------------------


def test_defaults_and_command_arguments_never_leave_the_host(reduced_text: str) -> None:
    for secret in ("defaults-secret-7f3a", "cmnd-alias-secret-9c1d", "secure_path", "manage.py", "app.conf"):
        assert secret not in reduced_text
    assert "web01" not in reduced_text, "Host_Alias definitions are not needed"
    assert "RULE\t24\tbob\tALL\t(ALL)\tNOPASSWD\t/bin/bash\t-" in reduced_text
    assert "RULE\t31\tgrace\tALL\t-\t\t/usr/bin/python3.11\t<wildcard-args>" in reduced_text
    assert "RULE\t26\tdave\tALL\t(ALL)\t\tsudoedit\t/etc/sudoers" in reduced_text, "sudoedit keeps its files"


def test_includes_are_followed_as_sudo_reads_them(estate: Path, reduced_text: str) -> None:
    files = [line.split("\t")[1] for line in reduced_text.splitlines() if line.startswith("FILE\t")]
    assert files == [
        f"{estate}/sudoers",
        f"{estate}/sudoers.local",
        f"{estate}/sudoers.d/10-deploy",
        f"{estate}/sudoers.d/../sudoers.nested",
        f"{estate}/ops.d/20-dba",
    ], (
        "relative #include, @includedir, the @include inside an included file, #includedir; never 99-disabled.conf or backup~"
    )


def test_continuation_lines_and_runas_and_tags_carry_over(reduced_text: str) -> None:
    assert "RULE\t41\tpeggy,quentin\tALL\t(root)\t\t/usr/bin/less\t<args>" in reduced_text
    assert "RULE\t49\theidi\tALL\t(root)\tNOPASSWD\tAPPLOGS\t-" in reduced_text
    assert "RULE\t49\theidi\tALL\t(APPUSER)\t\t/bin/bash\t-" in reduced_text


# --- who is an administrator ------------------------------------------------------------------------


@pytest.mark.parametrize(("member", "why"), sorted(ADMINS.items()))
def test_root_equivalent_grants_make_administrators(admins: HostAdmins, member: str, why: str) -> None:
    assert member in admins.members
    assert why in _why(admins, member)


@pytest.mark.parametrize("account", NOT_ADMINS)
def test_grants_that_cannot_become_root_do_not(admins: HostAdmins, account: str) -> None:
    assert account not in admins.members, _why(admins, account)


def test_the_issue_grants_are_administrators_and_the_host_fails() -> None:
    records = "\n".join(
        [
            "FILE\t/etc/sudoers",
            "CMND_ALIAS\t3\tSHELLS\t/bin/sh\t-",
            "CMND_ALIAS\t3\tSHELLS\t/usr/bin/su\t-",
            "RULE\t5\tbob\tALL\t(ALL)\tNOPASSWD\t/bin/bash\t-",
            "RULE\t6\tcarol\tALL\t(root)\t\tSHELLS\t-",
            "RULE\t7\tdave\tALL\t(ALL)\t\tsudoedit\t/etc/sudoers",
        ]
    )
    admins = linux_admins("root:0:0\nbob:1001:1001\n", "root:0:\nsudo:27:\n", "sudo:x:27:\n", records, "")
    assert admins.members == ("bob", "carol", "dave")
    result, evidence = verdict_and_evidence(
        c12c.test_host_is_administered_only_by_authorised_people,
        _linux(admins),
        policy=Policy(authorized_admins=["alice"], authorized_ssh_keys=[]),
    )
    assert result == Verdict(
        "fail", "host lin-07: administrators bob, carol, dave: not in policy.authorized_admins"
    )
    grants = evidence.observations["administrator_grants"]
    assert {
        "members": ["bob"],
        "source": "sudoers /etc/sudoers line 5",
        "rule": "bob ALL = (ALL) NOPASSWD: /bin/bash",
        "why": "runs /bin/bash: a shell as any user",
    } in grants


def test_a_second_uid_0_account_is_an_administrator() -> None:
    admins = linux_admins("root:0:0\ntoor:0:0\n", "root:0:\n", "", "NO-SUDOERS\n", "")
    assert admins.members == ("toor",)
    assert admins.grants[0].reason == "UID 0: the superuser"


def test_passwd_without_uids_from_an_older_script_is_unreadable() -> None:
    with pytest.raises(AdminsUnreadable, match="without the UID"):
        parse_passwd("root:0\nbob:1001\n")


@pytest.mark.parametrize(
    ("passwd", "groups", "admin_groups", "message"),
    [
        ("root:x:0\n", "root:0:\n", "", "passwd line 1 is not name:uid:gid"),
        ("", "root:0:\n", "", "passwd lists no account"),
        ("root:0:0\n", "root\n", "", "getent group line 1 is not a group entry"),
        ("root:0:0\n", "root:zero:\n", "", "no group name or numeric GID"),
        ("root:0:0\n", "", "", "getent group lists no group"),
        ("root:0:0\n", "root:0:\n", "sudo:27\n", "getent group sudo wheel admin line 1"),
    ],
)
def test_accounts_that_cannot_be_read_make_admins_unreadable(
    passwd: str, groups: str, admin_groups: str, message: str
) -> None:
    with pytest.raises(AdminsUnreadable, match=message):
        linux_admins(passwd, groups, admin_groups, "NO-SUDOERS\n", "")


def test_authorized_keys_record_of_an_unknown_shape_is_unreadable() -> None:
    with pytest.raises(AdminsUnreadable, match="authorized_keys record 2"):
        linux_admins(
            "root:0:0\n", "root:0:\n", "", "NO-SUDOERS\n", "PATTERNS\t.ssh/authorized_keys\nKEY\troot\n"
        )


# --- the classifier on literal records ----------------------------------------------------------------

ACCOUNTS = Accounts(
    uids={"root": "0", "toor": "0", "alice": "1000", "op": "37"},
    primary_gids={"root": "0", "toor": "0", "alice": "1000", "op": "37"},
    group_members={"root": frozenset(), "wheel": frozenset({"root"}), "staff": frozenset({"alice"})},
    group_gids={"root": "0", "wheel": "10", "staff": "50"},
)


def _sudoers(*records: str) -> str:
    return "\n".join(["FILE\t/etc/sudoers", *records]) + "\n"


def _grants(*records: str) -> list[str]:
    return [
        f"{','.join(g.members)}: {g.reason}"
        for g in root_grants(parse_reduced_sudoers(_sudoers(*records)), ACCOUNTS)
    ]


@pytest.mark.parametrize(
    ("runas", "reaches"),
    [
        (None, "as root (no runas given: sudo's default)"),
        ("(ALL)", "as any user"),
        ("(ALL : ALL)", "as any user"),
        ("(root)", "as root"),
        ("(#0)", "as root"),
        ("(toor)", "as toor (UID 0)"),
        ("(%wheel)", "as root (a member of %wheel)"),
        ("(%#10)", "as root (a member of %#10)"),
        ("(%nosuchgroup)", "a group the host does not list"),
        ("(+netgroup)", "cannot be resolved"),
        ("(ALL, !root)", "as any user but root"),
        ("(:ALL)", "with any group"),
        ("(:disk)", "with group disk"),
        ("(ALL", "cannot be read"),
        ("(op)", None),
        ("(%staff)", None),
        ("(:staff)", None),
        ("()", None),
    ],
)
def test_runas_specs_that_reach_root(runas: str | None, reaches: str | None) -> None:
    found = runas_reaches_root(runas, parse_reduced_sudoers(_sudoers()), ACCOUNTS)
    if reaches is None:
        assert found is None
    else:
        assert found is not None
        assert reaches in found


def test_runas_alias_holding_root_reaches_root() -> None:
    sudoers = parse_reduced_sudoers(_sudoers("RUNAS_ALIAS\t2\tOPS\top,root", "RUNAS_ALIAS\t3\tAPP\top"))
    assert runas_reaches_root("(OPS)", sudoers, ACCOUNTS) == "as root (Runas_Alias OPS)"
    assert runas_reaches_root("(APP)", sudoers, ACCOUNTS) is None


@pytest.mark.parametrize(
    ("program", "kind"),
    [
        ("bash", "a shell"),
        ("su", "a way to become another user"),
        ("sudo", "a way to become another user"),
        ("vim.basic", "an editor"),
        ("nano", "an editor"),
        ("less", "a pager or a program that opens one"),
        ("python3.11", "an interpreter"),
        ("perl5.36.0", "an interpreter"),
        ("ruby3.1", "an interpreter"),
        ("awk", "an interpreter"),
        ("env", "a program that runs other programs"),
        ("tee", "a program that writes any file"),
        ("dd", "a program that writes any file"),
        ("chown", "a program that writes any file"),
        ("apt-get", "a package manager"),
        ("pg_dump", None),
        ("check_raid", None),
        ("python-is-not-a-version", None),
    ],
)
def test_program_kinds(program: str, kind: str | None) -> None:
    assert program_kind(program) == kind


@pytest.mark.parametrize(
    ("command", "args", "root"),
    [
        ("/usr/bin/*", "-", True),
        ("/usr/bin/py*", "-", True),
        ("/usr/bin/[bd]ash", "-", True),
        ("/opt/*/bin/python", "-", True),
        ("/usr/local/bin/", "-", True),
        ("/usr/local/sbin/rotate-*", "<args>", False),
        ("/usr/bin/systemctl", "<args>", True),
        ("/usr/bin/id", "<wildcard-args>", False),
        ("ALL", "-", True),
        ("!/bin/sh", "-", False),
        ("!ALL", "-", False),
        ("list", "-", False),
        ("sudoedit", "-", True),
    ],
)
def test_commands_that_reach_root(command: str, args: str, root: bool) -> None:
    verdict_ = command_verdict(SudoCommand(command, args), parse_reduced_sudoers(_sudoers()))
    assert (verdict_.reason is not None) is root, verdict_.reason
    assert not verdict_.unclassified


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/sudoers", "sudoers itself"),
        ("/etc/sudoers.d/ops", "sudoers itself"),
        ("/etc/hosts", "a file that controls the system"),
        ("/root/.bashrc", "a file that controls the system"),
        ("/usr/local/bin/deploy", "a file that controls the system"),
        ("/home/alice/.ssh/authorized_keys", "another user's keys or start-up file"),
        ("/srv/www/*", "a wildcard in sudoedit's arguments"),
        ("/srv/www/../../etc/shadow", "'..' reaches outside"),
        ("srv/www/index.html", "not a full path"),
        ("/srv/www/index.html", None),
        ("/var/www/html/index.html", None),
    ],
)
def test_sudoedit_files_that_reach_root(path: str, why: str | None) -> None:
    found = edit_reaches_root(path)
    if why is None:
        assert found is None
    else:
        assert found is not None
        assert why in found


@pytest.mark.parametrize(
    "record",
    [
        "RULE\t9\tbob\tALL\t(root)\t\tUNDEFINED_ALIAS\t-",
        "RULE\t9\tbob\tALL\t(root)\t\tbin/bash\t-",
        "RULE\t9\tbob\tALL\t(root)\t\t^/usr/bin/(ba)?sh$\t-",
        "RULE\t9\tbob\tALL\t-\t\t<unreadable>\t-",
        "RULE\t9\tbob\tALL\t(root)\t\tsudoedit\trelative/file",
    ],
)
def test_a_grant_that_cannot_be_classified_counts_as_root_and_is_quoted(record: str) -> None:
    sudoers = parse_reduced_sudoers(_sudoers(record))
    (grant,) = root_grants(sudoers, ACCOUNTS)
    assert grant.members == ("bob",)
    assert grant.reason.startswith("cannot be classified, so counted as root: ")
    assert grant.rule.startswith("bob ALL = ")
    assert grant.source == "sudoers /etc/sudoers line 9"


def test_negations_take_nothing_back_from_all() -> None:
    assert _grants(
        "CMND_ALIAS\t2\tSHELLS\t/bin/sh\t-",
        "RULE\t4\tjudy\tALL\t(ALL)\t\tALL\t-",
        "RULE\t4\tjudy\tALL\t(ALL)\t\t!SHELLS\t-",
        "RULE\t5\tken\tALL\t(root)\t\t/usr/local/bin/backup\t-",
        "RULE\t5\tken\tALL\t(root)\t\t!/bin/sh\t-",
    ) == ["judy: runs ALL commands as any user"]


def test_setenv_tag_or_loader_defaults_make_any_command_root() -> None:
    assert _grants("RULE\t4\tken\tALL\t(root)\tSETENV\t/usr/local/bin/backup\t-") == [
        "ken: runs /usr/local/bin/backup with SETENV (the caller's LD_PRELOAD loads code into it) as root"
    ]
    found = _grants("DEFAULT\t2\tenv_keep_loader", "RULE\t4\tken\tALL\t(root)\t\t/usr/local/bin/backup\t-")
    assert len(found) == 1
    assert "keeps LD_PRELOAD-style variables" in found[0]
    assert _grants("DEFAULT\t2\tsetenv", "RULE\t4\tken\tALL\t(op)\t\t/usr/local/bin/backup\t-") == []


def test_user_aliases_groups_and_uids_are_expanded() -> None:
    found = _grants(
        "USER_ALIAS\t2\tOPS\t%staff,#1000,%nosuch,+ng,ALL",
        "RULE\t4\tOPS\tALL\t(root)\t\t/bin/sh\t-",
    )
    assert found == ["%nosuch,+ng,ALL,alice: runs /bin/sh: a shell as root"]


def test_cmnd_alias_loops_and_undefined_members_do_not_hang() -> None:
    found = _grants(
        "CMND_ALIAS\t2\tA\tB\t-",
        "CMND_ALIAS\t3\tB\tA\t-",
        "CMND_ALIAS\t3\tB\tMISSING\t-",
        "RULE\t4\tbob\tALL\t(root)\t\tA\t-",
    )
    assert found == [
        "bob: cannot be classified, so counted as root: runs MISSING is neither a command nor a Cmnd_Alias "
        "defined in sudoers (in Cmnd_Alias B) (in Cmnd_Alias A) as root"
    ]


# --- the reduced records must have the script's shape -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SPEC\tbob\tALL\n", "older fact script"),
        ("FILE\t/etc/sudoers\nRULE\t5\tbob\tALL\t(ALL)\n", "RULE record 2 has 5 fields, expected 8"),
        ("FILE\t/etc/sudoers\nRULE\tfive\tbob\tALL\t(ALL)\t\tALL\t-\n", "line number 'five'"),
        ("FILE\t/etc/sudoers\nRULE\t5\t\tALL\t(ALL)\t\tALL\t-\n", "names no user"),
        ("FILE\t/etc/sudoers\nDEFAULT\t2\tsomething\n", "unknown Defaults flag"),
        ("FILE\t/etc/sudoers\n<html>\n", "unexpected record"),
        ("RULE\t5\tbob\tALL\t(ALL)\t\tALL\t-\n", "no sudoers file was reported"),
        ("NO-SUDOERS\nFILE\t/etc/sudoers\n", "NO-SUDOERS comes with other records"),
    ],
)
def test_reduced_sudoers_of_another_shape_is_refused(text: str, message: str) -> None:
    with pytest.raises(SudoersFormatError, match=message):
        parse_reduced_sudoers(text)


def test_a_sudoers_line_the_host_could_not_read_makes_admins_an_error() -> None:
    facts_text = _sudoers("UNREAD\t12\tbogus")
    with pytest.raises(AdminsUnreadable, match="line 12 \\(starts 'bogus'\\)"):
        linux_admins("root:0:0\n", "root:0:\n", "", facts_text, "")


def test_reducer_marks_unreadable_lines(tmp_path: Path) -> None:
    main = tmp_path / "sudoers"
    main.write_text(
        "bob ALL=(ALL) /bin/ls, (root /bin/sh\njust some words\nALL=(ALL) ALL\nUser_Alias BROKEN\n"
        "-pS3cret-word dump\nbob --token=S3cret = /bin/ls\n"
    )
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "apt").write_text("#!/bin/sh\necho Listing...\n")
    (tools / "apt").chmod(0o755)
    done = subprocess.run(["sh", "-s"], input=_script(main, tools).encode(), capture_output=True, timeout=60)
    section = split_sections(done.stdout, "x")["sudoers"]
    assert section.stdout.splitlines()[1:] == [
        "RULE\t1\tbob\tALL\t-\t\t<unreadable>\t-",
        "UNREAD\t2\tjust",
        "UNREAD\t3\tALL",
        "UNREAD\t4\tUser_Alias",
        "UNREAD\t5\t?",
        "RULE\t6\tbob\t?\t-\t\t?\t<args>",
    ], "a word that is not a name never leaves the host"


def test_unreadable_included_directory_makes_the_section_fail() -> None:
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run the script as nobody")
    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:  # pytest's tmp_path is not searchable by nobody
        base = Path(scratch)
        base.chmod(0o755)
        secret = base / "secret.d"
        secret.mkdir(mode=0o700)
        (secret / "ops").write_text("bob ALL=(ALL) ALL\n")
        main = base / "sudoers"
        main.write_text(f"root ALL=(ALL) ALL\n@includedir {secret}\n")
        main.chmod(0o644)
        tools = base / "bin"
        tools.mkdir(mode=0o755)
        (tools / "apt").write_text("#!/bin/sh\necho Listing...\n")
        (tools / "apt").chmod(0o755)
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-s"],
            input=_script(main, tools).encode(),
            capture_output=True,
            timeout=60,
        )
    section = split_sections(done.stdout, "x")["sudoers"]
    assert section.rc == 13
    assert f"{secret}: permission denied" in section.stderr
    facts = parse_linux(CommandResult(0, done.stdout, b""), HOST)
    assert facts.admins is None
    assert "reading sudoers failed (exit 13)" in english_text(facts.section_errors["admins"])


# --- the control -------------------------------------------------------------------------------------


def _linux(admins: HostAdmins) -> HostFacts:
    return HostFacts(
        name="lin-07",
        address="192.0.2.17",
        roles=(),
        os=OperatingSystem("linux", "Debian GNU/Linux 12 (bookworm)", "12", distribution="debian"),
        admins=admins,
    )


def test_passwd_from_an_older_script_makes_12c_an_error(local_result: CommandResult) -> None:
    facts = parse_linux(CommandResult(0, _with_section(local_result.stdout, "passwd", "root:0\n"), b""), HOST)
    assert facts.admins is None
    assert verdict(
        c12c.test_host_is_administered_only_by_authorised_people,
        facts,
        policy=Policy(authorized_admins=["alice"]),
    ) == Verdict("error", english_text(facts.section_errors["admins"]))
    assert "without the UID" in english_text(facts.section_errors["admins"])


def _with_section(stdout: bytes, name: str, body: str) -> bytes:
    """Return the script's output with section `name`'s stdout replaced by `body`."""
    lines = stdout.decode().splitlines()
    start = lines.index(f"@@AUDIT-SECTION name={name}@@")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("@@AUDIT-RC"))
    lines[start + 1 : end] = [base64.b64encode(body.encode()).decode()]
    return ("\n".join(lines) + "\n").encode()


# --- through a real sshd ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory, estate: Path) -> Iterator[SshdServer]:
    # The real script arrives on stdin; its PATH finds the stand-in getent first and its sudoers is the fixture.
    command = f"sed -e 's|^PATH=|PATH={estate}/bin:|' -e 's|^SUDOERS=/etc/sudoers$|SUDOERS={estate}/sudoers|' | sh -s"
    with SshdServer(
        tmp_path_factory.mktemp("sshd-sudoers"), {"lnx07": HostBehaviour(command=command)}
    ) as server:
        yield server


@pytest.mark.integration
def test_root_equivalent_grants_over_real_ssh_fail_12c(sshd: SshdServer) -> None:
    host = sshd.host_entry("lnx07", os="linux")
    command = linux_command()
    with open_session(host, resolve=lambda p: p, max_output_bytes=16 * 1024 * 1024) as session:
        result = session.run(command.command, command.stdin, timeout=60)
    assert sshd.commands_received("lnx07") == ["sh -s"]
    facts = parse_linux(result, host)
    assert facts.admins is not None, facts.section_errors
    assert set(ADMINS) <= set(facts.admins.members)
    assert not set(NOT_ADMINS) & set(facts.admins.members)
    outcome = verdict(
        c12c.test_host_is_administered_only_by_authorised_people,
        facts,
        policy=Policy(authorized_admins=["alice"], authorized_ssh_keys=["SHA256:x"]),
    )
    assert outcome.status == "fail"
    for stranger in ("bob", "carol", "dave", "toor"):
        assert stranger in outcome.message


def test_a_shell_as_another_administrator_makes_an_administrator() -> None:
    records = _sudoers(
        "RULE\t3\talice\tALL\t-\t\t/usr/bin/vim\t-",
        "RULE\t4\tbob\tALL\t(alice)\t\t/bin/bash\t-",
        "RULE\t5\tcarol\tALL\t(bob)\t\t/bin/bash\t-",
        "RULE\t6\tdan\tALL\t(op)\t\t/bin/bash\t-",
    )
    admins = linux_admins(
        "root:0:0\nalice:1000:1000\nbob:1001:1001\nop:37:37\n", "root:0:\n", "", records, ""
    )
    assert admins.members == ("alice", "bob", "carol")
    assert "as alice, an administrator of the host" in _why(admins, "bob")
    assert "as bob, an administrator of the host" in _why(admins, "carol")
