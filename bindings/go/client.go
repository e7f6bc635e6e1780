package dci

/*
#include <stdlib.h>
#include <stdbool.h>
#include "dci.h"

// The shapes of libdci's client calls: Go hands the C function itself to the one caller of
// its shape (cgo cannot call a C function pointer, so these call it).
typedef dci_result (*dci_json_call)(const dci_client *, const char *, char **, dci_error **);
typedef dci_result (*dci_person_call)(const dci_client *, const char *, const char *, char **,
                                      dci_error **);
typedef dci_result (*dci_person_bool_call)(const dci_client *, const char *, const char *,
                                           bool *, dci_error **);

static dci_result call_json(dci_json_call f, const dci_client *c, const char *arg, char **out,
                            dci_error **err) {
    return f(c, arg, out, err);
}
static dci_result call_person(dci_person_call f, const dci_client *c, const char *t,
                              const char *v, char **out, dci_error **err) {
    return f(c, t, v, out, err);
}
static dci_result call_person_bool(dci_person_bool_call f, const dci_client *c, const char *t,
                                   const char *v, bool *out, dci_error **err) {
    return f(c, t, v, out, err);
}
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"time"
	"unsafe"
)

// Client talks to one external DCI registry. Its calls block until the registry answers;
// a Client may be used from several goroutines at once (but not while it is being closed).
type Client struct{ p *C.dci_client }

// NewClient makes a client from a DataSource: JSON ([]byte, json.RawMessage or string) or
// any value that marshals to it, such as a map. Required: base_url and our_sender_id; see
// the client documentation for auth (oauth2 client credentials, bearer), signing,
// our_callback_uri, registry_key, endpoints, dialect, timeout_secs, max_retries.
func NewClient(dataSource any) (*Client, error) {
	var text string
	switch v := dataSource.(type) {
	case []byte:
		text = string(v)
	case json.RawMessage:
		text = string(v)
	case string:
		text = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &Error{Kind: KindJSON, Code: "err.request.bad", Message: "dci: data source: " + err.Error()}
		}
		text = string(b)
	}
	cds := cString(text)
	defer freeC(cds)
	var p *C.dci_client
	if err := call(func(e **C.dci_error) C.dci_result { return C.dci_client_new(cds, &p, e) }); err != nil {
		return nil, err
	}
	c := &Client{p}
	runtime.SetFinalizer(c, (*Client).Close)
	return c, nil
}

// Close frees the client. Calling it again does nothing.
func (c *Client) Close() error {
	return release(c, func() **C.dci_client { return &c.p }, func(p *C.dci_client) { C.dci_client_free(p) })
}

// callOut is callOut on the open client: f may use c.p, kept alive until f returns.
func (c *Client) callOut(f func(o **C.char, e **C.dci_error) C.dci_result) ([]byte, error) {
	if c == nil || c.p == nil {
		return nil, closedError("Client")
	}
	defer runtime.KeepAlive(c)
	return callOut(f)
}

// withJSON is callOut on the open client with arg as JSON (named name in errors).
func (c *Client) withJSON(name string, arg any, f func(carg *C.char, o **C.char, e **C.dci_error) C.dci_result) ([]byte, error) {
	carg, err := marshalArg(name, arg)
	if err != nil {
		return nil, err
	}
	defer freeC(carg)
	return c.callOut(func(o **C.char, e **C.dci_error) C.dci_result { return f(carg, o, e) })
}

// callJSON runs a client call that takes one JSON argument and returns JSON.
func (c *Client) callJSON(arg any, f C.dci_json_call) ([]byte, error) {
	return c.withJSON("argument", arg, func(carg *C.char, o **C.char, e **C.dci_error) C.dci_result {
		return C.call_json(f, c.p, carg, o, e)
	})
}

// list is items, or an empty list for none (a nil slice would be JSON null).
func list[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

func decode[T any](b []byte, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, &Error{Kind: KindInternal, Message: "dci: result: " + err.Error()}
	}
	return v, nil
}

// Search is what to search for: a Query (from IDTypeValue, Expression, PredicateList.Query)
// and the optional criteria. PageNumber and PageSize default to 1 and 100.
type Search struct {
	Query
	RegType       string `json:"reg_type,omitempty"`
	RegEventType  string `json:"reg_event_type,omitempty"`
	RegRecordType string `json:"reg_record_type,omitempty"`
	PageNumber    int    `json:"page_number,omitempty"`
	PageSize      int    `json:"page_size,omitempty"`
	Sort          any    `json:"sort,omitempty"`
	Consent       any    `json:"consent,omitempty"`
	Authorize     any    `json:"authorize,omitempty"`
	Locale        string `json:"locale,omitempty"`
}

// SignatureCheck is what verifying a response's signature found.
type SignatureCheck struct {
	Verified bool   `json:"verified"`
	Kid      string `json:"kid"`
}

// PageInfo is the pagination of one search_response item.
type PageInfo struct {
	PageSize   int `json:"page_size"`
	PageNumber int `json:"page_number"`
	TotalCount int `json:"total_count"`
}

// SearchItem is one search_response item.
type SearchItem struct {
	ReferenceID         string            `json:"reference_id"`
	Timestamp           string            `json:"timestamp"`
	Status              string            `json:"status"`
	StatusReasonCode    string            `json:"status_reason_code"`
	StatusReasonMessage string            `json:"status_reason_message"`
	RegType             string            `json:"reg_type"`
	RegRecordType       string            `json:"reg_record_type"`
	Records             []json.RawMessage `json:"records"`
	Pagination          *PageInfo         `json:"pagination"`
	Locale              string            `json:"locale"`
}

// SearchResult is a search result (sync response, on-search callback).
type SearchResult struct {
	TransactionID string          `json:"transaction_id"`
	CorrelationID string          `json:"correlation_id"`
	MessageID     string          `json:"message_id"`
	Header        json.RawMessage `json:"header"`
	Items         []SearchItem    `json:"items"`
	Signature     SignatureCheck  `json:"signature"`
	// Raw is the whole envelope as received.
	Raw json.RawMessage `json:"raw"`
}

// Records are every record of every item.
func (r *SearchResult) Records() []json.RawMessage {
	var out []json.RawMessage
	for _, it := range r.Items {
		out = append(out, it.Records...)
	}
	return out
}

// Ack is a registry's acknowledgement of an async request.
type Ack struct {
	AckStatus     string          `json:"ack_status"`
	CorrelationID string          `json:"correlation_id"`
	Timestamp     string          `json:"timestamp"`
	TransactionID string          `json:"transaction_id"`
	MessageID     string          `json:"message_id"`
	ReferenceIDs  []string        `json:"reference_ids"`
	Raw           json.RawMessage `json:"raw"`
}

// SearchSync searches through the registry's sync endpoint (/registry/sync/search).
func (c *Client) SearchSync(s Search) (*SearchResult, error) {
	return decode[*SearchResult](c.callJSON(s, C.dci_json_call(C.dci_client_search_sync)))
}

// SearchAll searches page after page (PageSize long, from PageNumber) and returns every
// record of every page.
func (c *Client) SearchAll(s Search) ([]json.RawMessage, error) {
	return decode[[]json.RawMessage](c.callJSON(s, C.dci_json_call(C.dci_client_search_all)))
}

// SearchAsync searches through the async endpoint; the result arrives at our_callback_uri
// (hand it to HandleCallback, then WaitFor the Ack's TransactionID).
func (c *Client) SearchAsync(s Search) (*Ack, error) {
	return decode[*Ack](c.callJSON(s, C.dci_json_call(C.dci_client_search_async)))
}

// TxnStatusQuery asks for the status of a transaction.
type TxnStatusQuery struct {
	// TxnType: "search", "subscribe" or "unsubscribe".
	TxnType string `json:"txn_type"`
	// AttributeType: "transaction_id", "reference_id_list", "correlation_id" or
	// "subscription_code_list".
	AttributeType  string `json:"attribute_type"`
	AttributeValue any    `json:"attribute_value"`
	Locale         string `json:"locale,omitempty"`
}

// TxnStatus asks the sync txn status endpoint; the result is JSON.
func (c *Client) TxnStatus(q TxnStatusQuery) (json.RawMessage, error) {
	return c.callJSON(q, C.dci_json_call(C.dci_client_txn_status))
}

// TxnStatusAsync asks the async txn status endpoint.
func (c *Client) TxnStatusAsync(q TxnStatusQuery) (*Ack, error) {
	return decode[*Ack](c.callJSON(q, C.dci_json_call(C.dci_client_txn_status_async)))
}

// Subscription asks for registry events.
type Subscription struct {
	RegEventType     string `json:"reg_event_type"`
	RegType          string `json:"reg_type,omitempty"`
	FilterType       string `json:"filter_type,omitempty"`
	Filter           any    `json:"filter,omitempty"`
	NotifyRecordType string `json:"notify_record_type,omitempty"`
	Frequency        any    `json:"frequency,omitempty"`
	Authorize        any    `json:"authorize,omitempty"`
	Locale           string `json:"locale,omitempty"`
}

// Subscribe subscribes to registry events (codes arrive by the on-subscribe callback).
func (c *Client) Subscribe(subs ...Subscription) (*Ack, error) {
	return decode[*Ack](c.callJSON(list(subs), C.dci_json_call(C.dci_client_subscribe)))
}

// Unsubscribe ends subscriptions by their codes.
func (c *Client) Unsubscribe(codes ...string) (*Ack, error) {
	return decode[*Ack](c.callJSON(list(codes), C.dci_json_call(C.dci_client_unsubscribe)))
}

// UploadReport is the registry's answer to a file upload (the spec's FileInfo form): each row
// accepted (with its correlation_id) or rejected (with the code and message a single request
// would have got). AckStatus is "ACK" when every row was accepted, else "ERR".
type UploadReport struct {
	AckStatus     string `json:"ack_status"`
	CorrelationID string `json:"correlation_id"`
	FileName      string `json:"file_name"`
	FileFormat    string `json:"file_format"`
	Rows          int    `json:"rows"`
	Accepted      []struct {
		Row           int    `json:"row"`
		CorrelationID string `json:"correlation_id"`
	} `json:"accepted"`
	Rejected []struct {
		Row     int    `json:"row"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"rejected"`
}

// Upload sends a file of request envelopes (signed by the caller) to the async endpoint of
// action ("search", "subscribe", "unsubscribe", "txn-status"); format is "json" or "csv".
func (c *Client) Upload(action, format, fileName string, data []byte) (*UploadReport, error) {
	ca, cf, cn := C.CString(action), C.CString(format), C.CString(fileName)
	defer freeC(ca)
	defer freeC(cf)
	defer freeC(cn)
	var p unsafe.Pointer
	if len(data) > 0 {
		p = C.CBytes(data)
		defer C.free(p)
	}
	return decode[*UploadReport](c.callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_client_upload(c.p, ca, cf, cn, (*C.uint8_t)(p), C.size_t(len(data)), o, e)
	}))
}

// UploadSearches sends async searches as one JSON file upload, each signed as SearchAsync
// would; it returns the report and each row's transaction id (results arrive by callback).
func (c *Client) UploadSearches(searches ...Search) (*UploadReport, []string, error) {
	out, err := decode[struct {
		Report         *UploadReport `json:"report"`
		TransactionIDs []string      `json:"transaction_ids"`
	}](c.callJSON(list(searches), C.dci_json_call(C.dci_client_upload_searches)))
	return out.Report, out.TransactionIDs, err
}

// CallbackError describes why a callback was refused, or the registry's rejection it carried:
// the core's structured error (the same parts as *Error).
type CallbackError struct {
	Kind          string      `json:"kind"`
	Code          string      `json:"code"`
	Message       string      `json:"message"`
	Field         string      `json:"field"`
	TransactionID string      `json:"transaction_id"`
	Endpoint      string      `json:"endpoint"`
	Status        int         `json:"status"`
	Violations    []Violation `json:"violations"`
}

// CallbackAnswer is what HandleCallback found and the HTTP answer to send back: the core's
// callback answer, with the same keys as the C ABI's JSON and Python's handle_callback dict.
type CallbackAnswer struct {
	Accepted   bool `json:"accepted"`
	HTTPStatus int  `json:"http_status"`
	// Ack is the body to answer with: the ACK, or the ERR ack of a refused callback.
	Ack           json.RawMessage `json:"ack"`
	Action        string          `json:"action"`
	TransactionID string          `json:"transaction_id"`
	CorrelationID string          `json:"correlation_id"`
	Matched       bool            `json:"matched"`
	// Result is {"kind": "search"|"subscribe"|..., "result": {...}}, or null.
	Result json.RawMessage `json:"result"`
	Error  *CallbackError  `json:"error"`
}

// HandleCallback verifies and parses a callback the registry posted to our callback URI and
// hands its result to a WaitFor on the same transaction. Answer the registry's HTTP request
// with HTTPStatus and Ack.
func (c *Client) HandleCallback(body []byte, headers map[string]string) (*CallbackAnswer, error) {
	var cheaders *C.char
	if headers != nil {
		var err error
		if cheaders, err = marshalArg("headers", headers); err != nil {
			return nil, err
		}
		defer freeC(cheaders)
	}
	cbody := cString(string(body))
	defer freeC(cbody)
	return decode[*CallbackAnswer](c.callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_client_handle_callback(c.p, cbody, cheaders, o, e)
	}))
}

// WaitFor waits for the callback of an async call (by its transaction id); the result is
// {"kind": ..., "result": {...}}. No callback in time is ErrTimeout.
func (c *Client) WaitFor(transactionID string, timeout time.Duration) (json.RawMessage, error) {
	ctxn := cString(transactionID)
	defer freeC(ctxn)
	return c.callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_client_wait_for(c.p, ctxn, C.uint64_t(timeout/time.Millisecond), o, e)
	})
}

// person runs a service call that takes an identifier and writes JSON.
func (c *Client) person(idType, idValue string, f C.dci_person_call) ([]byte, error) {
	ct, cv := cString(idType), cString(idValue)
	defer freeC(ct)
	defer freeC(cv)
	return c.callOut(func(o **C.char, e **C.dci_error) C.dci_result { return C.call_person(f, c.p, ct, cv, o, e) })
}

// personBool runs a service call that takes an identifier and answers yes or no.
func (c *Client) personBool(idType, idValue string, f C.dci_person_bool_call) (bool, error) {
	ct, cv := cString(idType), cString(idValue)
	defer freeC(ct)
	defer freeC(cv)
	var out C.bool
	// The call writes the bool, no string: callOut for its open-client check only.
	_, err := c.callOut(func(_ **C.char, e **C.dci_error) C.dci_result {
		return C.call_person_bool(f, c.p, ct, cv, &out, e)
	})
	return bool(out), err
}

// BirthRecord is a verified birth (CRVS).
type BirthRecord struct {
	IdentifierType  string          `json:"identifier_type"`
	IdentifierValue string          `json:"identifier_value"`
	PersonName      string          `json:"person_name"`
	GivenName       string          `json:"given_name"`
	FamilyName      string          `json:"family_name"`
	Sex             string          `json:"sex"`
	BirthDate       string          `json:"birth_date"`
	BirthPlace      string          `json:"birth_place"`
	Registrant      json.RawMessage `json:"registrant"`
	Record          json.RawMessage `json:"record"`
}

// VerifyBirth (CRVS) looks the person up; nil when nobody is found.
func (c *Client) VerifyBirth(idType, idValue string) (*BirthRecord, error) {
	return decode[*BirthRecord](c.person(idType, idValue, C.dci_person_call(C.dci_crvs_verify_birth)))
}

// IsDeceased (CRVS) reports whether a death is registered for the person.
func (c *Client) IsDeceased(idType, idValue string) (bool, error) {
	return c.personBool(idType, idValue, C.dci_person_bool_call(C.dci_crvs_is_deceased))
}

// SearchBirths (CRVS) returns every birth record between two dates (YYYY-MM-DD, inclusive).
func (c *Client) SearchBirths(from, to string) ([]json.RawMessage, error) {
	return decode[[]json.RawMessage](c.person(from, to, C.dci_person_call(C.dci_crvs_search_births)))
}

// SubscribeEvents (CRVS) subscribes to vital events (none given: live births and deaths).
func (c *Client) SubscribeEvents(eventTypes ...string) (*Ack, error) {
	return decode[*Ack](c.callJSON(list(eventTypes), C.dci_json_call(C.dci_crvs_subscribe_events)))
}

// Identifier of a person.
type Identifier struct {
	IdentifierType  string `json:"identifier_type"`
	IdentifierValue string `json:"identifier_value"`
}

// DuplicationResult is what CheckDuplication found.
type DuplicationResult struct {
	IsDuplicate     bool              `json:"is_duplicate"`
	MatchedPrograms []string          `json:"matched_programs"`
	RawResponse     []json.RawMessage `json:"raw_response"`
}

// CheckDuplication (IBR) searches for each identifier; any record found is a duplicate.
func (c *Client) CheckDuplication(ids ...Identifier) (*DuplicationResult, error) {
	return decode[*DuplicationResult](c.callJSON(list(ids), C.dci_json_call(C.dci_ibr_check_duplication)))
}

// Beneficiary is one beneficiary the IBR holds.
type Beneficiary struct {
	IdentifierType  string          `json:"identifier_type"`
	IdentifierValue string          `json:"identifier_value"`
	Name            string          `json:"name"`
	Programs        []string        `json:"programs"`
	Metadata        json.RawMessage `json:"metadata"`
}

// SearchBeneficiary (IBR) lists the beneficiaries held under the identifier.
func (c *Client) SearchBeneficiary(idType, idValue string) ([]Beneficiary, error) {
	return decode[[]Beneficiary](c.person(idType, idValue, C.dci_person_call(C.dci_ibr_search_beneficiary)))
}

// Enrolled (IBR) reports whether the person is enrolled.
func (c *Client) Enrolled(idType, idValue string) (bool, error) {
	return c.personBool(idType, idValue, C.dci_person_bool_call(C.dci_ibr_enrolled))
}

// DisabilityStatus (DR) is the person's disability record as JSON (null when not found).
func (c *Client) DisabilityStatus(idType, idValue string) (json.RawMessage, error) {
	return c.person(idType, idValue, C.dci_person_call(C.dci_dr_get_disability_status))
}

// FunctionalScores (DR) are the Washington Group scores (domain -> 1..4).
func (c *Client) FunctionalScores(idType, idValue string) (map[string]int, error) {
	return decode[map[string]int](c.person(idType, idValue, C.dci_person_call(C.dci_dr_get_functional_scores)))
}

// IsPWD (DR) reports whether the person is a person with disability.
func (c *Client) IsPWD(idType, idValue string) (bool, error) {
	return c.personBool(idType, idValue, C.dci_person_bool_call(C.dci_dr_is_pwd))
}

// CallSync calls a registry-specific sync endpoint (path such as "/registry/sync/enrolled")
// with the header action and the message body (an object, without transaction_id); the result
// is {"transaction_id", "envelope", "signature"}.
func (c *Client) CallSync(path, action string, body any) (json.RawMessage, error) {
	cp, ca := cString(path), cString(action)
	defer freeC(cp)
	defer freeC(ca)
	return c.withJSON("body", body, func(cb *C.char, o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_client_call_sync(c.p, cp, ca, cb, o, e)
	})
}

// ConnectionReport is what TestConnection found.
type ConnectionReport struct {
	Authenticated bool           `json:"authenticated"`
	Reachable     bool           `json:"reachable"`
	ItemRejection string         `json:"item_rejection"`
	Signature     SignatureCheck `json:"signature"`
	ElapsedMS     int64          `json:"elapsed_ms"`
}

// TestConnection checks authentication and reachability with a search that matches nothing.
func (c *Client) TestConnection() (*ConnectionReport, error) {
	return decode[*ConnectionReport](c.callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_client_test_connection(c.p, o, e)
	}))
}

// Listener is a small HTTP server that receives the registry's callbacks for a Client, for
// hosts without a web server of their own. Collect results with Client.WaitFor.
type Listener struct{ p *C.dci_listener }

// Listen starts a callback listener on addr ("127.0.0.1:8081"; port 0 picks a free one). The
// client's our_callback_uri must point at it.
func (c *Client) Listen(addr string) (*Listener, error) {
	if c == nil || c.p == nil {
		return nil, closedError("Client")
	}
	defer runtime.KeepAlive(c)
	caddr := cString(addr)
	defer freeC(caddr)
	var p *C.dci_listener
	if err := call(func(e **C.dci_error) C.dci_result { return C.dci_listener_bind(c.p, caddr, &p, e) }); err != nil {
		return nil, err
	}
	l := &Listener{p}
	runtime.SetFinalizer(l, (*Listener).Close)
	return l, nil
}

// Addr is the address the listener is bound to ("127.0.0.1:40123").
func (l *Listener) Addr() (string, error) {
	defer runtime.KeepAlive(l)
	return stringOf(l == nil || l.p == nil, "Listener", func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_listener_local_addr(l.p, o, e)
	})
}

// Close stops the listener. Calling it again does nothing.
func (l *Listener) Close() error {
	return release(l, func() **C.dci_listener { return &l.p }, func(p *C.dci_listener) { C.dci_listener_free(p) })
}
