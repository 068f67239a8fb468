// Runs page.js in headless Chromium as several Telegram Mini App launches and
// prints what each page saw as one JSON document on stdout. tests/browser.rs
// starts Verdict and the page's origins, then runs this with BROWSER_SPEC:
//
//   { verdictUrl, botToken, outDir,
//     pages: [{ name, origin, user: { id, first_name, ... }, initData, eventId, forgedUnit, claimAs? }],
//     example: { origin, user, positions } }
//
// `initData` is "valid" (signed now), "expired" (signed two days ago) or
// "tampered" (signed, then `user.id` changed to `claimAs`). Signing is
// @telegram-apps/init-data-node's, independent of the Rust verifier.
//
// `example` also opens examples/miniapp as Telegram would (its
// telegram-web-app.js answered by a stand-in carrying the initData and a
// theme), waits for its greeting, imports `positions` through its form.
//
// Chromium is never downloaded: CHROMIUM or /usr/bin/chromium is launched once,
// each page gets its own browser context (nothing shared between launches).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launch } from './chromium.mjs';
import { sign } from '@telegram-apps/init-data-node';

const DAY_MS = 86_400_000;
const RESULT_TIMEOUT_MS = 30_000;
const TELEGRAM_SCRIPT = 'https://telegram.org/js/telegram-web-app.js';
const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/miniapp/', import.meta.url));
/** The stand-in's theme (Telegram's dark defaults); the example must apply it. */
const THEME = { bg_color: '#17212b', text_color: '#f5f5f5', hint_color: '#708499', button_color: '#5288c1' };

const spec = JSON.parse(process.env.BROWSER_SPEC ?? '');

function initData(page) {
  const data = { query_id: `AAH${page.user.id}`, user: page.user, chat_type: 'sender' };
  switch (page.initData) {
    case 'valid':
      return sign(data, spec.botToken, new Date());
    case 'expired':
      return sign(data, spec.botToken, new Date(Date.now() - 2 * DAY_MS));
    case 'tampered': {
      const params = new URLSearchParams(sign(data, spec.botToken, new Date()));
      params.set('user', JSON.stringify({ ...page.user, id: page.claimAs }));
      return params.toString();
    }
    default:
      throw new Error(`unknown initData kind ${page.initData}`);
  }
}

async function bundle() {
  const options = { bundle: true, format: 'esm', platform: 'browser', target: 'es2020', logLevel: 'error' };
  await build({ ...options, entryPoints: [fileURLToPath(new URL('./page.js', import.meta.url))], outfile: join(spec.outDir, 'page.js') });
  // The example's own packages are the same versions as ours: resolve them here.
  await build({
    ...options,
    entryPoints: [join(EXAMPLE_DIR, 'app.js')],
    outfile: join(spec.outDir, 'example', 'dist', 'app.js'),
    nodePaths: [fileURLToPath(new URL('./node_modules', import.meta.url))],
  });
  const html = readFileSync(join(EXAMPLE_DIR, 'index.html'), 'utf8');
  const pointed = html.replace(/(<meta name="verdict-url" content=")[^"]*/, `$1${spec.verdictUrl}`);
  if (pointed === html) throw new Error('examples/miniapp/index.html has no verdict-url meta tag');
  mkdirSync(join(spec.outDir, 'example'), { recursive: true });
  writeFileSync(join(spec.outDir, 'example', 'index.html'), pointed);
  writeFileSync(
    join(spec.outDir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>Verdict Mini App test</title><link rel="icon" href="data:,"></head>' +
      '<body><script type="module" src="page.js"></script></body></html>\n',
  );
}

/** Opens one launch of the page and collects what it and the network did. */
async function visit(browser, page) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const verdict = new URL(spec.verdictUrl).origin;
  const consoleMessages = [];
  const responses = [];
  const failures = [];
  tab.on('console', (m) => consoleMessages.push({ type: m.type(), text: m.text() }));
  tab.on('pageerror', (e) => consoleMessages.push({ type: 'pageerror', text: String(e) }));
  tab.on('response', async (r) => {
    const url = new URL(r.url());
    if (url.origin !== verdict) return;
    const ifNoneMatch = await r.request().headerValue('if-none-match');
    responses.push({ method: r.request().method(), path: url.pathname, status: r.status(), ifNoneMatch });
  });
  tab.on('requestfailed', (r) => {
    const url = new URL(r.url());
    if (url.origin !== verdict) return;
    failures.push({ method: r.method(), path: url.pathname, error: r.failure()?.errorText ?? null });
  });
  const telegram = { initData: initData(page) };
  const config = { verdictUrl: spec.verdictUrl, eventId: page.eventId, forgedUnit: page.forgedUnit };
  await tab.addInitScript(
    ([telegram, config]) => {
      window.Telegram = { WebApp: telegram };
      window.__verdict = config;
    },
    [telegram, config],
  );
  await tab.goto(`${page.origin}/index.html`);
  await tab.waitForFunction(() => window.__result !== undefined, null, { timeout: RESULT_TIMEOUT_MS });
  const result = await tab.evaluate(() => window.__result);
  await context.close();
  return { name: page.name, result, console: consoleMessages, responses, failures };
}

/** Opens examples/miniapp as Telegram would, imports a portfolio through its form. */
async function visitExample(browser, example) {
  const context = await browser.newContext();
  const webApp = {
    initData: initData({ ...example, initData: 'valid' }),
    initDataUnsafe: { user: example.user },
    platform: 'tdesktop',
    version: '8.0',
    colorScheme: 'dark',
    themeParams: THEME,
  };
  const stub =
    `window.Telegram = { WebApp: Object.assign(${JSON.stringify(webApp)}, ` +
    '{ ready() { this.readied = true; }, expand() {}, onEvent() {} }) };';
  await context.route(TELEGRAM_SCRIPT, (route) => route.fulfill({ contentType: 'text/javascript', body: stub }));
  const tab = await context.newPage();
  const errors = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  tab.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const status = () => tab.locator('#status').textContent();
  await tab.goto(`${example.origin}/example/index.html`);
  await tab.locator('#status').filter({ hasText: /\S/ }).waitFor({ timeout: RESULT_TIMEOUT_MS });
  const greeting = await status();
  const hint = await tab.locator('#hint').textContent();
  const digestLayout = await tab.locator('#digest').getAttribute('class');
  const background = await tab.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const readied = await tab.evaluate(() => window.Telegram.WebApp.readied === true);
  await tab.locator('#positions').fill(example.positions);
  await tab.getByRole('button', { name: 'Import' }).click();
  await tab.locator('#status').filter({ hasNotText: greeting }).waitFor({ timeout: RESULT_TIMEOUT_MS });
  const imported = await status();
  await context.close();
  return { greeting, hint, digestLayout, background, readied, imported, errors };
}

const started = performance.now();
await bundle();
const bundled = performance.now();
const browser = await launch();
const launched = performance.now();
try {
  const [example, ...pages] = await Promise.all([
    visitExample(browser, spec.example),
    ...spec.pages.map((page) => visit(browser, page)),
  ]);
  const done = performance.now();
  const ms = (a, b) => Math.round(b - a);
  process.stdout.write(
    `${JSON.stringify({
      browser: browser.version(),
      pages,
      example,
      ms: { bundle: ms(started, bundled), launch: ms(bundled, launched), pages: ms(launched, done) },
    })}\n`,
  );
} finally {
  await browser.close();
}
