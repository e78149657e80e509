import { Migration } from '@mikro-orm/migrations';

export class Migration20261126151920_host_identity extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column "external_id" varchar(255) null, add column "display_name" varchar(100) null, add column "avatar_url" varchar(2048) null, add column "deleted_at" timestamptz null;`);
    this.addSql(`alter table "users" add constraint "users_external_id_unique" unique ("external_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop constraint "users_external_id_unique";`);
    this.addSql(`alter table "users" drop column "external_id", drop column "display_name", drop column "avatar_url", drop column "deleted_at";`);
  }

}
