package dci_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dci "github.com/libdci/libdci/bindings/go"
)

// pythonWithDCI is a Python that imports the dci package: $DCI_PYTHON (set by scripts/test-go),
// else the repository's .venv that scripts/test-python builds. The test fails without one.
func pythonWithDCI(t *testing.T) string {
	py := os.Getenv("DCI_PYTHON")
	if py == "" {
		py = filepath.Join(repoRoot(), ".venv", "bin", "python")
	}
	if out, err := exec.Command(py, "-c", "import dci").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import dci (set DCI_PYTHON, or run scripts/test-python to build .venv): %v\n%s", py, err, out)
	}
	return py
}

type exampleRegistry struct {
	base, clientID, clientSecret, senderID, senderKey, keyID string
}

// startExample runs the Python example registry (bindings/python/examples/registry_server.py,
// built on dci.Registry) on a free loopback port until the test ends.
func startExample(t *testing.T) exampleRegistry {
	py := pythonWithDCI(t)
	addr := freeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	key := filepath.Join(t.TempDir(), "sender.pem")
	script := filepath.Join(repoRoot(), "bindings", "python", "examples", "registry_server.py")
	cmd := exec.Command(py, script, "--host", host, "--port", port, "--sender-key", key,
		"--allow-private-callbacks")
	r := exampleRegistry{base: "http://" + addr, senderKey: key}
	runWithBanner(t, cmd, "registry_server.py", func(line string) bool {
		if v, ok := strings.CutPrefix(line, "client_id:"); ok {
			r.clientID = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "client_secret:"); ok {
			r.clientSecret = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "sender_id:"); ok {
			r.senderID = strings.TrimSpace(v)
		}
		if _, v, ok := strings.Cut(line, "(key id "); ok {
			r.keyID = strings.TrimSuffix(v, ")")
		}
		return strings.HasPrefix(line, "JWKS:")
	})
	if r.clientSecret == "" || r.senderID == "" || r.keyID == "" {
		t.Fatalf("banner fields missing: %+v", r)
	}
	return r
}

// The Go client against a registry that is not libdci's server but a Python host on the
// registry kit: sync search, async search answered by callback, txn status, all signed.
func TestClientAgainstPythonExampleRegistry(t *testing.T) {
	r := startExample(t)
	addr := freeAddr(t)
	client, err := dci.NewClient(map[string]any{
		"base_url":         r.base,
		"our_sender_id":    r.senderID,
		"receiver_id":      "registry.example.org",
		"our_callback_uri": "http://" + addr + "/dci",
		"auth": map[string]any{
			"type": "oauth2", "client_id": r.clientID, "client_secret": r.clientSecret,
		},
		"signing":      map[string]any{"key_file": r.senderKey, "key_id": r.keyID},
		"registry_key": map[string]any{"jwks_url": "/.well-known/jwks.json"},
		"max_retries":  0,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	res, err := client.SearchSync(dci.Search{Query: must(dci.IDTypeValue("UIN", "UIN-1001"))})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Signature.Verified {
		t.Fatalf("the answer's signature was not verified: %+v", res.Signature)
	}
	recs := res.Records()
	if len(recs) != 1 {
		t.Fatalf("records %s", recs)
	}
	var person struct {
		Name    map[string]string `json:"name"`
		Address any               `json:"address"`
	}
	if err := json.Unmarshal(recs[0], &person); err != nil {
		t.Fatal(err)
	}
	// The record, cut to the sender's data sharing fields (the address is not among them).
	if person.Name["given_name"] != "Amina" || person.Address != nil {
		t.Fatalf("record %s", recs[0])
	}

	listener, err := client.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	ack, err := client.SearchAsync(dci.Search{Query: must(dci.IDTypeValue("UIN", "UIN-1002"))})
	if err != nil {
		t.Fatal(err)
	}
	if ack.AckStatus != "ACK" {
		t.Fatalf("ack %+v", ack)
	}
	raw, err := client.WaitFor(ack.TransactionID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var cb struct {
		Kind   string           `json:"kind"`
		Result dci.SearchResult `json:"result"`
	}
	if err := json.Unmarshal(raw, &cb); err != nil {
		t.Fatal(err)
	}
	if cb.Kind != "search" || cb.Result.TransactionID != ack.TransactionID || !cb.Result.Signature.Verified ||
		len(cb.Result.Records()) != 1 || !strings.Contains(string(cb.Result.Records()[0]), "Jonas") {
		t.Fatalf("callback result %s", raw)
	}

	status, err := client.TxnStatus(dci.TxnStatusQuery{
		TxnType: "search", AttributeType: "transaction_id", AttributeValue: ack.TransactionID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), ack.TransactionID) || !strings.Contains(string(status), "UIN-1002") {
		t.Fatalf("txn status %s", status)
	}
}
