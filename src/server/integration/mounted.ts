import type { Context } from '../context.js';

/** Contexts made by `createChatContext`: only those are taken from a host context's `chat` key. */
const chatContexts = new WeakSet<object>();

export function markChatContext<T extends Context>(context: T): T {
  chatContexts.add(context);
  return context;
}

/**
 * Under a host router, procedures receive the host's context; the chat context it carries under
 * `chat` is what they run with. Null for a context of our own (standalone, createCaller).
 */
export function mountedChatContext(ctx: object): Context | null {
  const chat = (ctx as { chat?: unknown }).chat;
  return typeof chat === 'object' && chat !== null && chatContexts.has(chat) ? (chat as Context) : null;
}
