import type { UserDTO } from '../../shared/dto.js';
import { User } from '../db/entities.js';
import type { BlockService } from './blocks.js';
import type { Deps } from './deps.js';
import { toUserDTO } from './mappers.js';

const RESULTS = 20;

export function createUserService({ orm }: Deps, blocks: BlockService) {
  return {
    /** Users whose name starts with `query` (case-insensitive), the caller and who blocked them excluded. */
    async search(callerId: number, query: string): Promise<UserDTO[]> {
      // LIKE's wildcards (`_`, `%`) can only widen the match; the exact prefix check below narrows it back.
      const prefix = query.toLowerCase();
      const blockers = await blocks.blockersOf(callerId);
      const rows = await orm.em.fork().find(
        User,
        // Host-identity users are found by the name the host gave them; deleted accounts by nothing.
        { $or: [{ username: { $like: `${query}%` } }, { displayName: { $like: `${query}%` } }], id: { $ne: callerId }, deletedAt: null },
        { orderBy: { username: 'asc' }, limit: RESULTS * 3 },
      );
      return rows
        .filter((row) => !blockers.has(row.id))
        .map(toUserDTO)
        .filter((user) => user.username.toLowerCase().startsWith(prefix))
        .slice(0, RESULTS);
    },
  };
}
