// The benchmark's peer: panva's oidc-provider (npm) set up like Portcullis in bench/run.
//
// Usage: node server.mjs   with PEER_PORT, PEER_SERVICE_SECRET, PEER_WEB_SECRET,
//        PEER_REDIRECT_URI, PEER_USERNAME (may hold {i}), PEER_USERS (default 1) and
//        PEER_PASSWORD in the environment.
//
// - Three clients, as registered on Portcullis: `bench-service` (client_credentials,
//   client_secret_basic, ES256 JWT access tokens through a resource indicator the
//   client gets by default), `bench-web` (confidential, authorization_code +
//   refresh_token, RS256 ID tokens) and `bench-public` (public, PKCE, no secret).
// - An unbounded in-memory adapter (adapter.mjs; the library's own is a 1000-entry
//   LRU that evicts live tokens under load), keys generated at start (RSA 2048 for
//   RS256, P-256 for ES256) with node's crypto, introspection and revocation on, PKCE
//   required for every client, refresh tokens rotated on every use, lifetimes as
//   Portcullis's defaults.
// - Login and consent: plain HTML forms with a CSRF field (an HMAC of the interaction
//   id); the password is compared in constant time but NOT hashed (no argon2: the
//   report says so).
import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

import MemoryAdapter from './adapter.mjs';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`error: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('PEER_PORT'));
const issuer = `http://127.0.0.1:${port}`;
const redirectUri = env('PEER_REDIRECT_URI');
// PEER_USERS users named PEER_USERNAME with {i} = 0..PEER_USERS-1, one password.
const password = env('PEER_PASSWORD');
const users = new Map(); // lower-case username -> account
for (let i = 0; i < Number(process.env.PEER_USERS || 1); i += 1) {
  const username = env('PEER_USERNAME').replace('{i}', String(i));
  users.set(username.toLowerCase(), { username, accountId: crypto.randomUUID() });
}
const accounts = new Map([...users.values()].map((u) => [u.accountId, u]));
const apiIdentifier = `${issuer}/api`;
const csrfKey = crypto.randomBytes(32);

function publicJwk(pair, alg) {
  const jwk = pair.privateKey.export({ format: 'jwk' });
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  const kid = crypto.createHash('sha256').update(JSON.stringify(pub)).digest('base64url');
  return { ...jwk, alg, use: 'sig', kid };
}

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwks = { keys: [publicJwk(rsa, 'RS256'), publicJwk(ec, 'ES256')] };

const ttl = {
  AccessToken: 900,
  ClientCredentials: 900,
  AuthorizationCode: 60,
  IdToken: 3600,
  RefreshToken: 14 * 24 * 3600,
  Interaction: 600,
  Session: 8 * 3600,
  Grant: 14 * 24 * 3600,
};

const configuration = {
  adapter: MemoryAdapter,
  clients: [
    {
      client_id: 'bench-service',
      client_secret: env('PEER_SERVICE_SECRET'),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'bench-web',
      client_secret: env('PEER_WEB_SECRET'),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      scope: 'openid profile email offline_access',
    },
    {
      client_id: 'bench-public',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
      scope: 'openid profile email offline_access',
    },
  ],
  jwks,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read'],
  pkce: { required: () => true },
  ttl,
  rotateRefreshToken: true,
  // oidc-provider drops `offline_access` unless the request says prompt=consent (OIDC
  // Core §11), which would show the consent page on every flow. Portcullis issues a
  // refresh token for offline_access after a remembered consent, so the peer issues
  // one to the code-flow clients whatever the scope, and does not tie it to the session.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The service client's tokens are for the API (a JWT, ES256); code-flow tokens
      // stay the library's opaque userinfo tokens.
      defaultResource: async (ctx, client, oneOf) => {
        if (oneOf) return oneOf;
        return client.clientId === 'bench-service' ? apiIdentifier : undefined;
      },
      useGrantedResource: async () => false,
      getResourceServerInfo: async (ctx, resource) => {
        if (resource !== apiIdentifier) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'api:read',
          audience: apiIdentifier,
          accessTokenTTL: 900,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const user = accounts.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: `Bench ${user.username}`,
          preferred_username: user.username,
          email: `${user.username}@example.com`,
          email_verified: false,
        };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);
const providerCallback = provider.callback();

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const csrfFor = (uid) => crypto.createHmac('sha256', csrfKey).update(uid).digest('base64url');
const same = (a, b) => {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
};

function page(res, status, title, body) {
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main>${body}</main></body></html>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(html);
}

function loginPage(res, uid, message = '') {
  page(res, 200, 'Sign in', `<h1>Sign in</h1>${message ? `<p role="alert">${escape(message)}</p>` : ''}
  <form method="post" action="/interaction/${escape(uid)}/login">
    <input type="hidden" name="csrf_token" value="${csrfFor(uid)}">
    <label for="username">Username</label>
    <input type="text" id="username" name="username" autocomplete="username" required autofocus>
    <label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>`);
}

function consentPage(res, uid, clientId, scopes) {
  page(res, 200, 'Allow access', `<h1>Allow ${escape(clientId)}?</h1>
  <ul>${scopes.map((s) => `<li>${escape(s)}</li>`).join('')}</ul>
  <form method="post" action="/interaction/${escape(uid)}/consent">
    <input type="hidden" name="csrf_token" value="${csrfFor(uid)}">
    <button type="submit" name="decision" value="allow">Allow</button>
    <button type="submit" name="decision" value="deny">Deny</button>
  </form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req, res, path) {
  const [uid, action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, 'Error', '<p>Unknown request.</p>');
  const { prompt, params, session } = details;

  if (req.method === 'GET') {
    if (prompt.name === 'login') return loginPage(res, uid);
    if (prompt.name === 'consent') {
      const scopes = [...(prompt.details.missingOIDCScope || [])];
      return consentPage(res, uid, params.client_id, scopes);
    }
    return page(res, 400, 'Error', '<p>Unknown prompt.</p>');
  }
  if (req.method !== 'POST') return page(res, 405, 'Error', '<p>Method not allowed.</p>');

  const form = await readForm(req);
  if (!same(form.get('csrf_token') || '', csrfFor(uid))) {
    return page(res, 403, 'Error', '<p>The form expired; start again.</p>');
  }
  if (action === 'login' && prompt.name === 'login') {
    // No password hashing: a constant-time comparison of the plain password.
    const user = users.get((form.get('username') || '').toLowerCase());
    const ok = same(form.get('password') || '', password);
    if (!user || !ok) return loginPage(res, uid, 'Wrong username or password.');
    return provider.interactionFinished(req, res, { login: { accountId: user.accountId } }, {
      mergeWithLastSubmission: false,
    });
  }
  if (action === 'consent' && prompt.name === 'consent') {
    if (form.get('decision') !== 'allow') {
      return provider.interactionFinished(req, res, {
        error: 'access_denied', error_description: 'the user denied the request',
      }, { mergeWithLastSubmission: false });
    }
    let { grantId } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    grantId = await grant.save();
    const consent = details.grantId ? {} : { grantId };
    return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  }
  return page(res, 400, 'Error', '<p>Unexpected form.</p>');
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    const path = req.url.slice('/interaction/'.length).split('?')[0];
    interaction(req, res, path).catch((err) => {
      if (!res.headersSent) page(res, 400, 'Error', `<p>${escape(err.name || 'error')}</p>`);
      else res.end();
    });
    return;
  }
  providerCallback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  console.error(`peer: oidc-provider listening on ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
