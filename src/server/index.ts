/** Library entry: mount the router, embed the server, or test with createCaller. */
export { appRouter, createCaller, type AppRouter } from './routers/index.js';
export { createServer, type CreateServerOptions, type RealtimeServer } from './server.js';
export { applyLeanWSHandler, WS_CLOSE, DEFAULT_REQUEST_LIMITS, DEFAULT_OUTPUT_LIMITS, type WsAdapterOptions } from './http/ws-adapter.js';
export { createContextInner, type Context, type AppDeps, type Identity } from './context.js';
export { createServices, type Services } from './services/index.js';
export { createMemoryBus } from './bus/memory.js';
export type { EventBus, Topic, BusSubscription, BatchReceiver } from './bus/types.js';
export { share, isShared, type Shared } from './bus/shared.js';
export { topics } from './bus/topics.js';
export { openOrm } from './db/orm.js';
export { loadConfig, defaultConfig, type Config } from './config.js';
export { systemClock, type Clock } from './clock.js';
export { createLogger } from './logger.js';

// Plugging into a host app: its identity, its tRPC router, its HTTP server, its backend.
export {
  createRequestIdentity,
  IdentityRefused,
  type IdentityOptions,
  type IdentityRequest,
  type IdentityResolver,
  type ResolvedExternalUser,
} from './integration/identity.js';
export { hostSessionIdentity, jwtIdentity, type HostSessionOptions, type JwtIdentityOptions } from './integration/recipes.js';
export { chatRouter, createChatContext, type ChatApp, type ChatContextSource, type ChatRouter } from './integration/mount.js';
export { attachWebSocket, type AttachOptions, type AttachedSocket } from './integration/attach.js';
export { createChatHttpHandler } from './integration/http-handler.js';
