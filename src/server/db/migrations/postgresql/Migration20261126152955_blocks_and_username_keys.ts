import { Migration } from '@mikro-orm/migrations';

export class Migration20261126152955_blocks_and_username_keys extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "blocks" ("id" serial primary key, "blocker_id" int not null, "blocked_id" int not null, "created_at" timestamptz not null);`);
    this.addSql(`create index "blocks_blocked_id_index" on "blocks" ("blocked_id");`);
    this.addSql(`alter table "blocks" add constraint "blocks_blocker_id_blocked_id_unique" unique ("blocker_id", "blocked_id");`);

    this.addSql(`alter table "blocks" add constraint "blocks_blocker_id_foreign" foreign key ("blocker_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "blocks" add constraint "blocks_blocked_id_foreign" foreign key ("blocked_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "users" add column "username_key" varchar(64) null;`);
    this.addSql(`alter table "users" add constraint "users_username_key_unique" unique ("username_key");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "blocks" cascade;`);

    this.addSql(`alter table "users" drop constraint "users_username_key_unique";`);
    this.addSql(`alter table "users" drop column "username_key";`);
  }

}
