package dci_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dci "github.com/libdci/libdci/bindings/go"
)

// serverBinary finds the reference server: $DCI_SERVER_BIN (set by scripts/test-go), or
// `cargo build -p dci-cli` in the repository. The test fails when it cannot be built.
func serverBinary(t *testing.T) string {
	if bin := os.Getenv("DCI_SERVER_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("DCI_SERVER_BIN=%s: %v", bin, err)
		}
		return bin
	}
	root, err := filepath.Abs(repoRoot())
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("cargo", "build", "-p", "dci-cli", "--bin", "dci", "--message-format=short")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the reference server could not be built (cargo build -p dci-cli): %v\n%s", err, out)
	}
	meta, err := exec.Command("cargo", "metadata", "--format-version", "1", "--no-deps",
		"--manifest-path", filepath.Join(root, "Cargo.toml")).Output()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		TargetDirectory string `json:"target_directory"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(m.TargetDirectory, "debug", "dci")
}

// demoBinary is serverBinary, failing when that dci has no `serve` command.
func demoBinary(t *testing.T) string {
	bin := serverBinary(t)
	if out, err := exec.Command(bin, "serve", "--help").CombinedOutput(); err != nil {
		t.Fatalf("%s has no serve command (the reference server is not part of this build): %v\n%s", bin, err, out)
	}
	return bin
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type demoServer struct {
	base, clientID, clientSecret, senderKey string
}

// startDemo runs `dci serve --demo` on a free loopback port until the test ends.
func startDemo(t *testing.T) demoServer {
	bin := demoBinary(t)
	addr := freeAddr(t)
	db := filepath.Join(t.TempDir(), "demo.db")
	fields := map[string]string{}
	// The banner prints the demo client's credentials; its last line names `dci sign --key`.
	runWithBanner(t, exec.Command(bin, "serve", "--demo", "--listen", addr, "--db", db), "dci serve --demo",
		func(line string) bool {
			for _, k := range []string{"client_id:", "client_secret:"} {
				if v, ok := strings.CutPrefix(line, k); ok {
					fields[k] = strings.TrimSpace(v)
				}
			}
			return strings.Contains(line, "dci sign --key")
		})
	return demoServer{
		base:         "http://" + addr,
		clientID:     fields["client_id:"],
		clientSecret: fields["client_secret:"],
		senderKey:    db + ".demo-sender.pem",
	}
}

// runWithBanner starts a server until the test ends and reads its stdout line by line (trimmed)
// through `line` until it returns true: the banner's last line. The server's stderr is shown
// only when the test fails.
func runWithBanner(t *testing.T, cmd *exec.Cmd, name string, line func(string) bool) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line(strings.TrimSpace(sc.Text())) {
				done <- nil
				// Keep draining so the server never blocks on a full pipe.
				for sc.Scan() {
				}
				return
			}
		}
		done <- errors.New(name + " exited before printing its banner")
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("no banner from %s within 5 minutes", name)
	}
}

// demoClient is a client of the demo server: OAuth2 with the banner's credentials, requests
// signed with the demo sender's key, responses verified against the server's JWKS.
func demoClient(t *testing.T, s demoServer, callbackURI string) *dci.Client {
	if s.clientID == "" || s.clientSecret == "" {
		t.Fatalf("credentials not found in the banner: %+v", s)
	}
	ds := map[string]any{
		"base_url":      s.base,
		"our_sender_id": "demo-sender",
		"receiver_id":   "registry.example.org",
		"auth": map[string]any{
			"type": "oauth2", "client_id": s.clientID, "client_secret": s.clientSecret,
		},
		"signing":      map[string]any{"key_file": s.senderKey, "key_id": "demo-key-1"},
		"registry_key": map[string]any{"jwks_url": "/.well-known/jwks.json"},
		"max_retries":  0,
	}
	if callbackURI != "" {
		ds["our_callback_uri"] = callbackURI
	}
	client, err := dci.NewClient(ds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func TestSearchAgainstReferenceServer(t *testing.T) {
	s := startDemo(t)
	client := demoClient(t, s, "")

	q := must(dci.IDTypeValue("UIN", "100000001"))
	r, err := client.SearchSync(dci.Search{Query: q, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Items) != 1 || r.Items[0].Status != "succ" || len(r.Records()) != 1 {
		t.Fatalf("items %+v", r.Items)
	}
	if !r.Signature.Verified || !strings.HasPrefix(r.Signature.Kid, "registry.example.org|") {
		t.Fatalf("response signature %+v", r.Signature)
	}
	if p := r.Items[0].Pagination; p == nil || p.TotalCount != 1 {
		t.Fatalf("pagination %+v", p)
	}
	if !strings.Contains(string(r.Records()[0]), "100000001") {
		t.Fatalf("record %s", r.Records()[0])
	}
	// The record matches the query that found it, evaluated locally too.
	if !must(q.Matches(r.Records()[0])) {
		t.Fatalf("the local evaluator disagrees with the server on %s", r.Records()[0])
	}

	report, err := client.TestConnection()
	if err != nil {
		t.Fatal(err)
	}
	if !report.Authenticated || !report.Reachable {
		t.Fatalf("connection report %+v", report)
	}

	// A predicate over a year of births, fetched in pages of 10: the same records as one big
	// page, and as many as the registry counts.
	pl := must(dci.NewPredicateList())
	defer pl.Close()
	if err := pl.Add("birth_date", "ge", "1990-01-01"); err != nil {
		t.Fatal(err)
	}
	if err := pl.Join("and", "birth_date", "le", "1990-12-31"); err != nil {
		t.Fatal(err)
	}
	year := must(pl.Query())
	first, err := client.SearchSync(dci.Search{Query: year, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	total := first.Items[0].Pagination.TotalCount
	all, err := client.SearchAll(dci.Search{Query: year, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total <= 10 || len(all) != total || len(first.Records()) != total {
		t.Fatalf("total_count %d, %d records in one page, %d in pages of 10", total, len(first.Records()), len(all))
	}
	for _, rec := range all {
		if !must(year.Matches(rec)) {
			t.Fatalf("the local evaluator disagrees with the server on %s", rec)
		}
	}

	// Nobody under this identifier.
	none, err := client.SearchSync(dci.Search{Query: must(dci.IDTypeValue("UIN", "999999999"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Records()) != 0 {
		t.Fatalf("records for an unknown UIN: %d", len(none.Records()))
	}

	// The CRVS service over the same client.
	birth, err := client.VerifyBirth("UIN", "100000001")
	if err != nil {
		t.Fatal(err)
	}
	if birth == nil || birth.IdentifierValue != "100000001" {
		t.Fatalf("birth %+v", birth)
	}

	// Wrong credentials are an authentication error.
	bad, err := dci.NewClient(map[string]any{
		"base_url": s.base, "our_sender_id": "demo-sender", "max_retries": 0,
		"auth": map[string]any{"type": "oauth2", "client_id": s.clientID, "client_secret": "wrong"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, err = bad.SearchSync(dci.Search{Query: q})
	if !errors.Is(err, dci.ErrAuth) {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestUnreachableRegistry(t *testing.T) {
	client, err := dci.NewClient(`{"base_url":"http://127.0.0.1:9","our_sender_id":"a","max_retries":0}`)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, err = client.SearchSync(dci.Search{Query: must(dci.IDTypeValue("UIN", "1"))})
	if !errors.Is(err, dci.ErrConnection) {
		t.Fatalf("want a connection error, got %v", err)
	}
	// The transaction and the endpoint are data of the error, not parsed from its text.
	if e := err.(*dci.Error); e.TransactionID == "" || e.Endpoint != "http://127.0.0.1:9/registry/sync/search" {
		t.Fatalf("transaction %q endpoint %q", e.TransactionID, e.Endpoint)
	}
	_, err = dci.NewClient(map[string]any{"base_url": "http://127.0.0.1:9"})
	wantKind(t, err, dci.KindConfig, "")
	if e := err.(*dci.Error); e.Field != "our_sender_id" {
		t.Fatalf("field %q", e.Field)
	}
	ans, err := client.HandleCallback([]byte("{oops"), map[string]string{"Content-Type": "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Accepted || ans.HTTPStatus != 400 || ans.Error == nil || ans.Error.Kind != "json" ||
		!strings.Contains(string(ans.Ack), `"ack_status":"ERR"`) {
		t.Fatalf("%+v", ans)
	}
}

// The async flow: the registry acknowledges, then posts on-search to our callback endpoint,
// which hands it to HandleCallback; WaitFor returns the result.
func TestAsyncSearchWithCallback(t *testing.T) {
	s := startDemo(t)
	// The handler starts before the client exists; it reads it through an atomic pointer.
	var current atomic.Pointer[dci.Client]
	callbacks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		headers := map[string]string{}
		for k := range r.Header {
			headers[k] = r.Header.Get(k)
		}
		ans, err := current.Load().HandleCallback(body, headers)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ans.HTTPStatus)
		_, _ = w.Write(ans.Ack)
	}))
	defer callbacks.Close()
	client := demoClient(t, s, callbacks.URL+"/callback")
	current.Store(client)

	ack, err := client.SearchAsync(dci.Search{Query: must(dci.IDTypeValue("UIN", "100000002"))})
	if err != nil {
		t.Fatal(err)
	}
	if ack.AckStatus != "ACK" || ack.TransactionID == "" || len(ack.ReferenceIDs) != 1 {
		t.Fatalf("ack %+v", ack)
	}
	raw, err := client.WaitFor(ack.TransactionID, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Kind   string           `json:"kind"`
		Result dci.SearchResult `json:"result"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Kind != "search" || res.Result.TransactionID != ack.TransactionID ||
		len(res.Result.Records()) != 1 || !strings.Contains(string(res.Result.Records()[0]), "100000002") {
		t.Fatalf("callback result %s", raw)
	}
	if !res.Result.Signature.Verified {
		t.Fatalf("the callback's signature was not verified: %+v", res.Result.Signature)
	}

	// The registry knows the transaction.
	status, err := client.TxnStatus(dci.TxnStatusQuery{
		TxnType: "search", AttributeType: "transaction_id", AttributeValue: ack.TransactionID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), ack.TransactionID) {
		t.Fatalf("txn status %s", status)
	}

	// Two searches in one file upload: each row accepted, each answered by callback.
	report, txns, err := client.UploadSearches(
		dci.Search{Query: must(dci.IDTypeValue("UIN", "100000004"))},
		dci.Search{Query: must(dci.IDTypeValue("UIN", "100000005"))},
	)
	if err != nil {
		t.Fatal(err)
	}
	if report.AckStatus != "ACK" || report.Rows != 2 || len(report.Accepted) != 2 || len(txns) != 2 {
		t.Fatalf("upload report %+v, transactions %v", report, txns)
	}
	for i, uin := range []string{"100000004", "100000005"} {
		raw, err := client.WaitFor(txns[i], 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), uin) {
			t.Fatalf("row %d callback %s", i+1, raw)
		}
	}
	// A file as given: a row that is not an envelope is reported by its row.
	bad, err := client.Upload("search", "json", "bad.json", []byte("[7]"))
	if err != nil {
		t.Fatal(err)
	}
	if bad.AckStatus != "ERR" || len(bad.Rejected) != 1 || bad.Rejected[0].Row != 1 || bad.Rejected[0].Code != "err.request.bad" {
		t.Fatalf("upload report %+v", bad)
	}
}

// The same flow with the library's own callback listener instead of a Go HTTP server.
func TestAsyncSearchWithListener(t *testing.T) {
	s := startDemo(t)
	addr := freeAddr(t)
	client := demoClient(t, s, "http://"+addr+"/dci")
	listener, err := client.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	if got := must(listener.Addr()); got != addr {
		t.Fatalf("listening on %s, want %s", got, addr)
	}
	ack, err := client.SearchAsync(dci.Search{Query: must(dci.IDTypeValue("UIN", "100000003"))})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := client.WaitFor(ack.TransactionID, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"kind":"search"`) || !strings.Contains(string(raw), "100000003") {
		t.Fatalf("callback result %s", raw)
	}
	if _, err := client.Listen(addr); !errors.Is(err, dci.ErrIO) {
		t.Fatalf("second listener on a taken port: %v", err)
	}
}
