package dci_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	dci "github.com/libdci/libdci/bindings/go"
)

const (
	regServer = "crvs.example.org"
	regSender = "spmis.example.org"
)

// regKit is a registry with one registered sender, and that sender's signer.
type regKit struct {
	reg       *dci.Registry
	serverPub *dci.VerifyingKey
	signer    *dci.Signer
	sender    dci.Sender
}

func newRegKit(t *testing.T) *regKit {
	t.Helper()
	serverKey := must(dci.GenerateSigningKey("ed25519"))
	senderKey := must(dci.GenerateSigningKey("ed25519"))
	t.Cleanup(func() { serverKey.Close(); senderKey.Close() })
	senderPub := must(senderKey.VerifyingKey())
	defer senderPub.Close()
	jwk := must(senderPub.JWK("key1"))
	k := &regKit{
		serverPub: must(serverKey.VerifyingKey()),
		signer:    must(dci.NewSigner(senderKey, regSender, "key1")),
		sender: dci.Sender{
			SenderID:    regSender,
			JWKS:        json.RawMessage(`{"keys":[` + string(jwk) + `]}`),
			Fields:      []string{"name"},
			CallbackURI: "https://spmis.example.org/dci",
		},
	}
	k.reg = must(dci.NewRegistry(dci.RegistryConfig{
		ServerID: regServer, KeyID: "srv1", ClockSkewSecs: 120, MaxPageSize: 50,
		Senders: []dci.Sender{k.sender},
	}, serverKey))
	t.Cleanup(func() { k.reg.Close(); k.serverPub.Close(); k.signer.Close() })
	return k
}

// search is a signed search request from signer as senderID.
func search(t *testing.T, signer *dci.Signer, senderID, senderURI, txn string) []byte {
	t.Helper()
	q := must(dci.IDTypeValue("UIN", "847951632"))
	env := must(dci.NewSearchRequest(dci.SearchOptions{
		SenderID: senderID, ReceiverID: regServer, SenderURI: senderURI, TransactionID: txn,
		Pagination: &dci.Pagination{PageSize: 2, PageNumber: 1}, Queries: []dci.Query{q},
	}))
	return must(signer.Sign(env, time.Time{}))
}

// at reads a JSON document into v at a dotted path of object keys and array indexes.
func at(t *testing.T, doc []byte, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, doc)
	}
	for _, p := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[p]
		case []any:
			i := 0
			for _, ch := range p {
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				t.Fatalf("%s: index %d out of range in %s", path, i, doc)
			}
			v = c[i]
		default:
			t.Fatalf("%s: nothing at %q in %s", path, p, doc)
		}
	}
	return v
}

func wantAt(t *testing.T, doc []byte, path string, want any) {
	t.Helper()
	if got := at(t, doc, path); got != want {
		t.Errorf("%s = %#v, want %#v", path, got, want)
	}
}

func (k *regKit) admit(t *testing.T, path string, body []byte) (*dci.Admission, *dci.Refusal) {
	t.Helper()
	a, ref, err := k.reg.Admit(path, body)
	if err != nil {
		t.Fatal(err)
	}
	if (a == nil) == (ref == nil) {
		t.Fatalf("Admit gave admission %v and refusal %v", a, ref)
	}
	if a != nil {
		t.Cleanup(func() { a.Close() })
	}
	return a, ref
}

func (k *regKit) checkSigned(t *testing.T, env []byte) {
	t.Helper()
	v, err := dci.Verify(env, k.serverPub, nil)
	if err != nil {
		t.Fatalf("answer does not verify with the server key: %v", err)
	}
	if v.Kid != regServer+"|srv1|ed25519" || v.Profile != "spdci" {
		t.Errorf("verified %+v", v)
	}
}

