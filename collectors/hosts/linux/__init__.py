"""Linux hosts: one batched POSIX sh script (gather.sh), and its output parsed into `HostFacts`.

The script (gather.sh, shipped as package data; `command.LINUX_SCRIPT`) is fed to `sh -s` on
the host's stdin in a single round trip. It only reads: it never refreshes a package index (`apt-get update`, `dnf makecache`), loads a
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
sudoers.py); authorized_keys to `SHA256:` fingerprint and key type (never the key
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
- Admins (admins.py): members of sudo, wheel and admin (supplementary and
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
never a shorter list. A parser exception nobody foresaw makes its fact an error too (`parse._guarded`).
An nft statement the parser does not know makes its rule conditional: a drop behind it no longer
ends the chain, and an accept behind it still counts.

Where it lives: command.py (the command, gather.sh on its stdin), sections.py (the framing),
parse.py (`parse_linux`: every fact from its sections), and one module per section or group of
sections: os_release.py, updates.py, volumes.py, firewall.py (with listeners.py, and the
evaluator netfilter.py fed by nftables.py and iptables.py), admins.py (with sudoers.py), sshd.py.
"""
