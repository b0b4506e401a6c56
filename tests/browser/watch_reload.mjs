// Opens the page `ml-anki watch` serves in headless Chromium, sets its toggles and jumps to a
// note, then saves a card as an editor does and reports what the page shows once it reloaded.
//
//   node tests/browser/watch_reload.mjs URL /abs/cards/file.md NEW_TEXT_FILE NOTE_ID
//
// Steps: before (night mode on, phone width off, jumped to NOTE_ID), reloaded (after the save).
// Output: { "steps": [{ "step", "frameWidth", "nightMode", "nightChecked", "phoneChecked",
// "scrolledTo", "text" }] }

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { frameState, typesetCards, withPage } from "./preview_page.mjs";

const [url, card, newText, jumpTo] = process.argv.slice(2);
await withPage(async (page) => {
  const steps = [];
  const record = async (step, inner) => {
    // Messages between the pages are asynchronous: let the frame handle them first.
    await page.waitForTimeout(300);
    const state = await inner.evaluate(frameState);
    state.text = await inner.evaluate(() => document.body.textContent);
    state.nightChecked = await page.isChecked("#night");
    state.phoneChecked = await page.isChecked("#phone");
    steps.push({ step, ...state });
  };

  await page.goto(url, { waitUntil: "load" });
  let inner = await typesetCards(page);
  await page.check("#night");
  await page.uncheck("#phone");
  await page.selectOption("#jump", jumpTo);
  await record("before", inner);

  const reloaded = page.waitForEvent("load", { timeout: 30_000 });
  const temporary = `${card}.swp`;
  writeFileSync(temporary, readFileSync(newText));
  renameSync(temporary, card);
  await reloaded;
  inner = await typesetCards(page);
  await record("reloaded", inner);
  process.stdout.write(JSON.stringify({ steps }));
});