func TestRegistrySyncSearch(t *testing.T) {
	k := newRegKit(t)
	body := search(t, k.signer, regSender, "", "txn-go-1")
	a, _ := k.admit(t, "/registry/sync/search", body)
	if a.Operation != "search" || a.Mode != "sync" || a.Registry != "crvs" || a.SenderID != regSender ||
		a.TransactionID != "txn-go-1" || !a.Signed || a.SenderURI != "" || len(a.CorrelationID) != 36 {
		t.Errorf("admission %+v", a)
	}
	wantAt(t, a.Message, "search_request.0.search_criteria.query.value", "847951632")

	msg, err := k.reg.OnSearch(a, []dci.ItemResult{dci.Records(
		map[string]any{"name": "Ana", "sex": "f"},
		map[string]any{"name": "Bo", "sex": "m"},
		map[string]any{"name": "Cy", "sex": "m"},
	)})
	if err != nil {
		t.Fatal(err)
	}
	wantAt(t, msg, "search_response.0.status", "succ")
	wantAt(t, msg, "search_response.0.pagination.total_count", 3.0)
	if got := at(t, msg, "search_response.0.data.reg_records.1"); len(got.(map[string]any)) != 1 {
		t.Errorf("record not cut to the agreed fields: %v", got)
	}
	reply, err := k.reg.Answer(a, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !reply.OK || reply.Status != 200 {
		t.Errorf("reply %+v", reply)
	}
	wantAt(t, reply.Body, "header.action", "on-search")
	wantAt(t, reply.Body, "header.sender_id", regServer)
	wantAt(t, reply.Body, "header.receiver_id", regSender)
	wantAt(t, reply.Body, "message.search_response.0.data.reg_records.0.name", "Ana")
	wantAt(t, reply.Body, "message.search_response.0.data.reg_records.1.name", "Bo")
	if err := dci.Validate("on-search", reply.Body); err != nil {
		t.Error(err)
	}
	k.checkSigned(t, reply.Body)
	tampered := []byte(strings.Replace(string(reply.Body), `"Ana"`, `"Eve"`, 1))
	if _, err := dci.Verify(tampered, k.serverPub, nil); !errors.Is(err, dci.ErrSignatureInvalid) {
		t.Errorf("tampered answer: %v", err)
	}

	// A rejected item, and a message that is not a SearchResponse.
	msg, err = k.reg.OnSearch(a, []dci.ItemResult{dci.ItemRejected("rjct.search_criteria.invalid", "no such id")})
	if err != nil {
		t.Fatal(err)
	}
	wantAt(t, msg, "search_response.0.status", "rjct")
	wantAt(t, msg, "search_response.0.status_reason_code", "rjct.search_criteria.invalid")
	_, err = k.reg.Answer(a, map[string]any{"transaction_id": 1})
	wantKind(t, err, dci.KindJSON, "err.request.bad")

	// The same bytes again: a replay.
	_, ref := k.admit(t, "/registry/sync/search", body)
	if ref.Status != 409 {
		t.Errorf("replay status %d", ref.Status)
	}
	wantAt(t, ref.Body, "header.status_reason_code", "rjct.message_id.duplicate")
	wantAt(t, ref.Body, "message.ack_status", "ERR")
	k.checkSigned(t, ref.Body)

	// Closed handles are errors, not crashes.
	a.Close()
	if _, err := k.reg.Ack(a); !errors.Is(err, dci.ErrClosed) {
		t.Errorf("ack of a closed admission: %v", err)
	}
}

func TestRegistryRefusals(t *testing.T) {
	k := newRegKit(t)
	strangerKey := must(dci.GenerateSigningKey("ed25519"))
	defer strangerKey.Close()
	stranger := must(dci.NewSigner(strangerKey, "stranger.example.org", "key1"))
	defer stranger.Close()

	cases := []struct {
		name, path string
		body       []byte
		status     int
		code       string
	}{
		{"unknown sender", "/registry/sync/search", search(t, stranger, "stranger.example.org", "", "t1"), 403, "err.sender_id.invalid"},
		{"unknown path", "/registry/nope", search(t, k.signer, regSender, "", "t2"), 404, "err.request.not_found"},
		{"not JSON", "/registry/sync/search", []byte(`{"header":`), 400, "err.request.bad"},
		{"empty body", "/registry/sync/search", nil, 400, "err.request.bad"},
	}
	for _, c := range cases {
		_, ref := k.admit(t, c.path, c.body)
		if ref.Status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, ref.Status, c.status)
		}
		wantAt(t, ref.Body, "errors.0.code", c.code)
	}

	// Configuration errors name the field.
	key := must(dci.GenerateSigningKey("ed25519"))
	defer key.Close()
	_, err := dci.NewRegistry(`{"server_id":"s","key_id":"k","colck_skew_secs":1}`, key)
	if e := wantKind(t, err, dci.KindConfig, ""); e != nil && !strings.Contains(e.Message, "unknown field `colck_skew_secs`") {
		t.Errorf("message %q", e.Message)
	}
	_, err = dci.NewRegistry(map[string]any{"server_id": "s", "key_id": "k", "default_registry": "xx"}, key)
	if e := wantKind(t, err, dci.KindConfig, ""); e != nil && !strings.Contains(e.Message, "default_registry") {
		t.Errorf("message %q", e.Message)
	}
	if _, err := dci.NewRegistry(dci.RegistryConfig{ServerID: "s", KeyID: "k"}, nil); !errors.Is(err, dci.ErrClosed) {
		t.Errorf("nil key: %v", err)
	}
	err = k.reg.AddSender(map[string]any{"sender_id": "b", "nmae": "x"})
	if e := wantKind(t, err, dci.KindConfig, ""); e != nil && !strings.Contains(e.Message, "unknown field `nmae`") {
		t.Errorf("message %q", e.Message)
	}
}

