import { Migration } from '@mikro-orm/migrations';

export class Migration20261126152955_blocks_and_username_keys extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`blocks\` (\`id\` integer not null primary key autoincrement, \`blocker_id\` integer not null, \`blocked_id\` integer not null, \`created_at\` datetime not null, constraint \`blocks_blocker_id_foreign\` foreign key(\`blocker_id\`) references \`users\`(\`id\`) on delete cascade on update cascade, constraint \`blocks_blocked_id_foreign\` foreign key(\`blocked_id\`) references \`users\`(\`id\`) on delete cascade on update cascade);`);
    this.addSql(`create index \`blocks_blocked_id_index\` on \`blocks\` (\`blocked_id\`);`);
    this.addSql(`create unique index \`blocks_blocker_id_blocked_id_unique\` on \`blocks\` (\`blocker_id\`, \`blocked_id\`);`);

    this.addSql(`alter table \`users\` add column \`username_key\` text null;`);
    this.addSql(`create unique index \`users_username_key_unique\` on \`users\` (\`username_key\`);`);
  }

}
