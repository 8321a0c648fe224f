"""Reads a comply directory the way the Python library rotalabs_comply does.

The library reads each line with AuditEntry(**json.loads(line)) and turns the
timestamp into a datetime with datetime.fromisoformat, comparing it with
naive datetimes; it decrypts content with
Fernet(key).decrypt(base64.urlsafe_b64decode(content)). This script does the
same with a dataclass of exactly the library's 17 fields, so that an unknown
or missing key, a timezone suffix or a token Fernet rejects fails here as it
would there.

usage: pyreader.py DIR   (the Fernet key, if any, in AUDIT_ENCRYPTION_KEY)
prints one JSON object per entry: id, the decrypted input/output (or null),
and whether the stored hashes match SHA-256 of the decrypted content.
"""
import base64
import dataclasses
import datetime
import glob
import hashlib
import json
import os
import sys
from typing import Any, Optional


@dataclasses.dataclass
class AuditEntry:
    id: str
    timestamp: Any
    input_hash: str
    output_hash: str
    input_content: Optional[str]
    output_content: Optional[str]
    provider: Optional[str]
    model: Optional[str]
    conversation_id: Optional[str]
    safety_passed: bool
    detectors_triggered: list
    block_reason: Optional[str]
    alerts: list
    latency_ms: float
    input_tokens: Optional[int]
    output_tokens: Optional[int]
    metadata: dict


def main():
    directory = sys.argv[1]
    key = os.environ.get("AUDIT_ENCRYPTION_KEY")
    fernet = None
    if key:
        from cryptography.fernet import Fernet
        fernet = Fernet(key.encode())
    naive_now = datetime.datetime.utcnow()
    week_ago = naive_now - datetime.timedelta(days=7)
    for path in sorted(glob.glob(os.path.join(directory, "audit_*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for raw in f:
                d = json.loads(raw)
                if list(d.keys()) != [f.name for f in dataclasses.fields(AuditEntry)]:
                    raise SystemExit(f"key order differs: {list(d.keys())}")
                e = AuditEntry(**d)
                ts = datetime.datetime.fromisoformat(e.timestamp)
                # A timezone-aware value would raise TypeError here.
                in_window = week_ago <= ts <= naive_now + datetime.timedelta(days=1)
                # json.dumps of what was read gives the line back.
                if json.dumps(d) + "\n" != raw:
                    raise SystemExit(f"line does not round-trip through json: {raw!r}")
                out = {"id": e.id, "in_window": in_window, "input": None, "output": None}
                if e.input_content is not None:
                    if fernet is None:
                        raise SystemExit("encrypted content but no key")
                    inp = fernet.decrypt(base64.urlsafe_b64decode(e.input_content)).decode()
                    outp = fernet.decrypt(base64.urlsafe_b64decode(e.output_content)).decode()
                    out["input"], out["output"] = inp, outp
                    out["hashes_match"] = (
                        hashlib.sha256(inp.encode()).hexdigest() == e.input_hash
                        and hashlib.sha256(outp.encode()).hexdigest() == e.output_hash
                    )
                out["metadata"] = e.metadata
                out["latency_ms"] = e.latency_ms
                print(json.dumps(out))


if __name__ == "__main__":
    main()
