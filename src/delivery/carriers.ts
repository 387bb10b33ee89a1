import type { EntityManager } from '@mikro-orm/core';
import { OtpChallenge, SingleUseToken } from '../db/entities';
import type { OutboxRecord } from '../db/fast';
import type { TemplateName } from './templates';

/**
 * What a message that cannot be delivered takes with it (SPEC §6: "the code it carried is
 * dead"), by template. Run in the transaction that marks the message failed.
 * - `otp`: its code is consumed, unless a newer code replaced it in the row meanwhile (the
 *   row is reused per destination; a newer code was created after this message). The
 *   customer can ask for a new code at once (a consumed code has no resend cooldown).
 * - `password-reset`: its token is used up, so the link can never work.
 */
type Carrier = Pick<OutboxRecord, 'template' | 'carrierId' | 'createdAt'>;

const KILL: Record<TemplateName, (em: EntityManager, message: Carrier, now: Date) => Promise<number>> = {
  otp: (em, message, now) =>
    em.nativeUpdate(OtpChallenge, { id: message.carrierId!, consumedAt: null, createdAt: { $lte: message.createdAt } }, { consumedAt: now }),
  'password-reset': (em, message, now) => em.nativeUpdate(SingleUseToken, { id: message.carrierId!, usedAt: null }, { usedAt: now }),
  // A notice carries nothing that could be used.
  'contact-change-notice': async () => 0,
};

export async function killCarrier(em: EntityManager, message: Carrier, now: Date): Promise<void> {
  const kill = KILL[message.template as TemplateName];
  if (kill && message.carrierId) await kill(em, message, now);
}
