"""Scan the repository's tracked files for credentials: ``python -m jobs.ops.secret_scan [repo]``.

A small scanner rather than a dependency: the patterns below are the ones that matter here (cloud keys,
private keys, passwords in URLs, secret-named assignments with a literal value, high-entropy tokens).
Documented local-only values are allow-listed by exact (file, value) in ``ALLOWLIST``, with the reason.
Exit status 1 when anything is found, so it can run in CI or as a pre-commit hook.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PATTERNS: dict[str, re.Pattern] = {
    "aws_access_key_id": re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    "aws_secret_access_key": re.compile(
        r"(?i)aws.{0,20}(?:secret|key).{0,20}?[\"'=:\s]([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
    "private_key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    "github_token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
    "slack_token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "google_api_key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "password_in_url": re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s/:@\"'<>]+:([^\s/@\"'<>]+)@[^\s/\"'<>]+"),
    "secret_assignment": re.compile(
        r"(?i)\b[A-Za-z0-9_.\-]*(?:secret|passw(?:or)?d|pwd|token|api[_\-]?key|access[_\-]?key|private[_\-]?key"
        r"|fernet[_\-]?key|credential|_key\b|_KEY\b)[A-Za-z0-9_.\-]*[\"']?\s*(?:=|:|:=|=>)\s*[bru]?[\"']([^\"'\s]{8,})[\"']"),
    "high_entropy_token": re.compile(r"[\"'=:\s]([A-Za-z0-9+/_\-]{32,}={0,2})(?=[\"'\s,;]|$)"),
}
# Values that are obviously not secrets: references to the environment, templates, examples.
PLACEHOLDER = re.compile(
    r"(?i)^(?:\$\{?|%\(|\{\{|<|\.\.\.|…)|changeme|change-me|example|placeholder|dummy|xxxx|your[_\-]|redacted"
    r"|^test[_\-]|^fake|^\*+$")
# (path, value) pairs that are known, documented and harmless, with why.
ALLOWLIST: dict[tuple[str, str], str] = {}
BINARY_SUFFIXES = {".xlsx", ".png", ".jpg", ".gif", ".pdf", ".zip", ".gz", ".parquet", ".jar", ".ico"}
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    value: str

    def masked(self) -> str:
        v = self.value
        return f"{self.path}:{self.line}: {self.kind}: {v[:4]}…{v[-2:]} ({len(v)} chars)"


def shannon_entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _looks_random(value: str) -> bool:
    """Mixed-case, digits and high entropy: a token, not a word, a path, a checksum or a code list."""
    if re.fullmatch(r"[0-9a-f]+", value) or re.fullmatch(r"[0-9A-F]+", value):
        return False  # hex: checksums and ids (a hex secret would be caught by name in an assignment)
    classes = sum(bool(re.search(p, value)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    return classes == 3 and shannon_entropy(value) > 4.5


def scan_text(path: str, text: str) -> list[Finding]:
    findings = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in PATTERNS.items():
            for m in pattern.finditer(line):
                value = m.group(1) if pattern.groups else m.group(0)
                if not value or PLACEHOLDER.search(value) or (path, value) in ALLOWLIST:
                    continue
                if kind == "high_entropy_token" and not _looks_random(value):
                    continue
                if kind == "secret_assignment" and re.fullmatch(
                        r"[A-Z][A-Z0-9_]+|[a-z0-9_]+(\.[a-z0-9_]+)+|([a-z0-9_]+\.)+[A-Z][A-Za-z0-9_]*", value):
                    continue  # an environment variable's name, a config key or a Java class: not a literal secret
                findings.append(Finding(path, lineno, kind, value))
    return findings


def tracked_files(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, check=True)
    return [p for p in out.stdout.decode().split("\0") if p]


def scan_repo(repo: Path) -> tuple[int, list[Finding]]:
    """(files scanned, findings) over the files git tracks."""
    findings, scanned = [], 0
    for rel in tracked_files(repo):
        path = repo / rel
        if path.suffix.lower() in BINARY_SUFFIXES or not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        scanned += 1
        findings += scan_text(rel, data.decode("utf-8", "replace"))
    return scanned, findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=".")
    args = parser.parse_args()
    scanned, findings = scan_repo(Path(args.repo))
    for f in findings:
        print(f.masked())
    print(f"{scanned} tracked files scanned, {len(findings)} possible credential(s)")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
