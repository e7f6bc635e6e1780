package dci

/*
#include <stdlib.h>
#include "dci.h"
*/
import "C"

import "runtime"

// SigningKey is a private key (Ed25519 or RSA).
type SigningKey struct{ p *C.dci_signing_key }

// VerifyingKey is a public key (Ed25519 or RSA).
type VerifyingKey struct{ p *C.dci_verifying_key }

// JWKS is a JWK Set: public keys with their kids.
type JWKS struct{ p *C.dci_jwks }

func newSigningKey(p *C.dci_signing_key) *SigningKey {
	k := &SigningKey{p}
	runtime.SetFinalizer(k, (*SigningKey).Close)
	return k
}

func newVerifyingKey(p *C.dci_verifying_key) *VerifyingKey {
	k := &VerifyingKey{p}
	runtime.SetFinalizer(k, (*VerifyingKey).Close)
	return k
}

func newJWKS(p *C.dci_jwks) *JWKS {
	s := &JWKS{p}
	runtime.SetFinalizer(s, (*JWKS).Close)
	return s
}

// GenerateSigningKey makes a new random key: alg is "ed25519" or "rsa-sha256" (also "EdDSA",
// "RS256"); RSA keys have 2048 bits.
func GenerateSigningKey(alg string) (*SigningKey, error) {
	calg := cString(alg)
	defer freeC(calg)
	return callHandle(newSigningKey, func(o **C.dci_signing_key, e **C.dci_error) C.dci_result {
		return C.dci_signing_key_generate(calg, o, e)
	})
}

// SigningKeyFromPEM loads a PKCS#8 ("BEGIN PRIVATE KEY") or PKCS#1 RSA private key.
func SigningKeyFromPEM(pem string) (*SigningKey, error) {
	cpem := cString(pem)
	defer freeC(cpem)
	return callHandle(newSigningKey, func(o **C.dci_signing_key, e **C.dci_error) C.dci_result {
		return C.dci_signing_key_from_pem(cpem, o, e)
	})
}

// SigningKeyFromEd25519Seed makes an Ed25519 key from its 32-byte seed (RFC 8032 secret key).
func SigningKeyFromEd25519Seed(seed []byte) (*SigningKey, error) {
	if len(seed) != 32 {
		return nil, &Error{Kind: KindKey, Message: "key error: an Ed25519 seed has 32 bytes"}
	}
	cseed := C.CBytes(seed)
	defer C.free(cseed)
	return callHandle(newSigningKey, func(o **C.dci_signing_key, e **C.dci_error) C.dci_result {
		return C.dci_signing_key_from_ed25519_seed((*C.uint8_t)(cseed), C.size_t(len(seed)), o, e)
	})
}

// PEM is the key as PKCS#8 PEM. It is secret.
func (k *SigningKey) PEM() (string, error) {
	defer runtime.KeepAlive(k)
	return stringOf(k == nil || k.p == nil, "SigningKey", func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_signing_key_to_pem(k.p, o, e)
	})
}

// Algorithm is "ed25519" or "rsa-sha256" ("" after Close).
func (k *SigningKey) Algorithm() string {
	if k == nil || k.p == nil {
		return ""
	}
	defer runtime.KeepAlive(k)
	return C.GoString(C.dci_signing_key_algorithm(k.p))
}

// VerifyingKey is the public half of the key.
func (k *SigningKey) VerifyingKey() (*VerifyingKey, error) {
	if k == nil || k.p == nil {
		return nil, closedError("SigningKey")
	}
	defer runtime.KeepAlive(k)
	return callHandle(newVerifyingKey, func(o **C.dci_verifying_key, e **C.dci_error) C.dci_result {
		return C.dci_signing_key_verifying_key(k.p, o, e)
	})
}

// Close frees the key (its material is wiped). Calling it again does nothing.
func (k *SigningKey) Close() error {
	return release(k, func() **C.dci_signing_key { return &k.p }, func(p *C.dci_signing_key) { C.dci_signing_key_free(p) })
}

// VerifyingKeyFromPEM loads an SPKI ("BEGIN PUBLIC KEY") or PKCS#1 RSA public key.
func VerifyingKeyFromPEM(pem string) (*VerifyingKey, error) {
	cpem := cString(pem)
	defer freeC(cpem)
	return callHandle(newVerifyingKey, func(o **C.dci_verifying_key, e **C.dci_error) C.dci_result {
		return C.dci_verifying_key_from_pem(cpem, o, e)
	})
}

