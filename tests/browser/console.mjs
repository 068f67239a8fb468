// Drives the console at /ui in headless Chromium as a PM and an analyst would,
// and prints what its pages showed as one JSON document on stdout.
// tests/console_browser.rs starts Verdict on the demo data and runs this with
// BROWSER_SPEC:
//
//   { url, tokens: { pm, analyst }, screenshotDir, publish: { dir, shots: [NAME-WIDTH] } | null,
//     pages: [{ name, path }],        visited before the decision is recorded
//     decision: { experiment, outcome, rationale, links },
//     after: [{ name, path }] }       visited after it; `{id}` in a path is the new decision's id
//
// Sign-in goes through the login form. On every page (the login page too)
// axe-core runs and a full-page screenshot is taken at each of WIDTHS; the
// numbers are read from the pages' data attributes, the Rust side compares
// them with the API. The PM records `decision` through the form; the refusals
// (a form without its CSRF token, an analyst's post) are submitted from the
// pages themselves. With `publish`, the named screenshots are also written to
// `publish.dir` as 256-colour PNGs.
//
// Chromium is never downloaded: CHROMIUM or /usr/bin/chromium is launched
// once; the PM and the analyst each get their own browser context.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { launch } from './chromium.mjs';

const WIDTHS = [375, 1280];
const HEIGHT = 800;
/** Impacts that fail the test; the rest are reported only. */
const FAILING = new Set(['serious', 'critical']);

const spec = JSON.parse(process.env.BROWSER_SPEC ?? '');

/** Everything the console marks with data attributes on the open page. */
function readPage() {
  const value = (el) => (el ? el.getAttribute('data-value') : null);
  const all = (selector) => [...document.querySelectorAll(selector)];
  const one = (selector) => document.querySelector(selector);
  return {
    title: document.title,
    h1: one('h1')?.textContent.trim() ?? null,
    viewer: one('[data-testid=viewer]')?.textContent.trim() ?? null,
    experiments: all('tr[data-experiment]').map((row) => ({
      key: row.dataset.experiment,
      sla: value(row.querySelector('[data-testid=sla]')),
      recommendation: value(row.querySelector('[data-testid=recommendation]')),
    })),
    units: all('[data-testid=units]').map((el) => ({ arm: el.dataset.arm, value: value(el) })),
    comparisons: all('tr[data-testid=comparison]').map((row) => ({
      metric: row.dataset.metric,
      arm: row.dataset.arm,
      fields: Object.fromEntries([...row.querySelectorAll('[data-field]')].map((c) => [c.dataset.field, value(c)])),
    })),
    action: value(one('[data-testid=action]')),
    sla: value(one('[data-testid=sla]')),
    daysLeft: value(one('[data-testid=days-left]')),
    decisionForms: all('form[data-testid=decision-form]').length,
    slices: all('section.card h4').map((h) => h.textContent.trim()),
    decisions: all('tr[data-testid=decision]').map((row) => row.dataset.id),
    csv: one('[data-testid=csv]')?.getAttribute('href') ?? null,
    flags: all('[data-flag]').map((el) => el.dataset.flag),
    outcome: value(one('[data-testid=outcome]')),
    rationale: one('[data-testid=rationale]')?.textContent.trim() ?? null,
  };
}

/**
 * axe-core at the current width: every violation, by impact. Legacy mode runs
 * axe in the page itself instead of finishing in a new blank page each time
 * (the console has no frames), and only violations come back: a third of the
 * time.
 */
async function audit(tab, width) {
  const { violations } = await new AxeBuilder({ page: tab }).setLegacyMode(true).options({ resultTypes: ['violations'] }).analyze();
  return violations.map((v) => ({
    width,
    id: v.id,
    impact: v.impact,
    failing: FAILING.has(v.impact),
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
  }));
}

/** Axe and a full-page screenshot at each width, with the time each took. */
async function auditAndShoot(tab, name) {
  const violations = [];
  const shots = [];
  const ms = { axe: 0, screenshots: 0 };
  for (const width of WIDTHS) {
    await tab.setViewportSize({ width, height: HEIGHT });
    let started = performance.now();
    violations.push(...(await audit(tab, width)));
    ms.axe += performance.now() - started;
    started = performance.now();
    const file = join(spec.screenshotDir, `${name}-${width}.png`);
    await tab.screenshot({ path: file, fullPage: true });
    ms.screenshots += performance.now() - started;
    shots.push(file);
  }
  return { violations, shots, ms: { axe: Math.round(ms.axe), screenshots: Math.round(ms.screenshots) } };
}

/** Script errors and failed loads in `tab`, as they happen. */
function watchErrors(tab) {
  const errors = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  tab.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  tab.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  return errors;
}

/**
 * Opens `path` in `tab`, reads it, audits it and takes its screenshots; with
 * the errors `watchErrors` saw meanwhile.
 */
async function visit(tab, errors, name, path) {
  errors.splice(0);
  const response = await tab.goto(new URL(path, spec.url).href);
  const shown = await tab.evaluate(readPage);
  const checked = await auditAndShoot(tab, name);
  return { name, path, status: response.status(), url: tab.url(), ...shown, ...checked, errors: errors.splice(0) };
}

/** Signs in through the login form open in `tab`, landing on the experiments list. */
async function signIn(tab, token) {
  await tab.locator('#token').fill(token);
  await Promise.all([tab.waitForURL(new URL('/ui', spec.url).href), tab.getByRole('button', { name: 'Sign in' }).click()]);
}

