/** The enrolment code alphabet (no 0/O, 1/I): 15 characters in groups of five. */
export const ENROLL_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** How long an enrolment code is, without its dashes. */
export const ENROLL_CODE_LENGTH = 15;

const WHAT_A_CODE_IS =
  'an enrolment code is 15 of the letters A-Z except I and O and the digits 2-9, in groups of five like ABCDE-FGHJK-LMNPQ';

/**
 * A code as typed (any letter case, spaces or dashes anywhere) in its canonical form `XXXXX-XXXXX-XXXXX`,
 * or why it cannot be a code at all. Never echoes the code: it is a credential.
 */
export function parseEnrollCode(typed: string): { ok: true; code: string } | { ok: false; message: string } {
  const chars = [...typed.toUpperCase().replace(/[\s-]/g, '')];
  const wrong = [...new Set(chars.filter((c) => !ENROLL_CODE_ALPHABET.includes(c)))];
  if (wrong.length > 0) {
    const shown = wrong.slice(0, 5).map((c) => JSON.stringify(c));
    const list = shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
    return {
      ok: false,
      message: `not an enrolment code: it contains ${list}, which no enrolment code has (${WHAT_A_CODE_IS})`,
    };
  }
  if (chars.length !== ENROLL_CODE_LENGTH) {
    return {
      ok: false,
      message: `not an enrolment code: it has ${chars.length} letters and digits, an enrolment code has ${ENROLL_CODE_LENGTH} (${WHAT_A_CODE_IS})`,
    };
  }
  const s = chars.join('');
  return { ok: true, code: `${s.slice(0, 5)}-${s.slice(5, 10)}-${s.slice(10)}` };
}