// VerifyingKeyFromJWK loads a public key from a JWK (OKP/Ed25519 or RSA) as JSON.
func VerifyingKeyFromJWK(jwk []byte) (*VerifyingKey, error) {
	cjwk := cString(string(jwk))
	defer freeC(cjwk)
	return callHandle(newVerifyingKey, func(o **C.dci_verifying_key, e **C.dci_error) C.dci_result {
		return C.dci_verifying_key_from_jwk(cjwk, o, e)
	})
}

// PEM is the key as SPKI PEM.
func (k *VerifyingKey) PEM() (string, error) {
	defer runtime.KeepAlive(k)
	return stringOf(k == nil || k.p == nil, "VerifyingKey", func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_verifying_key_to_pem(k.p, o, e)
	})
}

// JWK is the key's JWK as JSON, with use "sig", alg and kid (the RFC 7638 thumbprint when
// kid is "").
func (k *VerifyingKey) JWK(kid string) ([]byte, error) {
	if k == nil || k.p == nil {
		return nil, closedError("VerifyingKey")
	}
	defer runtime.KeepAlive(k)
	ckid := optCString(kid)
	defer freeC(ckid)
	return callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_verifying_key_to_jwk(k.p, ckid, o, e)
	})
}

// Thumbprint is the key's RFC 7638 JWK thumbprint (base64url SHA-256).
func (k *VerifyingKey) Thumbprint() (string, error) {
	defer runtime.KeepAlive(k)
	return stringOf(k == nil || k.p == nil, "VerifyingKey", func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_verifying_key_thumbprint(k.p, o, e)
	})
}

// Algorithm is "ed25519" or "rsa-sha256" ("" after Close).
func (k *VerifyingKey) Algorithm() string {
	if k == nil || k.p == nil {
		return ""
	}
	defer runtime.KeepAlive(k)
	return C.GoString(C.dci_verifying_key_algorithm(k.p))
}

// Close frees the key. Calling it again does nothing.
func (k *VerifyingKey) Close() error {
	return release(k, func() **C.dci_verifying_key { return &k.p }, func(p *C.dci_verifying_key) { C.dci_verifying_key_free(p) })
}

// NewJWKS makes an empty JWK Set.
func NewJWKS() (*JWKS, error) {
	return callHandle(newJWKS, func(o **C.dci_jwks, e **C.dci_error) C.dci_result {
		return C.dci_jwks_new(o, e)
	})
}

// ParseJWKS reads a JWK Set ({"keys": [...]}); keys of unknown types are skipped.
func ParseJWKS(data []byte) (*JWKS, error) {
	cdata := cString(string(data))
	defer freeC(cdata)
	return callHandle(newJWKS, func(o **C.dci_jwks, e **C.dci_error) C.dci_result {
		return C.dci_jwks_from_json(cdata, o, e)
	})
}

// Add puts a copy of key into the set under kid ("" for no kid).
func (s *JWKS) Add(kid string, key *VerifyingKey) error {
	if s == nil || s.p == nil {
		return closedError("JWKS")
	}
	if key == nil || key.p == nil {
		return closedError("VerifyingKey")
	}
	defer runtime.KeepAlive(s)
	defer runtime.KeepAlive(key)
	ckid := optCString(kid)
	defer freeC(ckid)
	return call(func(e **C.dci_error) C.dci_result { return C.dci_jwks_add(s.p, ckid, key.p, e) })
}

// JSON is the set as {"keys": [...]}.
func (s *JWKS) JSON() ([]byte, error) {
	if s == nil || s.p == nil {
		return nil, closedError("JWKS")
	}
	defer runtime.KeepAlive(s)
	return callOut(func(o **C.char, e **C.dci_error) C.dci_result { return C.dci_jwks_to_json(s.p, o, e) })
}

// Len is the number of keys in the set.
func (s *JWKS) Len() int {
	if s == nil || s.p == nil {
		return 0
	}
	defer runtime.KeepAlive(s)
	return int(C.dci_jwks_len(s.p))
}

// Close frees the set. Calling it again does nothing.
func (s *JWKS) Close() error {
	return release(s, func() **C.dci_jwks { return &s.p }, func(p *C.dci_jwks) { C.dci_jwks_free(p) })
}
