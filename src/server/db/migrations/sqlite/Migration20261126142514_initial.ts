import { Migration } from '@mikro-orm/migrations';

export class Migration20261126142514_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`conversations\` (\`id\` integer not null primary key autoincrement, \`kind\` text check (\`kind\` in ('direct', 'group')) not null, \`direct_key\` text null, \`created_at\` datetime not null);`);
    this.addSql(`create unique index \`conversations_direct_key_unique\` on \`conversations\` (\`direct_key\`);`);

    this.addSql(`create table \`users\` (\`id\` integer not null primary key autoincrement, \`username\` text not null, \`password_hash\` text not null, \`created_at\` datetime not null, \`last_seen_at\` datetime null);`);
    this.addSql(`create unique index \`users_username_unique\` on \`users\` (\`username\`);`);

    this.addSql(`create table \`sessions\` (\`id\` text not null, \`user_id\` integer not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, constraint \`sessions_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`sessions_user_id_index\` on \`sessions\` (\`user_id\`);`);
    this.addSql(`create index \`sessions_expires_at_index\` on \`sessions\` (\`expires_at\`);`);

    this.addSql(`create table \`notifications\` (\`id\` integer not null primary key autoincrement, \`user_id\` integer not null, \`type\` text not null, \`content\` json not null, \`conversation_id\` integer null, \`group_id\` integer null, \`created_at\` datetime not null, \`read_at\` datetime null, constraint \`notifications_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete cascade on update cascade);`);
    this.addSql(`create index \`notifications_user_id_read_at_index\` on \`notifications\` (\`user_id\`, \`read_at\`);`);
    this.addSql(`create index \`notifications_user_id_type_conversation_id_read_at_index\` on \`notifications\` (\`user_id\`, \`type\`, \`conversation_id\`, \`read_at\`);`);

    this.addSql(`create table \`messages\` (\`id\` integer not null primary key autoincrement, \`conversation_id\` integer not null, \`seq\` integer not null, \`sender_id\` integer not null, \`content\` text not null, \`client_message_id\` text not null, \`created_at\` datetime not null, constraint \`messages_conversation_id_foreign\` foreign key(\`conversation_id\`) references \`conversations\`(\`id\`) on delete cascade on update cascade, constraint \`messages_sender_id_foreign\` foreign key(\`sender_id\`) references \`users\`(\`id\`) on delete cascade on update cascade);`);
    this.addSql(`create unique index \`messages_conversation_id_seq_unique\` on \`messages\` (\`conversation_id\`, \`seq\`);`);
    this.addSql(`create unique index \`messages_client_message_id_sender_id_unique\` on \`messages\` (\`client_message_id\`, \`sender_id\`);`);

    this.addSql(`create table \`memberships\` (\`id\` integer not null primary key autoincrement, \`conversation_id\` integer not null, \`user_id\` integer not null, \`role\` text check (\`role\` in ('owner', 'member')) not null default 'member', \`joined_at\` datetime not null, \`last_read_seq\` integer not null default 0, constraint \`memberships_conversation_id_foreign\` foreign key(\`conversation_id\`) references \`conversations\`(\`id\`) on delete cascade on update cascade, constraint \`memberships_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete cascade on update cascade);`);
    this.addSql(`create index \`memberships_user_id_index\` on \`memberships\` (\`user_id\`);`);
    this.addSql(`create unique index \`memberships_conversation_id_user_id_unique\` on \`memberships\` (\`conversation_id\`, \`user_id\`);`);

    this.addSql(`create table \`groups\` (\`id\` integer not null primary key autoincrement, \`name\` text not null, \`owner_id\` integer not null, \`conversation_id\` integer not null, \`created_at\` datetime not null, constraint \`groups_owner_id_foreign\` foreign key(\`owner_id\`) references \`users\`(\`id\`) on update cascade, constraint \`groups_conversation_id_foreign\` foreign key(\`conversation_id\`) references \`conversations\`(\`id\`) on delete cascade on update cascade);`);
    this.addSql(`create index \`groups_owner_id_index\` on \`groups\` (\`owner_id\`);`);
    this.addSql(`create unique index \`groups_conversation_id_unique\` on \`groups\` (\`conversation_id\`);`);

    this.addSql(`create table \`invitations\` (\`id\` integer not null primary key autoincrement, \`group_id\` integer not null, \`inviter_id\` integer not null, \`invitee_id\` integer not null, \`status\` text check (\`status\` in ('pending', 'accepted', 'declined', 'cancelled')) not null default 'pending', \`created_at\` datetime not null, \`responded_at\` datetime null, constraint \`invitations_group_id_foreign\` foreign key(\`group_id\`) references \`groups\`(\`id\`) on delete cascade on update cascade, constraint \`invitations_inviter_id_foreign\` foreign key(\`inviter_id\`) references \`users\`(\`id\`) on delete cascade on update cascade, constraint \`invitations_invitee_id_foreign\` foreign key(\`invitee_id\`) references \`users\`(\`id\`) on delete cascade on update cascade);`);
    this.addSql(`create index \`invitations_inviter_id_index\` on \`invitations\` (\`inviter_id\`);`);
    this.addSql(`create index \`invitations_invitee_id_index\` on \`invitations\` (\`invitee_id\`);`);
    this.addSql(`create index \`invitations_group_id_invitee_id_status_index\` on \`invitations\` (\`group_id\`, \`invitee_id\`, \`status\`);`);
  }

}
