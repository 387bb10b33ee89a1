export { AccountLifecycle, MAX_SUSPENSION_REASON, type Actor } from './accounts';
export { ContactChangeService, type ContactChangeInput, type ContactChangeOutcome } from './contact-change';
export { ERASURE_STEPS, Erasure, addressesOf, type ErasureSubject } from './erasure';
export { WebhookSecrets } from './webhook-secrets';
export { WebhookOutbox, webhookPayload } from './webhooks';
