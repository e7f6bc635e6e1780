#!/usr/bin/env python3
"""Identifier lookups while slow searches run (BENCHMARKS.md, "Server: bounded work").

usage: bench-isolation.py BANNER_LOG [SLOW] [LOOKUPS]

Against a running `dci serve --demo` whose stdout is BANNER_LOG: SLOW (default 4) threads
each send unindexed searches (`birth_place.name` starts with "Zz", a full scan) back to back,
while one thread sends LOOKUPS (default 200) idtype-value searches; prints the lookups' p50,
p99 and max, and what the slow searches got (answers and 503s).
"""
import collections
import json
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


def setup(banner):
    base = re.search(r"listening on (http://\S+)", banner).group(1)
    secret = re.search(r"client_secret:\s+(\S+)", banner).group(1)
    line = next(l for l in banner.splitlines() if "/registry/sync/search" in l and " -d '" in l)
    template = line.split(" -d '", 1)[1].rsplit("'", 1)[0]
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "demo-client",
                                   "client_secret": secret}).encode()
    token = json.load(urllib.request.urlopen(base + "/oauth2/client/token", form))["access_token"]
    return base, template, token


def send(base, template, token, qt, q):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = template.replace("'$(date +%s%N)'", uuid.uuid4().hex).replace(
        "'$(date -u +%Y-%m-%dT%H:%M:%SZ)'", now)
    env = json.loads(text)
    c = env["message"]["search_request"][0]["search_criteria"]
    c["query_type"], c["query"] = qt, q
    c["pagination"] = {"page_size": 10, "page_number": 1}
    req = urllib.request.Request(base + "/registry/sync/search", json.dumps(env).encode(), {
        "Content-Type": "application/json", "Authorization": "Bearer " + token})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    return status, body, time.perf_counter() - t0


def main():
    base, template, token = setup(open(sys.argv[1]).read())
    slow = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    lookups = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    stop = threading.Event()
    outcomes = collections.Counter()
    unindexed = {"type": "ns:org:QueryType:expression", "value": {"expression": {
        "birth_place.name": {"$startsWith": "Zz"}}}}

    def slow_loop():
        while not stop.is_set():
            status, body, took = send(base, template, token, "expression", unindexed)
            item = (json.loads(body).get("message", {}).get("search_response") or [{}])[0]
            outcomes[(status, item.get("status"), item.get("status_reason_code"))] += 1

    threads = [threading.Thread(target=slow_loop) for _ in range(slow)]
    for t in threads:
        t.start()
    time.sleep(1)
    times = []
    for i in range(lookups):
        status, _, took = send(base, template, token, "idtype-value",
                               {"type": "UIN", "value": str(100000000 + i)})
        assert status == 200, status
        times.append(took * 1000)
    stop.set()
    for t in threads:
        t.join()
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"{lookups} lookups beside {slow} unindexed searches: p50 {p(0.5):.1f} ms, "
          f"p99 {p(0.99):.1f} ms, max {times[-1]:.1f} ms")
    print(f"unindexed searches: {dict(outcomes)}")


if __name__ == "__main__":
    main()
