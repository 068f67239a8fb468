// A Telegram Mini App reading its copy from Verdict experiments.
//
// Telegram's telegram-web-app.js (loaded by index.html) gives the launch's
// signed initData and the user's theme. initData is the page's only
// credential: Verdict verifies it and evaluates for the Telegram user it
// names, so the page needs no token and cannot pick another user's variant.
// Flags come through the official OpenFeature web SDK and OFREP provider;
// events go to POST /api/v1/events under the same identity.
import { OpenFeature } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

// Built-in copy (the control arms), shown whenever Verdict cannot answer.
const DEFAULT_HINT = 'Send one position per line, e.g. `BTC 0.25`.';
const DEFAULT_LAYOUT = 'compact';
const SAMPLE_DIGEST = [
  ['BTC', '+2.1%'],
  ['ETH', '−0.4%'],
  ['TON', '+5.3%'],
];
const POSITION = /^([A-Za-z0-9]{1,10})[\s:;]+(\d+(?:[.,]\d+)?)$/;

const tg = window.Telegram?.WebApp;
const verdictUrl = document.querySelector('meta[name="verdict-url"]').content;
const $ = (id) => document.getElementById(id);

/** Telegram's theme as this page's CSS variables; Telegram re-sends it on a change. */
function applyTheme() {
  const theme = tg.themeParams ?? {};
  for (const [param, variable] of [
    ['bg_color', '--bg'],
    ['text_color', '--text'],
    ['hint_color', '--hint'],
    ['button_color', '--button'],
    ['button_text_color', '--button-text'],
    ['secondary_bg_color', '--secondary-bg'],
  ]) {
    if (theme[param]) document.documentElement.style.setProperty(variable, theme[param]);
  }
}

async function track(name, value, properties) {
  const res = await fetch(`${verdictUrl}/api/v1/events`, {
    method: 'POST',
    headers: { Authorization: `tma ${tg.initData}`, 'Content-Type': 'application/json' },
    // No unit_id: Verdict records the verified Telegram user.
    body: JSON.stringify({
      events: [{ event_id: crypto.randomUUID(), name, timestamp: new Date().toISOString(), value, properties }],
    }),
  });
  if (!res.ok) throw new Error(`Verdict refused ${name}: HTTP ${res.status}`);
}

function renderDigest(layout) {
  const list = $('digest');
  list.className = layout === 'cards' ? 'cards' : 'compact';
  list.replaceChildren(
    ...SAMPLE_DIGEST.map(([symbol, change]) => {
      const item = document.createElement('li');
      item.textContent = `${symbol} ${change}`;
      return item;
    }),
  );
}

/** `SYMBOL AMOUNT` per non-empty line, as the bot's /import reads it. */
function parsePositions(text) {
  const lines = text.split('\n').map((l) => l.trim());
  const positions = [];
  for (const [i, line] of lines.entries()) {
    if (!line) continue;
    const match = POSITION.exec(line);
    if (!match) return { error: 'bad_line', message: `Line ${i + 1} is not SYMBOL AMOUNT.` };
    positions.push({ symbol: match[1].toUpperCase(), amount: Number(match[2].replace(',', '.')) });
  }
  return positions.length ? { positions } : { error: 'empty', message: 'Nothing to import.' };
}

async function onImport(event) {
  event.preventDefault();
  const parsed = parsePositions($('positions').value);
  try {
    if (parsed.error) {
      await track('portfolio_import', undefined, { success: false, error: parsed.error });
      $('status').textContent = parsed.message;
      return;
    }
    const n = parsed.positions.length;
    await track('portfolio_import', n, { success: true, positions: n });
    $('status').textContent = `Imported ${n} position${n === 1 ? '' : 's'}.`;
  } catch (error) {
    $('status').textContent = String(error.message);
  }
}

async function main() {
  if (!tg?.initData) {
    $('status').textContent = "Open this page from the bot's /app button in Telegram.";
    return;
  }
  tg.ready();
  tg.expand();
  applyTheme();
  tg.onEvent('themeChanged', applyTheme);

  const provider = new OFREPWebProvider({
    baseUrl: verdictUrl,
    headersFactory: () => [['Authorization', `tma ${tg.initData}`]],
    // initData changes every launch, so an entry persisted under it would never be read again.
    cacheMode: 'disabled',
  });
  // On any failure the client serves the defaults below, which is what the user should see.
  await OpenFeature.setProviderAndWait(provider).catch(() => {});
  const flags = OpenFeature.getClient();
  $('hint').textContent = flags.getStringValue('import_hint', DEFAULT_HINT);
  renderDigest(flags.getStringValue('digest_layout', DEFAULT_LAYOUT));
  $('import').addEventListener('submit', onImport);

  const name = tg.initDataUnsafe?.user?.first_name ?? 'there';
  try {
    await track('miniapp_auth', undefined, { platform: tg.platform, version: tg.version });
    $('status').textContent = `Hi, ${name}!`;
  } catch (error) {
    $('status').textContent = String(error.message);
  }
}

main();
