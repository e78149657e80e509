/**
 * Two ready identity resolvers for `createServer({ identity })`: the host's own session cookie
 * checked against the host's session store, and a signed token (JWT) the host issues.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyObject } from 'jose';
import type { IdentityRequest, IdentityResolver, ResolvedExternalUser } from './identity.js';

export type HostSessionOptions = {
  /** The host's session cookie name (e.g. `connect.sid`, `host_session`). */
  cookieName: string;
  /**
   * Looks the session up in the host's store: an HTTP call to the host (pass `signal` to fetch),
   * or a read of a shared database table. Null for an unknown or expired session.
   */
  lookup: (sessionId: string, request: IdentityRequest) => Promise<ResolvedExternalUser | null> | ResolvedExternalUser | null;
};

/** The host's session cookie, checked against the host's session store. No cookie: nobody signed in. */
export function hostSessionIdentity({ cookieName, lookup }: HostSessionOptions): IdentityResolver {
  return (request) => {
    const sessionId = request.cookies[cookieName];
    return sessionId ? lookup(sessionId, request) : null;
  };
}

export type JwtIdentityOptions = {
  /** A shared secret (HS256…), a public key, or `createRemoteJWKSet(new URL(jwksUrl))`. */
  key: Uint8Array | CryptoKey | KeyObject | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /** Accepted algorithms (default: what the key allows; name them in production, e.g. ['RS256']). */
  algorithms?: string[];
  /** Cookie holding the token for browsers, which cannot set headers on a WebSocket (default `chat_token`). */
  cookieName?: string;
  /** Maps the verified claims to the user (default: `sub`, `name`, `picture`). */
  toUser?: (claims: JWTPayload) => ResolvedExternalUser | null;
};

const defaultClaims = (claims: JWTPayload): ResolvedExternalUser | null =>
  claims.sub ? { externalId: claims.sub, name: String(claims.name ?? claims.sub), avatarUrl: typeof claims.picture === 'string' ? claims.picture : null } : null;

/**
 * A JWT from `Authorization: Bearer <token>` or a cookie, with its signature, issuer, audience and
 * expiry checked by `jose`. No token: nobody signed in; a token that fails a check: refused (the
 * check that failed is logged). Sockets opened with it close when it expires.
 */
export function jwtIdentity({ key, issuer, audience, algorithms, cookieName = 'chat_token', toUser = defaultClaims }: JwtIdentityOptions): IdentityResolver {
  return async (request) => {
    const authorization = request.headers.authorization;
    const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : request.cookies[cookieName];
    if (!token) return null;
    const { payload } = await jwtVerify(token, key, { issuer, audience, algorithms, requiredClaims: ['sub', 'exp'] });
    const user = toUser(payload);
    return user && payload.exp !== undefined ? { expiresAt: payload.exp * 1000, ...user } : user;
  };
}
