#!/usr/bin/env python3
"""p50 of a few sync searches against a running `dci serve --demo` (BENCHMARKS.md, "Server:
searches compiled to SQL").

usage: bench-search.py BANNER_LOG [RUNS]

BANNER_LOG is the stdout of `dci serve --demo ...` (client secret and an example request).
Each search is one unsigned sync search (the demo sender's signature policy is optional) with
page_size 10; prints the median and the worst wall time per search, and the total_count.
"""
import json
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid

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


def main():
    banner = open(sys.argv[1]).read()
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    base = re.search(r"listening on (http://\S+)", banner).group(1)
    secret = re.search(r"client_secret:\s+(\S+)", banner).group(1)
    line = next(l for l in banner.splitlines() if "/registry/sync/search" in l and " -d '" in l)
    template = line.split(" -d '", 1)[1].rsplit("'", 1)[0]
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "demo-client",
                                   "client_secret": secret}).encode()
    token = json.load(urllib.request.urlopen(base + "/oauth2/client/token", form))["access_token"]
    for name, qt, q in SEARCHES:
        times, total = [], None
        for _ in range(runs):
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            text = template.replace("'$(date +%s%N)'", uuid.uuid4().hex).replace(
                "'$(date -u +%Y-%m-%dT%H:%M:%SZ)'", now)
            env = json.loads(text)
            item = env["message"]["search_request"][0]
            item["search_criteria"]["query_type"] = qt
            item["search_criteria"]["query"] = q
            item["search_criteria"]["pagination"] = {"page_size": 10, "page_number": 1}
            req = urllib.request.Request(base + "/registry/sync/search", json.dumps(env).encode(), {
                "Content-Type": "application/json", "Authorization": "Bearer " + token})
            t0 = time.perf_counter()
            body = json.load(urllib.request.urlopen(req, timeout=600))
            times.append((time.perf_counter() - t0) * 1000)
            resp = body["message"]["search_response"][0]
            total = resp.get("pagination", {}).get("total_count")
            if resp["status"] != "succ":
                raise SystemExit(f"{name}: {resp}")
        print(f"{name}: p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms, "
              f"total_count {total}, runs {runs}")


if __name__ == "__main__":
    main()
