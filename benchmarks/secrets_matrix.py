"""Issue 11's secrets matrix, and what redaction costs.

Prints, as Markdown:

1. the matrix: each way a secret travels (tests/integration/_secrets_cases.py) × each place it
   must not land (the recorded cassette, the upstream's journal, lint's findings on the same
   exchanges recorded unredacted, the upstream's access log). Every exchange goes over real
   loopback HTTP through the recording proxy; ``redacted`` means the place keeps none of the
   case's secrets (for lint: ``flagged`` at the case's interaction and field, secret not
   printed); ``n/a`` where the place never sees that direction;
2. the costs: the import time the format detectors (``detect-secrets``) add, in a fresh
   process, and the redaction time per recorded interaction over the shipped cassettes (the
   proxy's ``CassetteRecorder.add`` work: URI, headers, body, chunks), by name only and with
   formats, plus one journal call's request redaction.

    .venv/bin/python benchmarks/secrets_matrix.py            # matrix and costs
    .venv/bin/python benchmarks/secrets_matrix.py --matrix   # the matrix only
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _secrets_cases import CASES, PLACES, gather  # noqa: E402
from _util import median_seconds, print_table  # noqa: E402

from oa_mockserver.recording import Interaction, Redactor, load_cassette  # noqa: E402


def matrix() -> bool:
    """Print the matrix; True when every place of every case holds."""
    with tempfile.TemporaryDirectory() as directory:
        gathered = gather(Path(directory))
    rows = []
    ok = True
    for case in CASES:
        row = [case.name]
        for place in PLACES:
            if place not in case.places:
                row.append("n/a")
                continue
            good = gathered.redacted(case, place)
            ok = ok and good
            row.append(("flagged" if good else "MISSED") if place == "lint" else
                       ("redacted" if good else "LEAKED"))  # fmt: skip
        rows.append(row)
    print_table(["case", *PLACES], rows)
    return ok


_LOAD = """
import sys, time
import oa_mockserver._cli
start = time.perf_counter()
from oa_mockserver.recording._secret_formats import detectors
detectors()
print((time.perf_counter() - start) * 1e3)
"""


def _load_ms(repeat: int = 7) -> tuple[float, bool]:
    """The detectors' load time once ``oa_mockserver._cli`` is imported (fresh processes), and
    whether importing ``oa_mockserver._cli`` alone loads ``detect_secrets`` (it must not)."""
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", _LOAD], check=True, cwd=ROOT,
                             capture_output=True, text=True).stdout  # fmt: skip
        times.append(float(out))
    probe = "import sys, oa_mockserver._cli; print('detect_secrets' in sys.modules)"
    eager = subprocess.run([sys.executable, "-c", probe], check=True, cwd=ROOT,
                           capture_output=True, text=True).stdout.strip() == "True"  # fmt: skip
    return statistics.median(times), eager


def _record(rules: Redactor, interaction: Interaction) -> None:
    """What CassetteRecorder.add redacts for one exchange."""
    request, response = interaction.request, interaction.response
    rules.uri(request.uri)
    rules.headers_pairs(request.headers)
    if request.body:
        rules.body(request.body, request.header("Content-Type"))
    rules.headers_pairs(response.headers)
    if response.chunks:
        rules.chunks([c.data for c in response.chunks], response.header("Content-Type"))
    elif response.body:
        rules.body(response.body, response.header("Content-Type"))


def _per_interaction_us(rules: Redactor, items: list[Interaction]) -> list[float]:
    def timed(interaction: Interaction) -> float:
        return median_seconds(lambda: _record(rules, interaction), 7) * 1e6

    return [timed(interaction) for interaction in items]


def costs() -> None:
    """Print the import and per-interaction costs."""
    load_ms, eager = _load_ms()
    interactions = [
        i
        for path in sorted((ROOT / "cassettes").rglob("*.yaml"))
        for i in load_cassette(path).interactions
    ]
    full = Redactor.default()
    full.text("warm")  # load the detectors before timing
    by_name = _per_interaction_us(Redactor(known_formats=False), interactions)
    by_format = _per_interaction_us(full, interactions)
    biggest = max(range(len(interactions)), key=lambda i: len(interactions[i].response.body))
    prompt = b'{"chat_id":"06b057df-7c4b-7e53-8000-12bde3ab0fff","content":"Tell me a story.",'
    prompt += b'"parent_id":null}'
    uri = "/api/chat/events?chat_id=06b057df-7c4b-7e53-8000-12bde3ab0fff&message_id=06b057df-72"

    def per_call_us(call: Callable[[], object]) -> float:
        return median_seconds(lambda: [call() for _ in range(1000)], 7) * 1e3

    journal_us = per_call_us(lambda: full.body(prompt, "application/json"))
    log_us = per_call_us(lambda: full.uri(uri))
    rows = [
        ["`import oa_mockserver._cli` loads detect-secrets", "yes" if eager else "no (lazy)"],
        ["detectors' load, once (`serve` at INFO at start; `record`, `lint`)", f"{load_ms:.0f} ms"],
        [
            f"per recorded interaction, by name only (median of {len(interactions)} shipped)",
            f"{statistics.median(by_name):.0f} µs",
        ],
        [
            "per recorded interaction, by name and format (median)",
            f"{statistics.median(by_format):.0f} µs",
        ],
        [
            f"the largest shipped stream ({len(interactions[biggest].response.body):,} B), "
            "by name / and format",
            f"{by_name[biggest] / 1e3:.1f} / {by_format[biggest] / 1e3:.1f} ms",
        ],
        ["one journal call's body (a prompter_message), read time", f"{journal_us:.0f} µs"],
        ["one access-log line (a chat events URI)", f"{log_us:.0f} µs"],
    ]
    print_table(["what", "median"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matrix", action="store_true", help="print the matrix only")
    args = parser.parse_args()
    ok = matrix()
    if not args.matrix:
        print()
        costs()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
