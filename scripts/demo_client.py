"""What the bench scripts share: a client of a running `dci serve --demo`, read from its banner
(the stdout it printed: address, demo client secret, an example search request)."""
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


class DemoClient:
    def __init__(self, banner_path):
        banner = open(banner_path).read()
        self.base = re.search(r"listening on (http://\S+)", banner).group(1)
        secret = re.search(r"client_secret:\s+(\S+)", banner).group(1)
        line = next(l for l in banner.splitlines() if "/registry/sync/search" in l and " -d '" in l)
        self.template = line.split(" -d '", 1)[1].rsplit("'", 1)[0]
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "demo-client",
                                       "client_secret": secret}).encode()
        self.token = json.load(urllib.request.urlopen(self.base + "/oauth2/client/token", form))["access_token"]

    def envelope(self):
        """The banner's example search envelope (unsigned) with a fresh message_id and time."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        text = self.template.replace("'$(date +%s%N)'", uuid.uuid4().hex).replace(
            "'$(date -u +%Y-%m-%dT%H:%M:%SZ)'", now)
        return json.loads(text)

    def search(self, env, timeout=600):
        """POSTs a sync search envelope; returns (HTTP status, body bytes, seconds)."""
        req = urllib.request.Request(self.base + "/registry/sync/search", json.dumps(env).encode(), {
            "Content-Type": "application/json", "Authorization": "Bearer " + self.token})
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        return status, body, time.perf_counter() - t0

    def query(self, query_type, query, page_size=10, page_number=1):
        """One search of the example envelope with this query."""
        env = self.envelope()
        c = env["message"]["search_request"][0]["search_criteria"]
        c["query_type"], c["query"] = query_type, query
        c["pagination"] = {"page_size": page_size, "page_number": page_number}
        return self.search(env)
