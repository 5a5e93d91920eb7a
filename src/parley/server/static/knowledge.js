/*
 * Knowledge bases on the web chat page: the picker (which base answers are grounded in), and
 * the documents panel (upload with ingestion progress, the document list, deletion).
 *
 * It uses the knowledge-base API only (/v1/knowledge_bases...) and exposes
 * `window.ParleyKnowledge.selected()` for app.js to put in each chat request. Names and titles
 * reach the page as text nodes only.
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const STORE = 'parley.knowledgeBase';
  const POLL_MS = 400;
  const kb = { bases: [], selected: null, fallback: null };

  function stored(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (_) {
      return null;
    }
  }

  function remember(name) {
    try {
      if (name) window.localStorage.setItem(STORE, name);
      else window.localStorage.removeItem(STORE);
    } catch (_) {
      /* private mode */
    }
  }

  async function call(path, options) {
    const opts = options || {};
    const headers = { Accept: 'application/json' };
    const key = stored('parley.apiKey');
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(path, {
      method: opts.method || 'GET',
      headers,
      body: opts.body,
      cache: 'no-store',
    });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error && body.error.message;
      const error = new Error(message || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function current() {
    return kb.bases.find((b) => b.name === kb.selected) || null;
  }

  // -- the picker ------------------------------------------------------------------------------

  async function loadBases() {
    let listing;
    try {
      listing = await call('/v1/knowledge_bases');
    } catch (_) {
      $('kb-bar').hidden = true; // no bases, no access, or retrieval off: no picker
      return;
    }
    kb.bases = listing.data || [];
    kb.fallback = listing.default;
    if (!kb.bases.length) {
      $('kb-bar').hidden = true;
      return;
    }
    const wanted = kb.selected || stored(STORE);
    kb.selected = kb.bases.some((b) => b.name === wanted) ? wanted : kb.bases[0].name;
    const picker = $('kb-picker');
    picker.replaceChildren();
    for (const base of kb.bases) {
      const option = document.createElement('option');
      option.value = base.name;
      option.textContent = `${base.name} (${base.documents.toLocaleString()} docs)`;
      picker.append(option);
    }
    picker.value = kb.selected;
    $('kb-bar').hidden = false;
  }

  function selected() {
    // The server's default needs no field: older servers and other bases stay compatible.
    return kb.selected && kb.selected !== kb.fallback ? kb.selected : undefined;
  }

  // -- the documents panel ---------------------------------------------------------------------

  function summarize() {
    const base = current();
    $('kb-title').textContent = base ? `Documents of ${base.name}` : 'Documents';
    $('kb-summary').textContent = base
      ? `${base.documents.toLocaleString()} documents, ${base.chunks.toLocaleString()} chunks` +
        (base.writable ? '' : ' (read only for this key)')
      : '';
    const writable = Boolean(base && base.writable);
    $('kb-upload').classList.toggle('disabled', !writable);
    $('kb-files').disabled = !writable;
  }

  async function loadDocuments() {
    const base = current();
    const list = $('kb-documents');
    list.replaceChildren();
    if (!base) return;
    let page;
    try {
      page = await call(`/v1/knowledge_bases/${encodeURIComponent(base.name)}/documents?limit=200`);
    } catch (error) {
      $('kb-summary').textContent = error.message;
      return;
    }
    $('kb-empty').hidden = page.data.length > 0;
    for (const doc of page.data) {
      const li = document.createElement('li');
      li.dataset.id = doc.id;
      const name = document.createElement('span');
      name.className = 'kb-doc-name';
      name.textContent = doc.name;
      name.title = doc.title;
      const chunks = document.createElement('span');
      chunks.className = 'kb-doc-chunks';
      chunks.textContent = `${doc.chunks} chunk${doc.chunks === 1 ? '' : 's'}`;
      li.append(name, chunks);
      if (base.writable) {
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'text-button kb-delete';
        remove.textContent = 'Delete';
        remove.setAttribute('aria-label', `Delete ${doc.name}`);
        remove.addEventListener('click', () => removeDocument(base.name, doc, remove));
        li.append(remove);
      }
      list.append(li);
    }
  }

  async function refresh() {
    await loadBases();
    summarize();
    await loadDocuments();
  }

  async function removeDocument(name, doc, button) {
    button.disabled = true;
    try {
      await call(
        `/v1/knowledge_bases/${encodeURIComponent(name)}/documents/${encodeURIComponent(doc.id)}`,
        { method: 'DELETE' },
      );
      showJob(`Deleted ${doc.name}.`, 1, false);
    } catch (error) {
      showJob(error.message, 0, true);
    }
    await refresh();
  }

  function showJob(text, progress, failed) {
    const box = $('kb-job');
    box.hidden = false;
    box.classList.toggle('failed', Boolean(failed));
    $('kb-progress').value = progress;
    $('kb-job-text').textContent = text;
  }

  function describe(job) {
    if (job.status === 'queued') return `Queued: ${job.files.join(', ')}`;
    if (job.status === 'failed') return `Failed: ${job.error}`;
    const skipped = job.skipped.length
      ? ` Skipped: ${job.skipped.map((s) => `${s.file} (${s.reason})`).join('; ')}.`
      : '';
    if (job.status === 'done') {
      return `Added ${job.documents} document${job.documents === 1 ? '' : 's'} ` +
        `(${job.chunks_total} chunk${job.chunks_total === 1 ? '' : 's'}).${skipped}`;
    }
    const eta = job.eta_s != null ? `, about ${Math.ceil(job.eta_s)} s left` : '';
    return `Indexing: ${job.chunks_done} of ${job.chunks_total || '?'} chunks${eta}.${skipped}`;
  }

  async function upload(files) {
    const base = current();
    if (!base || !base.writable || !files.length) return;
    const form = new FormData();
    for (const file of files) form.append('files', file, file.name);
    showJob(`Uploading ${files.length} file${files.length === 1 ? '' : 's'}…`, 0, false);
    let job;
    try {
      job = await call(`/v1/knowledge_bases/${encodeURIComponent(base.name)}/documents`, {
        method: 'POST',
        body: form,
      });
    } catch (error) {
      showJob(error.message, 0, true);
      return;
    }
    const where = `/v1/knowledge_bases/${encodeURIComponent(base.name)}/jobs/${job.id}`;
    while (job.status === 'queued' || job.status === 'running') {
      showJob(describe(job), job.progress, false);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      try {
        job = await call(where);
      } catch (error) {
        showJob(error.message, 0, true);
        return;
      }
    }
    showJob(describe(job), job.status === 'done' ? 1 : 0, job.status === 'failed');
    await refresh();
  }

  function wire() {
    const picker = $('kb-picker');
    picker.addEventListener('change', () => {
      kb.selected = picker.value;
      remember(kb.selected);
      summarize();
    });
    const dialog = $('kb-dialog');
    $('kb-open').addEventListener('click', async () => {
      $('kb-job').hidden = true;
      if (!dialog.open) dialog.showModal();
      await refresh();
    });
    $('kb-close').addEventListener('click', () => dialog.close());
    const input = $('kb-files');
    input.addEventListener('change', () => {
      const files = Array.from(input.files || []);
      input.value = '';
      upload(files);
    });
    const drop = $('kb-drop');
    drop.addEventListener('dragover', (event) => {
      event.preventDefault();
      drop.classList.add('dragging');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('dragging');
      upload(Array.from((event.dataTransfer && event.dataTransfer.files) || []));
    });
  }

  window.ParleyKnowledge = { selected, reload: refresh };
  wire();
  loadBases();
})();
