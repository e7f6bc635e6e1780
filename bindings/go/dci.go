// Package dci is the Go interface to libdci, the Digital Convergence Initiative (SPDCI)
// registry API: keys, envelope signatures (spdci, jws-detached, jws-compact), queries,
// message validation and the registry client.
//
// It wraps libdci's C interface (include/dci.h) and links libdci.a statically. Build the
// library first and copy it beside this package:
//
//	cargo build --release -p dci-c --lib
//	mkdir -p bindings/go/lib && cp target/release/libdci.a bindings/go/lib/
//
// (scripts/test-go does this.) Functions return (value, error); errors are *Error values
// carrying the libdci Kind and, where one applies, the DCI error code. Handles (SigningKey,
// VerifyingKey, JWKS, Signer, PredicateList, Client) own library memory: call Close when
// done; a finalizer frees a handle that was not closed. A handle must not be used by two
// goroutines while one of them closes it.
package dci

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: ${SRCDIR}/lib/libdci.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
#include <stdlib.h>
#include <string.h>
#include "dci.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"unsafe"
)

// Version is the version of the linked libdci.
func Version() string {
	return C.GoString(C.dci_version())
}

// cString copies s into C memory; free it with C.free (it is Go's copy, not a libdci string).
func cString(s string) *C.char {
	return C.CString(s)
}

// optCString is cString, or NULL for "".
func optCString(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func freeC(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// takeString copies a string libdci returned and frees it with dci_string_free.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.dci_string_free(p)
	return s
}

// takeBytes is takeString returning bytes.
func takeBytes(p *C.char) []byte {
	if p == nil {
		return nil
	}
	b := C.GoBytes(unsafe.Pointer(p), C.int(C.strlen(p)))
	C.dci_string_free(p)
	return b
}

// callOut runs a libdci function that writes a library-owned string to *out, and returns
// the string copied into Go (freed by libdci).
func callOut(f func(out **C.char, errp **C.dci_error) C.dci_result) ([]byte, error) {
	var out *C.char
	if err := call(func(e **C.dci_error) C.dci_result { return f(&out, e) }); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// stringOf is callOut for a handle method that returns a string: closedError(what) when the
// handle is closed (f, which reads the handle's pointer, is not called then).
func stringOf(closed bool, what string, f func(out **C.char, errp **C.dci_error) C.dci_result) (string, error) {
	if closed {
		return "", closedError(what)
	}
	b, err := callOut(f)
	return string(b), err
}

// callHandle runs a libdci constructor that writes a new handle to *out, and wraps the handle.
func callHandle[P, H any](wrap func(P) H, f func(out *P, errp **C.dci_error) C.dci_result) (H, error) {
	var p P
	if err := call(func(e **C.dci_error) C.dci_result { return f(&p, e) }); err != nil {
		var none H
		return none, err
	}
	return wrap(p), nil
}

// call runs a fallible libdci function and converts its dci_error.
func call(f func(errp **C.dci_error) C.dci_result) error {
	var e *C.dci_error
	r := f(&e)
	if r == C.DCI_RESULT_OK {
		return nil
	}
	return takeError(r, e)
}

// takeError copies a dci_error into an *Error and frees it.
func takeError(r C.dci_result, e *C.dci_error) error {
	err := &Error{Kind: Kind(r)}
	if e == nil {
		err.Message = "libdci: " + err.Kind.String()
		return err
	}
	defer C.dci_error_free(e)
	err.Message = C.GoString(C.dci_error_message(e))
	if p := C.dci_error_code(e); p != nil {
		err.Code = C.GoString(p)
	}
	if p := C.dci_error_field(e); p != nil {
		err.Field = C.GoString(p)
	}
	if p := C.dci_error_transaction_id(e); p != nil {
		err.TransactionID = C.GoString(p)
	}
	if p := C.dci_error_endpoint(e); p != nil {
		err.Endpoint = C.GoString(p)
	}
	err.HTTPStatus = int(C.dci_error_http_status(e))
	if p := C.dci_error_violations(e); p != nil {
		// The library writes this JSON itself; a decoding failure would leave Violations nil.
		_ = json.Unmarshal([]byte(C.GoString(p)), &err.Violations)
	}
	return err
}

// release is every handle's Close: unless the handle h is nil or already closed, it frees
// the library pointer (reached through field, called only for a non-nil h) with free, clears
// it and drops the finalizer, so that calling it again does nothing.
func release[H any, P comparable](h *H, field func() *P, free func(P)) error {
	if h == nil {
		return nil
	}
	var closed P
	if p := field(); *p != closed {
		free(*p)
		*p = closed
		runtime.SetFinalizer(h, nil)
	}
	return nil
}

// closedError reports the use of a handle after Close.
func closedError(what string) error {
	return &Error{Kind: KindNullArgument, Message: "dci: " + what + " is closed"}
}
