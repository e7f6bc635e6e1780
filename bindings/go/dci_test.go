package dci_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	dci "github.com/libdci/libdci/bindings/go"
)

// RFC 8032 section 7.1, TEST 1.
const (
	seedHex    = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	privatePEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"
	publicPEM  = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"
	// RFC 8037 appendix A.3.
	thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	created    = 1735689600 // 2025-01-01T00:00:00Z
)

const envelope = `{"header":{"version":"1.0.0","message_id":"msg-1","message_ts":"2025-01-01T00:00:00Z","action":"search","sender_id":"spmis.example.org","receiver_id":"crvs.example.org","total_count":1,"is_msg_encrypted":false},"message":{"transaction_id":"txn-1","search_request":[{"reference_id":"ref-1","timestamp":"2025-01-01T00:00:00Z","search_criteria":{"reg_type":"civil","query_type":"idtype-value","query":{"type":"UIN","value":"8\u00e9"}}}],"amount":1.50}}`

// must returns v, or fails the test (by panicking, which the test runner reports with the
// stack) when err is not nil.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// wantKind checks that err is a *dci.Error of kind k with DCI code code ("" for none).
func wantKind(t *testing.T, err error, k dci.Kind, code string) *dci.Error {
	t.Helper()
	var e *dci.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *dci.Error of kind %v, got %v", k, err)
	}
	if e.Kind != k || e.Code != code || e.Message == "" {
		t.Fatalf("want kind %v code %q, got kind %v code %q: %s", k, code, e.Kind, e.Code, e.Message)
	}
	return e
}

func repoRoot() string { return filepath.Join("..", "..") }

// readVector reads a shared test vector file of tests/vectors/.
func readVector(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "tests", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVersionAndKinds(t *testing.T) {
	if v := dci.Version(); !strings.Contains(v, ".") {
		t.Fatalf("version %q", v)
	}
	cases := map[dci.Kind]string{
		dci.KindJSON: "json", dci.KindSignatureInvalid: "signature_invalid",
		dci.KindConnection: "connection", dci.KindNullArgument: "null_argument",
	}
	for k, name := range cases {
		if k.String() != name {
			t.Errorf("%d: %q, want %q", uint32(k), k.String(), name)
		}
	}
	if dci.KindSignatureInvalid != 5 || dci.KindInternal != 20 || dci.KindEncryption != 21 || dci.KindInvalidUTF8 != 101 {
		t.Fatal("kind numbers moved")
	}
}

func TestKnownKey(t *testing.T) {
	seed, _ := hex.DecodeString(seedHex)
	key := must(dci.SigningKeyFromEd25519Seed(seed))
	defer key.Close()
	if key.Algorithm() != "ed25519" {
		t.Fatal(key.Algorithm())
	}
	if pem := must(key.PEM()); pem != privatePEM {
		t.Fatalf("private PEM %q", pem)
	}
	pub := must(key.VerifyingKey())
	defer pub.Close()
	if pem := must(pub.PEM()); pem != publicPEM {
		t.Fatalf("public PEM %q", pem)
	}
	if tp := must(pub.Thumbprint()); tp != thumbprint {
		t.Fatalf("thumbprint %q", tp)
	}
	var jwk map[string]string
	if err := json.Unmarshal(must(pub.JWK("")), &jwk); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "use": "sig", "alg": "EdDSA", "kid": thumbprint}
	for k, v := range want {
		if jwk[k] != v {
			t.Errorf("jwk[%s] = %q, want %q", k, jwk[k], v)
		}
	}
	back := must(dci.VerifyingKeyFromJWK(must(pub.JWK("k1"))))
	defer back.Close()
	if pem := must(back.PEM()); pem != publicPEM {
		t.Fatalf("JWK round trip %q", pem)
	}
	fromPEM := must(dci.SigningKeyFromPEM(privatePEM))
	fromPEM.Close()
	fromPEM.Close() // twice is fine
	if _, err := fromPEM.PEM(); !errors.Is(err, dci.ErrClosed) {
		t.Fatalf("use after Close: %v", err)
	}
}

