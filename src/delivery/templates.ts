import type { AppSettings } from '../config/app-settings';

/**
 * Per-app message texts (SPEC §6): the app's `brandName` in every message. One function per
 * template and channel; variables are checked, so a missing one is a bug caught at once.
 */
export type TemplateName = 'otp' | 'password-reset' | 'contact-change-notice';
export type DeliveryChannelName = 'EMAIL' | 'SMS';

export interface RenderedMessage {
  /** Email only. */
  subject: string | null;
  body: string;
}

export type TemplateVars = Record<string, string | number>;

type Render = (vars: TemplateVars, brand: string) => RenderedMessage;

const TEMPLATES: Record<TemplateName, { vars: string[]; EMAIL: Render; SMS: Render }> = {
  otp: {
    vars: ['code', 'expiresInSeconds'],
    EMAIL: (v, brand) => ({
      subject: `Your ${brand} code`,
      body:
        `Your ${brand} code is ${v.code}\n\n` +
        `It expires in ${duration(v.expiresInSeconds)}. Enter it where you asked for it; never share it with anyone.\n` +
        `If you did not ask for a code, you can ignore this email.\n`,
    }),
    SMS: (v, brand) => ({ subject: null, body: `${v.code} is your ${brand} code. It expires in ${duration(v.expiresInSeconds)}. Do not share it.` }),
  },
  'password-reset': {
    vars: ['link', 'expiresInSeconds'],
    EMAIL: (v, brand) => ({
      subject: `Reset your ${brand} password`,
      body:
        `To choose a new ${brand} password, open this link:\n\n${v.link}\n\n` +
        `It works once and expires in ${duration(v.expiresInSeconds)}.\n` +
        `If you did not ask for a reset, ignore this email: your password stays as it is.\n`,
    }),
    SMS: (v, brand) => ({ subject: null, body: `Reset your ${brand} password: ${v.link} (expires in ${duration(v.expiresInSeconds)})` }),
  },
  // To the address being replaced (SPEC §4.10): `what` is "email address" or "phone number", `destination` the new one, masked.
  'contact-change-notice': {
    vars: ['what', 'destination'],
    EMAIL: (v, brand) => ({
      subject: `Your ${brand} ${v.what} is about to change`,
      body:
        `Someone signed in to your ${brand} account asked to change its ${v.what} to ${v.destination}.\n\n` +
        `Nothing changes until the code we sent there is entered.\n` +
        `If this was not you, sign in and change your password: someone else may be using your account.\n`,
    }),
    SMS: (v, brand) => ({ subject: null, body: `${brand}: a change of your account's ${v.what} to ${v.destination} was asked for. Not you? Sign in and change your password.` }),
  },
};

export function renderTemplate(name: TemplateName, channel: DeliveryChannelName, vars: TemplateVars, settings: Pick<AppSettings, 'brandName'>): RenderedMessage {
  const template = TEMPLATES[name];
  if (!template) throw new Error(`unknown message template ${String(name)}`);
  const missing = template.vars.filter((key) => vars[key] === undefined || vars[key] === '');
  if (missing.length) throw new Error(`message template ${name} needs ${missing.join(', ')}`);
  return template[channel](vars, settings.brandName);
}

/** 600 → "10 minutes", 3600 → "1 hour", 90 → "90 seconds". */
export function duration(seconds: string | number): string {
  const s = Math.max(0, Math.round(Number(seconds)));
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (s % 3600 === 0 && s > 0) return plural(s / 3600, 'hour');
  if (s % 60 === 0 && s > 0) return plural(s / 60, 'minute');
  return plural(s, 'second');
}
