/**
 * Blanking secrets out of text bound for an error message, a log line or the API: the values the
 * caller knows (passwords, keys, an Authorization header), and anything shaped like a credential a
 * storage SDK or a proxy may quote back (SAS signature parameters, account keys, signed headers).
 */

const MASK = '***'

/**
 * Secrets shorter than this are left alone: blanking every "ab" would wreck the message and hide
 * nothing worth hiding.
 */
const MIN_SECRET_LENGTH = 3

/** Removes every occurrence of each secret, and anything shaped like a SAS signature or key. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text
  for (const s of secrets) if (s && s.length >= MIN_SECRET_LENGTH) out = out.split(s).join(MASK)
  return out
    .replace(/([?&](?:sig|se|sv|sp|st|spr|srt|ss|sr|skoid|sktid|skt|ske|sks|skv)=)[^&\s'"]*/gi, `$1${MASK}`)
    .replace(/(AccountKey|SharedAccessSignature|SecretAccessKey)=[^;\s'"]*/gi, `$1=${MASK}`)
    .replace(/(Authorization:?\s*)(SharedKey|AWS4-HMAC-SHA256|Bearer)\s+[^\s'"]+/gi, `$1$2 ${MASK}`)
}
