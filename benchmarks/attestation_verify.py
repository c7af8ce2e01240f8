"""What PEP 740 verification adds to an upload: the time ``SigstoreAttestationVerifier.verify`` takes per call.

Uses the real attestations in ``shared/attestations/`` (see its SOURCE.txt; pass another directory with
``--attestations``). The first call of a process also loads the bundled Sigstore trust root; later calls reuse it.
Run it from the repository root::

    uv run python benchmarks/attestation_verify.py              # 200 verifications of each attestation
    uv run python benchmarks/attestation_verify.py --runs 1000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

from pyregistry_infrastructure.sigstore_attestations import SigstoreAttestationVerifier

DISTRIBUTIONS = ("gitlab_oidc_project-0.0.3.tar.gz", "pypi_attestations-0.0.19.tar.gz")


def _shared_attestations() -> Path:
    """``shared/attestations`` beside the checkout (the first ancestor with a ``shared/notes`` directory)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "notes").is_dir():
            return parent / "shared" / "attestations"
    return Path("shared") / "attestations"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attestations", type=Path, default=_shared_attestations())
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    if not (args.attestations / DISTRIBUTIONS[0]).is_file():
        print(f"no attestations in {args.attestations}: pass --attestations DIR", file=sys.stderr)
        return 2
    verifier = SigstoreAttestationVerifier()
    for name in DISTRIBUTIONS:
        dist = args.attestations / name
        attestation = json.loads((args.attestations / f"{name}.publish.attestation").read_text())
        sha256 = hashlib.sha256(dist.read_bytes()).hexdigest()
        started = time.perf_counter()
        signer = verifier.verify([attestation], name, sha256, None)
        first = time.perf_counter() - started
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            verifier.verify([attestation], name, sha256, None)
            times.append(time.perf_counter() - started)
        times.sort()
        print(
            f"{name}: signer {signer.identity}; first call {first * 1000:.1f} ms, then median "
            f"{statistics.median(times) * 1000:.2f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms "
            f"over {args.runs} runs"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
