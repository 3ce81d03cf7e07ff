// A real OpenID Connect provider on loopback for the sign-in tests: the certified
// `oidc-provider` package, started by tests/oidc/conftest.py, never by the product.
//
// Environment:
//   PORT              port on 127.0.0.1 to listen on
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma separated), POST_LOGOUT_REDIRECT_URIS
//   ACCOUNTS_FILE     JSON {"<login>": {"email": ..., "name": ..., "groups": [...]}, ...},
//                     read on every sign-in, so a test changes a person's groups by
//                     rewriting it
//
// The development login screen accepts any login whose name is in ACCOUNTS_FILE (any
// password); consent is granted without a second screen.
//
// Test control (loopback only, for the refusal tests): POST /__test__/next-id-token with
// {"mode": "tampered" | "wrong-audience" | "expired" | "wrong-issuer" | "wrong-nonce"} makes the next
// token response carry an ID token spoiled that way; the spoilt tokens other than
// "tampered" are properly signed with the provider's own key, so only the claim is wrong.
import { readFileSync } from 'node:fs';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accountsFile = process.env.ACCOUNTS_FILE;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };

function accounts() {
  return JSON.parse(readFileSync(accountsFile, 'utf8'));
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: process.env.REDIRECT_URIS.split(','),
    post_logout_redirect_uris: (process.env.POST_LOGOUT_REDIRECT_URIS || '').split(',').filter(Boolean),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['test-cookie-key-not-secret'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: account.email,
          email_verified: account.email_verified ?? true,
          name: account.name,
          given_name: account.given_name,
          family_name: account.family_name,
          preferred_username: account.preferred_username ?? id,
          groups: account.groups ?? [],
        };
      },
    };
  },
  async loadExistingGrant(ctx) {
    // Consent is implied: every test client is first-party.
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'given_name', 'family_name',
      'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
  ttl: { IdToken: 600, AccessToken: 600, Session: 3600, Interaction: 600, Grant: 3600 },
});

let nextMode = null;

async function spoil(idToken, mode) {
  if (mode === 'tampered') {
    // Change a claim and keep the signature: the signature no longer matches.
    const [header, payload, signature] = idToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.sub = `${claims.sub}-someone-else`;
    return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  }
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'wrong-audience') claims.aud = 'some-other-client';
  if (mode === 'wrong-issuer') claims.iss = 'http://127.0.0.1:1';
  if (mode === 'wrong-nonce') claims.nonce = 'a-nonce-from-another-sign-in';
  if (mode === 'expired') { claims.iat = now - 7200; claims.exp = now - 3600; }
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: signingKey.kid, typ: 'JWT' })
    .sign(privateKey);
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/__test__/next-id-token') {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    nextMode = JSON.parse(Buffer.concat(chunks).toString() || '{}').mode ?? null;
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === '/token' && nextMode && ctx.status === 200 && ctx.body?.id_token) {
    const mode = nextMode;
    nextMode = null;
    ctx.body = { ...ctx.body, id_token: await spoil(ctx.body.id_token, mode) };
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
