package dci

/*
#include "dci.h"
*/
import "C"

// Kind is the kind of a libdci error; the numbers are stable and the same as the C
// interface's dci_result and Rust's dci::ErrorKind.
type Kind uint32

// The error kinds.
const (
	KindJSON                 Kind = C.DCI_RESULT_JSON
	KindValidation           Kind = C.DCI_RESULT_VALIDATION
	KindSignatureMissing     Kind = C.DCI_RESULT_SIGNATURE_MISSING
	KindSignatureMalformed   Kind = C.DCI_RESULT_SIGNATURE_MALFORMED
	KindSignatureInvalid     Kind = C.DCI_RESULT_SIGNATURE_INVALID
	KindSignatureExpired     Kind = C.DCI_RESULT_SIGNATURE_EXPIRED
	KindSignatureNotYetValid Kind = C.DCI_RESULT_SIGNATURE_NOT_YET_VALID
	KindKey                  Kind = C.DCI_RESULT_KEY
	KindUnsupportedAlgorithm Kind = C.DCI_RESULT_UNSUPPORTED_ALGORITHM
	KindQuery                Kind = C.DCI_RESULT_QUERY
	KindConfig               Kind = C.DCI_RESULT_CONFIG
	KindAuth                 Kind = C.DCI_RESULT_AUTH
	KindTimeout              Kind = C.DCI_RESULT_TIMEOUT
	KindConnection           Kind = C.DCI_RESULT_CONNECTION
	KindTLS                  Kind = C.DCI_RESULT_TLS
	KindTransport            Kind = C.DCI_RESULT_TRANSPORT
	KindHTTP                 Kind = C.DCI_RESULT_HTTP
	KindProtocol             Kind = C.DCI_RESULT_PROTOCOL
	KindIO                   Kind = C.DCI_RESULT_IO
	KindInternal             Kind = C.DCI_RESULT_INTERNAL
	// KindEncryption: an encrypted message cannot be made or opened (err.encryption.invalid).
	KindEncryption Kind = C.DCI_RESULT_ENCRYPTION
	// KindNullArgument: a required argument was missing (in Go: a closed or nil handle).
	KindNullArgument Kind = C.DCI_RESULT_NULL_ARGUMENT
	// KindInvalidUTF8: a string argument was not valid UTF-8.
	KindInvalidUTF8 Kind = C.DCI_RESULT_INVALID_UTF8
)

// String is the kind's stable name: "signature_invalid", "json", ...
func (k Kind) String() string {
	return C.GoString(C.dci_result_name(C.uint32_t(k)))
}

// Violation is one broken rule found by validation.
type Violation struct {
	// Path of the field, e.g. "message.search_request[0].reference_id".
	Path string `json:"path"`
	// Rule broken, e.g. "required".
	Rule string `json:"rule"`
}

// Error is the error type of every function in this package.
type Error struct {
	Kind Kind
	// Code is the DCI error code that describes the error ("err.signature.invalid",
	// "err.request.bad", or the err.* / rjct.* code a peer sent), or "".
	Code    string
	Message string
	// Field is the path a validation or configuration error is about, or "".
	Field string
	// TransactionID is the transaction the error belongs to, or "".
	TransactionID string
	// Endpoint is the URL a network, auth, HTTP or protocol error came from, or "".
	Endpoint string
	// HTTPStatus is the status of a KindHTTP error, otherwise 0.
	HTTPStatus int
	// Violations lists every broken rule of a KindValidation error.
	Violations []Violation
}

func (e *Error) Error() string { return e.Message }

// Is reports whether target is an *Error of the same Kind, so that
// errors.Is(err, dci.ErrSignatureExpired) tests the kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && (t.Code == "" || t.Code == e.Code)
}

// Sentinel errors for errors.Is, one per kind.
var (
	ErrJSON                 = &Error{Kind: KindJSON, Message: "json"}
	ErrValidation           = &Error{Kind: KindValidation, Message: "validation"}
	ErrSignatureMissing     = &Error{Kind: KindSignatureMissing, Message: "signature missing"}
	ErrSignatureMalformed   = &Error{Kind: KindSignatureMalformed, Message: "signature malformed"}
	ErrSignatureInvalid     = &Error{Kind: KindSignatureInvalid, Message: "signature invalid"}
	ErrSignatureExpired     = &Error{Kind: KindSignatureExpired, Message: "signature expired"}
	ErrSignatureNotYetValid = &Error{Kind: KindSignatureNotYetValid, Message: "signature not yet valid"}
	ErrKey                  = &Error{Kind: KindKey, Message: "key"}
	ErrUnsupportedAlgorithm = &Error{Kind: KindUnsupportedAlgorithm, Message: "unsupported algorithm"}
	ErrQuery                = &Error{Kind: KindQuery, Message: "query"}
	ErrConfig               = &Error{Kind: KindConfig, Message: "config"}
	ErrAuth                 = &Error{Kind: KindAuth, Message: "auth"}
	ErrTimeout              = &Error{Kind: KindTimeout, Message: "timeout"}
	ErrConnection           = &Error{Kind: KindConnection, Message: "connection"}
	ErrTLS                  = &Error{Kind: KindTLS, Message: "tls"}
	ErrTransport            = &Error{Kind: KindTransport, Message: "transport"}
	ErrHTTP                 = &Error{Kind: KindHTTP, Message: "http"}
	ErrProtocol             = &Error{Kind: KindProtocol, Message: "protocol"}
	ErrIO                   = &Error{Kind: KindIO, Message: "io"}
	ErrInternal             = &Error{Kind: KindInternal, Message: "internal"}
	ErrEncryption           = &Error{Kind: KindEncryption, Message: "encryption"}
	ErrClosed               = &Error{Kind: KindNullArgument, Message: "closed handle"}
)
