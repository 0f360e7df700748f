"""Record conversations with an OpenAssistant server once, and replay them offline.

A cassette is vcrpy's YAML file (version 1) with two extras that plain vcrpy ignores: every raw
chunk of a streamed answer with its time offset, and the number of the conversation each
interaction belongs to. Secrets are replaced at record time (:class:`Redactor`), files are
written atomically, and a broken file raises :class:`CassetteError` naming the file and line.
The format is described in ``cassettes/README.md``; the mock server replays the same files
(``ServerConfig(cassettes=...)``, ``oa-mockserver serve --cassettes DIR``).

This package holds:

* the cassette format: :class:`Cassette` of :class:`Episode` of :class:`Interaction`
  (:class:`RecordedRequest`, :class:`RecordedResponse` with its :class:`Chunk`), read and written
  by :func:`load_cassette`/:func:`save_cassette` (files) and :func:`parse_cassette`/
  :func:`dump_cassette` (text);
* in-process record and replay through vcrpy: :func:`oa_vcr` (a configured ``vcr.VCR``) and
  :func:`use_cassette` (replay only), paced by a :class:`Timing`, re-cut by :func:`rechunk`;
* recording through a proxy in front of a real server: :class:`RecordingProxy`;
* redaction (:class:`Redactor`, the :data:`REDACTED` placeholder) and the linter that finds
  secrets left in files (:func:`run_lint`, one :class:`Finding` each);
* a browser's HAR file turned into a cassette: :func:`import_har` (file to file, as
  ``oa-mockserver import-har``) and :func:`har_to_cassette` (pure), with a :class:`HarImport`.

Example::

    from oa_mockserver import MockServer, ServerConfig
    from oa_mockserver.recording import Timing, load_cassette, oa_vcr, use_cassette

    async with MockServer(ServerConfig(token_interval=0.0)) as server:
        with oa_vcr(record_mode="once").use_cassette("chat.yaml"):      # record
            recorded = await chat(server.url)
    with use_cassette("chat.yaml", timing=Timing(2.0)):                # replay, no server
        assert await chat("http://127.0.0.1:9") == recorded
    print(len(load_cassette("chat.yaml").episodes), "episode")

The errors (:class:`CassetteError`, :class:`CassetteNotFoundError`,
:class:`CassetteMismatchError`, :class:`RedactionRuleError`, :class:`HarError`,
:class:`HarEntryError`) are also importable from here; they
belong to the one exception tree of :mod:`oa_mockserver` (rooted at ``MockServerError``).
"""

from __future__ import annotations

from .._exceptions import (
    CassetteError,
    CassetteMismatchError,
    CassetteNotFoundError,
    HarEntryError,
    HarError,
    RedactionRuleError,
)
from .._public import rehome as _rehome
from ._cassette import (
    Cassette,
    Chunk,
    Episode,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    dump_cassette,
    load_cassette,
    parse_cassette,
    save_cassette,
)
from ._har import HarImport, har_to_cassette
from ._import_har import import_har
from ._lint import Finding, run_lint
from ._proxy import RecordingProxy
from ._rechunk import rechunk
from ._redact import REDACTED, Redactor
from ._timing import Timing
from ._vcr import oa_vcr, use_cassette

__all__ = [
    "Cassette",
    "CassetteError",
    "CassetteMismatchError",
    "CassetteNotFoundError",
    "Chunk",
    "dump_cassette",
    "Episode",
    "Finding",
    "har_to_cassette",
    "HarEntryError",
    "HarError",
    "HarImport",
    "import_har",
    "Interaction",
    "load_cassette",
    "oa_vcr",
    "parse_cassette",
    "rechunk",
    "RecordedRequest",
    "RecordedResponse",
    "RecordingProxy",
    "REDACTED",
    "RedactionRuleError",
    "Redactor",
    "run_lint",
    "save_cassette",
    "Timing",
    "use_cassette",
]

# ``oa_mockserver.recording.Cassette``, not the private module; the errors keep ``oa_mockserver``
_rehome(__name__, globals())
