"""The bitlocker section: every fixed volume and whether BitLocker protects it (Get-BitLockerVolume or WMI)."""

from __future__ import annotations

from collectors.hosts.facts import Volume
from collectors.hosts.windows.shapes import (
    ShapeError,
    as_int,
    as_object,
    as_text,
    present,
    required,
    required_list,
)

CONVERSION_STATUS = (
    "FullyDecrypted",
    "FullyEncrypted",
    "EncryptionInProgress",
    "DecryptionInProgress",
    "EncryptionPaused",
    "DecryptionPaused",
)
PROTECTION_STATUS = ("Off", "On", "Unknown")
ENCRYPTION_METHOD = (
    "None",
    "Aes128Diffuser",
    "Aes256Diffuser",
    "Aes128",
    "Aes256",
    "Hardware",
    "XtsAes128",
    "XtsAes256",
)
VOLUME_TYPE = ("OperatingSystem", "Data", "Removable")
"""Win32_EncryptableVolume.VolumeType: 0 OperatingSystem, 1 FixedData, 2 PortableData."""
FIXED_DRIVE = 3
VOLUME_GUID_PATH = "\\\\?\\Volume"
"""Win32_Volume.DriveType of a local fixed disk (2 is removable, 5 a CD-ROM)."""


def _code(table: tuple[str, ...], value: object) -> str:
    code = as_int(value)
    return table[code] if code is not None and 0 <= code < len(table) else f"code {code}"


def read_volumes(raw: object) -> tuple[Volume, ...]:
    bitlocker = as_object(raw, "bitlocker")
    source = as_text(required(bitlocker, "source", "BitLocker"))
    if source not in ("Get-BitLockerVolume", "Win32_EncryptableVolume"):
        raise ShapeError(
            f"BitLocker source {source!r} is neither Get-BitLockerVolume nor Win32_EncryptableVolume"
        )
    wmi = source == "Win32_EncryptableVolume"
    volumes: list[Volume] = []
    for item in required_list(bitlocker, "volumes", "BitLocker"):
        row = as_object(item, "volume")
        mount = as_text(required(row, "mount", "a BitLocker volume")) or "?"
        what = f"BitLocker volume {mount}"
        drive_type = as_int(present(row, "drive_type", what))
        if drive_type is not None and drive_type != FIXED_DRIVE:
            continue  # removable and optical drives are 12g.mobile-media-encryption's
        if mount.startswith(VOLUME_GUID_PATH):
            folder = as_text(present(row, "name", what))
            if drive_type is None and folder is None:
                raise ShapeError(
                    f"{what} has no drive letter and Win32_Volume did not say where it is mounted"
                )
            if not folder or folder.startswith(VOLUME_GUID_PATH):
                continue  # neither drive letter nor folder mount: recovery or system reserved partition
            mount = folder  # mounted in a folder: show its path
        if wmi:
            kind = _code(VOLUME_TYPE, required(row, "type_code", what))
            status = _code(CONVERSION_STATUS, required(row, "conversion_status", what))
            protection = _code(PROTECTION_STATUS, required(row, "protection_status", what))
            method = _code(ENCRYPTION_METHOD, required(row, "method_code", what))
        else:
            kind = as_text(required(row, "type", what)) or "?"
            status = as_text(required(row, "status", what)) or "?"
            protection = as_text(required(row, "protection", what)) or "?"
            method = as_text(required(row, "method", what)) or "?"
        if kind == "Removable":
            continue
        volumes.append(
            Volume(
                mount=mount,
                kind=kind,
                encrypted=status == "FullyEncrypted" and protection == "On",
                detail=f"{status}, protection {protection}, method {method}",
            )
        )
    if not volumes:
        raise ShapeError("no fixed volume was reported")
    return tuple(volumes)
