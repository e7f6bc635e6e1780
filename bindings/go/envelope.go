package dci

/*
#include <stdlib.h>
#include "dci.h"
*/
import "C"

// Validate checks an envelope (JSON) against the spec's constraints. kind names the message
// ("search", "on-search", "SearchRequest", "enrolled", "ack", ...) or is "" to take it from
// header.action. A failure is an *Error of KindValidation listing every Violation.
func Validate(kind string, envelope []byte) error {
	ck, ce := optCString(kind), cString(string(envelope))
	defer freeC(ck)
	defer freeC(ce)
	return call(func(e **C.dci_error) C.dci_result { return C.dci_validate(ck, ce, e) })
}

// Pagination of a search request.
type Pagination struct {
	PageSize   int `json:"page_size"`
	PageNumber int `json:"page_number"`
}

// Sort is one sort key of a search request ("asc" or "desc").
type Sort struct {
	AttributeName string `json:"attribute_name"`
	SortOrder     string `json:"sort_order"`
}

// SearchOptions describe a search request. SenderID and at least one query are required;
// ids and timestamps left empty are generated.
type SearchOptions struct {
	SenderID       string      `json:"sender_id"`
	ReceiverID     string      `json:"receiver_id,omitempty"`
	SenderURI      string      `json:"sender_uri,omitempty"`
	MessageID      string      `json:"message_id,omitempty"`
	MessageTS      string      `json:"message_ts,omitempty"`
	TransactionID  string      `json:"transaction_id,omitempty"`
	RegType        string      `json:"reg_type,omitempty"`
	RegRecordType  string      `json:"reg_record_type,omitempty"`
	ResponseEntity string      `json:"response_entity,omitempty"`
	Locale         string      `json:"locale,omitempty"`
	Pagination     *Pagination `json:"pagination,omitempty"`
	Sort           []Sort      `json:"sort,omitempty"`
	Consent        any         `json:"consent,omitempty"`
	Authorize      any         `json:"authorize,omitempty"`
	// Queries: one search_request item each.
	Queries []Query `json:"queries"`
}

// NewSearchRequest builds an unsigned search request envelope ({"header", "message"} JSON);
// sign it with Signer.Sign.
func NewSearchRequest(opts SearchOptions) ([]byte, error) {
	opts.Queries = list(opts.Queries)
	co, err := marshalArg("options", opts)
	if err != nil {
		return nil, err
	}
	defer freeC(co)
	return callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_search_request_new(co, o, e)
	})
}

// SearchItemOptions describe one search_request item, for requests whose items carry
// different criteria. Query is required; ReferenceID is generated when empty.
type SearchItemOptions struct {
	Query
	ReferenceID    string      `json:"reference_id,omitempty"`
	RegType        string      `json:"reg_type,omitempty"`
	RegRecordType  string      `json:"reg_record_type,omitempty"`
	ResponseEntity string      `json:"response_entity,omitempty"`
	Locale         string      `json:"locale,omitempty"`
	Pagination     *Pagination `json:"pagination,omitempty"`
	Sort           []Sort      `json:"sort,omitempty"`
	Consent        any         `json:"consent,omitempty"`
	Authorize      any         `json:"authorize,omitempty"`
}

// NewSearchItem builds one search_request item ({"reference_id", "timestamp",
// "search_criteria"} JSON). An item that would break the spec is an ErrValidation.
func NewSearchItem(opts SearchItemOptions) ([]byte, error) {
	co, err := marshalArg("options", opts)
	if err != nil {
		return nil, err
	}
	defer freeC(co)
	return callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_search_item_new(co, o, e)
	})
}

// TxnStatusOptions describe a txn-status request. SenderID, TxnType ("search", "subscribe",
// "unsubscribe"), AttributeType ("transaction_id", "reference_id_list", "correlation_id",
// "subscription_code_list") and AttributeValue are required; ids left empty are generated.
type TxnStatusOptions struct {
	SenderID       string `json:"sender_id"`
	TxnType        string `json:"txn_type"`
	AttributeType  string `json:"attribute_type"`
	AttributeValue any    `json:"attribute_value"`
	ReceiverID     string `json:"receiver_id,omitempty"`
	SenderURI      string `json:"sender_uri,omitempty"`
	MessageID      string `json:"message_id,omitempty"`
	MessageTS      string `json:"message_ts,omitempty"`
	TransactionID  string `json:"transaction_id,omitempty"`
	ReferenceID    string `json:"reference_id,omitempty"`
	Locale         string `json:"locale,omitempty"`
}

// NewTxnStatusRequest builds an unsigned txn-status request envelope ({"header", "message"}
// JSON); sign it with Signer.Sign. A request that breaks the spec is an ErrValidation.
func NewTxnStatusRequest(opts TxnStatusOptions) ([]byte, error) {
	co, err := marshalArg("options", opts)
	if err != nil {
		return nil, err
	}
	defer freeC(co)
	return callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_txn_status_request_new(co, o, e)
	})
}
