#!/usr/bin/env python3
"""Server memory of one large sync search (BENCHMARKS.md, "Server: bounded work").

usage: bench-memory.py BANNER_LOG SERVER_PID [ITEMS] [PAGE_SIZE]

Sends one unsigned sync search of ITEMS (default 100) predicate items, each
`birth_date ge 1900-01-01` with PAGE_SIZE (default 1000), to a running `dci serve --demo`
whose stdout is BANNER_LOG, and prints the server's RSS (VmRSS) before, its peak (VmHWM)
during, and its RSS after, with the response's size, time and item statuses.
"""
import collections
import json
import re
import sys
import time
import urllib.parse
import urllib.request
import uuid


def rss(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} for pid {pid}")


def main():
    banner = open(sys.argv[1]).read()
    pid = int(sys.argv[2])
    items = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    page_size = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    base = re.search(r"listening on (http://\S+)", banner).group(1)
    secret = re.search(r"client_secret:\s+(\S+)", banner).group(1)
    line = next(l for l in banner.splitlines() if "/registry/sync/search" in l and " -d '" in l)
    template = line.split(" -d '", 1)[1].rsplit("'", 1)[0]
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "demo-client",
                                   "client_secret": secret}).encode()
    token = json.load(urllib.request.urlopen(base + "/oauth2/client/token", form))["access_token"]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = template.replace("'$(date +%s%N)'", uuid.uuid4().hex).replace(
        "'$(date -u +%Y-%m-%dT%H:%M:%SZ)'", now)
    env = json.loads(text)
    one = env["message"]["search_request"][0]
    env["message"]["search_request"] = []
    for i in range(items):
        it = json.loads(json.dumps(one))
        it["reference_id"] = f"ref-{i}"
        it["search_criteria"]["query_type"] = "predicate"
        it["search_criteria"]["query"] = [{"seq_num": 1, "expression1": {
            "attribute_name": "birth_date", "operator": "ge", "attribute_value": "1900-01-01"}}]
        it["search_criteria"]["pagination"] = {"page_size": page_size, "page_number": i + 1}
        env["message"]["search_request"].append(it)
    env["header"]["total_count"] = items
    body = json.dumps(env).encode()
    before, peak_before = rss(pid, "VmRSS"), rss(pid, "VmHWM")
    anon_before = rss(pid, "RssAnon")
    req = urllib.request.Request(base + "/registry/sync/search", body, {
        "Content-Type": "application/json", "Authorization": "Bearer " + token})
    t0 = time.perf_counter()
    try:
        resp = urllib.request.urlopen(req)
        status, out = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, out = e.code, e.read()
    took = time.perf_counter() - t0
    peak = rss(pid, "VmHWM")
    time.sleep(1)
    after, anon_after = rss(pid, "VmRSS"), rss(pid, "RssAnon")
    v = json.loads(out)
    got = v.get("message", {}).get("search_response", [])
    statuses = collections.Counter((i.get("status"), i.get("status_reason_code")) for i in got)
    records = sum(len((i.get("data") or {}).get("reg_records", [])) for i in got)
    print(f"request {len(body)} bytes, {items} items, page_size {page_size}: HTTP {status}, "
          f"{len(out)} bytes, {records} records, {took * 1000:.0f} ms")
    print(f"items: {dict(statuses)}")
    print(f"server RSS before {before:.1f} MiB (peak so far {peak_before:.1f}), peak {peak:.1f} MiB "
          f"(growth {peak - before:.1f} MiB), after {after:.1f} MiB")
    print(f"of which heap (RssAnon) {anon_before:.1f} MiB before, {anon_after:.1f} MiB after; the rest "
          f"is SQLite's file pages (mmap), shared with the kernel's page cache")


if __name__ == "__main__":
    main()
