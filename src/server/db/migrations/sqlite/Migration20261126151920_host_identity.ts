import { Migration } from '@mikro-orm/migrations';

export class Migration20261126151920_host_identity extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`users\` add column \`external_id\` text null;`);
    this.addSql(`alter table \`users\` add column \`display_name\` text null;`);
    this.addSql(`alter table \`users\` add column \`avatar_url\` text null;`);
    this.addSql(`alter table \`users\` add column \`deleted_at\` datetime null;`);
    this.addSql(`create unique index \`users_external_id_unique\` on \`users\` (\`external_id\`);`);
  }

}
