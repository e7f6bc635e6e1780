// Emulates opencrvs/dci-crvs-api's DCI signatures with the `jose` package, the way that service
// uses it (written for libdci's interop tests; no opencrvs code is copied):
//   sign:   CompactSign over JSON.stringify(envelope without signature), protected header
//           {alg, kid: RFC 7638 thumbprint} ("nokid": {alg} only, as its first releases did);
//   verify: compactVerify against a JWKS, JSON.parse the payload, deep-equal it with the
//           envelope minus its signature (opencrvs runs lodash isEqual after its zod schema).
//
//   node peer.mjs sign   ENVELOPE.json PRIVATE.pem ALG [kid|nokid]   -> signed envelope on stdout
//   node peer.mjs jwks   PUBLIC.pem ALG                              -> JWKS as opencrvs serves it
//   node peer.mjs verify ENVELOPE.json JWKS.json                     -> exit 0 valid, 1 invalid
// and its encrypted messages (FlattenedEncrypt with an unprotected header {alg, enc, kid}, the
// plaintext JSON.stringify(message); flattenedDecrypt of the whole message):
//   node peer.mjs encrypt ENVELOPE.json JWK.json                     -> envelope, message encrypted
//   node peer.mjs decrypt ENVELOPE.json PRIVATE.pem                  -> envelope, message decrypted
import { readFileSync } from 'node:fs'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import {
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  calculateJwkThumbprint,
  exportJWK,
  FlattenedEncrypt,
  flattenedDecrypt,
  importJWK
} from 'jose'

const [cmd, ...args] = process.argv.slice(2)

function isEqual(a, b) {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    return a.length === b.length && a.every((x, i) => isEqual(x, b[i]))
  }
  if (typeof a === 'object') {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && isEqual(a[k], b[k]))
  }
  return false
}

async function publicJwk(publicKey, alg) {
  const jwk = await exportJWK(publicKey)
  jwk.kid = await calculateJwkThumbprint(jwk)
  jwk.use = 'sig'
  jwk.alg = alg
  return jwk
}

if (cmd === 'sign') {
  const [envPath, keyPath, alg, kidMode = 'kid'] = args
  const envelope = JSON.parse(readFileSync(envPath, 'utf8'))
  const { signature: _old, ...payload } = envelope
  const privateKey = createPrivateKey(readFileSync(keyPath, 'utf8'))
  const header = { alg }
  if (kidMode === 'kid') {
    header.kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(privateKey)))
  }
  const signature = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(privateKey)
  process.stdout.write(JSON.stringify({ ...payload, signature }))
} else if (cmd === 'jwks') {
  const [pubPath, alg] = args
  const publicKey = createPublicKey(readFileSync(pubPath, 'utf8'))
  process.stdout.write(JSON.stringify({ keys: [await publicJwk(publicKey, alg)] }))
} else if (cmd === 'verify') {
  const [envPath, jwksPath] = args
  const { signature, ...payload } = JSON.parse(readFileSync(envPath, 'utf8'))
  try {
    if (typeof signature !== 'string') throw new Error('no signature')
    const jwks = createLocalJWKSet(JSON.parse(readFileSync(jwksPath, 'utf8')))
    const { payload: signed } = await compactVerify(signature, jwks)
    const signedPayload = JSON.parse(new TextDecoder().decode(signed))
    if (!isEqual(signedPayload, payload)) throw new Error('payload differs from the envelope')
    process.stdout.write('valid\n')
  } catch (e) {
    process.stderr.write(`Signature verification failed: ${e.code ?? ''} ${e.message}\n`)
    process.exit(1)
  }
} else if (cmd !== 'encrypt' && cmd !== 'decrypt') {
  process.stderr.write('usage: peer.mjs sign|jwks|verify|encrypt|decrypt ...\n')
  process.exit(2)
}

if (cmd === 'encrypt') {
  const [envPath, jwkPath] = args
  const envelope = JSON.parse(readFileSync(envPath, 'utf8'))
  const jwk = JSON.parse(readFileSync(jwkPath, 'utf8'))
  const publicKey = await importJWK(jwk, jwk.alg)
  const jwe = await new FlattenedEncrypt(new TextEncoder().encode(JSON.stringify(envelope.message)))
    .setUnprotectedHeader({ alg: jwk.alg, enc: 'A256GCM', kid: jwk.kid })
    .encrypt(publicKey)
  envelope.message = jwe
  envelope.header.is_msg_encrypted = true
  process.stdout.write(JSON.stringify(envelope))
}

if (cmd === 'decrypt') {
  const [envPath, keyPath] = args
  const envelope = JSON.parse(readFileSync(envPath, 'utf8'))
  const privateKey = createPrivateKey(readFileSync(keyPath, 'utf8'))
  try {
    const { plaintext } = await flattenedDecrypt(envelope.message, privateKey)
    envelope.message = JSON.parse(new TextDecoder().decode(plaintext))
    process.stdout.write(JSON.stringify(envelope))
  } catch (e) {
    process.stderr.write(`decrypt failed: ${e.message}\n`)
    process.exit(1)
  }
}
