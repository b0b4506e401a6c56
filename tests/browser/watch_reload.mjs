// Opens the page `ml-anki watch` serves in headless Chromium, sets its toggles and jumps to a
// note, then saves a card as an editor does and reports what the page shows once it reloaded.
//
//   node tests/browser/watch_reload.mjs URL /abs/cards/file.md NEW_TEXT_FILE NOTE_ID
//
// Steps: before (night mode on, phone width off, jumped to NOTE_ID), reloaded (after the save).
// Output: { "steps": [{ "step", "frameWidth", "nightMode", "nightChecked", "phoneChecked",
// "scrolledTo", "text" }] }

import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, card, newText, jumpTo] = process.argv.slice(2);
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
  const cards = async () => {
    const inner = await (await page.waitForSelector("#cards")).contentFrame();
    await inner.waitForLoadState("load");
    await inner.waitForFunction(() => window.MathJax?.startup?.promise, null, { timeout: 30_000 });
    await inner.evaluate(() => window.MathJax.startup.promise);
    return inner;
  };
  const steps = [];
  const record = async (step, inner) => {
    // Messages between the pages are asynchronous: let the frame handle them first.
    await page.waitForTimeout(300);
    const state = await inner.evaluate(() => ({
      frameWidth: document.documentElement.clientWidth,
      nightMode: document.body.classList.contains("nightMode"),
      scrolledTo: [...document.querySelectorAll("section.mlp-note")]
        .find((s) => s.getBoundingClientRect().bottom > 1)?.id ?? null,
      text: document.body.textContent,
    }));
    state.nightChecked = await page.isChecked("#night");
    state.phoneChecked = await page.isChecked("#phone");
    steps.push({ step, ...state });
  };

  await page.goto(url, { waitUntil: "load" });
  let inner = await cards();
  await page.check("#night");
  await page.uncheck("#phone");
  await page.selectOption("#jump", jumpTo);
  await record("before", inner);

  const reloaded = page.waitForEvent("load", { timeout: 30_000 });
  const temporary = `${card}.swp`;
  writeFileSync(temporary, readFileSync(newText));
  renameSync(temporary, card);
  await reloaded;
  inner = await cards();
  await record("reloaded", inner);
  process.stdout.write(JSON.stringify({ steps }));
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
}
