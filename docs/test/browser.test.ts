/**
 * The built site in a real browser: Debian's Chromium, driven by playwright-core. Every page of
 * the sidebar and the nav must render its title, its code blocks and its diagrams with no error in
 * the console; the home page and a step page are saved as screenshots in test-results/.
 *
 * The site is served from docs/.vitepress/dist by a small static server of the test's own. CI runs
 * `pnpm test` before `pnpm docs:build`, so when dist is missing or older than a page, the config or
 * a source file a page imports, the test runs `pnpm docs:build` itself first. If that fails, or
 * leaves no dist, the test fails and says so: it never skips.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
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

/** The step page saved as a screenshot: step 03 if the sidebar has it, else the first step. */
const stepToShoot =
  links.find((link) => link.startsWith('/steps/03')) ?? links.find((link) => link.startsWith('/steps/')) ?? null;

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

let server: Server | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;
let origin = '';
/** Why the site or the browser is not there: every test that needs them fails with it. */
let setupError: Error | undefined;

/** Problems the browser reports while a page loads: console errors, page errors, failed requests. */
function watch(page: Page): () => string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400 && response.url().startsWith(origin))
      problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return () => problems;
}

async function open(link: string): Promise<{ page: Page; problems: () => string[] }> {
  if (setupError) throw setupError;
  if (!context) throw new Error('the browser did not start');
  const page = await context.newPage();
  const problems = watch(page);
  const response = await page.goto(origin + link, { waitUntil: 'networkidle' });
  expect(response?.status(), `HTTP status of ${link}`).toBe(200);
  return { page, problems };
}

const visibleText = async (page: Page, selector: string): Promise<string> =>
  ((await page.locator(selector).first().textContent()) ?? '').replaceAll('\u200b', '').replace(/\s+/g, ' ').trim();

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
      profile = mkdtempSync(join(tmpdir(), 'ctr-docs-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport: { width: 1280, height: 900 },
      });
      mkdirSync(SHOTS, { recursive: true });
    } catch (error) {
      setupError = error instanceof Error ? error : new Error(String(error));
    }
  }, 600_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (profile) rmSync(profile, { recursive: true, force: true });
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
    await page.screenshot({ path: join(SHOTS, 'docs-home.png'), fullPage: true });
    await page.getByRole('link', { name: 'Getting started' }).first().click();
    await page.waitForURL(`${origin}/getting-started`);
    expect(await visibleText(page, '.vp-doc h1')).toBe(pageCheck('/getting-started').title);
    expect(problems()).toEqual([]);
    await page.close();
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
      if (check.link === stepToShoot)
        await page.screenshot({ path: join(SHOTS, `docs${check.link.replaceAll('/', '-')}.png`) });
      expect(problems()).toEqual([]);
      await page.close();
    },
    120_000,
  );
});
