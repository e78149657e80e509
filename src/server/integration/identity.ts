/**
 * Who is calling: the host app's identity (a resolver the host writes), or the built-in password
 * sessions when there is none. Both the HTTP context and the WebSocket upgrade go through here.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { parse } from 'cookie';
import { externalUserSchema, type ExternalUser } from '../../shared/integration.js';
import type { AppDeps, Identity } from '../context.js';
import { anonymous } from '../context.js';
import { sessionTokenFrom } from '../http/cookies.js';
import { serviceIdentityFrom } from '../http/service-token.js';

/** What a resolver gets: the request's headers, its cookies parsed, the peer address, and a deadline. */
export type IdentityRequest = {
  headers: IncomingHttpHeaders;
  cookies: Record<string, string | undefined>;
  ip: string | null;
  transport: 'http' | 'ws';
  /** Aborted when the resolver's time is up: pass it to fetch() and the like. */
  signal: AbortSignal;
};

/** A host user, optionally with when this proof of identity ends (a token's expiry): sockets close then. */
export type ResolvedExternalUser = ExternalUser & { expiresAt?: Date | number };

/** Maps a request to the host user making it, or null for nobody signed in. Throwing refuses the request. */
export type IdentityResolver = (request: IdentityRequest) => Promise<ResolvedExternalUser | null> | ResolvedExternalUser | null;

export type IdentityOptions = {
  resolve: IdentityResolver;
  /** A resolver that has not answered by then refuses the request (default 5 s). */
  timeoutMs?: number;
};

export type RequestIdentity = { identity: Identity; /** Epoch ms; sockets are closed then. */ expiresAt?: number };

/** The resolver failed: the request is refused with UNAUTHORIZED and `reason` is logged, never sent. */
export class IdentityRefused extends Error {
  constructor(readonly reason: string) {
    super(`identity refused: ${reason}`);
    this.name = 'IdentityRefused';
  }
}

/** Host users have no session of ours: the host's proof stands for one, and logout/expiry address their sockets by this id. */
export const externalSessionId = (userId: number) => `external:${userId}`;

export type ResolveRequestIdentity = (req: IncomingMessage, transport: 'http' | 'ws') => Promise<RequestIdentity>;

/** Builds the function every transport uses to turn a request into an identity. */
export function createRequestIdentity(deps: AppDeps, options?: IdentityOptions | IdentityResolver): ResolveRequestIdentity {
  const { services, config } = deps;
  const hostIdentity = typeof options === 'function' ? { resolve: options } : options;

  return async (req, transport) => {
    // The service token is for HTTP calls (as before): a socket never carries the service identity.
    if (transport === 'http' && serviceIdentityFrom(req.headers.authorization, config.serviceToken)) return { identity: { ...anonymous, service: true } };
    if (!hostIdentity) {
      const session = await services.auth.resolve(sessionTokenFrom(req.headers.cookie));
      if (!session) return { identity: anonymous };
      return { identity: { user: session.user, sessionId: session.sessionId, service: false }, expiresAt: session.expiresAt };
    }
    const external = await runResolver(hostIdentity, req, transport);
    if (!external) return { identity: anonymous };
    const user = await services.externalUsers.upsert(external.user);
    return { identity: { user, sessionId: externalSessionId(user.id), service: false }, expiresAt: external.expiresAt };
  };
}

async function runResolver({ resolve, timeoutMs = 5_000 }: IdentityOptions, req: IncomingMessage, transport: 'http' | 'ws') {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new IdentityRefused(`resolver timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const request: IdentityRequest = {
    headers: req.headers,
    cookies: req.headers.cookie ? parse(req.headers.cookie) : {},
    ip: req.socket?.remoteAddress ?? null,
    transport,
    signal: controller.signal,
  };
  let result: ResolvedExternalUser | null;
  try {
    result = await Promise.race([Promise.resolve().then(() => resolve(request)), deadline]);
  } catch (error) {
    if (error instanceof IdentityRefused) throw error;
    throw new IdentityRefused(`resolver threw: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
  }
  if (result === null || result === undefined) return null;
  const parsed = externalUserSchema.safeParse(result);
  if (!parsed.success) throw new IdentityRefused(`resolver returned a malformed user: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`);
  const expiresAt = result.expiresAt instanceof Date ? result.expiresAt.getTime() : result.expiresAt;
  return { user: parsed.data, expiresAt };
}
