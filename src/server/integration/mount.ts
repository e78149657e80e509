/**
 * Mounting the chat in a host's tRPC app: `router({ ...hostRouters, chat: chatRouter })`, with the
 * host's context carrying ours under `chat`, built by `createChatContext`.
 */
import { clientAddress } from '../http/client-address.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExternalUser } from '../../shared/integration.js';
import { externalUserSchema } from '../../shared/integration.js';
import { anonymous, createContextInner, type Context, type Identity } from '../context.js';
import { appRouter } from '../routers/index.js';
import type { RealtimeServer } from '../server.js';
import { externalSessionId } from './identity.js';
import { markChatContext } from './mounted.js';
import { refuseHttp } from './refusals.js';

/** The chat's router, to mount under a key of the host's router. */
export const chatRouter = appRouter;
export type ChatRouter = typeof chatRouter;

/** What the chat needs of a server built by `createServer` (it need not listen). */
export type ChatApp = Pick<RealtimeServer, 'deps' | 'identityOf'>;

export type ChatContextSource = {
  /** The incoming request (Node's, Express's `req`, Fastify's `req.raw`): identity, IP, Origin. */
  req?: IncomingMessage;
  /** The response, when there is one that can carry Set-Cookie (built-in password sessions only). */
  res?: ServerResponse;
  /**
   * The host user the host's own context already resolved: skips the identity resolver. `null`
   * for nobody signed in. Omit it to resolve from `req` as `createServer({ identity })` does.
   */
  user?: ExternalUser | null;
  /** Trusted backend code: the service identity (`service.*`, `notification.push`). */
  service?: boolean;
};

/**
 * Builds the chat's context from the host's request or from the user the host already knows.
 * Put it under `chat` in the host's context:
 *
 * @example
 * createContext: async ({ req, res }) => ({ ...(await hostContext(req)), chat: await createChatContext(app, { req, res }) })
 */
export async function createChatContext(app: ChatApp, source: ChatContextSource = {}): Promise<Context> {
  const { deps } = app;
  const identity = await identityFrom(app, source);
  const response = source.res;
  return markChatContext(
    createContextInner(deps, identity, {
      kind: source.req ? 'http' : 'caller',
      ip: source.req?.socket?.remoteAddress ?? null,
      cookies: response ? { append: (header) => response.appendHeader('Set-Cookie', header) } : null,
    }),
  );
}

/** The same, for a WebSocket connection whose identity was resolved at its upgrade (see attach.ts). */
export function chatContextForSocket(app: ChatApp, identity: Identity, req: IncomingMessage): Context {
  return markChatContext(createContextInner(app.deps, identity, { kind: 'ws', ip: clientAddress(req, app.deps.config.trustProxy), cookies: null }));
}

async function identityFrom(app: ChatApp, { req, user, service }: ChatContextSource): Promise<Identity> {
  if (service) return { ...anonymous, service: true };
  if (user === null) return anonymous;
  if (user !== undefined) {
    const dto = await app.deps.services.externalUsers.upsert(externalUserSchema.parse(user));
    return { user: dto, sessionId: externalSessionId(dto.id), service: false };
  }
  if (!req) return anonymous;
  return (await app.identityOf(req, 'http').catch(refuseHttp(app.deps.logger))).identity;
}
