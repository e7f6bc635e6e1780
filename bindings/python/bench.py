"""Benchmarks of the Python package (figures in BENCHMARKS.md, "Python").

1. Sign and verify a 1 KB and a 1 MB envelope (spdci profile, Ed25519) with dci, against the same
   operations in pure Python: json.dumps(sort_keys=True) + hashlib + cryptography.
2. The 1 MB operations from 2 threads, to show the GIL is released.
3. search_by_id round trips per second against `dci serve --demo`, from 1 and 8 threads
   (the binary from $DCI_BIN, else target/release/dci, else target/debug/dci; skipped if none).

Run (release build of the package):
    pip install .   # or: maturin develop --release
    cargo build --release -p dci-cli
    python bindings/python/bench.py    # --signatures-only: the first table alone

Every loop runs a fixed number of iterations (or a bounded time) and stops by itself.
"""

import base64
import concurrent.futures
import hashlib
import json
import os
import pathlib
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric import ed25519

import dci

SEED = bytes(range(32))
SENDER = "openspp.example.org"
KID = f"{SENDER}|key-1|ed25519"
NOW = int(time.time())
HEADERS = "(created) (expires) digest"


# ------------------------------------------------------------------ the pure-Python spdci profile


def py_canonical(header, message):
    return json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":")).encode()


def py_signing_string(created, expires, digest):
    return f"(created): {created}\n(expires): {expires}\ndigest: {digest}".encode()


def py_sign(private_key, envelope, now):
    digest = base64.b64encode(hashlib.sha256(py_canonical(envelope["header"], envelope["message"])).digest()).decode()
    created, expires = now, now + 300
    sig = base64.b64encode(private_key.sign(py_signing_string(created, expires, digest))).decode()
    envelope["signature"] = (
        f'namespace="dci", kidId="{KID}", algorithm="ed25519", created="{created}", '
        f'expires="{expires}", headers="{HEADERS}", signature="{sig}"'
    )
    return envelope


PARAM = re.compile(r'(\w+)="([^"]*)"')


def py_verify(public_key, body, now):
    env = json.loads(body)
    p = dict(PARAM.findall(env["signature"]))
    created, expires = int(p["created"]), int(p["expires"])
    if expires < now or created > now + 60 or p["headers"] != HEADERS:
        raise ValueError("signature window or headers")
    digest = base64.b64encode(hashlib.sha256(py_canonical(env["header"], env["message"])).digest()).decode()
    public_key.verify(base64.b64decode(p["signature"]), py_signing_string(created, expires, digest))
    return p["kidId"]


# ------------------------------------------------------------------ envelopes


def person(i):
    return {
        "@type": "Person",
        "identifier": [{"identifier_type": "UIN", "identifier_value": str(100000000 + i)}],
        "name": {"given_name": "Amina", "surname": "Okafor", "second_name": "Zoë"},
        "sex": "female",
        "birth_date": "1990-03-01",
        "address": {"locality": "Riverside", "region_code": "central_region", "country_code": "XX"},
        "poverty_score": 1.5 + i % 7,
    }


def make_envelope(target_bytes):
    records = []
    env = None
    while True:
        message = {
            "transaction_id": "txn-bench",
            "correlation_id": "corr-bench",
            "search_response": [
                {
                    "reference_id": "ref-1",
                    "timestamp": "2025-01-01T00:00:00.000Z",
                    "status": "succ",
                    "data": {"reg_records": records},
                }
            ],
        }
        header = {
            "version": "1.0.0",
            "message_id": "msg-bench",
            "message_ts": "2025-01-01T00:00:00.000Z",
            "action": "on-search",
            "status": "succ",
            "total_count": len(records),
            "sender_id": SENDER,
            "receiver_id": "registry.example.org",
            "is_msg_encrypted": False,
        }
        env = {"signature": "", "header": header, "message": message}
        size = len(json.dumps(env))
        if size >= target_bytes:
            return env, size
        records.append(person(len(records)))


# ------------------------------------------------------------------ timing


def rate(fn, min_iters, min_seconds=1.0, max_seconds=10.0):
    """Operations per second of this thread's CPU time (other processes on a busy machine do
    not count; dci's work with the GIL released runs on this thread too): at least `min_iters`
    runs and `min_seconds`, at most `max_seconds` of wall time."""
    fn()  # warm up
    n, cpu0, wall0 = 0, time.thread_time(), time.perf_counter()
    while True:
        fn()
        n += 1
        cpu = time.thread_time() - cpu0
        wall = time.perf_counter() - wall0
        if (n >= min_iters and cpu >= min_seconds) or wall >= max_seconds:
            return n / cpu


def threaded_rate(fn, threads, per_thread):
    """Operations per second of wall time, `threads` threads sharing one object."""
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: fn(), range(threads)))  # warm up
        start = time.perf_counter()
        futures = [pool.submit(lambda: [fn() for _ in range(per_thread)]) for _ in range(threads)]
        for f in futures:
            f.result()
        return threads * per_thread / (time.perf_counter() - start)


