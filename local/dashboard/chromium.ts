import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * A headless Chromium: CHROMIUM_PATH, else a system Chromium (Debian's), else the one that ships
 * inside the @sparticuz/chromium npm package (unpacked to /tmp on first use), so a machine with no
 * browser installed runs the console's tests and its screenshot. Playwright's own download is not
 * used.
 */
export async function launchChromium(): Promise<Browser> {
  const system = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  let path = system;
  let args: string[] = [];
  if (!existsSync(system)) {
    const packaged = (await import('@sparticuz/chromium')).default;
    path = await packaged.executablePath();
    args = packaged.args;
  }
  return chromium.launch({
    executablePath: path,
    // A POSIX locale (LANG=C, common on servers and in CI) becomes the tag `en-US@posix`, which the
    // packaged Chromium's Intl refuses: a page's scripts (the charts' date formatting) then fail.
    env: { ...process.env, LANG: 'en_US.UTF-8', LC_ALL: 'en_US.UTF-8' },
    args: [
      '--lang=en-US',
      ...args,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
