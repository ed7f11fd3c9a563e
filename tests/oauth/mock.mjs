// A real OAuth 2.0 server standing in for Google and Microsoft in Postino's native tests:
// oauth2-mock-server (authorization code with PKCE S256, refresh, RS256 JWTs with a `kid`),
// made as strict as the providers where the tests need it:
//
// - the token endpoint wants the client's secret (client_secret_post or HTTP Basic) for the
//   authorization code and refresh grants, else 401 invalid_client (Google does);
// - an authorization code is redeemed only with a PKCE code_verifier (the mock checks it matches
//   the challenge, and that the code is used once);
// - a refresh token is accepted only if this server issued it and it was not revoked, else 400
//   invalid_grant;
// - tokens are for MOCK_SUB (`sub` and `email`), the mail user the tests log in as.
//
// Test-only routes: POST /test/revoke (every refresh token issued so far stops working) and
// GET /test/token?sub=...&expires_in=...&iss=... (an access token signed with the published key,
// for Dovecot's tests: expired, another user, another issuer).
//
// Test-only GET /test/stats: how many codes were redeemed and refresh grants answered, by whom
// ({exchanges, refreshes, public_exchanges, public_refreshes}).
//
// Settings from the environment: MOCK_CLIENT_ID, MOCK_CLIENT_SECRET (both required), MOCK_SUB
// (default alice@example.org); MOCK_PUBLIC_CLIENT_ID, a public client (a single-page app, as
// Microsoft registers them) that redeems codes and refreshes without a secret, always with PKCE;
// MOCK_ACCESS_TTL, the seconds an access token lives (default 3600). It listens on 127.0.0.1, a port of the system's choosing, prints
// one JSON line on stdout: {"url", "kid", "public_key_pem"}, and exits when its stdin closes
// (so it never outlives the test that started it).
//
// Installed by `npm ci --prefix tests/oauth`.

import { createPublicKey } from 'node:crypto';

let OAuth2Server, Events;
try {
  ({ OAuth2Server, Events } = await import('oauth2-mock-server'));
} catch (e) {
  console.error(
    `tests/oauth/mock.mjs: oauth2-mock-server is not installed (${e.code ?? e.message}); ` +
      'run: npm ci --no-audit --no-fund --prefix tests/oauth',
  );
  process.exit(3);
}

const clientId = process.env.MOCK_CLIENT_ID;
const clientSecret = process.env.MOCK_CLIENT_SECRET;
const sub = process.env.MOCK_SUB || 'alice@example.org';
const publicClientId = process.env.MOCK_PUBLIC_CLIENT_ID || '';
const accessTtl = Number(process.env.MOCK_ACCESS_TTL || 3600);
const stats = { exchanges: 0, refreshes: 0, public_exchanges: 0, public_refreshes: 0 };
if (!clientId || !clientSecret) {
  console.error('tests/oauth/mock.mjs: MOCK_CLIENT_ID and MOCK_CLIENT_SECRET are required');
  process.exit(2);
}

const server = new OAuth2Server();
const key = await server.issuer.keys.generate('RS256');
const issued = new Set();

function clientAuthenticated(req) {
  const body = req.body ?? {};
  if (publicClient(req)) return true;
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
    return decodeURIComponent(id) === clientId && decodeURIComponent(secret ?? '') === clientSecret;
  }
  return body.client_id === clientId && body.client_secret === clientSecret;
}

// A request of the public client: its id, no secret, no HTTP Basic.
function publicClient(req) {
  const body = req.body ?? {};
  return (
    publicClientId !== '' &&
    body.client_id === publicClientId &&
    body.client_secret === undefined &&
    !req.headers.authorization
  );
}

function refuse(response, statusCode, error, description) {
  response.statusCode = statusCode;
  response.body = { error, error_description: description };
}

server.service.on(Events.BeforeTokenSigning, (token, req) => {
  const grant = req.body?.grant_type;
  if (grant === 'authorization_code' || grant === 'refresh_token') {
    token.payload.sub = sub;
    token.payload.email = sub;
    token.payload.exp = Math.floor(Date.now() / 1000) + accessTtl;
  }
});

server.service.on(Events.BeforeResponse, (response, req) => {
  const body = req.body ?? {};
  const grant = body.grant_type;
  if (grant !== 'authorization_code' && grant !== 'refresh_token') return;
  if (!clientAuthenticated(req)) {
    return refuse(response, 401, 'invalid_client', 'client authentication failed');
  }
  if (grant === 'authorization_code' && !body.code_verifier) {
    return refuse(response, 400, 'invalid_grant', 'PKCE code_verifier required');
  }
  if (grant === 'refresh_token' && !issued.has(body.refresh_token)) {
    return refuse(response, 400, 'invalid_grant', 'Token has been expired or revoked.');
  }
  if (response.statusCode === 200) {
    response.body.expires_in = accessTtl;
    const who = publicClient(req) ? 'public_' : '';
    stats[grant === 'refresh_token' ? `${who}refreshes` : `${who}exchanges`] += 1;
  }
  if (response.body.refresh_token) issued.add(response.body.refresh_token);
});

server.service.addRoute('GET', '/test/stats', (_req, res) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(stats));
});

server.service.addRoute('POST', '/test/revoke', (_req, res) => {
  issued.clear();
  res.statusCode = 204;
  res.end();
});

server.service.addRoute('GET', '/test/token', async (req, res) => {
  const q = req.query ?? {};
  const token = await server.issuer.buildToken({
    expiresIn: q.expires_in === undefined ? 3600 : Number(q.expires_in),
    scopesOrTransform: (_header, payload) => {
      payload.sub = q.sub ?? sub;
      payload.email = q.sub ?? sub;
      payload.scope = 'mail';
      if (q.iss) payload.iss = q.iss;
    },
  });
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ access_token: token }));
});

await server.start(0, '127.0.0.1');
const publicKeyPem = createPublicKey({ key: key.toJSON ? key.toJSON() : publicJwk(key), format: 'jwk' })
  .export({ type: 'spki', format: 'pem' });
process.stdout.write(
  JSON.stringify({ url: server.issuer.url, kid: key.kid, public_key_pem: publicKeyPem }) + '\n',
);

process.stdin.on('end', async () => {
  await server.stop().catch(() => {});
  process.exit(0);
});
process.stdin.resume();

function publicJwk(jwk) {
  const { kty, n, e, kid, alg } = jwk;
  return { kty, n, e, kid, alg };
}
