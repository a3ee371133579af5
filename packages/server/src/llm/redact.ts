/**
 * The default redaction hook: masks obvious direct identifiers before text leaves for a vendor.
 *
 * @module
 */

/**
 * A redaction hook: returns `text` with identifiers masked. Must be pure and synchronous.
 *
 * @example
 * ```ts
 * const redact: Redactor = (text) => defaultRedact(text).replace(/\bBed \d+\b/g, '[BED]');
 * createResilientLlm({ adapters, redact });
 * ```
 *
 * @category LLM
 */
export type Redactor = (text: string) => string;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** Medical record numbers and similar labelled ids: `MRN 12345`, `MRN: A-1234`, `NHS no. 943 476 5919`. */
const LABELLED_ID =
  /\b(?:MRN|medical record(?: number| no\.?)?|NHS(?: number| no\.?)?|patient id|chart(?: number| no\.?)?|SSN|insurance(?: number| id)?|member id)\s*[:#.]?\s*[A-Za-z]{0,3}[-\s]?\d[\d\s-]{2,}\d?/gi;
/** US social security numbers. */
const SSN = /\b\d{3}-\d{2}-\d{4}\b/g;
/** A run of digits with phone separators; only replaced when it holds 9 to 15 digits. */
const PHONE_LIKE = /\+?\(?\d[\d\s().-]{7,}\d/g;
/** An ISO date (`2024-05-01`), which the phone pattern would otherwise take with a following number. */
const ISO_DATE = /\b\d{4}-\d{2}-\d{2}\b/;
/** Dates labelled as a date of birth. */
const DOB =
  /\b(?:DOB|D\.O\.B\.?|date of birth|born(?: on)?)\s*[:-]?\s*(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}|\d{1,2}\s+[A-Za-z]{3,9}\s+\d{2,4}|[A-Za-z]{3,9}\s+\d{1,2},?\s+\d{2,4})/gi;
/** IPv4 addresses. */
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
/** Web addresses. */
const URL = /\bhttps?:\/\/[^\s"'<>]+/gi;

/**
 * Masks obvious direct identifiers: e-mail addresses, phone numbers (9–15 digits with the usual
 * separators), labelled record numbers (`MRN 12345`, `NHS no. …`, `SSN …`), US SSNs, labelled
 * dates of birth, IPv4 addresses and URLs. Each match becomes a tag such as `[EMAIL]`.
 *
 * **This is not de-identification.** Names, addresses, free-text dates, rare conditions and
 * anything else in the intake's free text pass through. Send only what a vendor covered by your
 * data-processing agreement (e.g. a HIPAA BAA) may receive, or supply your own `redact` backed by a
 * de-identification service.
 *
 * @example
 * ```ts
 * defaultRedact('Call 555-123-4567 or jane@example.org, MRN 99812');
 * // 'Call [PHONE] or [EMAIL], [MRN]'
 * ```
 *
 * @category LLM
 */
export function defaultRedact(text: string): string {
  return text
    .replace(URL, '[URL]')
    .replace(EMAIL, '[EMAIL]')
    .replace(DOB, '[DOB]')
    .replace(LABELLED_ID, (match) => `${labelTag(match)}${trailingSpace(match)}`)
    .replace(SSN, '[SSN]')
    .replace(IPV4, '[IP]')
    .replace(PHONE_LIKE, (match) => {
      if (ISO_DATE.test(match)) return match;
      const digits = match.replace(/\D/g, '').length;
      return digits >= 9 && digits <= 15 ? `[PHONE]${trailingSpace(match)}` : match;
    });
}

function labelTag(match: string): string {
  const lower = match.toLowerCase();
  if (lower.startsWith('nhs')) return '[NHS_NUMBER]';
  if (lower.startsWith('ssn')) return '[SSN]';
  if (lower.startsWith('insurance') || lower.startsWith('member')) return '[INSURANCE_ID]';
  return '[MRN]';
}

/** Keeps a whitespace the greedy digit run swallowed at its end. */
function trailingSpace(match: string): string {
  return /\s$/.test(match) ? ' ' : '';
}
