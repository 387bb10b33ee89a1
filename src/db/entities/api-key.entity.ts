import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';

export type ApiKeyKind = 'publishable' | 'secret';

/** An API key. Only the SHA-256 of the key is stored; `prefix` lets an operator tell keys apart. */
export class ApiKey {
  id!: string;
  app!: App;
  kind!: ApiKeyKind;
  keyHash!: string;
  prefix!: string;
  createdAt!: Date;
  revokedAt?: Date | null;
}

export const ApiKeySchema = new EntitySchema<ApiKey>({
  class: ApiKey,
  tableName: 'api_key',
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: 'api_key_app_idx' },
    kind: { type: 'string', length: 16 },
    keyHash: { type: 'string', length: 64, unique: 'api_key_hash_unique' },
    prefix: { type: 'string', length: 16 },
    createdAt: { type: 'datetime' },
    revokedAt: { type: 'datetime', nullable: true },
  },
});
