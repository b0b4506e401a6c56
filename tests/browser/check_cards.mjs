// Renders card pages at phone size, day then night, in headless Chromium or in WebKit, and
// reports what a learner would see go wrong: MathJax errors, TeX left as raw text, a page that
// scrolls sideways, figures that do not load or do not fit, text too faint to read, and styles
// a touch screen gets wrong. The checks themselves are tests/browser/page_checks.js, injected as
// they are into either engine.
//
//   node tests/browser/check_cards.mjs manifest.json  > results.json
//
// The manifest (written by tests/test_browser.py):
//   { "engine": "chromium" | "webkit", "browser": "/usr/bin/chromium" | "…/MiniBrowser",
//     "driver": "/usr/bin/WebKitWebDriver" (WebKit only), "width": 390, "height": 844,
//     "workers": 2, "scale": 2, "screenshots": "/abs/dir" | null,
//     "pages": [{ "label": "#12-1 back", "url": "file:///…/12-1-back.html", "shot": "12-1-back" }] }
// Output: { "pages": [{ "label", "mode": "day"|"night", "problems": [...] }], "shots": [...] }
//
// WebKit is WebKitGTK's MiniBrowser driven over WebDriver; it needs an X display (xvfb-run) and
// the page's size and pixel ratio come from its window, so the caller runs this under
// `xvfb-run` with GDK_SCALE set to the scale.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Builder } from "selenium-webdriver";
import remote from "selenium-webdriver/remote/index.js";

const manifest = JSON.parse(readFileSync(process.argv[2], "utf8"));
const PAGE_TIMEOUT_MS = 30_000;
const PAGE_CHECKS = readFileSync(new URL("./page_checks.js", import.meta.url), "utf8");
// One expression that every engine can evaluate: the checks' functions, then a call to one.
const inPage = (call) => `(() => { ${PAGE_CHECKS}\n return ${call}; })()`;

// Chromium through playwright-core: device metrics, not a window, since headless Chromium will
// not make a window this narrow.
async function openChromium() {
  const profile = mkdtempSync(join(tmpdir(), "ml-anki-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: manifest.browser,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: manifest.width, height: manifest.height },
    deviceScaleFactor: manifest.scale ?? 1,
    isMobile: true,
    hasTouch: true,
  });
  return {
    async tab() {
      const page = await context.newPage();
      return {
        open: (url) => page.goto(url, { waitUntil: "load", timeout: PAGE_TIMEOUT_MS }),
        run: (expression) => page.evaluate(expression),
        screenshot: (path) => page.screenshot({ path, fullPage: true }),
        close: () => page.close(),
      };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// WebKitGTK's MiniBrowser over WebDriver, one driver and browser per worker (WebKitWebDriver
// runs one session at a time). Full screen hides the window's header bar, whose buttons keep a
// normal window wider than a phone; the window is then sized to the phone exactly.
async function openWebKit() {
  const services = [];
  return {
    async tab() {
      const service = new remote.DriverService.Builder(manifest.driver).setLoopback(true).build();
      services.push(service);
      const driver = await new Builder()
        .usingServer(await service.start())
        .withCapabilities({
          browserName: "MiniBrowser",
          "webkitgtk:browserOptions": {
            binary: manifest.browser,
            args: ["--automation", "--full-screen"],
          },
        })
        .build();
      await driver.manage().setTimeouts({ pageLoad: PAGE_TIMEOUT_MS, script: PAGE_TIMEOUT_MS });
      await driver.manage().window().setRect({ width: manifest.width, height: manifest.height });
      return {
        open: (url) => driver.get(url),
        // Promises are awaited as in playwright: the callback is WebDriver's asynchronous result.
        run: (expression) => driver.executeAsyncScript(
          `const done = arguments[arguments.length - 1];
           Promise.resolve(${expression}).then(
             (value) => done({ value }), (error) => done({ error: String(error) }));`,
        ).then((result) => {
          if (result.error) throw new Error(result.error);
          return result.value;
        }),
        async screenshot(path) {
          // WebDriver screenshots stop at the window's edge (an element's too), so the window
          // grows to the whole page for the shot and shrinks back to the phone's height after.
          const window = driver.manage().window();
          const height = await driver.executeScript("return document.documentElement.scrollHeight");
          await window.setRect({ width: manifest.width, height: Math.max(height, manifest.height) });
          // WebKit paints a moment after a change (the mode, the size): two frames later it is
          // on screen; a shot taken sooner shows the previous state or nothing.
          await driver.executeAsyncScript(`const done = arguments[arguments.length - 1];
            requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)));`);
          writeFileSync(path, await driver.takeScreenshot(), "base64");
          await window.setRect({ width: manifest.width, height: manifest.height });
        },
        close: () => driver.quit(),
      };
    },
    async close() {
      await Promise.all(services.map((service) => service.kill()));
    },
  };
}

async function check(page, entry) {
  const results = [];
  const shots = [];
  try {
    await page.open(entry.url);
    await page.run(inPage(`settle(${PAGE_TIMEOUT_MS})`));
  } catch (error) {
    const problems = [`page did not render: ${error.message.split("\n")[0]}`];
    for (const mode of ["day", "night"]) results.push({ label: entry.label, mode, problems });
    return { results, shots };
  }
  for (const mode of ["day", "night"]) {
    // Anki, AnkiDroid and AnkiMobile all mark night mode with this class on <body class="card">.
    await page.run(`document.body.classList.toggle("nightMode", ${mode === "night"})`);
    results.push({ label: entry.label, mode, problems: await page.run(inPage("inspect()")) });
    if (entry.shot && manifest.screenshots) {
      const path = join(manifest.screenshots, `${entry.shot}-${mode}.png`);
      await page.screenshot(path);
      shots.push(path);
    }
  }
  return { results, shots };
}

const engine = await { chromium: openChromium, webkit: openWebKit }[manifest.engine]();
try {
  const queue = [...manifest.pages];
  const output = { pages: [], shots: [] };
  const worker = async () => {
    const page = await engine.tab();
    try {
      for (let entry = queue.shift(); entry; entry = queue.shift()) {
        const { results, shots } = await check(page, entry);
        output.pages.push(...results);
        output.shots.push(...shots);
      }
    } finally {
      await page.close();
    }
  };
  await Promise.all(Array.from({ length: manifest.workers ?? 2 }, worker));
  process.stdout.write(JSON.stringify(output));
} finally {
  await engine.close();
}
