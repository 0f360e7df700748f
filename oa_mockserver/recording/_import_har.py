"""``oa-mockserver import-har FILE.har --cassettes DIR [--name NAME]``: the I/O around :mod:`._har`.

Reads the HAR file, converts it (:func:`._har.har_to_cassette`: redacted), lints the result the
way ``oa-mockserver lint`` would, and only then writes ``DIR/NAME.yaml`` atomically (a temporary
file, then a rename). Any problem is ``FILE: reason`` on stderr, exit status 2, and no file.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from .._exceptions import ConfigError, HarError
from ._cassette import cassette_file, dump_cassette, write_text_atomically
from ._har import HarImport, har_to_cassette, parse_har
from ._lint import lint_text
from ._redact import Redactor

__all__ = ["add_import_har_parser", "import_har", "import_har_main"]


def import_har(
    har: str | os.PathLike[str],
    cassettes: str | os.PathLike[str],
    *,
    name: str | None = None,
    host: str | None = None,
    overwrite: bool = False,
    redactor: Redactor | None = None,
) -> HarImport:
    """Import a HAR file as the cassette ``cassettes/NAME.yaml`` (``NAME``: the HAR's stem).

    The web site's chat routes of one host become a redacted cassette (see
    :func:`har_to_cassette`); the file is written atomically, and only when the lint finds
    nothing in it. Returns what was imported and skipped, ``path`` set to the file written.

    Raises:
        HarError: the HAR cannot be read or is broken (:class:`HarEntryError` for one entry),
            holds nothing to import, the cassette exists (and ``overwrite`` is false), or the
            lint still finds a secret; the message names the file.
        ConfigError: ``name`` is not a plain file name.
    """
    source = Path(os.fspath(har))
    shown = str(source)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise HarError(f"cannot read the HAR file ({exc.strerror})", path=shown) from None
    target = cassette_file(cassettes, name if name is not None else source.stem)
    if target.exists() and not overwrite:
        raise HarError(
            f"the cassette {target} exists already; choose another --name, or --force to "
            "replace it",
            path=shown,
        )
    result = har_to_cassette(
        parse_har(raw, shown), path=shown, host=host, redactor=redactor, source=source.name
    )
    text = dump_cassette(result.cassette)
    findings = lint_text(text, str(target), redactor)
    if findings:
        listed = "; ".join(str(f) for f in findings[:5])
        raise HarError(
            f"the cassette would still hold what looks like a secret ({listed}); nothing was "
            "written: add a redaction rule (Redactor.default().extended(...)) and import again",
            path=shown,
        )
    try:
        write_text_atomically(target, text)
    except OSError as exc:
        raise HarError(
            f"cannot write {target} ({exc.strerror or type(exc).__name__}); choose a --cassettes "
            "directory you can write to",
            path=shown,
        ) from None
    return dataclasses.replace(result, path=str(target))


def add_import_har_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``import-har`` on ``oa-mockserver``'s subcommands."""
    command = commands.add_parser(
        "import-har",
        help="turn a browser's HAR file into a redacted cassette",
        description="Turn a HAR 1.2 file (DevTools 'Save all as HAR with content', Playwright's "
        "record_har_path) into a redacted cassette of the web site's chat routes.",
    )
    command.add_argument("har", metavar="FILE.har", help="the HAR file to import")
    command.add_argument(
        "--cassettes", required=True, metavar="DIR", help="directory of the cassette to write"
    )
    command.add_argument(
        "--name", default=None, help="cassette file name, DIR/NAME.yaml (default: the HAR's stem)"
    )
    command.add_argument(
        "--host",
        default=None,
        metavar="HOST[:PORT]",
        help="keep this host's entries (default: the first host that served /api/chat)",
    )
    command.add_argument(
        "--force", action="store_true", help="replace the cassette if it exists already"
    )


def import_har_main(args: argparse.Namespace) -> int:
    """Run ``import-har``: 0 when written, 2 (``FILE: reason`` on stderr) when not."""
    try:
        result = import_har(
            args.har, args.cassettes, name=args.name, host=args.host, overwrite=args.force
        )
    except HarError as error:
        print(error, file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"{args.har}: {error}", file=sys.stderr)
        return 2
    print(f"imported {result.summary()}")
    return 0
