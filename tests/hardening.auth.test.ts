import { afterEach, describe, expect, it } from 'vitest';
import { createContextInner } from '../src/server/context.js';
import { backfillUsernameKeys } from '../src/server/db/username-keys.js';
import { User } from '../src/server/db/entities.js';
import { createCaller } from '../src/server/routers/index.js';
import { DEFAULT_RATE_LIMITS } from '../src/server/services/rate-limits.js';
import { createTestApp, RELAXED_LIMITS, type TestApp } from './helpers.js';

let app: TestApp;
afterEach(async () => {
  await app.close();
});

const PASSWORD = 'correct horse battery';
/** A caller from its own source address, as an attacker rotating addresses would be. */
const fromIp = (ip: string) => createCaller(createContextInner(app.deps, {}, { kind: 'http', ip, cookies: { append() {} } }));

describe('sign-in limits per account', () => {
  it('rotating addresses buys no more guesses: the account locks, even the right password waits, with retryAfterMs', async () => {
    app = await createTestApp({ rateLimits: { ...RELAXED_LIMITS, signInFailures: DEFAULT_RATE_LIMITS.signInFailures } });
    await app.user('alice');
    const { points } = DEFAULT_RATE_LIMITS.signInFailures;
    for (let i = 0; i < points; i++) {
      await expect(fromIp(`10.0.0.${i}`).auth.login({ username: 'alice', password: `guess number ${i}` })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    }
    const locked = fromIp('10.0.1.1').auth.login({ username: 'ALICE', password: PASSWORD });
    await expect(locked).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    const error = (await locked.catch((e: unknown) => e)) as { cause?: { retryAfterMs?: number } };
    expect(error.cause?.retryAfterMs).toBeGreaterThan(50_000);
    expect(error.cause?.retryAfterMs).toBeLessThanOrEqual(60_000);
    // Another account is not affected; unknown names lock the same way (no existence oracle).
    await app.user('bob');
    await expect(fromIp('10.0.2.1').auth.login({ username: 'bob', password: PASSWORD })).resolves.toMatchObject({ username: 'bob' });
  });

  it('each further lockout doubles the wait; a success clears the failures', async () => {
    app = await createTestApp({ rateLimits: { ...RELAXED_LIMITS, signInFailures: DEFAULT_RATE_LIMITS.signInFailures } });
    await app.user('alice');
    const limiter = app.services.rateLimits.limiters.signInFailures;
    const fail = async (n: number) => {
      for (let i = 0; i < n; i++) await fromIp('10.0.0.1').auth.login({ username: 'alice', password: 'wrong password' }).catch(() => undefined);
    };
    await fail(2);
    await fromIp('10.0.0.1').auth.login({ username: 'alice', password: PASSWORD });
    expect(await limiter.get('alice')).toBeNull();
    await fail(5);
    expect((await limiter.get('alice'))!.msBeforeNext).toBeGreaterThan(55_000);
    await limiter.delete('alice'); // the first lockout has passed
    await fail(5);
    expect((await limiter.get('alice'))!.msBeforeNext).toBeGreaterThan(115_000);
  });
});

describe('usernames are unique regardless of case', () => {
  it('a name differing only by case is taken; sign-in accepts any case', async () => {
    app = await createTestApp();
    await app.anonymous.auth.register({ username: 'Alice', password: PASSWORD });
    await expect(app.anonymous.auth.register({ username: 'aLiCe', password: PASSWORD })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(app.anonymous.auth.login({ username: 'alice', password: PASSWORD })).resolves.toMatchObject({ username: 'Alice' });
    expect(await app.count('users')).toBe(1);
  });

  it('rows from before the key: the backfill keys each name once, a case-duplicate keeps its exact-name sign-in', async () => {
    app = await createTestApp();
    const em = app.orm.em.fork();
    const hash = (await app.services.auth.register({ username: 'seed', password: PASSWORD })) && (await em.findOneOrFail(User, { username: 'seed' })).passwordHash;
    const old = { passwordHash: hash, createdAt: new Date(), usernameKey: null };
    await em.insert(User, { ...old, username: 'Carol' });
    await em.insert(User, { ...old, username: 'carol' });
    expect(await backfillUsernameKeys(app.orm)).toBe(1);
    expect(await backfillUsernameKeys(app.orm)).toBe(0);
    const rows = await app.orm.em.fork().find(User, { username: { $in: ['Carol', 'carol'] } }, { orderBy: { id: 'asc' } });
    expect(rows.map((row) => row.usernameKey)).toEqual(['carol', null]);
    await expect(app.anonymous.auth.login({ username: 'carol', password: PASSWORD })).resolves.toMatchObject({ username: 'carol' });
    await expect(app.anonymous.auth.login({ username: 'CAROL', password: PASSWORD })).resolves.toMatchObject({ username: 'Carol' });
    await expect(app.anonymous.auth.register({ username: 'CaRoL', password: PASSWORD })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
