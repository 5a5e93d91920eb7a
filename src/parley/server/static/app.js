/*
 * Parley's web chat page. Plain JavaScript, no build step, no dependency.
 *
 * It talks to the server's own APIs only: POST /v1/chat/completions (streamed as server-sent
 * events, with Parley's `sources` and `parley_moderation` on the first chunk and `event: parley`
 * events for the rest) and the sessions API (/v1/sessions). Untrusted text (model
 * output, documents, titles) only ever reaches the page as text nodes; see markdown.js.
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const md = window.ParleyMarkdown;

  // -- settings, kept in this browser ----------------------------------------------------------

  const KEYS = { settings: 'parley.settings', apiKey: 'parley.apiKey' };
  const DEFAULTS = Object.freeze({
    temperature: 0.6,
    top_p: 1,
    top_k: 40,
    max_tokens: 256,
    retrieval: true,
    system: '',
  });

  const storage = {
    get(key) {
      try {
        return window.localStorage.getItem(key);
      } catch (_) {
        return null;
      }
    },
    set(key, value) {
      try {
        if (value === null || value === '') window.localStorage.removeItem(key);
        else window.localStorage.setItem(key, value);
      } catch (_) {
        /* private mode: settings last for this page only */
      }
    },
  };

  function loadSettings() {
    let saved = {};
    try {
      saved = JSON.parse(storage.get(KEYS.settings) || '{}') || {};
    } catch (_) {
      saved = {};
    }
    const merged = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS)) {
      if (key in saved && typeof saved[key] === typeof DEFAULTS[key]) merged[key] = saved[key];
    }
    return merged;
  }

  const state = {
    settings: loadSettings(),
    apiKey: storage.get(KEYS.apiKey) || '',
    sessionId: null,
    title: null,
    sessions: [],
    controller: null,
    loadToken: 0,
  };

  // -- elements ---------------------------------------------------------------------------------

  const app = $('app');
  const thread = $('thread');
  const messages = $('messages');
  const emptyState = $('empty-state');
  const prompt = $('prompt');
  const composer = $('composer');
  const sendButton = $('send');
  const stopButton = $('stop');
  const sessionList = $('session-list');
  const chatTitle = $('chat-title');
  const toast = $('toast');

  // -- small helpers ----------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  const ICONS = {
    copy: 'M9 9h10v10H9zM5 15V5h10',
    check: 'M5 12l5 5 9-10',
    edit: 'M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z',
    trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
    shield: 'M12 3l8 3v6c0 4.5-3.4 8.3-8 9-4.6-.7-8-4.5-8-9V6z',
    alert: 'M12 4l9 16H3zM12 10v4M12 17v.5',
    stop: 'M7 7h10v10H7z',
    link: 'M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5',
    good: 'M7 11v9H4v-9zM7 11l4-7a2 2 0 0 1 3 2l-1 4h6a2 2 0 0 1 2 2l-2 6a2 2 0 0 1-2 2H7',
    bad: 'M17 13V4h3v9zM17 13l-4 7a2 2 0 0 1-3-2l1-4H5a2 2 0 0 1-2-2l2-6a2 2 0 0 1 2-2h10',
  };

  function icon(name) {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', ICONS[name]);
    svg.append(path);
    return svg;
  }

  let toastTimer = 0;
  function showToast(text, kind) {
    toast.textContent = text;
    toast.className = `toast ${kind || ''}`;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      toast.hidden = true;
    }, 4000);
  }

  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (_) {
      /* fall back below */
    }
    // Pages served over plain http on another host have no async clipboard.
    const area = el('textarea', 'clipboard-helper');
    area.value = text;
    area.setAttribute('readonly', '');
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (_) {
      ok = false;
    }
    area.remove();
    return ok;
  }

  function flashCopied(button) {
    const label = button.getAttribute('aria-label');
    button.classList.add('copied');
    const text = button.querySelector('.button-text');
    if (text) text.textContent = 'Copied';
    else if (!button.querySelector('svg')) button.textContent = 'Copied';
    showToast('Copied to the clipboard');
    setTimeout(() => {
      button.classList.remove('copied');
      if (text) text.textContent = 'Copy';
      else if (!button.querySelector('svg')) button.textContent = 'Copy';
      button.setAttribute('aria-label', label);
    }, 1500);
  }

  function relativeTime(iso) {
    const then = new Date(iso);
    if (Number.isNaN(then.getTime())) return '';
    const seconds = (Date.now() - then.getTime()) / 1000;
    if (seconds < 60) return 'just now';
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    if (seconds < 7 * 86400) return `${Math.floor(seconds / 86400)} d ago`;
    return then.toLocaleDateString();
  }

  function titleFrom(text) {
    const line = text.replace(/\s+/g, ' ').trim();
    return line.length > 60 ? `${line.slice(0, 57).trimEnd()}…` : line;
  }

  function hostOf(uri) {
    const href = md.safeUrl(uri);
    if (!href || !/^https?:/i.test(uri)) return null;
    try {
      return new URL(href).hostname.replace(/^www\./, '');
    } catch (_) {
      return null;
    }
  }

  // -- HTTP -------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message, retryAfter) {
      super(message);
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  function headers(json) {
    const h = { Accept: 'application/json' };
    if (json) h['Content-Type'] = 'application/json';
    if (state.apiKey) h.Authorization = `Bearer ${state.apiKey}`;
    return h;
  }

  async function errorFrom(response) {
    let message = `${response.status} ${response.statusText}`.trim();
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (_) {
      /* not JSON */
    }
    const retry = Number(response.headers.get('Retry-After'));
    if (response.status === 429) {
      message = `The server is busy: ${message}.${retry ? ` Try again in ${retry} s.` : ''}`;
    }
    return new ApiError(response.status, message, retry || null);
  }

  /** fetch() with the API key; on 401 asks for a key once and tries again. */
  async function request(path, options, retried) {
    const opts = options || {};
    const response = await fetch(path, {
      method: opts.method || 'GET',
      headers: headers(opts.body !== undefined),
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
      cache: 'no-store',
    });
    if (response.status === 401 && !retried) {
      const error = await errorFrom(response);
      if (await askForApiKey(error.message)) return request(path, options, true);
      throw error;
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async function api(path, options) {
    const response = await request(path, options);
    if (response.status === 204) return null;
    return response.json();
  }

  // -- API key dialog ---------------------------------------------------------------------------

  function askForApiKey(reason) {
    const dialog = $('api-key-dialog');
    const input = $('api-key-input');
    $('api-key-reason').textContent = state.apiKey
      ? `The server refused the saved API key (${reason}). Enter another one; it is kept in this browser only.`
      : 'This server needs an API key. It is kept in this browser only.';
    input.value = '';
    return new Promise((resolve) => {
      dialog.addEventListener(
        'close',
        () => {
          const key = input.value.trim();
          if (dialog.returnValue === 'save' && key) {
            setApiKey(key);
            resolve(true);
          } else {
            resolve(false);
          }
        },
        { once: true },
      );
      if (!dialog.open) dialog.showModal();
      input.focus();
    });
  }

  function setApiKey(key) {
    state.apiKey = key;
    storage.set(KEYS.apiKey, key || null);
    $('set-api-key').value = key;
  }

  // -- the assistant's message ------------------------------------------------------------------

  let messageCounter = 0;

  /** One assistant reply: text (Markdown), notices, numbered sources, actions. */
  class Reply {
    constructor() {
      this.id = `m${(messageCounter += 1)}`;
      this.text = '';
      this.sources = [];
      this.frame = 0;
      this.node = el('article', 'msg assistant');
      this.node.setAttribute('aria-label', 'Parley’s answer');
      const avatar = el('div', 'avatar');
      avatar.setAttribute('aria-hidden', 'true');
      avatar.textContent = 'P';
      this.body = el('div', 'msg-body');
      this.notices = el('div', 'notices');
      this.content = el('div', 'content markdown');
      this.typing = el('div', 'typing');
      this.typing.setAttribute('aria-label', 'Parley is writing');
      this.typing.setAttribute('role', 'status');
      this.typing.append(el('span'), el('span'), el('span'));
      this.sourcesNode = el('section', 'sources');
      this.sourcesNode.hidden = true;
      this.footer = el('div', 'msg-actions');
      this.status = el('span', 'msg-status');
      const copy = el('button', 'icon-button small copy-reply');
      copy.type = 'button';
      copy.setAttribute('aria-label', 'Copy answer');
      copy.title = 'Copy answer';
      copy.append(icon('copy'));
      copy.addEventListener('click', async () => {
        if (await copyText(this.text)) flashCopied(copy);
        else showToast('Could not copy: select the text instead', 'error');
      });
      this.rating = this.ratingButtons();
      this.footer.append(copy, this.rating, this.status);
      this.footer.hidden = true;
      this.body.append(this.notices, this.typing, this.content, this.sourcesNode, this.footer);
      this.node.append(avatar, this.body);
    }

    /** Thumbs up/down (and a comment) for this reply; shown once its stored turn is known. */
    ratingButtons() {
      const box = el('span', 'rating');
      box.hidden = true;
      this.rateButtons = {};
      for (const [rating, label] of [['good', 'Good answer'], ['bad', 'Bad answer']]) {
        const button = el('button', `icon-button small rate rate-${rating}`);
        button.type = 'button';
        button.setAttribute('aria-label', label);
        button.setAttribute('aria-pressed', 'false');
        button.title = label;
        button.append(icon(rating));
        button.addEventListener('click', () => this.rate(this.feedback === rating ? null : rating));
        this.rateButtons[rating] = button;
        box.append(button);
      }
      this.comment = el('input', 'rate-comment');
      this.comment.type = 'text';
      this.comment.maxLength = 2000;
      this.comment.placeholder = 'Why? (optional, Enter sends)';
      this.comment.setAttribute('aria-label', 'Comment on this answer');
      this.comment.hidden = true;
      this.comment.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter') return;
        event.preventDefault();
        this.rate(this.feedback, this.comment.value.trim() || null);
      });
      box.append(this.comment);
      return box;
    }

    /** Ties the reply to turn `index` of session `sessionId`, with its stored rating. */
    setTurn(sessionId, index, feedback) {
      this.sessionId = sessionId;
      this.turn = index;
      this.showFeedback(feedback && feedback.rating ? feedback.rating : null);
      this.rating.hidden = false;
    }

    showFeedback(rating) {
      this.feedback = rating;
      for (const [name, button] of Object.entries(this.rateButtons)) {
        button.setAttribute('aria-pressed', String(name === rating));
      }
      this.comment.hidden = !rating;
    }

    async rate(rating, comment) {
      try {
        const path = `/v1/sessions/${encodeURIComponent(this.sessionId)}/turns/${this.turn}/feedback`;
        await api(path, { method: 'POST', body: { rating, comment: comment || null } });
        this.showFeedback(rating);
        if (comment) {
          this.comment.hidden = true;
          showToast('Thanks for the feedback');
        } else if (rating) {
          this.comment.value = '';
        }
      } catch (error) {
        showToast(`Could not save the rating: ${error.message}`, 'error');
      }
    }

    set streaming(on) {
      this.node.classList.toggle('streaming', on);
      this.node.setAttribute('aria-busy', on ? 'true' : 'false');
      if (!on) {
        this.typing.remove();
        this.footer.hidden = false;
      }
    }

    append(piece) {
      if (!piece) return;
      this.text += piece;
      this.typing.remove();
      this.schedule();
    }

    replace(text) {
      this.text = text;
      this.schedule();
    }

    schedule() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }

    render() {
      const count = this.sources.length;
      const cite = (n) => (n >= 1 && n <= count ? this.citation(n) : null);
      this.content.replaceChildren(md.render(this.text, { cite }));
    }

    citation(n) {
      const a = el('a', 'cite', String(n));
      a.href = `#${this.id}-src-${n}`;
      a.setAttribute('aria-label', `Source ${n}: ${this.sources[n - 1].title || 'untitled'}`);
      a.addEventListener('click', (event) => {
        event.preventDefault();
        const item = document.getElementById(`${this.id}-src-${n}`);
        if (!item) return;
        const details = item.querySelector('details');
        details.open = true;
        details.querySelector('summary').focus();
        item.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      });
      return a;
    }

    setSources(sources) {
      this.sources = Array.isArray(sources) ? sources.filter((s) => s && typeof s === 'object') : [];
      const node = this.sourcesNode;
      node.replaceChildren();
      node.hidden = !this.sources.length;
      if (!this.sources.length) return;
      const heading = el('h3', 'sources-title', 'Sources');
      heading.id = `${this.id}-sources`;
      node.setAttribute('aria-labelledby', heading.id);
      const list = el('ol', 'source-list');
      const locations = whereInDocument(this.sources);
      this.sources.forEach((source, index) => {
        const n = index + 1;
        const item = el('li', 'source');
        item.id = `${this.id}-src-${n}`;
        const details = el('details');
        const summary = el('summary');
        summary.append(el('span', 'source-num', String(n)));
        summary.append(el('span', 'source-title', String(source.title || 'Untitled')));
        const where = locations[index];
        if (where) summary.append(el('span', 'source-where', where));
        const host = hostOf(String(source.uri || ''));
        if (host) summary.append(el('span', 'source-host', host));
        details.append(summary);
        const passage = el('blockquote', 'source-passage', md.unwrap(source.snippet || ''));
        details.append(passage);
        const meta = el('div', 'source-meta');
        const uri = String(source.uri || '');
        const href = host ? md.safeUrl(uri) : null;
        if (href) {
          const a = el('a', 'source-link');
          a.href = href;
          a.target = '_blank';
          a.rel = 'noopener noreferrer nofollow';
          a.append(el('span', null, 'Open source'), icon('link'));
          a.setAttribute('aria-label', `Open source ${n}: ${source.title || href} (new tab)`);
          meta.append(a);
        } else if (source.document) {
          // A file of the knowledge base, by its name in the collection (never a server path).
          meta.append(el('span', 'source-document', String(source.document)));
        }
        if (typeof source.score === 'number') meta.title = `Retrieval score ${source.score.toFixed(3)}`;
        details.append(meta);
        item.append(details);
        list.append(item);
      });
      node.append(heading, list);
      if (this.text) this.render();
    }

    notice(kind, title, text) {
      const box = el('div', `notice notice-${kind}`);
      box.setAttribute('role', 'note');
      box.append(icon(kind === 'block' ? 'shield' : 'alert'));
      const words = el('div', 'notice-text');
      words.append(el('strong', null, title), document.createTextNode(` ${text}`));
      box.append(words);
      this.notices.append(box);
    }

    /** Notices for what moderation decided: `{input, output?, domain?}` verdicts. */
    setModeration(moderation, finish) {
      this.notices.replaceChildren();
      const m = moderation && typeof moderation === 'object' ? moderation : {};
      const label = (v) => (v && v.label ? `“${String(v.label)}”` : 'unsafe');
      if (m.input && m.input.action === 'block') {
        this.notice(
          'block',
          'Message blocked by moderation.',
          `Your message was labelled ${label(m.input)}, so it was not sent to the model.`,
        );
      } else if (m.output && m.output.action === 'block') {
        this.notice(
          'block',
          'Answer withdrawn by moderation.',
          `The model’s answer was labelled ${label(m.output)} and was replaced.`,
        );
      } else if (finish === 'moderation') {
        this.notice('block', 'Blocked by moderation.', 'This answer was replaced by a refusal.');
      }
      if (m.input && m.input.action === 'caution') {
        this.notice(
          'caution',
          'Sensitive topic.',
          `Your message was labelled ${label(m.input)}; the answer was written with extra care.`,
        );
      }
      if (m.output && m.output.action === 'caution') {
        this.notice('caution', 'Sensitive answer.', `The answer was labelled ${label(m.output)}.`);
      }
      if ((m.domain && m.domain.action === 'block') || finish === 'off_topic') {
        this.notice('caution', 'Off topic.', 'This question is outside what this assistant is set up to answer.');
      }
    }

    finish(reason) {
      const words = {
        length: 'Stopped at the token limit',
        cancelled: 'Stopped',
        moderation: '',
        off_topic: '',
        stop: '',
      };
      const text = reason in words ? words[reason] : '';
      this.status.textContent = text;
      this.node.dataset.finish = reason || 'stop';
      if (reason === 'cancelled' && !this.text) this.content.replaceChildren(el('p', 'muted', 'Stopped before any answer.'));
    }

    error(message) {
      this.typing.remove();
      const box = el('div', 'notice notice-error');
      box.setAttribute('role', 'alert');
      box.append(icon('alert'));
      const words = el('div', 'notice-text');
      words.append(el('strong', null, 'Something went wrong.'), document.createTextNode(` ${message}`));
      box.append(words);
      this.notices.append(box);
    }
  }

  /**
   * Where each passage is in its document: its section and page when the server knows them
   * (or its chunk number), and, when passages of one document still look alike, "excerpt N".
   */
  function whereInDocument(sources) {
    const places = sources.map((source) => {
      const parts = [];
      if (source.section) parts.push(String(source.section));
      if (source.page !== undefined && source.page !== null && source.page !== '') parts.push(`p. ${source.page}`);
      if (!parts.length && Number.isInteger(source.chunk)) parts.push(`part ${source.chunk + 1}`);
      return parts.join(' · ');
    });
    const seen = new Map();
    sources.forEach((source, index) => {
      const key = `${source.title || ''}\u0000${places[index]}`;
      seen.set(key, [...(seen.get(key) || []), index]);
    });
    for (const indexes of seen.values()) {
      if (indexes.length < 2) continue;
      indexes.forEach((index, k) => {
        places[index] = [places[index], `excerpt ${k + 1}`].filter(Boolean).join(' · ');
      });
    }
    return places;
  }

  function userMessage(text) {
    const node = el('article', 'msg user');
    node.setAttribute('aria-label', 'Your message');
    node.append(el('div', 'bubble', text));
    return node;
  }

  // Follow the conversation as it grows, unless the reader scrolled up to read.
  let pinned = true;

  function nearBottom() {
    return messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  }

  function scrollToBottom() {
    pinned = true;
    messages.scrollTop = messages.scrollHeight;
  }

  messages.addEventListener('scroll', () => {
    pinned = nearBottom();
  });
  if (window.ResizeObserver) {
    new ResizeObserver(() => {
      if (pinned) messages.scrollTop = messages.scrollHeight;
    }).observe(thread);
  }

  function showThread(hasMessages) {
    emptyState.hidden = hasMessages;
    app.classList.toggle('has-messages', hasMessages);
  }

  // -- sending ----------------------------------------------------------------------------------

  function setBusy(busy) {
    sendButton.hidden = busy;
    stopButton.hidden = !busy;
    composer.classList.toggle('busy', busy);
    if (!busy) updateSendEnabled();
  }

  function updateSendEnabled() {
    sendButton.disabled = !prompt.value.trim() || Boolean(state.controller);
  }

  function chatBody(text) {
    const s = state.settings;
    const msgs = [];
    if (s.system.trim()) msgs.push({ role: 'system', content: s.system });
    msgs.push({ role: 'user', content: text });
    return {
      messages: msgs,
      stream: true,
      session_id: state.sessionId,
      temperature: s.temperature,
      top_p: s.top_p,
      top_k: s.top_k,
      max_tokens: s.max_tokens,
      retrieval: s.retrieval,
      parley_events: true,
      // The base picked in the knowledge-base picker (knowledge.js); absent: the default.
      knowledge_base: window.ParleyKnowledge ? window.ParleyKnowledge.selected() : undefined,
    };
  }

  async function send(text) {
    if (state.controller || !text.trim()) return;
    const controller = new AbortController();
    state.controller = controller;
    setBusy(true);
    prompt.value = '';
    autoGrow();
    showThread(true);
    thread.append(userMessage(text));
    const reply = new Reply();
    reply.streaming = true;
    thread.append(reply.node);
    scrollToBottom();
    let finished = false;
    try {
      if (!state.sessionId) {
        const session = await api('/v1/sessions', {
          method: 'POST',
          body: { title: titleFrom(text) },
          signal: controller.signal,
        });
        state.sessionId = session.id;
        setTitle(session.title);
        setHash(session.id);
        refreshSessions();
      }
      const response = await request('/v1/chat/completions', {
        method: 'POST',
        body: chatBody(text),
        signal: controller.signal,
      });
      finished = await readStream(response, reply);
      if (!finished) reply.error('The connection closed before the answer was complete.');
      else linkStoredTurn(reply, state.sessionId);
    } catch (error) {
      if (error.name === 'AbortError') {
        reply.finish('cancelled');
      } else {
        // The session was deleted elsewhere (or expired): the next message starts a new one.
        if (error.status === 404 && /session/i.test(error.message || '')) {
          state.sessionId = null;
          setHash(null);
        }
        reply.error(error.message || String(error));
      }
    } finally {
      if (reply.frame) {
        cancelAnimationFrame(reply.frame);
        reply.frame = 0;
      }
      reply.render();
      reply.streaming = false;
      state.controller = null;
      setBusy(false);
      refreshSessions();
      if (!matchMedia('(pointer: coarse)').matches) prompt.focus();
    }
  }

  /**
   * Reads the server-sent events into `reply`; true when the last chunk arrived.
   *
   * Standard chunks carry the text (the first one also Parley's `sources` and
   * `parley_moderation`);
   * `event: parley` events (asked for with `parley_events`) carry what standard clients do not
   * get: a withdrawn reply's refusal (`replace`) and the final moderation and finish reason.
   */
  async function readStream(response, reply) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let done = false;
    let replaced = false;
    let moderation = null;
    let eventName = '';
    const onParley = (data) => {
      if (typeof data.replace === 'string') {
        replaced = true;
        reply.replace(data.replace);
        reply.setModeration({ ...(moderation || {}), output: { action: 'block' } }, 'moderation');
      }
      if (typeof data.parley_finish_reason === 'string') {
        done = true;
        if (Array.isArray(data.sources)) reply.setSources(data.sources);
        if (data.parley_moderation) moderation = data.parley_moderation;
        reply.setModeration(moderation, data.parley_finish_reason);
        reply.finish(data.parley_finish_reason);
      }
    };
    const onChunk = (chunk) => {
      if (chunk.error) {
        reply.error(chunk.error.message || 'The server reported an error.');
        return;
      }
      if (Array.isArray(chunk.sources)) reply.setSources(chunk.sources);
      if (chunk.parley_moderation) {
        moderation = chunk.parley_moderation;
        reply.setModeration(moderation);
      }
      const choice = (chunk.choices && chunk.choices[0]) || {};
      // After a withdrawal the page already shows the refusal the standard chunk repeats.
      if (!replaced && choice.delta && typeof choice.delta.content === 'string') {
        reply.append(choice.delta.content);
      }
      if (choice.finish_reason && !done) {
        done = true;
        reply.finish(choice.finish_reason === 'content_filter' ? 'moderation' : choice.finish_reason);
      }
    };
    while (true) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          eventName = '';
          continue;
        }
        if (line.startsWith('event:')) {
          eventName = line.slice(6).trim();
          continue;
        }
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return done;
        let parsed;
        try {
          parsed = JSON.parse(data);
        } catch (_) {
          continue;
        }
        if (!parsed || typeof parsed !== 'object') continue;
        if (eventName === 'parley') onParley(parsed);
        else if (!eventName) onChunk(parsed);
      }
    }
    return done;
  }

  function stop() {
    if (state.controller) state.controller.abort();
  }

  /** The reply just streamed is the session's last assistant turn: rate that one. */
  async function linkStoredTurn(reply, sessionId) {
    try {
      const session = await api(`/v1/sessions/${encodeURIComponent(sessionId)}`);
      const turns = (session && session.turns) || [];
      for (let index = turns.length - 1; index >= 0; index -= 1) {
        if (turns[index].role === 'assistant') {
          reply.setTurn(sessionId, index, turns[index].feedback);
          return;
        }
      }
    } catch (_) {
      // Rating is optional: without the stored turn the buttons just stay hidden.
    }
  }

  // -- sessions ---------------------------------------------------------------------------------

  function setTitle(title) {
    state.title = title || null;
    chatTitle.textContent = title || 'New chat';
    document.title = title ? `${title} · Parley` : 'Parley';
  }

  function setHash(id) {
    const url = id ? `#session=${encodeURIComponent(id)}` : window.location.pathname;
    window.history.replaceState(null, '', url);
  }

  function hashSession() {
    const m = /^#session=([^&]+)$/.exec(window.location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  async function refreshSessions() {
    try {
      const body = await api('/v1/sessions?limit=100');
      state.sessions = Array.isArray(body && body.data) ? body.data : [];
      renderSessions();
    } catch (error) {
      if (error.status !== 401) showToast(`Could not load conversations: ${error.message}`, 'error');
    }
  }

  function renderSessions() {
    const items = state.sessions.map((session) => sessionItem(session));
    sessionList.replaceChildren(...items);
    $('session-empty').hidden = items.length > 0;
  }

  function sessionItem(session) {
    const li = el('li', 'session');
    li.dataset.id = session.id;
    const current = session.id === state.sessionId;
    li.classList.toggle('current', current);
    const open = el('button', 'session-open');
    open.type = 'button';
    if (current) open.setAttribute('aria-current', 'page');
    const title = session.title || 'Untitled chat';
    open.append(el('span', 'session-title', title));
    const when = relativeTime(session.updated_at);
    const count = typeof session.turn_count === 'number' ? Math.ceil(session.turn_count / 2) : null;
    const meta = [when, count !== null ? `${count} message${count === 1 ? '' : 's'}` : '']
      .filter(Boolean)
      .join(' · ');
    open.append(el('span', 'session-meta', meta));
    open.addEventListener('click', () => {
      closeSidebar();
      openSession(session.id);
    });
    const rename = el('button', 'icon-button small session-rename');
    rename.type = 'button';
    rename.title = 'Rename';
    rename.setAttribute('aria-label', `Rename “${title}”`);
    rename.append(icon('edit'));
    rename.addEventListener('click', () => startRename(li, session));
    const remove = el('button', 'icon-button small session-delete');
    remove.type = 'button';
    remove.title = 'Delete';
    remove.setAttribute('aria-label', `Delete “${title}”`);
    remove.append(icon('trash'));
    remove.addEventListener('click', () => deleteSession(session));
    const tools = el('div', 'session-tools');
    tools.append(rename, remove);
    li.append(open, tools);
    return li;
  }

  function startRename(li, session) {
    const input = el('input', 'session-rename-input');
    input.type = 'text';
    input.value = session.title || '';
    input.maxLength = 200;
    input.setAttribute('aria-label', 'New title; Enter saves, Escape cancels');
    li.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== session.title) {
        try {
          await api(`/v1/sessions/${encodeURIComponent(session.id)}`, {
            method: 'PATCH',
            body: { title },
          });
          if (session.id === state.sessionId) setTitle(title);
        } catch (error) {
          showToast(`Could not rename: ${error.message}`, 'error');
        }
      }
      await refreshSessions();
      const again = sessionList.querySelector(`li[data-id="${CSS.escape(session.id)}"] .session-rename`);
      if (again) again.focus();
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        finish(true);
      } else if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener('blur', () => finish(true));
  }

  function confirmDelete(title) {
    const dialog = $('confirm-dialog');
    $('confirm-text').textContent = `“${title}” and all its messages will be deleted. This cannot be undone.`;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.returnValue = '';
      dialog.showModal();
      $('confirm-ok').focus();
    });
  }

  async function deleteSession(session) {
    if (!(await confirmDelete(session.title || 'Untitled chat'))) return;
    try {
      await api(`/v1/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' });
      showToast('Conversation deleted');
    } catch (error) {
      if (error.status !== 404) {
        showToast(`Could not delete: ${error.message}`, 'error');
        return;
      }
    }
    if (session.id === state.sessionId) newChat();
    await refreshSessions();
  }

  function newChat() {
    stop();
    state.loadToken += 1;
    state.sessionId = null;
    setTitle(null);
    setHash(null);
    thread.replaceChildren();
    showThread(false);
    renderSessions();
    closeSidebar();
    prompt.focus();
  }

  async function openSession(id) {
    if (state.controller) stop();
    const token = (state.loadToken += 1);
    let session;
    try {
      session = await api(`/v1/sessions/${encodeURIComponent(id)}`);
    } catch (error) {
      if (token !== state.loadToken) return;
      showToast(
        error.status === 404 ? 'That conversation no longer exists.' : `Could not open it: ${error.message}`,
        'error',
      );
      if (error.status === 404) newChat();
      return;
    }
    if (token !== state.loadToken) return; // another click won
    state.sessionId = session.id;
    setTitle(session.title);
    setHash(session.id);
    renderTurns(session.turns || []);
    renderSessions();
    scrollToBottom();
    prompt.focus();
  }

  function renderTurns(turns) {
    thread.replaceChildren();
    let lastInput = null;
    for (const [index, turn] of turns.entries()) {
      if (turn.role === 'user') {
        lastInput = turn.labels || null;
        thread.append(userMessage(String(turn.text || '')));
        continue;
      }
      const labels = turn.labels || {};
      const reply = new Reply();
      reply.setSources(turn.sources || []);
      reply.setModeration(
        { input: lastInput, output: labels.output, domain: labels.domain },
        labels.finish_reason,
      );
      reply.text = String(turn.text || '');
      reply.render();
      reply.streaming = false;
      reply.finish(labels.finish_reason);
      reply.setTurn(state.sessionId, index, turn.feedback);
      thread.append(reply.node);
      lastInput = null;
    }
    showThread(turns.length > 0);
  }

  // -- settings panel ---------------------------------------------------------------------------

  const fields = {
    temperature: $('set-temperature'),
    top_p: $('set-top-p'),
    top_k: $('set-top-k'),
    max_tokens: $('set-max-tokens'),
    retrieval: $('set-retrieval'),
    system: $('set-system'),
  };

  function fillSettings() {
    const s = state.settings;
    fields.temperature.value = s.temperature;
    fields.top_p.value = s.top_p;
    fields.top_k.value = s.top_k;
    fields.max_tokens.value = s.max_tokens;
    fields.retrieval.checked = s.retrieval;
    fields.system.value = s.system;
    $('set-api-key').value = state.apiKey;
    showRangeValues();
  }

  function showRangeValues() {
    $('out-temperature').textContent = Number(fields.temperature.value).toFixed(2);
    $('out-top-p').textContent = Number(fields.top_p.value).toFixed(2);
  }

  function readSettings() {
    const number = (input, fallback, integer) => {
      const v = integer ? parseInt(input.value, 10) : parseFloat(input.value);
      if (!Number.isFinite(v)) return fallback;
      const min = input.min !== '' ? Number(input.min) : -Infinity;
      const max = input.max !== '' ? Number(input.max) : Infinity;
      return Math.min(max, Math.max(min, v));
    };
    state.settings = {
      temperature: number(fields.temperature, DEFAULTS.temperature),
      top_p: number(fields.top_p, DEFAULTS.top_p),
      top_k: number(fields.top_k, DEFAULTS.top_k, true),
      max_tokens: number(fields.max_tokens, DEFAULTS.max_tokens, true),
      retrieval: fields.retrieval.checked,
      system: fields.system.value,
    };
    storage.set(KEYS.settings, JSON.stringify(state.settings));
    showRangeValues();
  }

  // -- layout: the sidebar on small screens -----------------------------------------------------

  function openSidebar() {
    app.classList.add('sidebar-open');
    $('backdrop').hidden = false;
    $('open-sidebar').setAttribute('aria-expanded', 'true');
    $('new-chat').focus();
  }

  function closeSidebar() {
    if (!app.classList.contains('sidebar-open')) return;
    app.classList.remove('sidebar-open');
    $('backdrop').hidden = true;
    $('open-sidebar').setAttribute('aria-expanded', 'false');
  }

  function autoGrow() {
    prompt.style.height = 'auto';
    prompt.style.height = `${Math.min(prompt.scrollHeight, 220)}px`;
    updateSendEnabled();
  }

  // -- wiring -----------------------------------------------------------------------------------

  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    send(prompt.value);
  });
  prompt.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(prompt.value);
    } else if (event.key === 'Escape' && state.controller) {
      stop();
    }
  });
  prompt.addEventListener('input', autoGrow);
  stopButton.addEventListener('click', () => {
    stop();
    prompt.focus();
  });
  $('new-chat').addEventListener('click', newChat);
  $('topbar-new-chat').addEventListener('click', newChat);
  $('open-sidebar').addEventListener('click', openSidebar);
  $('close-sidebar').addEventListener('click', () => {
    closeSidebar();
    $('open-sidebar').focus();
  });
  $('backdrop').addEventListener('click', closeSidebar);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && app.classList.contains('sidebar-open')) {
      closeSidebar();
      $('open-sidebar').focus();
    }
  });
  $('suggestions').addEventListener('click', (event) => {
    const button = event.target.closest('.suggestion');
    if (button) send(button.textContent);
  });
  thread.addEventListener('click', async (event) => {
    const button = event.target.closest('.copy-code');
    if (!button) return;
    const code = button.closest('.code-block').querySelector('code');
    if (await copyText(code.textContent)) flashCopied(button);
  });

  $('open-settings').addEventListener('click', () => {
    fillSettings();
    $('settings').showModal();
  });
  $('settings-form').addEventListener('input', (event) => {
    if (event.target.id === 'set-api-key') setApiKey(event.target.value.trim());
    else readSettings();
  });
  $('settings-form').addEventListener('change', readSettings);
  $('reset-settings').addEventListener('click', () => {
    state.settings = { ...DEFAULTS };
    storage.set(KEYS.settings, null);
    fillSettings();
  });
  $('settings').addEventListener('close', () => {
    readSettings();
    // The close event comes a moment after the dialog hides; by then the user may have
    // clicked into the message box, which must keep its focus.
    const focused = document.activeElement;
    if (!focused || focused === document.body || $('settings').contains(focused)) {
      $('open-settings').focus();
    }
  });

  window.addEventListener('hashchange', () => {
    const id = hashSession();
    if (id && id !== state.sessionId) openSession(id);
  });

  async function loadModelName() {
    try {
      const response = await fetch('/health', { cache: 'no-store' });
      if (!response.ok) return;
      const health = await response.json();
      const parts = [health.model, health.engine].filter(Boolean).map(String);
      $('model-name').textContent = parts.join(' · ');
      if (health.retrieval === false) {
        $('empty-subtitle').textContent = 'Ask anything: answers stream as they are written.';
        fields.retrieval.disabled = true;
        fields.retrieval.closest('.field').title = 'This server has no knowledge base configured';
      }
    } catch (_) {
      /* the page works without it */
    }
  }

  /** Questions about the knowledge base's own documents (none when it has no titles). */
  async function loadSuggestions() {
    const group = $('suggestions');
    let questions = [];
    try {
      // Not request(): a refused key must not ask for one a second time.
      const response = await fetch('/ui/suggestions', { headers: headers(false), cache: 'no-store' });
      const body = response.ok ? await response.json() : null;
      questions = Array.isArray(body && body.suggestions) ? body.suggestions : [];
    } catch (_) {
      questions = [];
    }
    const buttons = questions
      .filter((q) => typeof q === 'string' && q.trim())
      .map((q) => {
        const button = el('button', 'suggestion', q);
        button.type = 'button';
        return button;
      });
    group.replaceChildren(...buttons);
    group.hidden = buttons.length === 0;
  }

  async function start() {
    fillSettings();
    autoGrow();
    showThread(false);
    loadModelName();
    await refreshSessions();
    loadSuggestions();
    const id = hashSession();
    if (id) await openSession(id);
    document.body.classList.add('ready');
  }

  start();
})();
