#!/usr/bin/env python3
"""p50 of a few sync searches against a running `dci serve --demo` (BENCHMARKS.md, "Server:
searches compiled to SQL").

usage: bench-search.py BANNER_LOG [RUNS] [CONNECTIONS]

BANNER_LOG is the stdout of `dci serve --demo ...` (client secret and an example request).
Each search is one unsigned sync search (the demo sender's signature policy is optional) with
page_size 10; prints the median, the 99th percentile and the worst wall time per search, and
the total_count. With CONNECTIONS (default 1) that many threads send each search RUNS times in
all, at once (one request in flight per thread; urllib opens a connection per request).
"""
import collections
import concurrent.futures
import json
import statistics
import sys

from demo_client import DemoClient

SEARCHES = [
    ("idtype-value UIN", "idtype-value", {"type": "UIN", "value": "100000123"}),
    ("predicate birth_date in January 2020", "predicate", [{
        "seq_num": 1,
        "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2020-01-01"},
        "condition": "and",
        "expression2": {"attribute_name": "birth_date", "operator": "lt", "attribute_value": "2020-02-01"},
    }]),
    ("expression sex + region", "expression", {"type": "ns:org:QueryType:expression", "value": {"expression": {
        "query": {"$and": [{"sex": {"$eq": "female"}}, {"address.region_code": {"$eq": "northern_region"}}]}}}}),
    ("predicate name.given_name eq Musa", "predicate", [{
        "seq_num": 1,
        "expression1": {"attribute_name": "name.given_name", "operator": "eq", "attribute_value": "Musa"},
    }]),
]


def p99(times):
    times = sorted(times)
    return times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]


def main():
    client = DemoClient(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    for name, qt, q in SEARCHES:
        def one(_):
            status, body, took = client.query(qt, q)
            msg = json.loads(body).get("message", {})
            resp = (msg.get("search_response") or [{}])[0]
            if status != 200 or resp.get("status") != "succ":
                # Refused under load (503 waiting for a search worker, a time limit): counted.
                code = resp.get("status_reason_code") or msg.get("error", {}).get("code")
                return took * 1000, None, f"HTTP {status} {code}"
            return took * 1000, resp.get("pagination", {}).get("total_count"), None

        with concurrent.futures.ThreadPoolExecutor(conns) as pool:
            got = list(pool.map(one, range(runs)))
        times = [t for t, _, err in got if err is None]
        failed = collections.Counter(err for _, _, err in got if err is not None)
        if not times:
            print(f"{name}: every request failed: {dict(failed)}, connections {conns}")
            continue
        total = next(t for _, t, err in got if err is None)
        print(f"{name}: p50 {statistics.median(times):.1f} ms, p99 {p99(times):.1f} ms, "
              f"max {max(times):.1f} ms, total_count {total}, runs {len(times)} answered"
              f"{', refused ' + str(dict(failed)) if failed else ''}, connections {conns}")


if __name__ == "__main__":
    main()
