// What the two preview scripts share: a desktop-sized headless Chromium with a throw-away
// profile, the cards' frame once MathJax has typeset it, and where that frame stands.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

// Runs `use(page)` in a fresh browser, closed and its profile removed afterwards.
export async function withPage(use) {
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
    return await use(await context.newPage());
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// The cards' frame of the preview in `page`, loaded and typeset.
export async function typesetCards(page) {
  const inner = await (await page.waitForSelector("#cards")).contentFrame();
  await inner.waitForLoadState("load");
  await inner.waitForFunction(() => window.MathJax?.startup?.promise, null, { timeout: 30_000 });
  await inner.evaluate(() => window.MathJax.startup.promise);
  return inner;
}

// The frame's width, whether it is in night mode, and the note at its top.
export function frameState() {
  return {
    frameWidth: document.documentElement.clientWidth,
    nightMode: document.body.classList.contains("nightMode"),
    scrolledTo: [...document.querySelectorAll("section.mlp-note")]
      .find((s) => s.getBoundingClientRect().bottom > 1)?.id ?? null,
  };
}