func TestKeyErrors(t *testing.T) {
	_, err := dci.GenerateSigningKey("HS256")
	wantKind(t, err, dci.KindUnsupportedAlgorithm, "err.signature.invalid")
	_, err = dci.SigningKeyFromPEM("not a key")
	wantKind(t, err, dci.KindKey, "")
	_, err = dci.SigningKeyFromPEM(publicPEM)
	wantKind(t, err, dci.KindKey, "")
	_, err = dci.SigningKeyFromPEM("\xff")
	wantKind(t, err, dci.KindInvalidUTF8, "")
	_, err = dci.SigningKeyFromEd25519Seed(make([]byte, 31))
	wantKind(t, err, dci.KindKey, "")
	_, err = dci.VerifyingKeyFromJWK([]byte(`{"kty":`))
	wantKind(t, err, dci.KindJSON, "err.request.bad")
	_, err = dci.ParseJWKS([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"!"}]}`))
	wantKind(t, err, dci.KindKey, "")
}

func TestJWKS(t *testing.T) {
	pub := must(dci.VerifyingKeyFromPEM(publicPEM))
	defer pub.Close()
	set := must(dci.NewJWKS())
	defer set.Close()
	if err := set.Add("spmis.example.org|key1|ed25519", pub); err != nil {
		t.Fatal(err)
	}
	if set.Len() != 1 {
		t.Fatal(set.Len())
	}
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(must(set.JSON()), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 1 || doc.Keys[0]["kid"] != "spmis.example.org|key1|ed25519" {
		t.Fatalf("%v", doc)
	}
	back := must(dci.ParseJWKS(must(set.JSON())))
	defer back.Close()
	if back.Len() != 1 {
		t.Fatal(back.Len())
	}
}

func TestSignAndVerify(t *testing.T) {
	for _, tc := range []struct{ profile, alg string }{
		{dci.ProfileSpdci, "ed25519"}, {dci.ProfileSpdci, "rsa-sha256"},
		{dci.ProfileJWSDetached, "ed25519"}, {dci.ProfileJWSCompact, "ed25519"},
	} {
		t.Run(tc.profile+"/"+tc.alg, func(t *testing.T) {
			key := must(dci.GenerateSigningKey(tc.alg))
			defer key.Close()
			pub := must(key.VerifyingKey())
			defer pub.Close()
			signer := must(dci.NewSigner(key, "spmis.example.org", "key1"))
			defer signer.Close()
			if err := signer.SetProfile(tc.profile); err != nil {
				t.Fatal(err)
			}
			kid := must(signer.Kid())
			if kid != "spmis.example.org|key1|"+tc.alg {
				t.Fatal(kid)
			}
			signed := must(signer.Sign([]byte(envelope), time.Unix(created, 0)))
			if tc.profile != dci.ProfileJWSCompact && !bytes.Contains(signed, []byte(`"amount":1.50}`)) {
				t.Fatalf("message not kept byte for byte: %s", signed)
			}
			v := must(dci.Verify(signed, pub, &dci.VerifyOptions{Now: time.Unix(created+10, 0)}))
			if v.Profile != tc.profile || v.Algorithm != tc.alg {
				t.Fatalf("%+v", v)
			}
			set := must(dci.NewJWKS())
			defer set.Close()
			if err := set.Add(kid, pub); err != nil {
				t.Fatal(err)
			}
			must(dci.VerifyJWKS(signed, set, &dci.VerifyOptions{Now: time.Unix(created, 0), Profile: tc.profile}))

			if tc.profile == dci.ProfileSpdci {
				if v.Kid != kid || v.Created != created || v.Expires != created+300 {
					t.Fatalf("%+v", v)
				}
				_, err := dci.Verify(signed, pub, &dci.VerifyOptions{Now: time.Unix(created+301, 0)})
				if !errors.Is(err, dci.ErrSignatureExpired) {
					t.Fatalf("expired: %v", err)
				}
				wantKind(t, err, dci.KindSignatureExpired, "err.signature.invalid")
				_, err = dci.Verify(signed, pub, &dci.VerifyOptions{Now: time.Unix(created-61, 0)})
				wantKind(t, err, dci.KindSignatureNotYetValid, "err.signature.invalid")
				tampered := bytes.Replace(signed, []byte("txn-1"), []byte("txn-2"), 1)
				_, err = dci.Verify(tampered, pub, &dci.VerifyOptions{Now: time.Unix(created, 0)})
				wantKind(t, err, dci.KindSignatureInvalid, "err.signature.invalid")
			}
			other := must(dci.GenerateSigningKey(tc.alg))
			defer other.Close()
			otherPub := must(other.VerifyingKey())
			defer otherPub.Close()
			_, err := dci.Verify(signed, otherPub, &dci.VerifyOptions{Now: time.Unix(created, 0)})
			if !errors.Is(err, dci.ErrSignatureInvalid) {
				t.Fatalf("wrong key: %v", err)
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	pub := must(dci.VerifyingKeyFromPEM(publicPEM))
	defer pub.Close()
	_, err := dci.Verify([]byte(envelope), pub, nil)
	wantKind(t, err, dci.KindSignatureMissing, "err.signature.missing")
	_, err = dci.Verify([]byte(`{"header":`), pub, nil)
	wantKind(t, err, dci.KindJSON, "err.request.bad")
	_, err = dci.Verify([]byte(envelope), nil, nil)
	wantKind(t, err, dci.KindNullArgument, "")
	empty := must(dci.NewJWKS())
	defer empty.Close()
	seed, _ := hex.DecodeString(seedHex)
	key := must(dci.SigningKeyFromEd25519Seed(seed))
	defer key.Close()
	signer := must(dci.NewSigner(key, "s", "k"))
	defer signer.Close()
	if err := signer.SetValidity(0); err == nil {
		t.Fatal("validity 0 accepted")
	}
	wantKind(t, signer.SetDigest("md5"), dci.KindUnsupportedAlgorithm, "err.signature.invalid")
	signed := must(signer.Sign([]byte(envelope), time.Time{}))
	_, err = dci.VerifyJWKS(signed, empty, nil)
	wantKind(t, err, dci.KindKey, "")
}

type vectorCase struct {
	Name       string `json:"name"`
	Envelope   string `json:"envelope"`
	VerifyWith string `json:"verify_with"`
	Now        int64  `json:"now"`
	Expect     string `json:"expect"`
	Profile    string `json:"profile"`
	Alg        string `json:"alg"`
}

// The shared vectors (tests/vectors/dci-signature-libdci.json and the Python-made ones over
// the same keys), as the Rust, Python and C tests check them.
func TestSignatureVectors(t *testing.T) {
	raw := readVector(t, "dci-signature-libdci.json")
	var doc struct {
		Created int64 `json:"created"`
		Keys    struct {
			Ed25519 struct {
				SeedHex string            `json:"seed_hex"`
				JWK     map[string]string `json:"jwk"`
			} `json:"ed25519"`
			Ed25519Other struct {
				SeedHex string `json:"seed_hex"`
			} `json:"ed25519_other"`
			RSA struct {
				PrivatePEM string `json:"private_pem"`
			} `json:"rsa"`
		} `json:"keys"`
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	seed := func(h string) *dci.SigningKey {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return must(dci.SigningKeyFromEd25519Seed(b))
	}
	ed, other := seed(doc.Keys.Ed25519.SeedHex), seed(doc.Keys.Ed25519Other.SeedHex)
	rsa := must(dci.SigningKeyFromPEM(doc.Keys.RSA.PrivatePEM))
	edKid := doc.Keys.Ed25519.JWK["kid"]
	rsaKid := edKid[:strings.LastIndex(edKid, "|")+1] + "rsa-sha256"
	edPub, rsaPub, otherPub := must(ed.VerifyingKey()), must(rsa.VerifyingKey()), must(other.VerifyingKey())
	both, otherSet, empty := must(dci.NewJWKS()), must(dci.NewJWKS()), must(dci.NewJWKS())
	for _, err := range []error{both.Add(edKid, edPub), both.Add(rsaKid, rsaPub), otherSet.Add(edKid, otherPub)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]dci.Kind{}
	for k := dci.KindJSON; k <= dci.KindEncryption; k++ {
		// "signature_invalid" -> "SignatureInvalid", the vectors' spelling.
		parts := strings.Split(k.String(), "_")
		for i, p := range parts {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
		names[strings.Join(parts, "")] = k
	}
	if len(doc.Cases) < 40 {
		t.Fatalf("only %d cases", len(doc.Cases))
	}
	check := func(c vectorCase) {
		opts := &dci.VerifyOptions{Now: time.Unix(c.Now, 0)}
		var v *dci.Verified
		var err error
		switch c.VerifyWith {
		case "jwks":
			v, err = dci.VerifyJWKS([]byte(c.Envelope), both, opts)
		case "jwks-other":
			v, err = dci.VerifyJWKS([]byte(c.Envelope), otherSet, opts)
		case "jwks-empty":
			v, err = dci.VerifyJWKS([]byte(c.Envelope), empty, opts)
		case "pubkey-other":
			v, err = dci.Verify([]byte(c.Envelope), otherPub, opts)
		default:
			t.Errorf("%s: unknown verifier %s", c.Name, c.VerifyWith)
			return
		}
		if c.Expect == "valid" {
			if err != nil {
				t.Errorf("%s: %v", c.Name, err)
			} else if v.Profile != c.Profile || v.Algorithm != c.Alg {
				t.Errorf("%s: %+v", c.Name, v)
			}
			return
		}
		want, ok := names[c.Expect]
		var e *dci.Error
		if !ok || !errors.As(err, &e) || e.Kind != want {
			t.Errorf("%s: want %s, got %v", c.Name, c.Expect, err)
		}
	}
	for _, c := range doc.Cases {
		check(c)
	}
	var python struct {
		Cases []vectorCase `json:"cases"`
	}
	raw = readVector(t, "dci-signature-python-made.json")
	if err := json.Unmarshal(raw, &python); err != nil {
		t.Fatal(err)
	}
	if len(python.Cases) < 10 {
		t.Fatalf("only %d Python-made cases", len(python.Cases))
	}
	for _, c := range python.Cases {
		check(c)
	}
	// Ed25519 is deterministic: signing the first case again at its time gives its bytes.
	signer := must(dci.NewSigner(ed, "registry.example.org", "key1"))
	first := doc.Cases[0].Envelope
	if got := must(signer.Sign([]byte(first), time.Unix(doc.Created, 0))); string(got) != first {
		t.Errorf("re-signing %s:\n got %s\nwant %s", doc.Cases[0].Name, got, first)
	}
	for _, c := range []interface{ Close() error }{signer, ed, rsa, other, edPub, rsaPub, otherPub, both, otherSet, empty} {
		c.Close()
	}
}

func TestQueryBuilders(t *testing.T) {
	q := must(dci.IDTypeValue("UIN", "847951632"))
	if q.Type != "idtype-value" || string(q.Query) != `{"type":"UIN","value":"847951632"}` {
		t.Fatalf("%s %s", q.Type, q.Query)
	}
	record := []byte(`{"identifier":[{"identifier_type":"UIN","identifier_value":"847951632"}]}`)
	if !must(q.Matches(record)) {
		t.Fatal("idtype-value should match")
	}

	l := must(dci.NewPredicateList())
	defer l.Close()
	for _, err := range []error{
		l.Add("age", "lt", 25), l.Join("and", "poverty_score", "lt", 2.5),
		l.Add("sex", "in", []string{"F", "X"}), l.Add("status", "eq", "closed"), l.Not(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, l.Add("age", "like", 1), dci.KindQuery, "err.request.bad")
	p := must(l.Query())
	const want = `[{"seq_num":1,"expression1":{"attribute_name":"age","operator":"lt","attribute_value":25},"condition":"and","expression2":{"attribute_name":"poverty_score","operator":"lt","attribute_value":2.5}},{"seq_num":2,"expression1":{"attribute_name":"sex","operator":"in","attribute_value":["F","X"]}},{"seq_num":3,"expression1":{"attribute_name":"status","operator":"eq","attribute_value":"closed"},"condition":"not"}]`
	if p.Type != "predicate" || string(p.Query) != want {
		t.Fatalf("%s %s", p.Type, p.Query)
	}
	for rec, m := range map[string]bool{
		`{"age":19,"poverty_score":1.5,"sex":"F","status":"open"}`:   true,
		`{"age":30,"poverty_score":1.5,"sex":"F","status":"open"}`:   false,
		`{"age":19,"poverty_score":1.5,"sex":"F","status":"closed"}`: false,
	} {
		if got := must(p.Matches([]byte(rec))); got != m {
			t.Errorf("%s: %v", rec, got)
		}
	}

	e := must(dci.Expression(map[string]any{"age": map[string]any{"$gte": 18}}, "Person"))
	if e.Type != "expression" || string(e.Query) != `{"type":"ns:org:QueryType:expression","value":{"expression":{"collection":"Person","query":{"age":{"$gte":18}}}}}` {
		t.Fatalf("%s %s", e.Type, e.Query)
	}
	if !must(e.Matches([]byte(`{"age":18}`))) {
		t.Fatal("expression should match")
	}
	_, err := dci.Expression(map[string]any{"age": map[string]any{"$like": 1}}, "")
	wantKind(t, err, dci.KindQuery, "err.request.bad")
	_, err = dci.ParseQuery("sql", []byte(`{}`))
	wantKind(t, err, dci.KindQuery, "err.request.bad")
	n := must(dci.ParseQuery("ns:org:QueryType:idtype-value", []byte(`{"type":"BRN","value":"1"}`)))
	if n.Type != "idtype-value" {
		t.Fatal(n.Type)
	}
}

func TestSearchRequestAndValidate(t *testing.T) {
	q := must(dci.IDTypeValue("UIN", "847951632"))
	env := must(dci.NewSearchRequest(dci.SearchOptions{
		SenderID: "spmis.example.org", ReceiverID: "crvs.example.org", TransactionID: "txn-1",
		RegType: "ns:org:RegistryType:Civil", Locale: "eng",
		Pagination: &dci.Pagination{PageSize: 10, PageNumber: 1},
		Queries:    []dci.Query{q},
	}))
	var doc struct {
		Header struct {
			Action     string `json:"action"`
			SenderID   string `json:"sender_id"`
			TotalCount int    `json:"total_count"`
		} `json:"header"`
		Message struct {
			TransactionID string `json:"transaction_id"`
			SearchRequest []struct {
				ReferenceID    string `json:"reference_id"`
				SearchCriteria struct {
					QueryType string          `json:"query_type"`
					Query     json.RawMessage `json:"query"`
				} `json:"search_criteria"`
			} `json:"search_request"`
		} `json:"message"`
	}
	if err := json.Unmarshal(env, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Header.Action != "search" || doc.Header.SenderID != "spmis.example.org" || doc.Header.TotalCount != 1 ||
		doc.Message.TransactionID != "txn-1" || len(doc.Message.SearchRequest) != 1 ||
		doc.Message.SearchRequest[0].SearchCriteria.QueryType != "idtype-value" ||
		string(doc.Message.SearchRequest[0].SearchCriteria.Query) != `{"type":"UIN","value":"847951632"}` ||
		len(doc.Message.SearchRequest[0].ReferenceID) != 36 {
		t.Fatalf("%s", env)
	}
	if err := dci.Validate("", env); err != nil {
		t.Fatal(err)
	}
	if err := dci.Validate("search", env); err != nil {
		t.Fatal(err)
	}
	_, err := dci.NewSearchRequest(dci.SearchOptions{SenderID: "a"})
	wantKind(t, err, dci.KindValidation, "err.request.bad")
	_, err = dci.NewSearchRequest(dci.SearchOptions{SenderID: "a", Queries: []dci.Query{q}, Locale: "english"})
	e := wantKind(t, err, dci.KindValidation, "err.request.bad")
	if len(e.Violations) == 0 || !strings.Contains(e.Violations[0].Path, "locale") {
		t.Fatalf("%+v", e.Violations)
	}

	broken := []byte(`{"header":{"version":"1.0.0","message_id":"m","message_ts":"yesterday","action":"search","total_count":1},"message":{"transaction_id":"t","search_request":[]}}`)
	e = wantKind(t, dci.Validate("", broken), dci.KindValidation, "err.request.bad")
	paths := map[string]bool{}
	for _, v := range e.Violations {
		paths[v.Path] = true
	}
	if !paths["header.sender_id"] || !paths["header.message_ts"] || e.Field == "" {
		t.Fatalf("%+v", e)
	}
	wantKind(t, dci.Validate("no-such-kind", broken), dci.KindConfig, "")
	wantKind(t, dci.Validate("", []byte("{")), dci.KindJSON, "err.request.bad")
}

// Handles left to the garbage collector are freed by their finalizers (run under the race
// detector or valgrind to see that nothing is freed twice).
func TestFinalizers(t *testing.T) {
	for i := 0; i < 50; i++ {
		l, err := dci.NewPredicateList()
		if err != nil {
			t.Fatal(err)
		}
		_ = l.Add("a", "eq", i)
	}
	runtime.GC()
	runtime.GC()
}

// The OpenSPP 2 style vector (RFC 8032 test key): it verifies, and signing the same envelope
// at its time gives its signature.
func TestOpenSPP2StyleVector(t *testing.T) {
	raw := readVector(t, "dci-signature-ed25519-openspp2-style.json")
	var doc struct {
		Created  int64           `json:"created"`
		Expires  int64           `json:"expires"`
		Envelope json.RawMessage `json:"envelope"`
		Key      struct {
			PrivateSeedHex string          `json:"private_seed_hex"`
			JWKPublic      json.RawMessage `json:"jwk_public"`
		} `json:"key"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	pub := must(dci.VerifyingKeyFromJWK(doc.Key.JWKPublic))
	defer pub.Close()
	v := must(dci.Verify(doc.Envelope, pub, &dci.VerifyOptions{Profile: dci.ProfileSpdci, Now: time.Unix(doc.Created+1, 0)}))
	if v.Kid != "spmis.example.org|key1|ed25519" || v.Created != doc.Created || v.Expires != doc.Expires {
		t.Fatalf("%+v", v)
	}
	_, err := dci.Verify(doc.Envelope, pub, &dci.VerifyOptions{Now: time.Unix(doc.Expires+1, 0)})
	wantKind(t, err, dci.KindSignatureExpired, "err.signature.invalid")

	seed, _ := hex.DecodeString(doc.Key.PrivateSeedHex)
	key := must(dci.SigningKeyFromEd25519Seed(seed))
	defer key.Close()
	signer := must(dci.NewSigner(key, "spmis.example.org", "key1"))
	defer signer.Close()
	var want, got struct {
		Signature string `json:"signature"`
	}
	resigned := must(signer.Sign(doc.Envelope, time.Unix(doc.Created, 0)))
	if json.Unmarshal(doc.Envelope, &want) != nil || json.Unmarshal(resigned, &got) != nil || got.Signature != want.Signature {
		t.Fatalf("re-signed:\n got %s\nwant %s", got.Signature, want.Signature)
	}
}
