import { createHash } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { UserDTO } from '../../shared/dto.js';
import { SYSTEM_USER_NAME, type ExternalUser, type UserRef } from '../../shared/integration.js';
import { NO_PASSWORD, User } from '../db/entities.js';
import type { Deps } from './deps.js';
import { notFound } from './errors.js';
import { toUserDTO } from './mappers.js';

/**
 * The internal username of a host user. `~` cannot appear in a registered username, so a host
 * user never takes (or collides with) a password account's name; what others see is `displayName`.
 */
const handleOf = (externalId: string) => `~${createHash('sha256').update(externalId).digest('base64url').slice(0, 24)}`;
const SYSTEM_USERNAME = '~system';

/** Users who come from the host app's identity: created on first sight, kept in step with the host. */
export function createExternalUserService({ orm, clock }: Deps) {
  let systemUserId: Promise<number> | null = null;

  async function upsert({ externalId, name, avatarUrl = null }: ExternalUser): Promise<UserDTO> {
    const em = orm.em.fork();
    const existing = await em.findOne(User, { externalId });
    if (existing) {
      // Only write when the host changed something: most requests are by a known user.
      if (existing.displayName !== name || existing.avatarUrl !== (avatarUrl ?? null)) {
        await em.nativeUpdate(User, { id: existing.id }, { displayName: name, avatarUrl: avatarUrl ?? null });
      }
      return toUserDTO({ id: existing.id, username: existing.username, displayName: name, avatarUrl });
    }
    try {
      const data = { username: handleOf(externalId), passwordHash: NO_PASSWORD, externalId, displayName: name, avatarUrl, createdAt: new Date(clock.now()) };
      const id = Number(await em.insert(User, data));
      return toUserDTO({ id, ...data });
    } catch (error) {
      // Two first requests of one user raced: the other one created it.
      if (error instanceof UniqueConstraintViolationException) return upsert({ externalId, name, avatarUrl });
      throw error;
    }
  }

  return {
    upsert,

    /** Our id for a user named by our id or the host's; with a name, a new host user is created. */
    async idOf(ref: UserRef): Promise<number> {
      if ('userId' in ref) {
        if (!(await orm.em.fork().count(User, { id: ref.userId, deletedAt: null }))) throw notFound('User');
        return ref.userId;
      }
      if (ref.name) return (await upsert({ externalId: ref.externalId, name: ref.name, avatarUrl: ref.avatarUrl })).id;
      const user = await orm.em.fork().findOne(User, { externalId: ref.externalId }, { fields: ['id'] });
      if (!user) throw notFound('User');
      return user.id;
    },

    /** The sender of system messages: one row, created on first use, that nobody can sign in as. */
    systemUserId(): Promise<number> {
      systemUserId ??= (async () => {
        const em = orm.em.fork();
        const existing = await em.findOne(User, { username: SYSTEM_USERNAME }, { fields: ['id'] });
        if (existing) return existing.id;
        const data = { username: SYSTEM_USERNAME, passwordHash: NO_PASSWORD, displayName: SYSTEM_USER_NAME, createdAt: new Date(clock.now()) };
        return Number(await em.insert(User, data));
      })().catch((error: unknown) => {
        systemUserId = null;
        throw error;
      });
      return systemUserId;
    },
  };
}

export type ExternalUserService = ReturnType<typeof createExternalUserService>;
