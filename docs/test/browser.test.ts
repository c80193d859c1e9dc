/**
 * The built site in a real browser: Debian's Chromium, driven by playwright-core. Every page of
 * the sidebar and the nav must render its title, its code blocks and its diagrams with no error in
 * the console.
 *
 * Layout, at 1280x800 (a laptop) and at 390x844 (a phone), for the home page and every page of the
 * sidebar and the nav: the page never scrolls sideways (a failure names the element that sticks
 * out), every diagram (a hand-written SVG in <figure class="diagram">; the site has no mermaid, so
 * nothing is drawn late that the test would have to wait for) lies inside the content column, and
 * at 1280 no diagram's text is drawn smaller than 11 px. The page with the most diagrams is also
 * checked in dark mode, switched by the site's own toggle. A case injects a too-wide element into
 * a real page and expects the check to name it, so the check is known to be able to fail.
 *
 * Every page is saved as a full-page screenshot at both widths in
 * test-results/screenshots/<page>-<width>.png (and <page>-<width>-dark.png for the dark one).
 * test-results/ is git-ignored: CI keeps the screenshots as artifacts of the run.
 *
 * One browser, one context per width, one tab per context reused for every page.
 *
 * The site is served from docs/.vitepress/dist by a small static server of the test's own. CI runs
 * `pnpm test` before `pnpm docs:build`, so when dist is missing or older than a page, the config or
 * a source file a page imports, the test runs `pnpm docs:build` itself first. If that fails, or
 * leaves no dist, the test fails and says so: it never skips.
 */
// The functions given to page.evaluate run in the browser, on its DOM.
/// <reference lib="dom" />
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config from '../.vitepress/config.ts';

const DOCS = fileURLToPath(new URL('..', import.meta.url));
const REPO = join(DOCS, '..');
const DIST = join(DOCS, '.vitepress', 'dist');
const SHOTS = join(REPO, 'test-results');
const CHROMIUM = '/usr/bin/chromium';
/** As the machine's notes give them: without the background-networking ones, Chromium keeps
 * trying to reach Google's hosts from a machine with no network. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// --- which pages, and what each should show -------------------------------------------------

/** Every internal link of the sidebar and the nav, in order, without duplicates. */
function configLinks(): string[] {
  const links: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const { link, items } = node as { link?: unknown; items?: unknown };
      if (typeof link === 'string' && link.startsWith('/') && !links.includes(link)) links.push(link);
      walk(items);
      // A sidebar may also be an object of path prefix -> sidebar.
      if (!('link' in node) && !('items' in node) && !('text' in node)) Object.values(node).forEach(walk);
    }
  };
  walk(config.themeConfig?.sidebar);
  walk(config.themeConfig?.nav);
  return links;
}

const sourceOf = (link: string): string =>
  join(DOCS, link === '/' ? 'index.md' : `${link.replace(/^\//, '').replace(/\/$/, '/index')}.md`);

/** The text of the page's first `# ` heading, as it should read in the browser. */
function expectedTitle(markdown: string): string | null {
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^(```|~~~)/.test(line)) inFence = !inFence;
    const heading = !inFence && /^# (.+)$/.exec(line);
    if (heading)
      return (heading[1] as string)
        .replace(/\s*\{#[^}]*\}\s*$/, '')
        .replaceAll('`', '')
        .trim();
  }
  return null;
}

interface PageCheck {
  link: string;
  title: string | null;
  hasCode: boolean;
  /** Hand-written SVG diagrams: `<figure class="diagram">` in the markdown. */
  diagrams: number;
}

