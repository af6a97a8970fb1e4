// Writes the key material and tokens the verify load benchmark uses, so tollgate and
// the Node verifier check exactly the same tokens:
//   OUT/jwks.json            the issuer's keys (oct for HS256, EC P-256 for ES256)
//   OUT/hs256_secret.txt     the HS256 secret (base64url), for the Node verifier
//   OUT/es256_public.pem     the ES256 public key, for the Node verifier
//   OUT/hs256_one.txt        one HS256 token
//   OUT/hs256_many.txt       COUNT distinct HS256 tokens, one per line
//   OUT/es256_many.txt       COUNT distinct ES256 tokens, one per line
// usage: node gen_tokens.js OUT ISSUER AUDIENCE COUNT
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { createSigner } = require('fast-jwt');

const [out, issuer, audience, countText] = process.argv.slice(2);
if (!out || !issuer || !audience || !countText) {
  console.error('usage: node gen_tokens.js OUT ISSUER AUDIENCE COUNT');
  process.exit(2);
}
const count = Number(countText);
fs.mkdirSync(out, { recursive: true });

const secret = crypto.randomBytes(32);
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecJwk = ec.publicKey.export({ format: 'jwk' });
const jwks = {
  keys: [
    { kty: 'oct', kid: 'bench-hs', alg: 'HS256', use: 'sig', k: secret.toString('base64url') },
    { ...ecJwk, kid: 'bench-es', alg: 'ES256', use: 'sig' },
  ],
};
fs.writeFileSync(path.join(out, 'jwks.json'), JSON.stringify(jwks));
fs.writeFileSync(path.join(out, 'hs256_secret.txt'), secret.toString('base64url'));
fs.writeFileSync(path.join(out, 'es256_public.pem'), ec.publicKey.export({ type: 'spki', format: 'pem' }));

// Tokens live a day from now: the benchmark runs for minutes.
const now = Math.floor(Date.now() / 1000);
const claims = (i) => ({
  iss: issuer, aud: audience, sub: `bench-user-${i}`, iat: now, exp: now + 86400,
  scope: 'bots.use profile.edit', jti: crypto.randomBytes(8).toString('hex'),
});
const hs = createSigner({ key: secret, algorithm: 'HS256', kid: 'bench-hs' });
const es = createSigner({ key: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }), algorithm: 'ES256', kid: 'bench-es' });

fs.writeFileSync(path.join(out, 'hs256_one.txt'), hs(claims(0)) + '\n');
const many = (sign) => Array.from({ length: count }, (_, i) => sign(claims(i))).join('\n') + '\n';
fs.writeFileSync(path.join(out, 'hs256_many.txt'), many(hs));
fs.writeFileSync(path.join(out, 'es256_many.txt'), many(es));