def bench_signatures():
    priv = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
    pub = priv.public_key()
    signer = dci.Signer(dci.SigningKey.from_ed25519_seed(SEED), SENDER, "key-1")
    vk = signer.verifying_key()
    rows = []
    for label, target, iters in (("1 KB", 1024, 20000), ("1 MB", 1024 * 1024, 20)):
        env, size = make_envelope(target)
        e_py = json.loads(json.dumps(env))
        e_dci = json.loads(json.dumps(env))
        body = json.dumps(signer.sign(json.loads(json.dumps(env)), now=NOW)).encode()
        # Both verifiers accept the other's signature (same profile, same key).
        assert py_verify(pub, body, NOW) == KID
        assert dci.verify(json.dumps(py_sign(priv, json.loads(json.dumps(env)), NOW)).encode(), vk, now=NOW)["kid"] == KID
        unsigned_body = json.dumps(env).encode()
        r = {
            "label": label,
            "bytes": size,
            "sign_py": rate(lambda: py_sign(priv, e_py, NOW), iters),
            "sign_dci": rate(lambda: signer.sign(e_dci, now=NOW), iters),
            "sign_bytes_dci": rate(lambda: signer.sign_bytes(unsigned_body, now=NOW), iters),
            "canon_py": rate(lambda: py_canonical(e_py["header"], e_py["message"]), iters),
            "canon_dci": rate(lambda: dci.canonicalize({"header": e_dci["header"], "message": e_dci["message"]}), iters),
            "verify_py": rate(lambda: py_verify(pub, body, NOW), iters),
            "verify_dci": rate(lambda: dci.verify(body, vk, now=NOW), iters),
        }
        if label == "1 MB":
            r["verify_dci_2threads"] = threaded_rate(lambda: dci.verify(body, vk, now=NOW), 2, iters)
            r["verify_py_2threads"] = threaded_rate(lambda: py_verify(pub, body, NOW), 2, max(iters // 2, 5))
            r["sign_bytes_dci_2threads"] = threaded_rate(lambda: signer.sign_bytes(unsigned_body, now=NOW), 2, iters)
        rows.append(r)
    return rows


# ------------------------------------------------------------------ round trips


def find_dci():
    if os.environ.get("DCI_BIN"):
        return os.environ["DCI_BIN"]
    root = pathlib.Path(__file__).resolve().parents[2]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    for profile in ("release", "debug"):
        p = target / profile / "dci"
        if p.is_file():
            return str(p)
    return None


def bench_round_trips(total_per_thread=200):
    binary = find_dci()
    if not binary:
        return None
    work = tempfile.mkdtemp()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(work, "serve.log"), "w+")
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--listen", f"127.0.0.1:{port}", "--db", os.path.join(work, "r.db")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        secret = None
        for _ in range(1200):  # at most 4 minutes
            log.seek(0)
            m = re.search(r"client_secret:\s*(\S+)", log.read())
            if m:
                secret = m.group(1)
                break
            if proc.poll() is not None:
                return None
            time.sleep(0.2)
        if secret is None:
            return None
        url = f"http://127.0.0.1:{port}"
        source = dci.DataSource(
            url,
            "demo-sender",
            registry_type="crvs",
            auth_type="oauth2",
            oauth2_client_id="demo-client",
            oauth2_client_secret=secret,
            signing_key=dci.SigningKey.load(os.path.join(work, "r.db.demo-sender.pem")),
            signing_key_id="demo-key-1",
            registry_jwks_url=url + "/.well-known/jwks.json",
        )
        client = dci.DCIClient(source)
        uins = [str(100000000 + i) for i in range(1, 2001)]

        def one(i=[0]):
            i[0] += 1
            client.search_by_id("UIN", uins[i[0] % len(uins)])

        out = {"binary": binary}
        for threads in (1, 8):
            out[threads] = threaded_rate(one, threads, total_per_thread // threads * (2 if threads > 1 else 1))
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    print(f"# Python {platform.python_version()}, dci {dci.__version__}, {os.cpu_count()} CPUs, {platform.machine()}")
    print()
    print("| envelope | operation | pure Python (ops/s) | dci (ops/s) | speed-up |")
    print("|---|---|---:|---:|---:|")
    for r in bench_signatures():
        lab = f"{r['label']} ({r['bytes']:,} bytes)"
        print(f"| {lab} | sign (dict) | {r['sign_py']:,.0f} | {r['sign_dci']:,.0f} | {r['sign_dci'] / r['sign_py']:.1f}x |")
        print(f"| {lab} | canonicalize (dict) | {r['canon_py']:,.0f} | {r['canon_dci']:,.0f} | {r['canon_dci'] / r['canon_py']:.1f}x |")
        print(f"| {lab} | sign (JSON bytes) | {r['sign_py']:,.0f} | {r['sign_bytes_dci']:,.0f} | {r['sign_bytes_dci'] / r['sign_py']:.1f}x |")
        print(f"| {lab} | verify | {r['verify_py']:,.0f} | {r['verify_dci']:,.0f} | {r['verify_dci'] / r['verify_py']:.1f}x |")
        if "verify_dci_2threads" in r:
            print(f"| {lab} | verify, 2 threads | {r['verify_py_2threads']:,.0f} | {r['verify_dci_2threads']:,.0f} | {r['verify_dci_2threads'] / r['verify_py_2threads']:.1f}x |")
            print(f"| {lab} | sign (JSON bytes), 2 threads | | {r['sign_bytes_dci_2threads']:,.0f} | |")
    sys.stdout.flush()
    if "--signatures-only" in sys.argv:
        return
    rt = bench_round_trips()
    print()
    if rt is None:
        print("search_by_id round trips: skipped (no dci binary; cargo build --release -p dci-cli)")
    else:
        print(f"search_by_id round trips against `dci serve --demo` ({rt['binary']}):")
        print()
        print("| client threads | round trips/s |")
        print("|---:|---:|")
        for t in (1, 8):
            print(f"| {t} | {rt[t]:,.0f} |")


if __name__ == "__main__":
    main()
