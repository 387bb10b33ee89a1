import { EntitySchema } from '@mikro-orm/core';

/** A tenant (a brand). `settings` holds the per-app JSON of SPEC §7; read it via readAppSettings. */
export class App {
  id!: string;
  name!: string;
  settings!: Record<string, unknown>;
  createdAt!: Date;
  updatedAt!: Date;
}

export const AppSchema = new EntitySchema<App>({
  class: App,
  tableName: 'app',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string', length: 100 },
    settings: { type: 'json' },
    createdAt: { type: 'datetime' },
    updatedAt: { type: 'datetime' },
  },
});
