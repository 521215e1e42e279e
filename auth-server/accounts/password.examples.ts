/** Type-checked examples for password.ts (its JSDoc shows these regions). */
import { hashPassword, verifyPassword } from './password.ts';

export async function hashPasswordExample() {
  //#region hashPassword
  const stored = await hashPassword('correct horse battery staple');
  // 'scrypt$N=16384,r=8,p=1$…$…'
  //#endregion hashPassword
}

export async function verifyPasswordExample(typed: string, row: { password_hash: string } | undefined) {
  //#region verifyPassword
  const ok = await verifyPassword(typed, row?.password_hash); // false for an unknown user too, after the same work
  //#endregion verifyPassword
}
