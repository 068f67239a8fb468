// The page tests/browser.rs opens in Chromium: what a Mini App does on launch.
// It reads initData where Telegram puts it (`Telegram.WebApp.initData`, set by
// run.mjs before the page loads), evaluates `import_hint` and `digest_layout`
// through the official OpenFeature web SDK and OFREP web provider with
// `Authorization: tma <initData>`, revalidates them (If-None-Match from the
// cross-origin ETag), posts one event claiming another user's `unit_id`, and
// leaves what happened in `window.__result` for the runner.
import { OpenFeature } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

/** What the page falls back to; no variant of the flags has this value. */
const FALLBACK = 'fallback';
const FLAGS = ['import_hint', 'digest_layout'];

const { verdictUrl, eventId, forgedUnit } = window.__verdict;
const initData = window.Telegram.WebApp.initData;

function details(client, key) {
  const d = client.getStringDetails(key, FALLBACK);
  return { value: d.value, variant: d.variant ?? null, reason: d.reason, errorCode: d.errorCode ?? null };
}

async function postEvent() {
  try {
    const res = await fetch(`${verdictUrl}/api/v1/events`, {
      method: 'POST',
      headers: { Authorization: `tma ${initData}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        events: [{ event_id: eventId, unit_id: forgedUnit, name: 'miniapp_auth', timestamp: new Date().toISOString() }],
      }),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  } catch (error) {
    return { error: String(error) };
  }
}

async function main() {
  const provider = new OFREPWebProvider({
    baseUrl: verdictUrl,
    headersFactory: () => [['Authorization', `tma ${initData}`]],
    // Each page is a fresh launch: no persisted flags, no background refresh.
    cacheMode: 'disabled',
    changeDetection: 'none',
    disableVisibilityRefresh: true,
  });
  let setupError = null;
  try {
    // A page may claim any targeting key; the verified user replaces it.
    await OpenFeature.setProviderAndWait(provider, { targetingKey: forgedUnit });
  } catch (error) {
    setupError = String(error);
  }
  const client = OpenFeature.getClient();
  const flags = Object.fromEntries(FLAGS.map((key) => [key, details(client, key)]));
  let revalidated = null;
  if (setupError === null) {
    // Same context again: the provider sends the ETag it read cross-origin.
    await OpenFeature.setContext({ targetingKey: forgedUnit });
    revalidated = Object.fromEntries(FLAGS.map((key) => [key, details(client, key)]));
  }
  const event = await postEvent();
  window.__result = { setupError, providerStatus: client.providerStatus, flags, revalidated, event };
}

main().catch((error) => {
  window.__result = { crashed: String(error?.stack ?? error) };
});
