import { createHash, randomBytes } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { UserDTO } from '../../shared/dto.js';
import type { CredentialsInput } from '../../shared/schemas.js';
import { Session, User } from '../db/entities.js';
import { dateOf, preparedReadsOf } from '../db/prepared.js';
import type { Deps } from './deps.js';
import { conflict, DomainError } from './errors.js';
import { toUserDTO } from './mappers.js';
import { dummyHashPromise, hashPassword, verifyPassword } from './passwords.js';
import type { SignInGuard } from './sign-in-guard.js';

export type IssuedSession = {
  user: UserDTO;
  /** The cookie value. Only its SHA-256 is stored. */
  token: string;
  expiresAt: Date;
};

export type ResolvedSession = { user: UserDTO; sessionId: string; /** Epoch ms. */ expiresAt: number };

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

type SessionRow = { expiresAt: unknown; id: number; username: string; displayName: string | null; avatarUrl: string | null };
// One prepared read per connection opened (its cookie), instead of two ORM lookups.
const SESSION_WITH_USER = `SELECT s.expires_at AS "expiresAt", u.id AS "id", u.username AS "username",
  u.display_name AS "displayName", u.avatar_url AS "avatarUrl"
  FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`;

/** The case-insensitive identity of a username (usernames are ASCII letters, digits and `_.-`). */
export const usernameKeyOf = (username: string) => username.toLowerCase();

export function createAuthService({ orm, clock, config }: Deps, guard: SignInGuard) {
  async function issueSession(user: UserDTO): Promise<IssuedSession> {
    const token = randomBytes(32).toString('base64url');
    const now = clock.now();
    const expiresAt = new Date(now + config.sessionTtlMs);
    await orm.em.fork().insert(Session, { id: hashToken(token), user: user.id, createdAt: new Date(now), expiresAt });
    return { user, token, expiresAt };
  }

  return {
    async register({ username, password }: CredentialsInput): Promise<IssuedSession> {
      const em = orm.em.fork();
      const usernameKey = usernameKeyOf(username);
      if (await em.count(User, { usernameKey })) throw conflict('That username is taken');
      const passwordHash = await hashPassword(password);
      let id: number;
      try {
        id = Number(await em.insert(User, { username, usernameKey, passwordHash, createdAt: new Date(clock.now()) }));
      } catch (error) {
        // Two registrations of one name raced past the count above.
        if (error instanceof UniqueConstraintViolationException) throw conflict('That username is taken');
        throw error;
      }
      return issueSession(toUserDTO({ id, username }));
    },

    async login({ username, password }: CredentialsInput): Promise<IssuedSession> {
      const em = orm.em.fork();
      const usernameKey = usernameKeyOf(username);
      // Unknown names are counted too: a lockout must not tell which names exist.
      await guard.check(usernameKey);
      // A row made before usernameKey existed and left without it (a case-duplicate) signs in by exact name.
      const candidates = await em.find(User, { $or: [{ usernameKey }, { username, usernameKey: null }] });
      const user = candidates.find((row) => row.usernameKey === null) ?? candidates[0];
      // Verify against a dummy hash for unknown users so timing does not reveal which names exist.
      const valid = await verifyPassword(password, user?.passwordHash ?? (await dummyHashPromise));
      if (!user || !valid) {
        await guard.failed(usernameKey);
        throw new DomainError('UNAUTHORIZED', 'Wrong username or password');
      }
      await guard.succeeded(usernameKey);
      await em.nativeDelete(Session, { user: user.id, expiresAt: { $lte: new Date(clock.now()) } });
      return issueSession(toUserDTO(user));
    },

    async logout(sessionId: string): Promise<void> {
      await orm.em.fork().nativeDelete(Session, { id: sessionId });
    },

    /** The session behind a cookie token, or null when unknown or expired. */
    async resolve(token: string | undefined): Promise<ResolvedSession | null> {
      if (!token || token.length > 128) return null;
      const sessionId = hashToken(token);
      const [row] = await preparedReadsOf(orm).all<SessionRow>(SESSION_WITH_USER, [sessionId]);
      if (!row) return null;
      const expiresAt = dateOf(row.expiresAt).getTime();
      if (expiresAt <= clock.now()) {
        await orm.em.fork().nativeDelete(Session, { id: sessionId });
        return null;
      }
      return { user: toUserDTO({ id: Number(row.id), username: row.username, displayName: row.displayName, avatarUrl: row.avatarUrl }), sessionId, expiresAt };
    },

    async findUser(userId: number): Promise<UserDTO | null> {
      const user = await orm.em.fork().findOne(User, { id: userId });
      return user ? toUserDTO(user) : null;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
