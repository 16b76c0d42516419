// campuswatch console: the one script of the pages (served by the collector, no inline scripts).
// Forms marked data-api send their fields as JSON to that API with the session's CSRF token; then they
// follow data-then (a URL, or "next" for the ?next= of the sign-in page) or reload the page.

function csrfToken() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.getAttribute('content') : null;
}

function fieldsOf(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if ((el.type === 'checkbox' || el.type === 'radio') && !el.checked) continue;
    const v = el.value;
    if (v === '') continue;
    body[el.name] = el.type === 'number' ? Number(v) : v;
  }
  return body;
}

function showError(form, message) {
  let box = form.querySelector('.form-error');
  if (!box) {
    box = document.createElement('p');
    box.className = 'form-error';
    box.setAttribute('role', 'alert');
    form.appendChild(box);
  }
  box.textContent = message;
}

async function submitApi(event) {
  const form = event.currentTarget;
  event.preventDefault();
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = true;
  const method = (form.dataset.method || 'POST').toUpperCase();
  const headers = { accept: 'application/json' };
  const token = csrfToken();
  if (token) headers['x-csrf-token'] = token;
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'DELETE') {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(fieldsOf(form));
  }
  try {
    const res = await fetch(form.dataset.api, init);
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const j = await res.json();
        if (j?.message) message = j.message;
      } catch (_) {
        // not JSON: keep the status line
      }
      showError(form, message);
      return;
    }
    // the answer is read to its end before the page moves on (else the browser cancels it mid-way)
    await res.text();
    const then = form.dataset.then;
    if (then === 'next') {
      const next = new URLSearchParams(location.search).get('next');
      // only a path of this site (never //host or a scheme)
      location.assign(next && /^\/(?!\/)/.test(next) ? next : '/');
    } else if (then) {
      location.assign(then);
    } else {
      location.reload();
    }
  } catch (err) {
    showError(form, String(err?.message ? err.message : err));
  } finally {
    if (button) button.disabled = false;
  }
}

function wire(root) {
  for (const form of root.querySelectorAll('form[data-api]')) form.addEventListener('submit', submitApi);
  // filter forms apply on change (a plain GET form: works without this too)
  for (const el of root.querySelectorAll('form.filters select')) {
    el.addEventListener('change', () => el.form.requestSubmit());
  }
}

document.addEventListener('DOMContentLoaded', () => wire(document));
