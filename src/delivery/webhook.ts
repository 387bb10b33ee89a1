import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './sms-webhook';
import type { OutgoingMessage, Transport } from './transport';

/** Carries the event id, so a receiver can de-duplicate without parsing the body first. */
export const EVENT_ID_HEADER = 'x-gatehouse-event-id';

/**
 * The courier's WEBHOOK channel: security events to an app's webhookUrl (SPEC §4.10), the
 * payload written to the outbox with the event (identity/lifecycle/webhooks.ts), signed exactly
 * like the SMS webhook:
 *   x-gatehouse-timestamp: <unix seconds>
 *   x-gatehouse-signature: sha256=<hex HMAC-SHA256(app's webhook secret, "<timestamp>.<raw body>")>
 * The body is the stored payload, byte for byte. Any 2xx is accepted; anything else (or no
 * answer within the timeout, or a redirect) is a failed attempt, which the courier retries with
 * its backoff. Each attempt is signed afresh, so a retry carries a current timestamp.
 */
export class WebhookTransport implements Transport {
  readonly name = 'webhook';

  constructor(
    private readonly secretOf: (appId: string) => Promise<string | null>,
    private readonly timeoutMs = 10_000,
  ) {}

  async deliver(message: Pick<OutgoingMessage, 'appId' | 'to' | 'body'>): Promise<void> {
    const secret = await this.secretOf(message.appId);
    if (!secret) throw new Error('the app has no webhook signing secret (gatehouse app webhook-secret APP_ID)');
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await fetch(message.to, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signWebhook(secret, timestamp, message.body),
        [EVENT_ID_HEADER]: eventIdOf(message.body),
      },
      body: message.body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new Error(`webhook answered HTTP ${response.status}`);
  }
}

function eventIdOf(body: string): string {
  try {
    return String((JSON.parse(body) as { id?: unknown }).id ?? '');
  } catch {
    return '';
  }
}
