"""The exit codes of `pytest controls/`: one table, shown by `pytest --help` and listed in README.md.

pytest's own codes keep their meaning (0 to 5); the audit adds 6 for output that could not be
written and 7 for a bundle that could not be archived. A nightly job can therefore tell "the
estate has findings" (1) from "the run itself needs a person" (2 to 7) without reading the log.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL_ERROR = 3
EXIT_USAGE = 4
EXIT_NOTHING_SELECTED = 5
EXIT_OUTPUT_NOT_WRITTEN = 6
EXIT_NOT_ARCHIVED = 7


@dataclass(frozen=True)
class ExitCode:
    """One exit code of an audit run and what it tells the operator."""

    code: int
    meaning: str


EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(EXIT_OK, "every selected item passed, was waived or is not applicable; the bundle is written"),
    ExitCode(
        EXIT_FINDINGS,
        "at least one item failed or could not be evaluated (error); the bundle is written",
    ),
    ExitCode(
        EXIT_INTERRUPTED,
        "interrupted (Ctrl-C, or a control module could not be imported); no bundle",
    ),
    ExitCode(
        EXIT_INTERNAL_ERROR,
        "internal error of the auditor (pytest INTERNALERROR, a bug: please report it); no bundle",
    ),
    ExitCode(
        EXIT_USAGE,
        "the run cannot be trusted to start or found nothing to audit: a bad option, config, "
        "credential, signing key or output path, assertions switched off (python -O), a [distributed] "
        "broker that cannot be reached (before or while the sites collect), or nothing in scope; "
        "one line names the option, file or key. Refused before collecting, no bundle; "
        "only 'nothing in scope' found after collecting (every item not applicable) writes the "
        "bundle first, so its not-applicable reasons show why (--allow-empty-scope accepts it)",
    ),
    ExitCode(
        EXIT_NOTHING_SELECTED,
        "no control was selected (-k / -m matched nothing); nothing evaluated, no bundle",
    ),
    ExitCode(
        EXIT_OUTPUT_NOT_WRITTEN,
        "the audit ran, but part of its output could not be written at the end (the --record "
        "file, report.pdf, report.html that could not be rendered, or the bundle itself: disk full, "
        "folder removed); everything that "
        "could be written is, and one line names the file and the reason. Wins over 0, 1, 4 and 7",
    ),
    ExitCode(
        EXIT_NOT_ARCHIVED,
        "the bundle is written, but [archive] could not take it: the archive could not be read "
        "for the chain link, an upload failed or read back different, or the timestamp authority "
        "did not answer; no verdict changes, one line names the reason. Wins over 0, 1 and 4",
    ),
)
"""Every exit code, in order."""


def exit_codes_help(width: int = 100) -> str:
    """Return the exit codes as the lines `pytest --help` shows above the audit options.

    Wrapped here (argparse prints a group's title verbatim), each code on its own lines.
    """
    lines = ["exit codes of pytest controls/:"]
    for entry in EXIT_CODES:
        lines += textwrap.wrap(
            entry.meaning,
            width=width,
            initial_indent=f"  {entry.code}  ",
            subsequent_indent="     ",
            break_on_hyphens=False,
        )
    return "\n".join(lines)
