package dci

/*
#include <stdlib.h>
#include "dci.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// Signature profiles.
const (
	ProfileSpdci       = "spdci"
	ProfileJWSDetached = "jws-detached"
	ProfileJWSCompact  = "jws-compact"
)

// Signer signs envelopes: a copy of a key, the kid parts ({senderID}|{keyID}|{alg}), the
// profile (default spdci), the digest (default sha256) and the validity (default 300 s).
type Signer struct{ p *C.dci_signer }

// NewSigner makes a signer with a copy of key (key stays yours to Close).
func NewSigner(key *SigningKey, senderID, keyID string) (*Signer, error) {
	if key == nil || key.p == nil {
		return nil, closedError("SigningKey")
	}
	defer runtime.KeepAlive(key)
	csender, ckey := cString(senderID), cString(keyID)
	defer freeC(csender)
	defer freeC(ckey)
	var p *C.dci_signer
	if err := call(func(e **C.dci_error) C.dci_result {
		return C.dci_signer_new(key.p, csender, ckey, &p, e)
	}); err != nil {
		return nil, err
	}
	s := &Signer{p}
	runtime.SetFinalizer(s, (*Signer).Close)
	return s, nil
}

func (s *Signer) setString(f func(*C.dci_signer, *C.char, **C.dci_error) C.dci_result, v string) error {
	if s == nil || s.p == nil {
		return closedError("Signer")
	}
	defer runtime.KeepAlive(s)
	cv := cString(v)
	defer freeC(cv)
	return call(func(e **C.dci_error) C.dci_result { return f(s.p, cv, e) })
}

// SetProfile chooses the signature profile: ProfileSpdci, ProfileJWSDetached, ProfileJWSCompact.
func (s *Signer) SetProfile(profile string) error {
	return s.setString(func(p *C.dci_signer, v *C.char, e **C.dci_error) C.dci_result {
		return C.dci_signer_set_profile(p, v, e)
	}, profile)
}

// SetDigest chooses the digest line of the spdci profile: "sha256" or "blake-512".
func (s *Signer) SetDigest(digest string) error {
	return s.setString(func(p *C.dci_signer, v *C.char, e **C.dci_error) C.dci_result {
		return C.dci_signer_set_digest(p, v, e)
	}, digest)
}

// SetValidity sets the time between a signature's created and expires (whole seconds, > 0).
func (s *Signer) SetValidity(d time.Duration) error {
	if s == nil || s.p == nil {
		return closedError("Signer")
	}
	defer runtime.KeepAlive(s)
	secs := C.int64_t(d / time.Second)
	return call(func(e **C.dci_error) C.dci_result { return C.dci_signer_set_validity(s.p, secs, e) })
}

// Kid is the kid the signer writes: {senderID}|{keyID}|{alg}.
func (s *Signer) Kid() (string, error) {
	defer runtime.KeepAlive(s)
	return stringOf(s == nil || s.p == nil, "Signer", func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_signer_kid(s.p, o, e)
	})
}

// Sign returns the envelope ({"header", "message"} JSON) with its signature set over the
// header and message exactly as given. now is the signing time; the zero Time means the clock.
func (s *Signer) Sign(envelope []byte, now time.Time) ([]byte, error) {
	if s == nil || s.p == nil {
		return nil, closedError("Signer")
	}
	defer runtime.KeepAlive(s)
	cenv := cString(string(envelope))
	defer freeC(cenv)
	return callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_signer_sign(s.p, cenv, unixOrZero(now), o, e)
	})
}

// Close frees the signer (its key copy is wiped). Calling it again does nothing.
func (s *Signer) Close() error {
	return release(s, func() **C.dci_signer { return &s.p }, func(p *C.dci_signer) { C.dci_signer_free(p) })
}

func unixOrZero(t time.Time) C.int64_t {
	if t.IsZero() {
		return 0
	}
	return C.int64_t(t.Unix())
}

// VerifyOptions tunes verification; the zero value (or nil) means: detect the profile, check
// against the system clock, allow 60 s of clock skew.
type VerifyOptions struct {
	// Profile to expect ("" detects it from the signature's form).
	Profile string
	// Now is the time to check created/expires against (zero: the clock).
	Now time.Time
	// ClockSkew is how far in the future created may be (0: the default, 60 s; use
	// NoClockSkew for none).
	ClockSkew time.Duration
}

// NoClockSkew as VerifyOptions.ClockSkew allows no skew at all.
const NoClockSkew time.Duration = -1

// Verified is what a successful verification found.
type Verified struct {
	Profile   string `json:"profile"`
	Algorithm string `json:"algorithm"`
	// Kid as found in the signature ("" when the profile carries none).
	Kid string `json:"kid"`
	// Created and Expires in unix seconds (0 when absent).
	Created int64 `json:"created"`
	Expires int64 `json:"expires"`
}

func (o *VerifyOptions) c() (profile *C.char, now, skew C.int64_t) {
	skew = -1
	if o == nil {
		return nil, 0, skew
	}
	switch {
	case o.ClockSkew == NoClockSkew:
		skew = 0
	case o.ClockSkew > 0:
		skew = C.int64_t(o.ClockSkew / time.Second)
	}
	return optCString(o.Profile), unixOrZero(o.Now), skew
}

// Verify checks an envelope's signature (over the bytes as given) with one public key.
// Errors: ErrSignatureMissing, ErrSignatureMalformed, ErrSignatureInvalid,
// ErrSignatureExpired, ErrSignatureNotYetValid, ErrKey, ErrUnsupportedAlgorithm, ErrJSON.
func Verify(envelope []byte, key *VerifyingKey, opts *VerifyOptions) (*Verified, error) {
	defer runtime.KeepAlive(key)
	return verify(envelope, opts, key == nil || key.p == nil, "VerifyingKey", func(env, profile *C.char, now, skew C.int64_t, o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_verify_with_key(env, key.p, profile, now, skew, o, e)
	})
}

// VerifyJWKS is Verify with the key found in a JWK Set by the signature's kid.
func VerifyJWKS(envelope []byte, keys *JWKS, opts *VerifyOptions) (*Verified, error) {
	defer runtime.KeepAlive(keys)
	return verify(envelope, opts, keys == nil || keys.p == nil, "JWKS", func(env, profile *C.char, now, skew C.int64_t, o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_verify_with_jwks(env, keys.p, profile, now, skew, o, e)
	})
}

// verify runs a dci_verify_with_* call over the envelope and the options in C form, or is
// closedError(what) when the key handle is closed (f, which reads its pointer, is not called).
func verify(envelope []byte, opts *VerifyOptions, closed bool, what string, f func(env, profile *C.char, now, skew C.int64_t, o **C.char, e **C.dci_error) C.dci_result) (*Verified, error) {
	if closed {
		return nil, closedError(what)
	}
	cenv := cString(string(envelope))
	defer freeC(cenv)
	profile, now, skew := opts.c()
	defer freeC(profile)
	return decode[*Verified](callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return f(cenv, profile, now, skew, o, e)
	}))
}