func TestRegistrySenders(t *testing.T) {
	k := newRegKit(t)
	if removed, err := k.reg.RemoveSender(regSender); err != nil || !removed {
		t.Fatalf("remove: %v %v", removed, err)
	}
	if removed, _ := k.reg.RemoveSender(regSender); removed {
		t.Error("removed twice")
	}
	_, ref := k.admit(t, "/registry/sync/search", search(t, k.signer, regSender, "", "t-gone"))
	if ref.Status != 403 {
		t.Errorf("status %d", ref.Status)
	}
	wantAt(t, ref.Body, "errors.0.code", "err.sender_id.invalid")
	if err := k.reg.AddSender(k.sender); err != nil {
		t.Fatal(err)
	}
	a, _ := k.admit(t, "/registry/sync/search", search(t, k.signer, regSender, "", "t-back"))
	if a == nil || a.TransactionID != "t-back" {
		t.Errorf("admission %+v", a)
	}
}

func TestRegistryAsyncSearchAndCallback(t *testing.T) {
	k := newRegKit(t)
	a, _ := k.admit(t, "/registry/search", search(t, k.signer, regSender, "https://spmis.example.org/dci/cb", "txn-async"))
	if a.Mode != "async" || a.SenderURI != "https://spmis.example.org/dci/cb" {
		t.Errorf("admission %+v", a)
	}
	ack, err := k.reg.Ack(a)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Status != 200 || !ack.OK {
		t.Errorf("ack %+v", ack)
	}
	wantAt(t, ack.Body, "message.ack_status", "ACK")
	wantAt(t, ack.Body, "message.correlation_id", a.CorrelationID)
	if err := dci.Validate("ack", ack.Body); err != nil {
		t.Error(err)
	}
	msg := must(k.reg.OnSearch(a, []dci.ItemResult{dci.Records(map[string]any{"name": "Ana"})}))
	url, body, err := k.reg.Callback(a, msg)
	if err != nil {
		t.Fatal(err)
	}
	if url != "https://spmis.example.org/dci/cb/on-search" {
		t.Errorf("url %q", url)
	}
	wantAt(t, body, "header.action", "on-search")
	wantAt(t, body, "message.transaction_id", "txn-async")
	wantAt(t, body, "message.correlation_id", a.CorrelationID)
	k.checkSigned(t, body)

	// An address outside the sender's registered URI is refused.
	evil, _ := k.admit(t, "/registry/search", search(t, k.signer, regSender, "https://evil.example.net/cb", "txn-evil"))
	_, _, err = k.reg.Callback(evil, must(k.reg.OnSearch(evil, nil)))
	if e := wantKind(t, err, dci.KindProtocol, "err.sender_uri.invalid"); e != nil && !strings.Contains(e.Message, "evil.example.net") {
		t.Errorf("message %q", e.Message)
	}
}

// The receiving side: a registry's answer, posted back to a host that runs the kit for its
// callbacks, is admitted as a received callback and acknowledged.
func TestRegistryReceivesCallback(t *testing.T) {
	k := newRegKit(t)
	a, _ := k.admit(t, "/registry/search", search(t, k.signer, regSender, "https://spmis.example.org/dci", "txn-cb"))
	_, cbBody, err := k.reg.Callback(a, must(k.reg.OnSearch(a, []dci.ItemResult{dci.Records(map[string]any{"name": "Ana"})})))
	if err != nil {
		t.Fatal(err)
	}
	// The sender's side knows the registry as a sender of callbacks.
	senderKey := must(dci.GenerateSigningKey("ed25519"))
	defer senderKey.Close()
	serverJWK := must(k.serverPub.JWK("srv1"))
	side := must(dci.NewRegistry(dci.RegistryConfig{
		ServerID: regSender, KeyID: "key1",
		Senders: []dci.Sender{{SenderID: regServer, JWKS: json.RawMessage(`{"keys":[` + string(serverJWK) + `]}`)}},
	}, senderKey))
	defer side.Close()
	got, ref, err := side.Admit("/registry/on-search", cbBody)
	if err != nil || ref != nil {
		t.Fatalf("callback refused: %v %+v", err, ref)
	}
	defer got.Close()
	if got.Mode != "receive" || got.Operation != "callback" || got.SenderID != regServer || got.TransactionID != "txn-cb" {
		t.Errorf("received %+v", got)
	}
	wantAt(t, got.Message, "search_response.0.data.reg_records.0.name", "Ana")
	ack := must(side.Ack(got))
	wantAt(t, ack.Body, "message.ack_status", "ACK")
}

