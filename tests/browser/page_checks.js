// What the card test checks, run inside the page by every engine alike (tests/browser/
// check_cards.mjs injects this file's text into Chromium and into WebKit), so that both engines
// are held to exactly the same rules. Plain functions, no imports: it is evaluated as a script.

// Resolves once the page is what a learner sees: MathJax has typeset it, the fonts are in, and
// every figure is decoded (or has failed to load, which inspect() reports).
async function settle(timeoutMs) {
  const start = Date.now();
  // The config object is replaced by MathJax itself once its script has run.
  while (!window.MathJax?.startup?.promise) {
    if (Date.now() - start > timeoutMs) throw new Error(`MathJax did not start in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await window.MathJax.startup.promise;
  await document.fonts.ready;
  await Promise.all([...document.images].map((image) => image.decode().catch(() => {})));
}

// Everything that is wrong with the page, as sentences.
function inspect() {
  const problems = [];
  const snippet = (text) => JSON.stringify(text.replace(/\s+/g, " ").trim().slice(0, 80));
  const root = document.documentElement;
  const screen = root.clientWidth;

  // Anki's desktop reviewer loads MathJax only once a card has math, and its list of typeset
  // formulas can still hold the previous card's.
  const mathItems = [...(window.MathJax?.startup?.document?.math ?? [])]
    .filter((item) => document.body.contains(item.typesetRoot));
  const source = new Map();
  for (const item of mathItems) source.set(item.typesetRoot, item.math);
  for (const error of document.querySelectorAll("mjx-merror")) {
    const tex = source.get(error.closest("mjx-container")) ?? "";
    problems.push(`MathJax error: ${error.getAttribute("data-mjx-error") ?? error.textContent}` +
      (tex ? ` in ${snippet(tex)}` : ""));
  }

  // Anki's own MathJax keeps `noundefined`: an unknown macro shows as its name in red text,
  // not as an error. Its internal tree still says so.
  for (const item of mathItems) {
    item.root?.walkTree?.((node) => {
      if (node.isKind("mtext") && node.attributes.get("mathcolor") === "red") {
        const name = node.getText();
        if (/^\\[A-Za-z]+$/.test(name)) {
          problems.push(`MathJax error: Undefined control sequence ${name} in ${snippet(item.math)}`);
        }
      }
    });
  }

  // MathJax skips code, so a delimiter there is code; anywhere else it is TeX nobody typeset.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) =>
      node.parentElement.closest("script, style, pre, code, textarea, mjx-container")
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    const found = text.match(/\\[()[\]]|\\(?:frac|sum|mathbf|begin|left|right|sqrt)\b/);
    if (found) {
      const start = Math.max(0, found.index - 30);
      problems.push(`TeX left untypeset: ${snippet(text.slice(start, found.index + 50))}`);
    }
  }

  if (root.scrollWidth > screen) {
    // Name the widest thing that sticks out and is not inside a box that scrolls by itself.
    let culprit = null;
    for (const element of document.body.querySelectorAll("*")) {
      const box = element.getBoundingClientRect();
      if (box.right <= screen + 0.5 || box.width === 0) continue;
      let clipped = false;
      for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
        if (getComputedStyle(up).overflowX !== "visible") { clipped = true; break; }
      }
      if (!clipped && (!culprit || box.right > culprit.box.right)) culprit = { element, box };
    }
    const what = culprit
      ? ` (widest: <${culprit.element.localName}${culprit.element.className
          ? ` class="${culprit.element.className}"` : ""}> ${snippet(culprit.element.textContent)}` +
        ` reaching ${Math.round(culprit.box.right)} px)`
      : "";
    problems.push(`page scrolls sideways: ${root.scrollWidth} px of content on a ` +
      `${screen} px screen${what}`);
  }

  for (const image of document.images) {
    const name = image.getAttribute("src");
    if (!image.complete || image.naturalWidth === 0) {
      problems.push(`image ${name} did not load`);
      continue;
    }
    const width = image.getBoundingClientRect().width;
    if (width > screen + 0.5) {
      problems.push(`image ${name} is ${Math.round(width)} px wide on a ${screen} px screen`);
    }
  }

  // WCAG AA: 4.5:1 for text. Backgrounds are taken from the nearest ancestor that paints one.
  const rgb = (colour) => (colour.match(/[\d.]+/g) ?? []).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const backgroundOf = (element) => {
    for (let up = element; up; up = up.parentElement) {
      const colour = rgb(getComputedStyle(up).backgroundColor);
      if (colour.length === 3 || (colour.length === 4 && colour[3] > 0)) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const faint = new Set();
  for (const element of document.body.querySelectorAll("*")) {
    // MathJax errors are reported above; their own colours are MathJax's.
    if (element.closest("mjx-assistive-mml, mjx-merror, script, style")) continue;
    const ownText = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!ownText || element.getClientRects().length === 0) continue;
    const style = getComputedStyle(element);
    const fg = luminance(rgb(style.color));
    const bg = luminance(backgroundOf(element));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const key = `${element.localName}.${element.className}`;
    if (ratio < 4.5 && !faint.has(key)) {
      faint.add(key);
      problems.push(`text too faint to read (contrast ${ratio.toFixed(1)}:1, needs 4.5:1): ` +
        `<${element.localName}${element.className ? ` class="${element.className}"` : ""}> ` +
        snippet(element.textContent));
    }
  }

  // Phones. A property an engine does not know computes to undefined and is not judged there:
  // -webkit-text-size-adjust exists only where text is auto-sized (iOS, Android).
  const body = getComputedStyle(document.body);
  const sizeAdjust = body.webkitTextSizeAdjust ?? body.textSizeAdjust;
  if (sizeAdjust !== undefined && sizeAdjust !== "100%") {
    problems.push(`text grows when the phone turns sideways (text-size-adjust: ${sizeAdjust}, ` +
      "needs 100%)");
  }
  // A box that scrolls sideways keeps a swipe that reaches its end, or the page moves instead.
  const loose = new Set();
  for (const element of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(element);
    if (!["auto", "scroll"].includes(style.overflowX)) continue;
    if (element.closest("mjx-assistive-mml") || style.overscrollBehaviorX === undefined) continue;
    const key = `${element.localName}.${element.className}`;
    if (style.overscrollBehaviorX !== "contain" && !loose.has(key)) {
      loose.add(key);
      problems.push("a sideways-scrolling box passes swipes on to the page " +
        `(overscroll-behavior-x: ${style.overscrollBehaviorX}): <${element.localName}` +
        `${element.className ? ` class="${element.className}"` : ""}>`);
    }
  }
  // Touch screens have no hover: a :hover style sticks after a tap, and what only hover shows
  // is out of reach. It belongs inside @media (hover: hover). Only the card's styles are judged
  // (Anki puts the note type's CSS in the card); MathJax's menus, in <head>, are its own.
  const hovered = [];
  const walk = (rules, pointer) => {
    for (const rule of rules) {
      if (rule.selectorText?.includes(":hover") && !pointer) hovered.push(rule.selectorText);
      if (rule.cssRules) {
        walk(rule.cssRules, pointer || /\(\s*hover\s*:\s*hover\s*\)/.test(rule.media?.mediaText));
      }
    }
  };
  for (const sheet of document.styleSheets) {
    if (document.body.contains(sheet.ownerNode)) walk(sheet.cssRules, false);
  }
  for (const selector of hovered) {
    problems.push(`style needs hover, which touch screens lack: ${JSON.stringify(selector)}` +
      " (put it inside @media (hover: hover))");
  }
  return problems;
}
