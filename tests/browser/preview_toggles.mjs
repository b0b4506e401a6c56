// Opens an `ml-anki preview` in headless Chromium like a person would, flips its toggles, and
// reports what the cards' frame shows after each step.
//
//   node tests/browser/preview_toggles.mjs /abs/preview/index.html /abs/screenshot-dir NOTE_ID
//
// Steps: opened, night (night mode on), jump (to note NOTE_ID), full-width (phone width off),
// day (night mode off). Output: { "steps": [{ "step", "frameWidth", "nightMode", "typeset",
// "mathErrors", "notes", "scrolledTo", "screenshot" }] }

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { frameState, typesetCards, withPage } from "./preview_page.mjs";

const [index, shots, jumpTo] = process.argv.slice(2);
await withPage(async (page) => {
  await page.goto(pathToFileURL(index).href, { waitUntil: "load" });
  const inner = await typesetCards(page);

  const steps = [];
  const record = async (step) => {
    // Messages between the pages are asynchronous: let the frame handle them first.
    await page.waitForTimeout(100);
    const state = {
      ...(await inner.evaluate(frameState)),
      ...(await inner.evaluate(() => ({
        typeset: document.querySelectorAll("mjx-container").length,
        mathErrors: document.querySelectorAll("mjx-merror").length,
        notes: [...document.querySelectorAll("section.mlp-note")].map((s) => s.id),
      }))),
    };
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
});
