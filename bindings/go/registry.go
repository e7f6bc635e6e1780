package dci

/*
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include "dci.h"

// The callbacks libdci calls, into the Go functions of registry_export.go (cgo exports take
// char *, the C interface passes const char *).
extern int goSenderLookup(void *ctx, char *sender_id, char **out_json);
extern int goReplayCheck(void *ctx, char *sender_id, char *message_id, int64_t now_ms,
                         int64_t window_ms);
static int dci_go_lookup(void *ctx, const char *sender_id, char **out_json) {
    return goSenderLookup(ctx, (char *)sender_id, out_json);
}
static int dci_go_replay(void *ctx, const char *sender_id, const char *message_id,
                         int64_t now_ms, int64_t window_ms) {
    return goReplayCheck(ctx, (char *)sender_id, (char *)message_id, now_ms, window_ms);
}
static dci_result dci_go_set_lookup(const dci_registry *reg, void *ctx, dci_error **err) {
    return dci_registry_set_lookup(reg, ctx ? dci_go_lookup : NULL, ctx, err);
}
static dci_result dci_go_set_replay(const dci_registry *reg, void *ctx, dci_error **err) {
    return dci_registry_set_replay(reg, ctx ? dci_go_replay : NULL, ctx, err);
}
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"runtime/cgo"
	"sync"
	"time"
	"unsafe"
)

// Registry is the registry kit for Go hosts that serve DCI: it admits the requests the host
// receives (the sender registry, signatures, the spec checks, clock skew, replay, access) and
// builds every answer, signed with the server key (and encrypted when the sender registered
// an encryption key). A Registry may be used from several goroutines at once (but not while
// it is being closed).
//
// A host's handler: Admit the body received on the path; on a Refusal answer its Status and
// Body; else compute the operation's message and answer with Answer (sync), or Ack now and
// Callback later (async); Close the Admission when done.
type Registry struct {
	p *C.dci_registry
	// The C memory holding the handles of the host's callbacks (kept until Close, so that a
	// call in flight on another goroutine never sees one freed).
	mu        sync.Mutex
	callbacks []unsafe.Pointer
}

// RegistryConfig configures a Registry. ServerID and KeyID are required (the kid of its
// signatures is {ServerID}|{KeyID}|{alg}); zero values take the defaults: profile spdci,
// clock skew 300 s, 100 search items per request, page size up to 1000, default registry
// "crvs", callbacks to private addresses refused.
type RegistryConfig struct {
	ServerID              string          `json:"server_id"`
	KeyID                 string          `json:"key_id"`
	Profile               string          `json:"profile,omitempty"`
	ClockSkewSecs         int64           `json:"clock_skew_secs,omitempty"`
	MaxSearchItems        int             `json:"max_search_items,omitempty"`
	MaxPageSize           int             `json:"max_page_size,omitempty"`
	DefaultRegistry       string          `json:"default_registry,omitempty"`
	AllowPrivateCallbacks bool            `json:"allow_private_callbacks,omitempty"`
	Strict                bool            `json:"strict,omitempty"`
	Senders               []Sender        `json:"senders,omitempty"`
	DecryptionKeys        []DecryptionKey `json:"decryption_keys,omitempty"`
}

// DecryptionKey is a PKCS#8 private key that opens encrypted requests, with its kid.
type DecryptionKey struct {
	Kid string `json:"kid"`
	PEM string `json:"pem"`
}

// Sender is a registered sender. SenderID is required; empty lists mean "*" (everything),
// Active nil means true, SignaturePolicy "" means "required".
type Sender struct {
	SenderID string `json:"sender_id"`
	Name     string `json:"name,omitempty"`
	// JWKS is {"keys": [...]}: each key's kid is the key id of the sender's signature kids
	// ({sender_id}|{key_id}|{alg}); a "use": "enc" key is what answers are encrypted to.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// AllowedOps: "search", "verify", "subscribe", "unsubscribe", "txn-status", "callback", ...
	AllowedOps      []string `json:"allowed_ops,omitempty"`
	Registries      []string `json:"registries,omitempty"`
	Fields          []string `json:"fields,omitempty"`
	ConsentRequired bool     `json:"consent_required,omitempty"`
	SignaturePolicy string   `json:"signature_policy,omitempty"`
	Active          *bool    `json:"active,omitempty"`
	CallbackURI     string   `json:"callback_uri,omitempty"`
}

// jsonText is v as JSON text: []byte, json.RawMessage and string as they are, anything else
// marshalled.
func jsonText(name string, v any) (*C.char, error) {
	switch t := v.(type) {
	case []byte:
		return cString(string(t)), nil
	case json.RawMessage:
		return cString(string(t)), nil
	case string:
		return cString(t), nil
	}
	return marshalArg(name, v)
}

// NewRegistry makes a registry answering as config's server id, signing with a copy of key
// (key stays yours to Close). config is a RegistryConfig, or its JSON ([]byte,
// json.RawMessage, string) or a map; an unknown or malformed field is an ErrConfig naming it.
func NewRegistry(config any, key *SigningKey) (*Registry, error) {
	if key == nil || key.p == nil {
		return nil, closedError("SigningKey")
	}
	defer runtime.KeepAlive(key)
	cconf, err := jsonText("config", config)
	if err != nil {
		return nil, err
	}
	defer freeC(cconf)
	var p *C.dci_registry
	if err := call(func(e **C.dci_error) C.dci_result { return C.dci_registry_new(cconf, key.p, &p, e) }); err != nil {
		return nil, err
	}
	r := &Registry{p: p}
	runtime.SetFinalizer(r, (*Registry).Close)
	return r, nil
}

// Close frees the registry. Calling it again does nothing.
func (r *Registry) Close() error {
	if r == nil {
		return nil
	}
	err := release(r, func() **C.dci_registry { return &r.p }, func(p *C.dci_registry) { C.dci_registry_free(p) })
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ctx := range r.callbacks {
		handleAt(ctx).Delete()
		C.free(ctx)
	}
	r.callbacks = nil
	return err
}

// SenderLookup finds a sender the host keeps itself: the Sender, nil when senderID is not
// registered, or an error when the lookup failed (the request is refused with 500).
type SenderLookup func(senderID string) (*Sender, error)

// ReplayCheck is the host's replay store: it records that senderID sent messageID at now and
// reports whether that is the first time within window (false: refused with 409
// rjct.message_id.duplicate; an error: 500).
type ReplayCheck func(senderID, messageID string, now time.Time, window time.Duration) (bool, error)

// callbackCtx keeps v behind a cgo.Handle in C memory, released by Close.
func (r *Registry) callbackCtx(v any) unsafe.Pointer {
	ctx := C.malloc(C.size_t(unsafe.Sizeof(C.uintptr_t(0))))
	*(*C.uintptr_t)(ctx) = C.uintptr_t(cgo.NewHandle(v))
	r.mu.Lock()
	r.callbacks = append(r.callbacks, ctx)
	r.mu.Unlock()
	return ctx
}

// SetLookup asks lookup for every sender not added with AddSender (nil removes it). It may
// be called from several goroutines at once.
func (r *Registry) SetLookup(lookup SenderLookup) error {
	if err := r.open(); err != nil {
		return err
	}
	defer runtime.KeepAlive(r)
	var ctx unsafe.Pointer
	if lookup != nil {
		ctx = r.callbackCtx(lookup)
	}
	return call(func(e **C.dci_error) C.dci_result { return C.dci_go_set_lookup(r.p, ctx, e) })
}

// SetReplay uses check as the replay store in place of the in-memory one (nil goes back to
// memory). It may be called from several goroutines at once.
func (r *Registry) SetReplay(check ReplayCheck) error {
	if err := r.open(); err != nil {
		return err
	}
	defer runtime.KeepAlive(r)
	var ctx unsafe.Pointer
	if check != nil {
		ctx = r.callbackCtx(check)
	}
	return call(func(e **C.dci_error) C.dci_result { return C.dci_go_set_replay(r.p, ctx, e) })
}

func (r *Registry) open() error {
	if r == nil || r.p == nil {
		return closedError("Registry")
	}
	return nil
}

// AddSender adds or replaces a sender: a Sender, or its JSON or a map.
func (r *Registry) AddSender(sender any) error {
	if err := r.open(); err != nil {
		return err
	}
	defer runtime.KeepAlive(r)
	cs, err := jsonText("sender", sender)
	if err != nil {
		return err
	}
	defer freeC(cs)
	return call(func(e **C.dci_error) C.dci_result { return C.dci_registry_add_sender(r.p, cs, e) })
}

// RemoveSender removes a sender; it reports whether the sender was registered.
func (r *Registry) RemoveSender(senderID string) (bool, error) {
	if err := r.open(); err != nil {
		return false, err
	}
	defer runtime.KeepAlive(r)
	cid := cString(senderID)
	defer freeC(cid)
	var removed C.bool
	err := call(func(e **C.dci_error) C.dci_result { return C.dci_registry_remove_sender(r.p, cid, &removed, e) })
	return bool(removed), err
}

// Admission is an admitted request: what the host needs to compute its answer. Close it when
// answered (a finalizer frees it otherwise).
type Admission struct {
	// Operation is the operation name ("search", "txn-status", "subscribe", "callback", ...).
	Operation string `json:"operation"`
	// Action is the header.action the endpoint expects ("search", "on-search", ...).
	Action string `json:"action"`
	// Mode is "sync" (answer with Answer), "async" (Ack, then Callback) or "receive" (a
	// callback received: Ack).
	Mode          string      `json:"mode"`
	Registry      string      `json:"registry"`
	SenderID      string      `json:"sender_id"`
	MessageID     string      `json:"message_id"`
	CorrelationID string      `json:"correlation_id"`
	TransactionID string      `json:"transaction_id"`
	SenderURI     string      `json:"sender_uri"`
	Signed        bool        `json:"signed"`
	Deviations    []Violation `json:"deviations"`
	// Message is the typed request message (SearchRequest, TxnStatusRequest, ...).
	Message json.RawMessage `json:"message"`

	p *C.dci_admission
}

// Close frees the admission. Calling it again does nothing.
func (a *Admission) Close() error {
	return release(a, func() **C.dci_admission { return &a.p }, func(p *C.dci_admission) { C.dci_admission_free(p) })
}

// Refusal is a refused request: answer the HTTP request with Status and Body (the exact,
// signed spec rejection: 404 err.request.not_found, 403 err.sender_id.invalid, 401
// err.signature.*, 409 rjct.message_id.duplicate, 400 for spec violations, ...).
type Refusal struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// Reply is what to answer an HTTP request with: Status and Body. OK is false when the answer
// could not be made and Body is the rejection to send instead.
type Reply struct {
	OK     bool            `json:"ok"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// Admit admits a request received on path (/registry/sync/search, /dr/registry/sync/disabled,
// /registry/on-search, ...). It returns the Admission, or the Refusal to answer with; err is
// for misuse only (a closed registry).
func (r *Registry) Admit(path string, body []byte) (*Admission, *Refusal, error) {
	if err := r.open(); err != nil {
		return nil, nil, err
	}
	defer runtime.KeepAlive(r)
	cpath := cString(path)
	defer freeC(cpath)
	var cbody *C.uint8_t
	if len(body) > 0 {
		cbody = (*C.uint8_t)(unsafe.Pointer(&body[0]))
	}
	var out *C.char
	var adm *C.dci_admission
	err := call(func(e **C.dci_error) C.dci_result {
		return C.dci_registry_admit(r.p, cpath, cbody, C.size_t(len(body)), &out, &adm, e)
	})
	runtime.KeepAlive(body)
	if err != nil {
		return nil, nil, err
	}
	text := takeBytes(out)
	var head struct {
		OK bool `json:"ok"`
	}
	if err := json.Unmarshal(text, &head); err != nil {
		C.dci_admission_free(adm)
		return nil, nil, &Error{Kind: KindInternal, Message: "dci: admission: " + err.Error()}
	}
	if !head.OK {
		ref, err := decode[*Refusal](text, nil)
		return nil, ref, err
	}
	a, err := decode[*Admission](text, nil)
	if err != nil {
		C.dci_admission_free(adm)
		return nil, nil, err
	}
	a.p = adm
	runtime.SetFinalizer(a, (*Admission).Close)
	return a, nil, nil
}

// withAdmission runs f on the open registry and admission.
func (r *Registry) withAdmission(a *Admission, f func(o **C.char, e **C.dci_error) C.dci_result) ([]byte, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	if a == nil || a.p == nil {
		return nil, closedError("Admission")
	}
	defer runtime.KeepAlive(r)
	defer runtime.KeepAlive(a)
	return callOut(f)
}

// Ack is the reply to an admitted async request or received callback now: 200 with the
// spec's Ack (ack_status ACK, the admission's correlation id).
func (r *Registry) Ack(a *Admission) (*Reply, error) {
	return decode[*Reply](r.withAdmission(a, func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_registry_ack(r.p, a.p, o, e)
	}))
}

// Answer is the signed answer to the admitted request: message is the operation's response
// message (the SearchResponse from OnSearch, a TxnStatusResponse, a SubscribeResponse, ...)
// as JSON or a value that marshals to it. A message that does not fit is an ErrJSON.
func (r *Registry) Answer(a *Admission, message any) (*Reply, error) {
	cm, err := jsonText("message", message)
	if err != nil {
		return nil, err
	}
	defer freeC(cm)
	return decode[*Reply](r.withAdmission(a, func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_registry_answer(r.p, a.p, cm, o, e)
	}))
}

// ItemError is a search item the host refuses: a search reason code
// ("rjct.search_criteria.invalid", ...) and why.
type ItemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ItemResult is what the host found for one search item: every matching record (the kit
// pages them and keeps the sender's agreed fields), or an Error.
type ItemResult struct {
	Records []any
	Error   *ItemError
}

// MarshalJSON writes {"records": [...]} or {"error": {...}}.
func (i ItemResult) MarshalJSON() ([]byte, error) {
	if i.Error != nil {
		return json.Marshal(map[string]any{"error": i.Error})
	}
	return json.Marshal(map[string]any{"records": list(i.Records)})
}

// Records is an ItemResult of matching records.
func Records(records ...any) ItemResult { return ItemResult{Records: records} }

// ItemRejected is an ItemResult refusing the item with a search reason code.
func ItemRejected(code, message string) ItemResult {
	return ItemResult{Error: &ItemError{Code: code, Message: message}}
}

// OnSearch is the SearchResponse message of an admitted search: results[i] answers
// search_request[i] (a missing result is a rejected item). Answer with it (sync) or make the
// Callback (async).
func (r *Registry) OnSearch(a *Admission, results []ItemResult) (json.RawMessage, error) {
	cres, err := marshalArg("results", list(results))
	if err != nil {
		return nil, err
	}
	defer freeC(cres)
	b, err := r.withAdmission(a, func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_registry_on_search(r.p, a.p, cres, o, e)
	})
	return json.RawMessage(b), err
}

// Callback is the async answer to an admitted request: the signed envelope of message (as
// Answer) and the URL to POST it to (the request's sender_uri, else the sender's registered
// callback URI, with the operation's callback path, checked by the outbound policy). url is
// "" when there is no address (the answer waits for a txn/status request). A refused address
// is an ErrProtocol with code err.sender_uri.invalid.
func (r *Registry) Callback(a *Admission, message any) (url string, body json.RawMessage, err error) {
	if err := r.open(); err != nil {
		return "", nil, err
	}
	if a == nil || a.p == nil {
		return "", nil, closedError("Admission")
	}
	defer runtime.KeepAlive(r)
	defer runtime.KeepAlive(a)
	cm, err := jsonText("message", message)
	if err != nil {
		return "", nil, err
	}
	defer freeC(cm)
	var curl, cbody *C.char
	if err := call(func(e **C.dci_error) C.dci_result {
		return C.dci_registry_callback(r.p, a.p, cm, &curl, &cbody, e)
	}); err != nil {
		return "", nil, err
	}
	return takeString(curl), json.RawMessage(takeBytes(cbody)), nil
}
