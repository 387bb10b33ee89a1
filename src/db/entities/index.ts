import { ApiKeySchema } from './api-key.entity';
import { AppSchema } from './app.entity';
import { UserSchema } from './user.entity';

export * from './api-key.entity';
export * from './app.entity';
export * from './user.entity';

/** Every mapped entity; the ORM config and the migration generator both read this list. */
export const ENTITIES = [AppSchema, ApiKeySchema, UserSchema];
