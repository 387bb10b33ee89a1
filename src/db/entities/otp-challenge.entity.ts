import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';

export type OtpChannel = 'EMAIL' | 'SMS';
/** CONTACT_CHANGE: a code to a new email or phone (requestEmailChange / requestPhoneChange); never signs in. */
export type OtpPurpose = 'REGISTER' | 'LOGIN' | 'VERIFY' | 'CONTACT_CHANGE';

/**
 * The live one-time code of one destination (lower-cased email or E.164 phone) in one app.
 * One row per destination: a new request replaces the code in place (so the previous one dies)
 * and the row's `createdAt` is the resend cooldown every instance sees. The code itself is
 * never stored, only a keyed HMAC of it. `attempts` is raised in its own conditional UPDATE
 * before any comparison and `consumedAt` set with one, so concurrent tries cannot exceed the cap
 * or use a code twice. `sends` codes went to the destination since `sendsSince` (the hourly
 * limit), written with each code: the count is the database's, so every instance sees it, and
 * a destination costs no memory in any process.
 */
export class OtpChallenge {
  id!: string;
  app!: App;
  destination!: string;
  channel!: OtpChannel;
  purpose!: OtpPurpose;
  /** The account the code signs into; null for REGISTER and for an unknown identity (nothing sent). */
  userId?: string | null;
  codeHash!: string;
  attempts = 0;
  createdAt!: Date;
  expiresAt!: Date;
  consumedAt?: Date | null;
  sends = 1;
  /** Null on rows older than the count (their next code starts an hour). */
  sendsSince?: Date | null;
}

export const OtpChallengeSchema = new EntitySchema<OtpChallenge>({
  class: OtpChallenge,
  tableName: 'otp_challenge',
  uniques: [{ name: 'otp_challenge_app_destination_unique', properties: ['app', 'destination'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    destination: { type: 'string', length: 254 },
    channel: { type: 'string', length: 8 },
    purpose: { type: 'string', length: 16 },
    userId: { type: 'uuid', nullable: true },
    codeHash: { type: 'string', length: 64 },
    attempts: { type: 'integer', default: 0 },
    createdAt: { type: 'datetime' },
    expiresAt: { type: 'datetime' },
    consumedAt: { type: 'datetime', nullable: true },
    sends: { type: 'integer', default: 1 },
    sendsSince: { type: 'datetime', nullable: true },
  },
});
