import { Migration } from '@mikro-orm/migrations';

export class Migration20261126142514_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "conversations" ("id" serial primary key, "kind" text check ("kind" in ('direct', 'group')) not null, "direct_key" varchar(64) null, "created_at" timestamptz not null);`);
    this.addSql(`alter table "conversations" add constraint "conversations_direct_key_unique" unique ("direct_key");`);

    this.addSql(`create table "users" ("id" serial primary key, "username" varchar(64) not null, "password_hash" varchar(255) not null, "created_at" timestamptz not null, "last_seen_at" timestamptz null);`);
    this.addSql(`alter table "users" add constraint "users_username_unique" unique ("username");`);

    this.addSql(`create table "sessions" ("id" varchar(64) not null, "user_id" int not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, constraint "sessions_pkey" primary key ("id"));`);
    this.addSql(`create index "sessions_expires_at_index" on "sessions" ("expires_at");`);

    this.addSql(`create table "notifications" ("id" serial primary key, "user_id" int not null, "type" varchar(64) not null, "content" jsonb not null, "conversation_id" int null, "group_id" int null, "created_at" timestamptz not null, "read_at" timestamptz null);`);
    this.addSql(`create index "notifications_user_id_read_at_index" on "notifications" ("user_id", "read_at");`);
    this.addSql(`create index "notifications_user_id_type_conversation_id_read_at_index" on "notifications" ("user_id", "type", "conversation_id", "read_at");`);

    this.addSql(`create table "messages" ("id" serial primary key, "conversation_id" int not null, "seq" int not null, "sender_id" int not null, "content" text not null, "client_message_id" varchar(64) not null, "created_at" timestamptz not null);`);
    this.addSql(`alter table "messages" add constraint "messages_conversation_id_seq_unique" unique ("conversation_id", "seq");`);
    this.addSql(`alter table "messages" add constraint "messages_client_message_id_sender_id_unique" unique ("client_message_id", "sender_id");`);

    this.addSql(`create table "memberships" ("id" serial primary key, "conversation_id" int not null, "user_id" int not null, "role" text check ("role" in ('owner', 'member')) not null default 'member', "joined_at" timestamptz not null, "last_read_seq" int not null default 0);`);
    this.addSql(`create index "memberships_user_id_index" on "memberships" ("user_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_conversation_id_user_id_unique" unique ("conversation_id", "user_id");`);

    this.addSql(`create table "groups" ("id" serial primary key, "name" varchar(100) not null, "owner_id" int not null, "conversation_id" int not null, "created_at" timestamptz not null);`);
    this.addSql(`alter table "groups" add constraint "groups_conversation_id_unique" unique ("conversation_id");`);

    this.addSql(`create table "invitations" ("id" serial primary key, "group_id" int not null, "inviter_id" int not null, "invitee_id" int not null, "status" text check ("status" in ('pending', 'accepted', 'declined', 'cancelled')) not null default 'pending', "created_at" timestamptz not null, "responded_at" timestamptz null);`);
    this.addSql(`create index "invitations_invitee_id_index" on "invitations" ("invitee_id");`);
    this.addSql(`create index "invitations_group_id_invitee_id_status_index" on "invitations" ("group_id", "invitee_id", "status");`);

    this.addSql(`alter table "sessions" add constraint "sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "notifications" add constraint "notifications_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "messages" add constraint "messages_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "messages" add constraint "messages_sender_id_foreign" foreign key ("sender_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "memberships" add constraint "memberships_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "memberships" add constraint "memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "groups" add constraint "groups_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade;`);
    this.addSql(`alter table "groups" add constraint "groups_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "invitations" add constraint "invitations_group_id_foreign" foreign key ("group_id") references "groups" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "invitations" add constraint "invitations_inviter_id_foreign" foreign key ("inviter_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "invitations" add constraint "invitations_invitee_id_foreign" foreign key ("invitee_id") references "users" ("id") on update cascade on delete cascade;`);
  }

}
