// A token verifier as many teams would write it: fastify + fast-jwt, answering
// GET /auth/verify with 200 {"valid":true,...} or 401, like tollgate's route.
// usage: node server.js PORT KEYDIR ISSUER AUDIENCE
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const fastify = require('fastify')({ logger: false });
const { createVerifier } = require('fast-jwt');

const [port, keyDir, issuer, audience] = process.argv.slice(2);
const secret = Buffer.from(fs.readFileSync(path.join(keyDir, 'hs256_secret.txt'), 'utf8'), 'base64url');
const publicPem = fs.readFileSync(path.join(keyDir, 'es256_public.pem'), 'utf8');

// fast-jwt's own verified-token cache is on, as tollgate's is.
const options = { allowedIss: issuer, allowedAud: audience, cache: 10000, requiredClaims: ['exp', 'sub'] };
const verifyHs = createVerifier({ ...options, key: secret, algorithms: ['HS256'] });
const verifyEs = createVerifier({ ...options, key: publicPem, algorithms: ['ES256'] });

fastify.get('/auth/verify', (request, reply) => {
  const header = request.headers.authorization || '';
  if (!header.startsWith('Bearer ')) {
    reply.code(401).send({ error: 'unauthorized', message: 'missing bearer token' });
    return;
  }
  const token = header.slice(7);
  try {
    const alg = JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).alg;
    const claims = alg === 'ES256' ? verifyEs(token) : verifyHs(token);
    reply.send({ valid: true, user_id: claims.sub, expires_at: new Date(claims.exp * 1000).toISOString() });
  } catch (err) {
    reply.code(401).send({ error: 'unauthorized', message: 'invalid token' });
  }
});

fastify.listen({ host: '127.0.0.1', port: Number(port) }).catch((err) => {
  console.error(err.message);
  process.exit(1);
});
