/**
 * "Shared, never mutated": the one rule that lets a published event be serialized once for every
 * subscriber. `share()` is the only way to give a value that brand; the WebSocket encoder caches
 * the JSON of branded values only (an object that is merely frozen is encoded every time).
 *
 * Outside production `share()` freezes the whole tree, so code that changes a nested field after
 * publishing throws at once in development and tests instead of sending stale JSON. In
 * production it freezes the top level only, to keep a walk of every event's tree off the
 * fan-out path; the tests, which run deep-frozen, are what keep the rule there.
 */

/** Where the encoder keeps the JSON of a shared value (its own, and that of `[value]`). */
export type SharedSlot = { json: string | undefined; singletonJson: string | undefined };

declare const sharedBrand: unique symbol;
/** A value handed to several readers; nothing may change it or anything below it. */
export type Shared<T> = T & { readonly [sharedBrand]: true };

// A registry rather than a property on the value: an already frozen value (a DTO frozen by its
// producer) can still be shared, and a branded object keeps its hidden class.
const slots = new WeakMap<object, SharedSlot>();

const freezeDeeply = process.env.NODE_ENV !== 'production';

/** Brands `value` (and freezes it; deeply outside production). Idempotent. */
export function share<T>(value: T): Shared<T> {
  if (value === null || typeof value !== 'object' || slots.has(value)) return value as Shared<T>;
  if (freezeDeeply) deepFreeze(value, new Set());
  else Object.freeze(value);
  slots.set(value, { json: undefined, singletonJson: undefined });
  return value as Shared<T>;
}

export function isShared(value: unknown): boolean {
  return value !== null && typeof value === 'object' && slots.has(value);
}

/** The cache slot of a shared value; undefined for anything not given to `share()`. */
export function sharedSlot(value: object): SharedSlot | undefined {
  return slots.get(value);
}

function deepFreeze(value: object, seen: Set<object>) {
  if (seen.has(value)) return;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    const child = (value as Record<PropertyKey, unknown>)[key];
    if (child !== null && typeof child === 'object') deepFreeze(child, seen);
  }
  Object.freeze(value);
}
