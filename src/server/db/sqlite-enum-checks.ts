/**
 * Works around MikroORM 6.6.16 reading SQLite enum checks wrongly: for
 * `status text check (status in ('pending', 'accepted', 'declined', 'cancelled'))` it finds only
 * `['pending', 'cancelled']` (it splits the list only before its last item), so every schema
 * diff (and thus every generated migration) proposes rebuilding `invitations` with the same
 * definition. This reads every quoted item of the list. Remove once MikroORM parses it right.
 */
import { BaseSqliteSchemaHelper } from '@mikro-orm/knex';

type Connection = { execute<T>(sql: string, params: unknown[], method: 'get', ctx?: unknown): Promise<T> };

let applied = false;

export function readSqliteEnumChecksCorrectly(): void {
  if (applied) return;
  applied = true;
  const prototype = BaseSqliteSchemaHelper.prototype as unknown as {
    getEnumDefinitions(connection: Connection, checks: unknown, tableName: string, schemaName?: string, ctx?: unknown): Promise<Record<string, string[]>>;
  };
  prototype.getEnumDefinitions = async (connection, _checks, tableName, _schemaName, ctx) => {
    const table = await connection.execute<{ sql: string } | undefined>('select sql from sqlite_master where type = ? and name = ?', ['table', tableName], 'get', ctx);
    const definitions: Record<string, string[]> = {};
    for (const [, column, list] of table?.sql.matchAll(/[`"[']([^`"\]']+)[`"\]'] text check \(\s*[`"[']?[^`"\]'\s]+[`"\]']? in \(((?:\s*'(?:[^']|'')*'\s*,?)+)\)\s*\)/gi) ?? []) {
      definitions[column!] = [...list!.matchAll(/'((?:[^']|'')*)'/g)].map(([, item]) => item!.replace(/''/g, "'"));
    }
    return definitions;
  };
}
