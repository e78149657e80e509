import { Migration } from '@mikro-orm/migrations';

export class Migration20261127085845_notifications_by_user_and_id extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index \`notifications_user_id_id_index\` on \`notifications\` (\`user_id\`, \`id\`);`);
  }

}