function pageCheck(link: string): PageCheck {
  const markdown = readFileSync(sourceOf(link), 'utf8');
  return {
    link,
    title: expectedTitle(markdown),
    hasCode: /^(```|~~~|<<< )/m.test(markdown),
    diagrams: (markdown.match(/<figure class="diagram">/g) ?? []).length,
  };
}

const links = configLinks();
const pages = links.map(pageCheck);
/** The layout is checked on the home page too. */
const layoutPages = [pageCheck('/'), ...pages.filter((check) => check.link !== '/')];

// --- the build, only when needed ------------------------------------------------------------

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'cache') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return /\.(md|ts|mts|vue|css)$/.test(entry.name) && !path.startsWith(join(DOCS, 'test')) ? [path] : [];
  });
}

/** The files the site is built from: its pages, its config and theme, and the code they import. */
function siteSources(): string[] {
  const own = markdownFiles(DOCS);
  const imported = own
    .filter((file) => file.endsWith('.md'))
    .flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^<<< @\/(\S+?)(?:#[\w-]+)?(?:\{[^}]*\})?\s*$/gm)].map((match) =>
        join(DOCS, match[1] as string),
      ),
    );
  return [...own, ...imported].filter((file) => existsSync(file));
}

function staleBecause(): string | null {
  const built = join(DIST, 'index.html');
  if (!existsSync(built)) return `${relative(REPO, built)} does not exist`;
  const builtAt = statSync(built).mtimeMs;
  const newer = siteSources().find((file) => statSync(file).mtimeMs > builtAt);
  return newer ? `${relative(REPO, newer)} changed after the last build` : null;
}

function buildSite(reason: string): Promise<void> {
  process.stderr.write(`docs browser test: building the site first (${reason}): pnpm docs:build\n`);
  return new Promise((resolve, reject) => {
    const build = spawn('pnpm', ['docs:build'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    build.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    build.stderr.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    build.once('error', (error) =>
      reject(new Error(`cannot run pnpm docs:build (${error.message}): run pnpm docs:build first`)),
    );
    build.once('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(`pnpm docs:build failed (exit ${code}); fix the site, then run pnpm docs:build first:\n${output}`),
        );
    });
  });
}

// --- a static server for dist, with VitePress's clean URLs ----------------------------------

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

function serveDist(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const base = normalize(join(DIST, path));
    const candidates = path.endsWith('/') ? [join(base, 'index.html')] : [base, `${base}.html`];
    const file = candidates.find(
      (candidate) => (candidate + sep).startsWith(DIST + sep) && existsSync(candidate) && statSync(candidate).isFile(),
    );
    if (!file && path === '/favicon.ico') {
      // The site has no favicon; Chromium asks for one anyway, and a 404 would show as a console error.
      response.writeHead(204);
      response.end();
      return;
    }
    if (!file) {
      response.writeHead(404, { 'content-type': TYPES['.html'] });
      response.end(existsSync(join(DIST, '404.html')) ? readFileSync(join(DIST, '404.html')) : 'not found');
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// --- the browser ------------------------------------------------------------------------------

const WIDTHS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;
type Width = (typeof WIDTHS)[number]['width'];
/** Below this, a diagram's text is too small to read at the laptop width. */
const MIN_TEXT_PX = 11;
const DIAGRAMS = 'figure.diagram svg';

let server: Server | undefined;
let browser: Browser | undefined;
const contexts = new Map<Width, BrowserContext>();
/** One tab per width, reused for every page. */
const tabs = new Map<Width, { page: Page; problems: string[] }>();
let origin = '';
/** Why the site or the browser is not there: every test that needs them fails with it. */
let setupError: Error | undefined;

/** Problems the browser reports while a page loads: console errors, page errors, failed requests. */
function watch(page: Page, problems: string[]): void {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // The tab is reused: going to the next page aborts the prefetches VitePress started for links
    // of the last one. A file that is really missing answers 404, which is caught below.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${request.url()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && response.url().startsWith(origin))
      problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
}

/** The width's tab, at `link`, with the problems reported since it started loading. */
async function open(link: string, width: Width = 1280): Promise<{ page: Page; problems: () => string[] }> {
  if (setupError) throw setupError;
  const tab = tabs.get(width);
  if (!tab) throw new Error(`the browser did not start a ${width} px tab`);
  tab.problems.length = 0;
  const response = await tab.page.goto(origin + link, { waitUntil: 'networkidle' });
  expect(response?.status(), `HTTP status of ${link}`).toBe(200);
  return { page: tab.page, problems: () => [...tab.problems] };
}

const visibleText = async (page: Page, selector: string): Promise<string> =>
  ((await page.locator(selector).first().textContent()) ?? '').replaceAll('\u200b', '').replace(/\s+/g, ' ').trim();

/**
 * Whether the page scrolls sideways, and if so which element makes it: of the elements whose right
 * edge passes the window and that no scrolling or clipping box around them holds in (a code
 * block scrolls inside itself), the widest.
 */
function sidewaysScroll(): string | null {
  const scrollWidth = document.documentElement.scrollWidth;
  const viewport = window.innerWidth;
  if (scrollWidth <= viewport) return null;
  const clippedByAncestor = (element: Element): boolean => {
    for (let parent = element.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
      const overflow = getComputedStyle(parent).overflowX;
      if (overflow !== 'visible' && parent.getBoundingClientRect().right <= viewport) return true;
    }
    return false;
  };
  const describe = (element: Element): string => {
    const id = element.id ? `#${element.id}` : '';
    const classes = [...element.classList]
      .slice(0, 3)
      .map((name) => `.${name}`)
      .join('');
    const text = (element.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 60);
    const rect = element.getBoundingClientRect();
    return `<${element.tagName.toLowerCase()}${id}${classes}> ${Math.round(rect.width)} px wide, right edge at ${Math.round(rect.right)} px${text ? `: "${text}"` : ''}`;
  };
  let widest: Element | null = null;
  for (const element of document.body.querySelectorAll('*')) {
    const rect = element.getBoundingClientRect();
    if (rect.right <= viewport + 0.5 || rect.width === 0 || clippedByAncestor(element)) continue;
    if (!widest || rect.width > widest.getBoundingClientRect().width) widest = element;
  }
  return `the page is ${scrollWidth} px wide in a ${viewport} px window; ${widest ? `widest element past the edge: ${describe(widest)}` : 'no element found past the edge'}`;
}

interface DiagramBox {
  index: number;
  left: number;
  right: number;
  height: number;
  /** The smallest text in it, in px as drawn on the screen. */
  smallestText: number;
  smallestTextSample: string;
}

/** Where each diagram is drawn, where the content column is, and how small its text gets. */
function diagramBoxes(selector: string): { column: { left: number; right: number }; diagrams: DiagramBox[] } {
  const columnElement = document.querySelector('.vp-doc') ?? document.querySelector('.VPHome') ?? document.body;
  const column = columnElement.getBoundingClientRect();
  const diagrams = [...document.querySelectorAll<SVGSVGElement>(selector)].map((svg, index) => {
    const rect = svg.getBoundingClientRect();
    const viewBox = svg.viewBox.baseVal;
    // A viewBox scales everything inside the svg, the font sizes too.
    const scale = viewBox && viewBox.width > 0 ? rect.width / viewBox.width : 1;
    let smallestText = Number.POSITIVE_INFINITY;
    let smallestTextSample = '';
    for (const element of svg.querySelectorAll('text, tspan, foreignObject *')) {
      const ownText = [...element.childNodes]
        .filter((node) => node.nodeType === Node.TEXT_NODE)
        .map((node) => node.textContent ?? '')
        .join('')
        .trim();
      if (!ownText) continue;
      const size = Number.parseFloat(getComputedStyle(element).fontSize) * scale;
      if (size < smallestText) {
        smallestText = size;
        smallestTextSample = ownText.slice(0, 40);
      }
    }
    return {
      index,
      left: rect.left,
      right: rect.right,
      height: rect.height,
      smallestText,
      smallestTextSample,
    };
  });
  return { column: { left: column.left, right: column.right }, diagrams };
}

/** The layout checks of one page, in the tab of one width: the failures, as sentences. */
async function layoutProblems(page: Page, check: PageCheck, width: Width): Promise<string[]> {
  const problems: string[] = [];
  const sideways = await page.evaluate(sidewaysScroll);
  if (sideways) problems.push(`${check.link} at ${width} px: ${sideways}`);
  const { column, diagrams } = await page.evaluate(diagramBoxes, DIAGRAMS);
  if (diagrams.length !== check.diagrams)
    problems.push(`${check.link}: ${diagrams.length} diagrams drawn, ${check.diagrams} in the markdown`);
  for (const diagram of diagrams) {
    const name = `${check.link} at ${width} px, diagram ${diagram.index + 1}`;
    if (diagram.left < column.left - 0.5 || diagram.right > column.right + 0.5)
      problems.push(
        `${name}: spans ${Math.round(diagram.left)}-${Math.round(diagram.right)} px, outside the content column ${Math.round(column.left)}-${Math.round(column.right)} px`,
      );
    if (diagram.height < 60) problems.push(`${name}: only ${Math.round(diagram.height)} px high`);
    if (width === 1280 && diagram.smallestText < MIN_TEXT_PX)
      problems.push(
        `${name}: text drawn at ${diagram.smallestText.toFixed(1)} px ("${diagram.smallestTextSample}"), below ${MIN_TEXT_PX} px`,
      );
  }
  return problems;
}

const screenshotName = (link: string, width: Width, suffix = ''): string =>
  join(
    SHOTS,
    'screenshots',
    `${link === '/' ? 'index' : link.replace(/^\//, '').replaceAll('/', '-')}-${width}${suffix}.png`,
  );

/** The site's own light/dark switch (VitePress puts the class "dark" on <html>). */
async function toggleAppearance(page: Page): Promise<void> {
  const before = await page.evaluate(() => document.documentElement.classList.contains('dark'));
  await page.locator('.VPNavBarAppearance .VPSwitchAppearance').first().click();
  await page.waitForFunction((was) => document.documentElement.classList.contains('dark') !== was, before);
}

/** The text colours the diagrams are drawn in, to see that they follow the switch. */
const diagramTextColours = (page: Page): Promise<string[]> =>
  page.evaluate(
    (selector) =>
      [...document.querySelectorAll(selector)].map((svg) => {
        const text = svg.querySelector('text');
        return text ? getComputedStyle(text).fill : '';
      }),
    DIAGRAMS,
  );

describe('the built site in Chromium', () => {
  // A failure here is kept and thrown by every test that needs the site: vitest would otherwise
  // count the tests of a failed beforeAll as skipped.
  beforeAll(async () => {
    try {
      const reason = staleBecause();
      if (reason) await buildSite(reason);
      if (!existsSync(join(DIST, 'index.html'))) {
        throw new Error(`no ${relative(REPO, DIST)}/index.html: run pnpm docs:build first`);
      }
      if (!existsSync(CHROMIUM)) {
        throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install chromium), as setup.sh does as root`);
      }
      server = await serveDist();
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
      for (const viewport of WIDTHS) {
        const context = await browser.newContext({ viewport });
        contexts.set(viewport.width, context);
        const problems: string[] = [];
        const page = await context.newPage();
        watch(page, problems);
        tabs.set(viewport.width, { page, problems });
      }
      mkdirSync(join(SHOTS, 'screenshots'), { recursive: true });
    } catch (error) {
      setupError = error instanceof Error ? error : new Error(String(error));
    }
  }, 600_000);

  afterAll(async () => {
    for (const context of contexts.values()) await context.close();
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it('finds the pages to visit in the sidebar and nav of config.ts', () => {
    expect(links.length).toBeGreaterThanOrEqual(5);
    for (const { link } of pages) expect(existsSync(sourceOf(link)), `${sourceOf(link)} for ${link}`).toBe(true);
  });

  it('renders the home page: hero, feature cards and diagram; a click on "Getting started" navigates', async () => {
    const { page, problems } = await open('/');
    const hero = (readFileSync(join(DOCS, 'index.md'), 'utf8').match(/^ {2}name: (.+)$/m)?.[1] ?? '').trim();
    expect(await visibleText(page, 'h1')).toContain(hero);
    expect(await page.locator('.VPFeature').count()).toBeGreaterThanOrEqual(3);
    const figure = page.locator('figure.diagram svg').first();
    expect((await figure.boundingBox())?.height ?? 0).toBeGreaterThan(100);
    await page.getByRole('link', { name: 'Getting started' }).first().click();
    await page.waitForURL(`${origin}/getting-started`);
    expect(await visibleText(page, '.vp-doc h1')).toBe(pageCheck('/getting-started').title);
    expect(problems()).toEqual([]);
  }, 120_000);

  it.each(pages.filter((check) => check.link !== '/'))(
    '$link renders its title, code blocks and diagrams, with no console error',
    async (check) => {
      const { page, problems } = await open(check.link);
      expect(check.title, `a "# " title in ${sourceOf(check.link)}`).not.toBeNull();
      expect(await visibleText(page, '.vp-doc h1')).toBe(check.title);
      const codeBlocks = await page.locator('.vp-doc div[class*="language-"] pre code').count();
      if (check.hasCode) expect(codeBlocks, 'code blocks rendered').toBeGreaterThan(0);
      const diagrams = page.locator('.vp-doc figure.diagram svg');
      expect(await diagrams.count(), 'diagrams rendered').toBe(check.diagrams);
      for (const svg of await diagrams.all()) expect((await svg.boundingBox())?.height ?? 0).toBeGreaterThan(100);
      // The sidebar lists every page of the config.
      for (const link of links.filter((l) => l !== '/')) {
        expect(
          await page.locator(`.VPSidebar a[href="${link}"], .VPNav a[href="${link}"]`).count(),
          link,
        ).toBeGreaterThan(0);
      }
      expect(problems()).toEqual([]);
    },
    120_000,
  );

  describe.each(WIDTHS)('at $width x $height', ({ width }) => {
    it.each(layoutPages)(
      '$link does not scroll sideways, and its diagrams fit the content column (screenshot saved)',
      async (check) => {
        const { page, problems } = await open(check.link, width);
        await page.screenshot({ path: screenshotName(check.link, width), fullPage: true });
        expect(await layoutProblems(page, check, width)).toEqual([]);
        expect(problems()).toEqual([]);
      },
      120_000,
    );

    it('the check reports an element wider than the window, by name', async () => {
      const { page } = await open('/steps/01-pid-namespace', width);
      expect(await page.evaluate(sidewaysScroll), 'the page before the injection').toBeNull();
      await page.evaluate(() => {
        const wide = document.createElement('div');
        wide.id = 'too-wide-for-the-window';
        wide.style.width = '2000px';
        wide.textContent = 'injected by the test';
        document.querySelector('.vp-doc')?.append(wide);
      });
      const report = await page.evaluate(sidewaysScroll);
      expect(report).toMatch(
        /^the page is \d+ px wide in a \d+ px window; widest element past the edge: <div#too-wide-for-the-window> 2000 px wide/,
      );
    });
  });

  it('the page with the most diagrams, in dark mode: they follow the switch and still fit (screenshots saved)', async () => {
    const check = [...layoutPages].sort((a, b) => b.diagrams - a.diagrams)[0];
    if (!check?.diagrams) throw new Error('no page of the sidebar has a diagram: nothing to check in dark mode');
    const { page, problems } = await open(check.link, 1280);
    expect(await page.evaluate(() => document.documentElement.classList.contains('dark')), 'light to start with').toBe(
      false,
    );
    await page.screenshot({ path: screenshotName(check.link, 1280, '-light'), fullPage: true });
    const light = await diagramTextColours(page);
    await toggleAppearance(page);
    const dark = await diagramTextColours(page);
    for (const [index, colour] of light.entries())
      expect(dark[index], `${check.link}, diagram ${index + 1}: text colour in dark mode (light: ${colour})`).not.toBe(
        colour,
      );
    await page.screenshot({ path: screenshotName(check.link, 1280, '-dark'), fullPage: true });
    expect(await layoutProblems(page, check, 1280)).toEqual([]);
    // The choice is kept in localStorage: back to light for whatever runs next in this tab.
    await toggleAppearance(page);
    expect(problems()).toEqual([]);
  }, 120_000);
});
