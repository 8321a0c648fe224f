#!/usr/bin/env python3
"""Emulates the Python library's S3Storage write path, for benchmarks.

rotalabs_comply's S3Storage stores one object per entry: for each
`await logger.log(...)` it builds the entry (uuid4 id, naive UTC timestamp,
SHA-256 of input and output), serializes it with json.dumps(entry.to_dict())
and calls boto3's put_object(Bucket, Key=f"{prefix}{YYYY-MM-DD}/{id}.json",
Body=..., ContentType="application/json"), one entry after the other. The
library itself cannot be installed here, so this script does exactly that
with boto3 and prints the rate.

Usage: python_s3storage.py ENDPOINT BUCKET PREFIX N
(credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
"""
import datetime
import hashlib
import json
import sys
import time
import uuid

import boto3
from botocore.config import Config


def entry(i):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    inp, out = f"Query {i}", f"Response {i}"
    return {
        "id": str(uuid.uuid4()),
        "timestamp": now.isoformat(),
        "input_hash": hashlib.sha256(inp.encode()).hexdigest(),
        "output_hash": hashlib.sha256(out.encode()).hexdigest(),
        "input_content": None,
        "output_content": None,
        "provider": "openai",
        "model": "gpt-4",
        "conversation_id": None,
        "safety_passed": True,
        "detectors_triggered": [],
        "block_reason": None,
        "alerts": [],
        "latency_ms": 100.0,
        "input_tokens": None,
        "output_tokens": None,
        "metadata": {},
    }


def main():
    endpoint, bucket, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      config=Config(s3={"addressing_style": "path"}))
    start = time.perf_counter()
    for i in range(n):
        e = entry(i)
        key = f"{prefix}{e['timestamp'][:10]}/{e['id']}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(e), ContentType="application/json")
    elapsed = time.perf_counter() - start
    print(f"entries {n} seconds {elapsed:.3f} rate {n / elapsed:.1f}")


if __name__ == "__main__":
    main()
