// The Unmask playground: sends the form as an OpenAI request with "stream": true and "diffusing": true to this
// origin's /v1, and draws every draft's canvas (draft.tokens and draft.committed_at_step: one entry per position,
// null while masked; see docs/api.md). Model text only ever goes into the page through textContent, never as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const MASK = '\u2591';

  /** The chat so far: OpenAI messages, the last answer included once it is done. */
  let messages = [];
  /** The request in flight, to stop it. */
  let controller = null;

  function apiHeaders() {
    const h = { 'Content-Type': 'application/json' };
    const key = $('api-key').value.trim();
    if (key) h.Authorization = 'Bearer ' + key;
    return h;
  }

  function mode() {
    return $('mode-infill').checked ? 'infill' : 'chat';
  }

  function showMode() {
    const infill = mode() === 'infill';
    $('chat-inputs').hidden = infill;
    $('infill-inputs').hidden = !infill;
    $('clear').hidden = infill;
    $('conversation').hidden = infill;
  }

  function showError(message) {
    $('error').hidden = !message;
    $('error').textContent = message || '';
  }

  async function loadModels() {
    const select = $('model');
    try {
      const r = await fetch('v1/models', { headers: apiHeaders() });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + r.status);
      const chosen = select.value;
      select.replaceChildren();
      for (const m of body.data) {
        const option = document.createElement('option');
        option.value = m.id;
        option.textContent = m.id;
        select.append(option);
      }
      if (chosen && body.data.some((m) => m.id === chosen)) select.value = chosen;
      select.dataset.loaded = String(body.data.length);
      showError('');
    } catch (e) {
      showError('Cannot list the models (GET /v1/models): ' + e.message);
    }
  }

  /** An optional number field: undefined when left empty, so that the server's default applies. */
  function number(id) {
    const v = $(id).value.trim();
    return v === '' ? undefined : Number(v);
  }

  /** The endpoint and the request body the form stands for (without the streaming fields). */
  function request() {
    const body = {
      model: $('model').value,
      max_tokens: number('length'),
      steps: number('steps'),
      block_length: number('block-length'),
      confidence_threshold: number('threshold'),
      cache: $('cache').value || undefined,
      cache_refresh: number('cache-refresh'),
      temperature: number('temperature'),
      seed: number('seed'),
    };
    if (mode() === 'infill') {
      return { path: 'v1/completions', body: { ...body, prompt: $('prefix').value, suffix: $('suffix').value } };
    }
    const sent = [...messages, { role: 'user', content: $('prompt').value }];
    return { path: 'v1/chat/completions', body: { ...body, messages: sent } };
  }

  function renderConversation(sent) {
    const view = $('conversation');
    view.replaceChildren();
    for (const m of sent) {
      const turn = document.createElement('div');
      turn.className = 'turn ' + m.role;
      const role = document.createElement('span');
      role.className = 'role';
      role.textContent = m.role;
      const text = document.createElement('span');
      text.textContent = m.content;
      turn.append(role, text);
      view.append(turn);
    }
  }

  /** Early steps blue, late ones red: the hue of a 1-based step out of the run's planned steps. */
  function stepColour(step, steps) {
    const f = steps > 1 ? Math.min(1, (step - 1) / (steps - 1)) : 0;
    return 'hsl(' + Math.round(220 - 220 * f) + ' 80% 80%)';
  }

  /**
   * One draft drawn: a cell per position (draft.tokens[i], null while masked), masks as ░, end-of-text as ·, each
   * committed cell in the colour of its step (draft.committed_at_step[i], 1-based; 0 for a token fixed from the start).
   */
  function drawCanvas(draft, run) {
    const canvas = $('canvas');
    const cells = [];
    let committedNow = 0;
    draft.tokens.forEach((text, i) => {
      const step = draft.committed_at_step[i];
      const cell = document.createElement('span');
      if (text === null) {
        cell.className = 'cell mask';
        cell.textContent = MASK;
      } else {
        const fresh = step === run.step;
        if (fresh) committedNow++;
        cell.className = 'cell' + (text === '' ? ' end' : '') + (fresh ? ' fresh' : '') + (step === 0 ? ' fixed' : '');
        // one cell per position, whatever the token: a newline shows as ↵, a tab as →, end-of-text as ·
        cell.textContent = text === '' ? '\u00b7' : text.replace(/\n/g, '\u21b5').replace(/\t/g, '\u2192');
        // without a steps field the server's default applies: scale by the region then (at most one step a token)
        const steps = run.plannedSteps || draft.tokens.length;
        if (step > 0) cell.style.backgroundColor = stepColour(step, steps); // CSSOM: allowed by the CSP
        cell.title = step > 0 ? 'step ' + step : 'given';
      }
      cells.push(cell);
    });
    canvas.replaceChildren(...cells);
    canvas.dataset.step = String(run.step);
    canvas.dataset.masked = String(draft.masked);
    const committed = draft.tokens.length - draft.masked;
    const seconds = (run.arrivedAt - run.startedAt) / 1000;
    $('stat-step').textContent = run.step + (run.plannedSteps ? ' / ' + run.plannedSteps : '');
    $('stat-masked').textContent = String(draft.masked);
    $('stat-step-tokens').textContent = String(committedNow);
    $('stat-tokens-per-step').textContent = (committed / run.step).toFixed(2);
    $('stat-tokens-per-second').textContent = seconds > 0 ? (committed / seconds).toFixed(1) : '\u2013';
  }

  /**
   * Drafts are drawn one per animation frame, in order, so that none is skipped when several arrive at once (a
   * buffered proxy, or AWS Lambda, delivers the whole stream in one piece).
   */
  function player(run) {
    const queue = [];
    let playing = null;
    function next(resolve) {
      const item = queue.shift();
      if (!item) {
        playing = null;
        resolve();
        return;
      }
      run.step = item.index + 1; // the run's 1-based step: the draft after step 1 is the first
      run.arrivedAt = item.arrivedAt;
      drawCanvas(item.draft, run);
      requestAnimationFrame(() => next(resolve));
    }
    return {
      add(draft, index) {
        queue.push({ draft, index, arrivedAt: performance.now() });
        if (!playing) playing = new Promise((resolve) => requestAnimationFrame(() => next(resolve)));
      },
      done() {
        return playing || Promise.resolve();
      },
    };
  }

  /** Reads an SSE body: calls onEvent with each data line's JSON, until [DONE]. */
  async function readEvents(response, onEvent) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let end;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        for (const line of event.split('\n')) {
          if (!line.startsWith('data: ')) continue;
          const data = line.slice('data: '.length);
          if (data === '[DONE]') return;
          onEvent(JSON.parse(data));
        }
      }
    }
  }

  async function generate(event) {
    event.preventDefault();
    showError('');
    const chat = mode() === 'chat'; // the run keeps its mode, whatever the radio buttons say meanwhile
    const { path, body } = request();
    $('request').textContent = 'POST /' + path + '\n' + JSON.stringify(body, null, 2);
    if (chat) {
      renderConversation(body.messages);
      $('answer-prefix').textContent = '';
      $('answer-suffix').textContent = '';
    } else {
      $('answer-prefix').textContent = body.prompt;
      $('answer-suffix').textContent = body.suffix;
    }
    $('answer-text').textContent = '';
    $('answer').dataset.state = 'running';
    $('canvas').replaceChildren();
    $('canvas').dataset.step = '';
    $('canvas').dataset.masked = '';
    controller = new AbortController();
    $('run').disabled = true;
    $('stop').disabled = false;
    const run = { startedAt: performance.now(), plannedSteps: body.steps, step: 0, arrivedAt: 0 };
    const frames = player(run);
    let text = '';
    let drafts = 0;
    try {
      const response = await fetch(path, {
        method: 'POST',
        headers: apiHeaders(),
        body: JSON.stringify({ ...body, stream: true, diffusing: true }),
        signal: controller.signal,
      });
      if (!response.ok) {
        const failed = await response.json().catch(() => ({}));
        throw new Error(failed.error ? failed.error.message : 'HTTP ' + response.status);
      }
      await readEvents(response, (chunk) => {
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.draft && chunk.draft.tokens && chunk.draft.committed_at_step) {
          frames.add(chunk.draft, drafts++);
          return;
        }
        const choice = chunk.choices && chunk.choices[0];
        if (!choice) return;
        const delta = chat ? choice.delta && choice.delta.content : choice.text;
        if (delta) {
          text += delta; // the final text so far: a prefix of the answer, shown as it grows
          $('answer-text').textContent = text;
        }
      });
      await frames.done();
      $('answer-text').textContent = text;
      $('answer').dataset.state = 'done';
      if (chat) messages = [...body.messages, { role: 'assistant', content: text }];
    } catch (e) {
      await frames.done();
      $('answer-text').textContent = text;
      $('answer').dataset.state = 'failed';
      showError(e.name === 'AbortError' ? 'Stopped.' : e.message);
    } finally {
      controller = null;
      $('run').disabled = false;
      $('stop').disabled = true;
    }
  }

  $('form').addEventListener('submit', generate);
  $('stop').addEventListener('click', () => controller && controller.abort());
  $('clear').addEventListener('click', () => {
    messages = [];
    renderConversation([]);
    $('answer-text').textContent = '';
  });
  $('mode-chat').addEventListener('change', showMode);
  $('mode-infill').addEventListener('change', showMode);
  $('api-key').addEventListener('change', loadModels);
  showMode();
  loadModels();
})();
