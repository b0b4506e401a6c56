// Opens an `ml-anki preview` in headless Chromium like a person would, flips its toggles, and
// reports what the cards' frame shows after each step.
//
//   node tests/browser/preview_toggles.mjs /abs/preview/index.html /abs/screenshot-dir NOTE_ID
//
// Steps: opened, night (night mode on), jump (to note NOTE_ID), full-width (phone width off),
// day (night mode off). Output: { "steps": [{ "step", "frameWidth", "nightMode", "typeset",
// "mathErrors", "notes", "scrolledTo", "screenshot" }] }

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [index, shots, jumpTo] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "ml-anki-chromium-"));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  await page.goto(pathToFileURL(index).href, { waitUntil: "load" });
  const inner = await (await page.waitForSelector("#cards")).contentFrame();
  await inner.waitForLoadState("load");
  await inner.waitForFunction(() => window.MathJax?.startup?.promise, null, { timeout: 30_000 });
  await inner.evaluate(() => window.MathJax.startup.promise);

  const steps = [];
  const record = async (step) => {
    // Messages between the pages are asynchronous: let the frame handle them first.
    await page.waitForTimeout(100);
    const state = await inner.evaluate(() => ({
      frameWidth: document.documentElement.clientWidth,
      nightMode: document.body.classList.contains("nightMode"),
      typeset: document.querySelectorAll("mjx-container").length,
      mathErrors: document.querySelectorAll("mjx-merror").length,
      notes: [...document.querySelectorAll("section.mlp-note")].map((s) => s.id),
      scrolledTo: [...document.querySelectorAll("section.mlp-note")]
        .find((s) => s.getBoundingClientRect().bottom > 1)?.id ?? null,
    }));
    const screenshot = join(shots, `preview-${steps.length + 1}-${step}.png`);
    await page.screenshot({ path: screenshot });
    steps.push({ step, ...state, screenshot });
  };

  await record("opened");
  await page.check("#night");
  await record("night");
  await page.selectOption("#jump", jumpTo);
  await record("jump");
  await page.uncheck("#phone");
  await record("full-width");
  await page.uncheck("#night");
  await record("day");
  process.stdout.write(JSON.stringify({ steps }));
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
}
