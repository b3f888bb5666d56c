"""The Linux fact command: `sh -s` reading the fact script (gather.sh, shipped as package data) from stdin."""

from __future__ import annotations

from importlib.resources import files

from collectors.hosts.commands import GatherCommand

SCRIPT_VERSION = "1"
"""The version the script's begin marker carries (`@@AUDIT-BEGIN v=1@@`)."""

LINUX_SCRIPT = files("collectors.hosts.linux").joinpath("gather.sh").read_text(encoding="utf-8")
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
    return GatherCommand(command=command, stdin=LINUX_SCRIPT.encode("utf-8"))
