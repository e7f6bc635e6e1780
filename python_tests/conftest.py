"""Fixtures: the reference server (`dci serve --demo`) on a free port.

The `dci` binary is found through $DCI_BIN, else in $CARGO_TARGET_DIR or ./target
({debug,release}/dci). Build it with `cargo build -p dci-cli`. Tests that need the server are
skipped, with the reason, when no binary is found or it cannot serve the demo registry.
"""

import os
import pathlib
import queue
import re
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 120  # seeding the demo dataset on a debug build takes a while


def find_dci_binary():
    env = os.environ.get("DCI_BIN")
    if env:
        return pathlib.Path(env)
    dirs = []
    if os.environ.get("CARGO_TARGET_DIR"):
        dirs.append(pathlib.Path(os.environ["CARGO_TARGET_DIR"]))
    dirs.append(ROOT / "target")
    candidates = [d / profile / "dci" for d in dirs for profile in ("release", "debug")]
    found = [c for c in candidates if c.is_file()]
    # The most recently built one.
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Registry:
    url: str
    client_id: str
    client_secret: str
    sender_id: str
    sender_key_path: str
    server_id: str
    log: list

    def token(self):
        data = f"grant_type=client_credentials&client_id={self.client_id}&client_secret={self.client_secret}".encode()
        req = urllib.request.Request(self.url + "/oauth2/client/token", data=data)
        with urllib.request.urlopen(req, timeout=10) as r:
            import json

            return json.load(r)["access_token"]

    def post_records(self, batch):
        """Changes records through the admin endpoint (queues notify events)."""
        import json

        req = urllib.request.Request(
            self.url + "/admin/records",
            data=json.dumps(batch).encode(),
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)


def _reader(stream, q, log):
    for line in stream:
        log.append(line.rstrip("\n"))
        q.put(line)
    q.put(None)


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    binary = find_dci_binary()
    if binary is None:
        pytest.skip("no dci binary (set DCI_BIN or run `cargo build -p dci-cli`)")
    port = free_port()
    db = tmp_path_factory.mktemp("registry") / "registry.db"
    proc = subprocess.Popen(
        [str(binary), "serve", "--demo", "--listen", f"127.0.0.1:{port}", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    q: queue.Queue = queue.Queue()
    log: list = []
    threading.Thread(target=_reader, args=(proc.stdout, q, log), daemon=True).start()
    info = {}
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while time.monotonic() < deadline and "client_secret" not in info:
            try:
                line = q.get(timeout=1)
            except queue.Empty:
                if proc.poll() is not None:
                    break
                continue
            if line is None:
                break
            m = re.match(r"\s*(client_id|client_secret|sender_id):\s*(\S+)", line)
            if m:
                info[m.group(1)] = m.group(2)
        if "client_secret" not in info:
            proc.kill()
            proc.wait()
            pytest.skip(f"{binary} did not start the demo registry: {' | '.join(log[-5:])}")
        url = f"http://127.0.0.1:{port}"
        # Ready when /healthz answers.
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        yield Registry(
            url=url,
            client_id=info.get("client_id", "demo-client"),
            client_secret=info["client_secret"],
            sender_id=info.get("sender_id", "demo-sender"),
            sender_key_path=f"{db}.demo-sender.pem",
            server_id="registry.example.org",
            log=log,
        )
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
