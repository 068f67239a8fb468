// The one Chromium the runners launch: CHROMIUM or Debian's /usr/bin/chromium,
// never a browser Playwright downloads; no sandbox (CI runs as root) and no
// proxy (the service is on 127.0.0.1).
import { chromium } from 'playwright-core';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--no-proxy-server'],
  });
}
