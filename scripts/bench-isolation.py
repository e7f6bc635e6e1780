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
import sys
import threading
import time

from demo_client import DemoClient


def main():
    client = DemoClient(sys.argv[1])
    slow = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    lookups = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    stop = threading.Event()
    outcomes = collections.Counter()
    unindexed = {"type": "ns:org:QueryType:expression", "value": {"expression": {
        "birth_place.name": {"$startsWith": "Zz"}}}}

    def slow_loop():
        while not stop.is_set():
            status, body, took = client.query("expression", unindexed)
            item = (json.loads(body).get("message", {}).get("search_response") or [{}])[0]
            outcomes[(status, item.get("status"), item.get("status_reason_code"))] += 1

    threads = [threading.Thread(target=slow_loop) for _ in range(slow)]
    for t in threads:
        t.start()
    time.sleep(1)
    times = []
    for i in range(lookups):
        status, _, took = client.query("idtype-value", {"type": "UIN", "value": str(100000000 + i)})
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
