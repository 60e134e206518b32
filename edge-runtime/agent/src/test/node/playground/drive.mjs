// Drives the agent's web playground in headless Chromium (Debian's chromium, through playwright-core): a chat turn
// and an infill, each watched step by step, then the same request sent non-streamed to the API. Prints one JSON
// line of what it saw; PlaygroundBrowserTest (JUnit) holds the assertions. Usage: node drive.mjs BASE_URL OUT_DIR
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
const result = { consoleErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 620 } });
  // a CSP violation, a failed load or a script error is reported here
  page.on('console', (m) => m.type() === 'error' && result.consoleErrors.push(m.text()));
  page.on('pageerror', (e) => result.consoleErrors.push(String(e)));
  const home = await page.goto(base + '/');
  result.status = home.status();
  await page.waitForSelector('#model[data-loaded]', { timeout: 30_000 });
  result.models = await page.$$eval('#model option', (os) => os.map((o) => o.value));

  /** Records every canvas the page draws: one entry per draw (each is its own animation frame). */
  async function watchCanvas() {
    await page.evaluate(() => {
      const canvas = document.getElementById('canvas');
      window.frames_ = [];
      new MutationObserver(() => {
        if (canvas.dataset.step === '') return;
        const cells = [...canvas.children];
        window.frames_.push({
          step: Number(canvas.dataset.step),
          masked: Number(canvas.dataset.masked),
          maskCells: cells.filter((c) => c.classList.contains('mask')).length,
          cells: cells.length,
          steps: [...new Set(cells.filter((c) => c.title).map((c) => c.title))].length,
          perStep: document.getElementById('stat-step-tokens').textContent,
          perSecond: document.getElementById('stat-tokens-per-second').textContent,
        });
      }).observe(canvas, { childList: true, attributes: true });
    });
  }

  async function runAndCompare(name, answerOf) {
    await watchCanvas();
    await page.click('#run');
    // mid-way, masks and tokens side by side: the picture docs/playground.png is taken from
    await page
      .waitForFunction(() => {
        const c = document.getElementById('canvas');
        return c.dataset.masked !== '' && c.children.length > 0 && Number(c.dataset.masked) < c.children.length * 0.6;
      }, null, { timeout: 120_000 })
      .then(() => page.screenshot({ path: `${outDir}/${name}-denoising.png` }))
      .catch(() => {}); // a run too quick to catch is no failure: the frames below are the test
    await page.waitForSelector('#answer[data-state=done], #answer[data-state=failed]', { timeout: 240_000 });
    const seen = {
      state: await page.getAttribute('#answer', 'data-state'),
      error: await page.textContent('#error'),
      frames: await page.evaluate(() => window.frames_),
      pageText: await page.textContent('#answer-text'),
      request: await page.textContent('#request'),
    };
    // the same request, whole: the page shows what it sent (less "stream" and "diffusing") under "Request"
    const [line, ...json] = seen.request.split('\n');
    const response = await fetch(base + line.replace(/^POST /, ''), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: json.join('\n'),
    });
    seen.apiStatus = response.status;
    seen.apiText = answerOf(await response.json());
    await page.screenshot({ path: `${outDir}/${name}.png` });
    return seen;
  }

  // chat: a message with markup in it, which must stay text
  await page.fill('#prompt', 'def fibonacci(n): # <img src=x> <b>fast</b>');
  await page.fill('#length', '64');
  await page.fill('#steps', '64');
  await page.fill('#block-length', '32');
  await page.fill('#temperature', '1');
  await page.fill('#seed', '7');
  result.chat = await runAndCompare('chat', (a) => a.choices[0].message.content);
  result.chat.injected = await page.$$eval('#conversation img, #conversation b', (es) => es.length);
  result.chat.conversation = await page.textContent('#conversation');

  // infill: prefix, suffix, length
  await page.check('#mode-infill');
  await page.fill('#prefix', 'def square(x):\n    return ');
  await page.fill('#suffix', '\n\ndef cube(x):\n    return x * x * x\n');
  await page.fill('#length', '24');
  await page.fill('#steps', '24');
  await page.fill('#block-length', '24');
  await page.fill('#seed', '3');
  result.infill = await runAndCompare('infill', (a) => a.choices[0].text);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
