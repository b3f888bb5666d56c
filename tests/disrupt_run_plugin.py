"""A pytest plugin for the auditor's own tests: disrupts a real `pytest controls/` run half-way.

Loaded with `-p tests.disrupt_run_plugin`. After the facts and the control items are collected
(so after every start-up check passed) it does what AUDIT_TEST_DISRUPT says:

- `readonly:<folder>`: chmod 0500 the folder, as a full disk or a remounted volume would refuse
  writes (run the audit with `without_root_override` as preexec_fn, or root writes anyway);
- `file:<folder>`: remove the folder and put a regular file in its place;
- `interrupt`: raise KeyboardInterrupt (Ctrl-C);
- `crash`: raise RuntimeError inside a pytest hook (an internal error of the auditor);
- `report-bug`: make the HTML report's rendering raise (a bug of the report, found at the end).
"""

from __future__ import annotations

import ctypes
import os
import shutil
from pathlib import Path

import pytest

DISRUPT_ENV = "AUDIT_TEST_DISRUPT"

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2


def without_root_override() -> None:
    """Drop the capabilities that let root ignore file permissions (a subprocess preexec_fn).

    As root, a chmod 0500 folder is still writable; dropping CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH from the bounding set before exec makes the audit subprocess honour
    permissions like any service account. A no-op for a non-root user, who honours them anyway.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Disrupt the run as AUDIT_TEST_DISRUPT says, once it is past its start-up checks."""
    action, _, target = os.environ.get(DISRUPT_ENV, "").partition(":")
    if action == "readonly":
        Path(target).mkdir(parents=True, exist_ok=True)
        Path(target).chmod(0o500)
    elif action == "file":
        shutil.rmtree(target, ignore_errors=True)
        Path(target).write_text("not a folder any more\n", encoding="utf-8")
    elif action == "interrupt":
        raise KeyboardInterrupt
    elif action == "crash":
        raise RuntimeError("disrupt_run_plugin: a deliberate internal error")
    elif action == "report-bug":
        import reports.html

        def broken(*args: object, **kwargs: object) -> str:
            raise KeyError("disrupt_run_plugin: a deliberate rendering bug")

        reports.html.render_html = broken
