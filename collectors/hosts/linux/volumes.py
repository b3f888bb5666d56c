"""The lsblk and findmnt sections: every mounted filesystem of a host, and whether it is encrypted.

Every filesystem lsblk shows mounted, plus block-backed mounts only findmnt shows; encrypted iff
a `crypt` device is the filesystem's device or beneath it. A ZFS dataset or a device lsblk does
not list is reported unencrypted (not shown to be encrypted); network filesystems, tmpfs and
overlay are not volumes of this host.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from collectors.hosts.facts import Volume
from collectors.hosts.linux.sections import Section
from collectors.messages import Reason
from reports.evidence import msg

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


def read_volumes(sections: Mapping[str, Section], errors: dict[str, Reason]) -> tuple[Volume, ...] | None:
    """Return the volumes from lsblk and findmnt; both are needed (findmnt finds mounts lsblk does not show)."""
    lsblk, findmnt = sections.get("lsblk"), sections.get("findmnt")
    if lsblk is None or not lsblk.ok:
        errors["volumes"] = lsblk.failure("lsblk") if lsblk else msg("{what} was not reported", what="lsblk")
        return None
    if findmnt is None or not findmnt.ok:
        reason = findmnt.failure("findmnt") if findmnt else msg("{what} was not reported", what="findmnt")
        errors["volumes"] = msg("{reason}, so mounts that lsblk does not show cannot be found", reason=reason)
        return None
    try:
        return parse_volumes(lsblk.stdout, findmnt.stdout)
    except (ValueError, TypeError, AttributeError) as exc:
        errors["volumes"] = msg(
            "{what} output cannot be read: {detail}", what="lsblk/findmnt", detail=str(exc)
        )
        return None
