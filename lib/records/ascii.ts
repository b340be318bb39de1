/** ASCII codes the byte-level readers compare against (records/*.ts). */
export const CHAR_0 = 0x30;
export const CHAR_9 = 0x39;
export const CHAR_PLUS = 0x2b;
export const CHAR_DASH = 0x2d;
export const CHAR_DOT = 0x2e;
export const CHAR_COLON = 0x3a;
export const CHAR_LOWER_T = 0x74;
export const CHAR_LOWER_Z = 0x7a;
/** OR-ing this folds an ASCII upper-case letter to lower case (and leaves `t`/`z` as they are). */
export const LOWER_CASE_BIT = 0x20;
