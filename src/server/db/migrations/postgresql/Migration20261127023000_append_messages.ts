import { Migration } from '@mikro-orm/migrations';

/**
 * `append_messages`: one group-commit batch in one statement (`services/message-store/postgresql.ts`).
 * In order, inside the caller's transaction (the statement's own one when called alone):
 * 1. the messages' commit-order lock (`db/commit-order.ts`: `hashtext('commit-order:messages')`),
 *    held until that transaction ends;
 * 2. an INSERT that numbers each row after its conversation's highest stored `seq`. As a statement
 *    of a VOLATILE function, it reads with a snapshot taken after the lock was granted, so it
 *    sees every batch committed before (READ COMMITTED, the default isolation).
 * Rows of one conversation get consecutive sequences in argument order. Returns each row's id,
 * conversation and seq (in no promised order: the caller matches them by (conversation, seq)).
 * Before this, a batch was five round trips (BEGIN, lock, max(seq), INSERT, COMMIT), three of them
 * while holding the lock that every instance's batches wait for (BENCHMARKS.md, "Ninth round").
 */
export class Migration20261127023000_append_messages extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create function "append_messages"(
  "conversation_ids" int[], "sender_ids" int[], "contents" text[], "client_message_ids" varchar[], "at" timestamptz
) returns table ("new_id" int, "new_conversation_id" int, "new_seq" int)
language plpgsql volatile as $$
begin
  perform pg_advisory_xact_lock(hashtext('commit-order:messages'));
  return query
    with "batch" as (
      select b."conversation_id", b."sender_id", b."content", b."client_message_id", b."position",
             row_number() over (partition by b."conversation_id" order by b."position") as "offset"
      from unnest("conversation_ids", "sender_ids", "contents", "client_message_ids") with ordinality
        as b("conversation_id", "sender_id", "content", "client_message_id", "position")
    ), "last" as (
      select c."conversation_id",
             coalesce((select max(m."seq") from "messages" m where m."conversation_id" = c."conversation_id"), 0) as "last_seq"
      from (select distinct b."conversation_id" from "batch" b) c
    )
    insert into "messages" as m ("conversation_id", "seq", "sender_id", "content", "client_message_id", "created_at")
    select b."conversation_id", (l."last_seq" + b."offset")::int, b."sender_id", b."content", b."client_message_id", "at"
    from "batch" b join "last" l on l."conversation_id" = b."conversation_id"
    order by b."position"
    returning m."id", m."conversation_id", m."seq";
end
$$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists "append_messages"(int[], int[], text[], varchar[], timestamptz);`);
  }

}
