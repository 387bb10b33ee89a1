import { ApiKeySchema } from './api-key.entity';
import { AppSchema } from './app.entity';
import { OtpChallengeSchema } from './otp-challenge.entity';
import { OutboxMessageSchema } from './outbox-message.entity';
import { RefreshTokenSchema, SessionSchema } from './session.entity';
import { ServerSecretSchema, SigningKeySchema } from './signing-key.entity';
import { LegalAcceptanceSchema, SingleUseTokenSchema } from './single-use-token.entity';
import { SocialChallengeSchema, SocialTokenUseSchema, UserIdentitySchema } from './social.entity';
import { UserSchema } from './user.entity';
import { AppWebhookSecretSchema, ContactChangeSchema, UserTombstoneSchema } from './lifecycle.entity';
import { SecurityEventSchema } from './security-event.entity';

export * from './api-key.entity';
export * from './app.entity';
export * from './otp-challenge.entity';
export * from './outbox-message.entity';
export * from './session.entity';
export * from './signing-key.entity';
export * from './single-use-token.entity';
export * from './social.entity';
export * from './user.entity';
export * from './lifecycle.entity';
export * from './security-event.entity';

/** Every mapped entity; the ORM config and the migration generator both read this list. */
export const ENTITIES = [AppSchema, ApiKeySchema, UserSchema, SessionSchema, RefreshTokenSchema, SigningKeySchema, ServerSecretSchema, SingleUseTokenSchema, LegalAcceptanceSchema, OtpChallengeSchema, OutboxMessageSchema, UserIdentitySchema, SocialChallengeSchema, SocialTokenUseSchema,
  // account lifecycle (SPEC §4.10)
  SecurityEventSchema, UserTombstoneSchema, ContactChangeSchema, AppWebhookSecretSchema];