/** What a POST was answered: its status, where it sent the browser on, the start of the page. */
async function answer(response) {
  const location = response.headers().location ?? null;
  const body = location === null ? (await response.text()).slice(0, 2000) : '';
  return { status: response.status(), location, body };
}

/** Submits the open decision form with `decision` and waits for the answer to the POST. */
async function submitDecision(tab, decision) {
  const form = tab.locator('form[data-testid=decision-form]');
  await form.locator('select[name=outcome]').selectOption(decision.outcome);
  await form.locator('textarea[name=rationale]').fill(decision.rationale);
  await form.locator('textarea[name=links]').fill(decision.links ?? '');
  const [response] = await Promise.all([
    tab.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/decisions')),
    form.getByRole('button', { name: 'Record decision' }).click(),
  ]);
  return answer(response);
}

/**
 * Posts `fields` to `path` from the open page through a form it adds (the
 * console's CSP allows no fetch, forms only to itself); the POST's answer.
 */
async function postFromPage(tab, path, fields) {
  const [response] = await Promise.all([
    tab.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path),
    tab.evaluate(
      ([path, fields]) => {
        const form = Object.assign(document.createElement('form'), { method: 'post', action: path });
        for (const [name, value] of Object.entries(fields)) {
          form.append(Object.assign(document.createElement('input'), { type: 'hidden', name, value }));
        }
        document.body.append(form);
        form.submit();
      },
      [path, fields],
    ),
  ]);
  return answer(response);
}

/** GETs `path` with the tab's cookies (the CSV export link's target: a download, not a page). */
async function download(tab, path) {
  const res = await tab.context().request.get(new URL(path, spec.url).href);
  return { status: res.status(), type: res.headers()['content-type'] ?? null, body: await res.text() };
}

async function asPm(browser) {
  const context = await browser.newContext({ viewport: { width: WIDTHS.at(-1), height: HEIGHT } });
  const tab = await context.newPage();
  const errors = watchErrors(tab);
  const pages = [await visit(tab, errors, 'login', '/ui/login')];
  await signIn(tab, spec.tokens.pm);
  for (const page of spec.pages) pages.push(await visit(tab, errors, page.name, page.path));

  const { experiment } = spec.decision;
  const formPath = `/ui/experiments/${experiment}`;
  await tab.goto(new URL(formPath, spec.url).href);
  await tab.locator('form[data-testid=decision-form] input[name=csrf]').evaluate((input) => input.remove());
  const withoutCsrf = await submitDecision(tab, { ...spec.decision, rationale: `${spec.decision.rationale} (no CSRF token)` });

  await tab.goto(new URL(formPath, spec.url).href);
  const recorded = await submitDecision(tab, spec.decision);
  const id = recorded.location?.match(/^\/ui\/decisions\/(\d+)$/)?.[1] ?? null;
  for (const page of spec.after) pages.push(await visit(tab, errors, page.name, page.path.replace('{id}', id)));
  const log = pages.find((p) => p.csv !== null);
  const csv = log ? await download(tab, log.csv) : null;
  await context.close();
  return { pages, withoutCsrf, recorded: { ...recorded, id }, csv };
}

async function asAnalyst(browser) {
  const context = await browser.newContext({ viewport: { width: WIDTHS.at(-1), height: HEIGHT } });
  const tab = await context.newPage();
  await tab.goto(new URL('/ui/login', spec.url).href);
  await signIn(tab, spec.tokens.analyst);
  const { experiment, outcome, rationale } = spec.decision;
  await tab.goto(new URL(`/ui/experiments/${experiment}`, spec.url).href);
  const shown = await tab.evaluate(readPage);
  const csrf = await tab.locator('input[name=csrf]').first().inputValue();
  const cookie = (await context.cookies()).find((c) => c.name === 'verdict_csrf')?.value ?? null;
  const post = await postFromPage(tab, `/ui/experiments/${experiment}/decisions`, {
    csrf,
    outcome,
    variant: '',
    rationale: `${rationale} (analyst)`,
    links: '',
  });
  await context.close();
  return { viewer: shown.viewer, decisionForms: shown.decisionForms, csrf, cookie, post };
}

/**
 * Copies the README's screenshots into the repository, as 256-colour PNGs (a
 * third of the size, and text stays sharp). sharp is loaded only for this.
 */
async function publish({ dir, shots }) {
  const { default: sharp } = await import('sharp');
  mkdirSync(dir, { recursive: true });
  const written = [];
  for (const shot of shots) {
    const target = join(dir, `${shot}.png`);
    await sharp(join(spec.screenshotDir, `${shot}.png`))
      .png({ palette: true, quality: 80, compressionLevel: 9, effort: 10 })
      .toFile(target);
    written.push(target);
  }
  return written;
}

const started = performance.now();
mkdirSync(spec.screenshotDir, { recursive: true });
const browser = await launch();
const launched = performance.now();
try {
  const pm = await asPm(browser);
  const analyst = await asAnalyst(browser);
  const published = spec.publish ? await publish(spec.publish) : [];
  const done = performance.now();
  const ms = (a, b) => Math.round(b - a);
  process.stdout.write(
    `${JSON.stringify({
      browser: browser.version(),
      pm,
      analyst,
      published,
      ms: {
        launch: ms(started, launched),
        run: ms(launched, done),
        axe: pm.pages.reduce((sum, p) => sum + p.ms.axe, 0),
        screenshots: pm.pages.reduce((sum, p) => sum + p.ms.screenshots, 0),
      },
    })}\n`,
  );
} finally {
  await browser.close();
}