// A txn-status request built with NewTxnStatusRequest, admitted and answered with a
// TxnStatusResponse; an item built with NewSearchItem.
func TestRegistryTxnStatusAndBuilders(t *testing.T) {
	k := newRegKit(t)
	env := must(dci.NewTxnStatusRequest(dci.TxnStatusOptions{
		SenderID: regSender, ReceiverID: regServer, TransactionID: "txn-st",
		TxnType: "search", AttributeType: "transaction_id", AttributeValue: "txn-go-1",
	}))
	wantAt(t, env, "header.action", "txn-status")
	wantAt(t, env, "message.txnstatus_request.attribute_value", "txn-go-1")
	a, ref := k.admit(t, "/registry/sync/txn/status", must(k.signer.Sign(env, time.Time{})))
	if ref != nil {
		t.Fatalf("refused: %s", ref.Body)
	}
	if a.Operation != "txn-status" || a.Mode != "sync" || a.TransactionID != "txn-st" {
		t.Errorf("admission %+v", a)
	}
	wantAt(t, a.Message, "txnstatus_request.txn_type", "search")
	reply := must(k.reg.Answer(a, map[string]any{
		"transaction_id": a.TransactionID, "correlation_id": a.CorrelationID,
		"txnstatus_response": map[string]any{"txn_type": "search", "txn_status": map[string]any{
			"transaction_id": "txn-go-1", "correlation_id": "c-1", "search_response": []any{}}},
	}))
	wantAt(t, reply.Body, "header.action", "txn-on-status")
	wantAt(t, reply.Body, "message.txnstatus_response.txn_status.transaction_id", "txn-go-1")
	k.checkSigned(t, reply.Body)

	_, err := dci.NewTxnStatusRequest(dci.TxnStatusOptions{SenderID: "s", TxnType: "serch", AttributeType: "transaction_id", AttributeValue: "t"})
	wantKind(t, err, dci.KindValidation, "err.request.bad")

	q := must(dci.IDTypeValue("UIN", "1"))
	item := must(dci.NewSearchItem(dci.SearchItemOptions{Query: q, ReferenceID: "ref-9", Pagination: &dci.Pagination{PageSize: 5, PageNumber: 2}}))
	wantAt(t, item, "reference_id", "ref-9")
	wantAt(t, item, "search_criteria.query.value", "1")
	wantAt(t, item, "search_criteria.pagination.page_number", 2.0)
	_, err = dci.NewSearchItem(dci.SearchItemOptions{Query: q, Pagination: &dci.Pagination{PageSize: 0, PageNumber: 1}})
	wantKind(t, err, dci.KindValidation, "err.request.bad")
}

// The host's own sender table and replay store, called back from libdci.
func TestRegistryHostLookupAndReplay(t *testing.T) {
	k := newRegKit(t)
	if _, err := k.reg.RemoveSender(regSender); err != nil {
		t.Fatal(err)
	}
	var asked []string
	if err := k.reg.SetLookup(func(id string) (*dci.Sender, error) {
		asked = append(asked, id)
		switch id {
		case regSender:
			s := k.sender
			return &s, nil
		case "broken.example.org":
			return nil, errors.New("database down")
		case "panics.example.org":
			panic("host bug")
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var window time.Duration
	if err := k.reg.SetReplay(func(sender, mid string, now time.Time, w time.Duration) (bool, error) {
		window = w
		if time.Since(now) > time.Minute || sender != regSender {
			return false, errors.New("bad call")
		}
		first := !seen[mid]
		seen[mid] = true
		return first, nil
	}); err != nil {
		t.Fatal(err)
	}
	body := search(t, k.signer, regSender, "", "t-host")
	a, _ := k.admit(t, "/registry/sync/search", body)
	if a == nil || a.SenderID != regSender || !seen[a.MessageID] || window != 240*time.Second {
		t.Errorf("admission %+v, seen %v, window %v", a, seen, window)
	}
	_, ref := k.admit(t, "/registry/sync/search", body)
	if ref.Status != 409 {
		t.Errorf("replay status %d", ref.Status)
	}
	for id, status := range map[string]int{"nobody.example.org": 403, "broken.example.org": 500, "panics.example.org": 500} {
		key := must(dci.GenerateSigningKey("ed25519"))
		signer := must(dci.NewSigner(key, id, "key1"))
		_, ref := k.admit(t, "/registry/sync/search", search(t, signer, id, "", "t-"+id))
		if ref.Status != status {
			t.Errorf("%s: status %d, want %d", id, ref.Status, status)
		}
		signer.Close()
		key.Close()
	}
	if len(asked) != 5 {
		t.Errorf("lookups %v", asked)
	}
	// Back to memory for both.
	if err := k.reg.SetLookup(nil); err != nil {
		t.Fatal(err)
	}
	if err := k.reg.SetReplay(nil); err != nil {
		t.Fatal(err)
	}
	_, ref = k.admit(t, "/registry/sync/search", search(t, k.signer, regSender, "", "t-mem"))
	if ref == nil || ref.Status != 403 {
		t.Errorf("without the lookup: %+v", ref)
	}
}
