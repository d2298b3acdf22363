"""`python -m benchmarks.xlsform_corpus [DIR…]`: which XLSForms pyxform and Fieldscore accept, and round trips.

For every .xls/.xlsx file under the given folders (default: the pyxform example forms kept as test
fixtures) it prints one line: whether pyxform converts it ("valid") and whether our importer
accepts it; for an accepted form, whether export → import → export gives the same definition and
the same sheets, and whether pyxform accepts our export; for a refused one, its first reasons. An accepted form whose draft check_definition refuses (so it
cannot be published until edited) says so.
The last line is the figure recorded in docs/xlsform.md: accepted and round-tripping / valid.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl

from backend.forms.definition import check_definition
from backend.forms.xlsform import XLSFormError, export_xlsform, read_xlsform

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "tests" / "fixtures" / "xlsforms" / "pyxform-examples"


@dataclass
class Outcome:
    path: Path
    valid: bool
    valid_reason: str = ""
    accepted: bool = False
    reasons: list[str] = field(default_factory=list)
    warnings: int = 0
    round_trip: str = ""  # "" when not accepted; "exact" or what differs
    # check_definition's problems of the imported draft (also among its warnings, at their rows): publishing refuses them
    unpublishable: list[str] = field(default_factory=list)

    @property
    def good(self) -> bool:
        return self.valid and self.accepted and self.round_trip == "exact"


def pyxform_error(data: bytes, suffix: str) -> str:
    """Why pyxform refuses the workbook, or "" when it converts it."""
    from pyxform import xls2xform

    logging.getLogger("pyxform").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xls2xform.convert(xlsform=io.BytesIO(data), file_type=suffix, warnings=[])
    except Exception as error:  # noqa: BLE001 - any refusal is "invalid", its text is the reason
        return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"
    return ""


def sheets_of(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl's notes on Excel features it drops
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}
    finally:
        workbook.close()


def round_trip(definition: Any) -> str:
    """ "exact" when export → import → export is lossless and pyxform accepts the export."""
    try:
        first = export_xlsform(definition)
    except XLSFormError as error:
        return f"export refused: {error}"
    try:
        again = read_xlsform(first).definition
    except XLSFormError as error:
        return f"re-import refused: {error}"
    if again != definition:
        return "re-imported definition differs"
    if sheets_of(export_xlsform(again)) != sheets_of(first):
        return "second export differs"
    refused = pyxform_error(first, ".xlsx")
    return f"pyxform refuses the export: {refused}" if refused else "exact"


def examine(path: Path) -> Outcome:
    data = path.read_bytes()
    reason = pyxform_error(data, path.suffix)
    outcome = Outcome(path, valid=not reason, valid_reason=reason)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            imported = read_xlsform(data)
    except XLSFormError as error:
        outcome.reasons = [f"{s or 'workbook'} row {r}: {why}" for s, r, why in error.problems]
        return outcome
    outcome.accepted = True
    outcome.warnings = len(imported.warnings)
    outcome.round_trip = round_trip(imported.definition)
    outcome.unpublishable = [f"{p.path}: {p.reason}" for p in check_definition(imported.definition)]
    return outcome


def forms(folders: list[Path]) -> Iterator[Path]:
    for folder in folders:
        yield from sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".xls", ".xlsx"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[DEFAULT_DIR])
    parser.add_argument("--reasons", type=int, default=3, help="reasons shown per refused form")
    args = parser.parse_args(argv)
    outcomes = [examine(path) for path in forms(args.folders)]
    for o in outcomes:
        if not o.valid:
            verdict = f"pyxform-invalid ({o.valid_reason})"
            verdict += "; WE ACCEPT IT" if o.accepted else "; refused too"
        elif o.accepted:
            verdict = f"accepted, {o.warnings} warning(s), round trip: {o.round_trip}"
            if o.unpublishable:
                verdict += "; the draft cannot be published as it is: " + " | ".join(o.unpublishable[: args.reasons])
        else:
            verdict = "REFUSED: " + " | ".join(o.reasons[: args.reasons])
            if len(o.reasons) > args.reasons:
                verdict += f" (+{len(o.reasons) - args.reasons} more)"
        print(f"{o.path.name}: {verdict}")
    valid = [o for o in outcomes if o.valid]
    good = sum(o.good for o in valid)
    wrongly = sum(o.accepted for o in outcomes if not o.valid)
    publishable = sum(o.good and not o.unpublishable for o in valid)
    share = f"{100 * good / len(valid):.1f}%" if valid else "n/a"  # 43/48 is 89.6%, not "90%"
    print(
        f"\n{len(outcomes)} forms, {len(valid)} valid for pyxform; accepted and round-tripping: "
        f"{good} of {len(valid)} ({share}), of which publishable as imported: {publishable}; "
        f"accepted although pyxform refuses: {wrongly}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
