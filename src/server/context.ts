import type { UserDTO } from '../shared/dto.js';
import type { Deps } from './services/deps.js';
import type { RequestBudget } from './http/budget.js';
import type { Services } from './services/index.js';

/** Everything a procedure may use: built once per server, shared by every request. */
export type AppDeps = Deps & { services: Services };

/** Where `Set-Cookie` headers go; null where no response can carry them (WebSocket, plain callers). */
export type CookieSink = { append(header: string): void };

export type Identity = {
  user: UserDTO | null;
  /** Stored (hashed) id of the session the user came with. */
  sessionId: string | null;
  /** Trusted backend code (service token or an in-process service caller). */
  service: boolean;
};

export type Transport = {
  kind: 'http' | 'ws' | 'caller';
  cookies: CookieSink | null;
  ip: string | null;
  /** What one HTTP request (a whole batch) may return; null where calls are bounded otherwise. */
  budget: RequestBudget | null;
};

export type Context = AppDeps & Identity & { transport: Transport };

export const anonymous: Identity = { user: null, sessionId: null, service: false };

/** Pure context builder: adapters resolve the identity, tests pass one directly. */
export function createContextInner(
  deps: AppDeps,
  identity: Partial<Identity> = {},
  transport: Partial<Transport> = {},
): Context {
  return {
    ...deps,
    ...anonymous,
    ...identity,
    transport: { kind: 'caller', cookies: null, ip: null, budget: null, ...transport },
  };
}
