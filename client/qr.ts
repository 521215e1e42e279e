import QRCode from 'qrcode';
import type { Parsed } from './args.ts';

/**
 * A QR code of `text` for a terminal: half-height blocks (two modules per line, so it fits beside
 * the prompt) drawn black on white with ANSI colours, so it scans on dark and light themes alike.
 * Low error correction keeps it small: it is read off a screen, not a scuffed label.
 * Deterministic: the same text gives the same block.
 */
export function terminalQr(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
}

/**
 * Whether the device flow prints a QR code: never with --json (the output is for a program),
 * --qr / --no-qr decide, else only when stderr is a terminal (in a log file it is noise).
 */
export function wantsQr(parsed: Pick<Parsed, 'json' | 'qr'>, stderrIsTty: boolean): boolean {
  if (parsed.json) return false;
  return parsed.qr ?? stderrIsTty;
}
