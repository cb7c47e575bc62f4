// Passkeys: the WebAuthn ceremonies, which HTML and htmx cannot do. Every passkey control is
// rendered hidden and shown here only where the browser has WebAuthn; everything else on the
// page stays plain htmx. The server answers every ceremony step with JSON: the options as the
// browser's *FromJSON helpers take them, then a redirect, the sign-in dialog's event, or
// {"error": "one plain sentence"}.

const PKC = window.PublicKeyCredential;

// base64url without padding, both ways: the fallback where parse*OptionsFromJSON and toJSON
// are missing.
function decode(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  return Uint8Array.from(b, (ch) => ch.charCodeAt(0)).buffer;
}
function encode(buf) {
  let s = '';
  new Uint8Array(buf).forEach((b) => { s += String.fromCharCode(b); });
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
const withIds = (list) => (list || []).map((c) => ({ ...c, id: decode(c.id) }));

function creationOptions(o) {
  if (PKC.parseCreationOptionsFromJSON) return PKC.parseCreationOptionsFromJSON(o);
  return { ...o, challenge: decode(o.challenge), user: { ...o.user, id: decode(o.user.id) }, excludeCredentials: withIds(o.excludeCredentials) };
}
function requestOptions(o) {
  if (PKC.parseRequestOptionsFromJSON) return PKC.parseRequestOptionsFromJSON(o);
  return { ...o, challenge: decode(o.challenge), allowCredentials: withIds(o.allowCredentials) };
}
function credentialJSON(c) {
  if (typeof c.toJSON === 'function') return c.toJSON();
  const r = c.response;
  const response = { clientDataJSON: encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = encode(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = encode(r.authenticatorData);
    response.signature = encode(r.signature);
    if (r.userHandle) response.userHandle = encode(r.userHandle);
  }
  return { id: c.id, rawId: encode(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
    clientExtensionResults: c.getClientExtensionResults(), response };
}

// The CSRF token of the element's form (the dialog's forms carry their own) or of the page.
function csrfToken(el) {
  const holder = (el && el.closest('[hx-headers]')) || document.body;
  try { return JSON.parse(holder.getAttribute('hx-headers') || '{}')['X-CSRF-Token'] || ''; } catch (e) { return ''; }
}

const refused = 'Tally refused this request. Reload the page and try again.';

// post sends JSON like every other POST here (the CSRF header) and returns the answer's JSON;
// an answer that is not JSON (a guard's page) becomes a plain error.
async function post(path, body, el) {
  const res = await fetch(path, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrfToken(el) },
    body: JSON.stringify(body),
  });
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('application/json')) data = await res.json();
  if (!res.ok || !data) return { error: (data && data.error) || refused, status: res.status, fields: data && data.fields };
  return data;
}

// A browser's refusal, said plainly: cancelled or timed out, or anything else.
function browserError(err) {
  if (err && err.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.';
  if (err && err.name === 'InvalidStateError') return 'This passkey is registered already.';
  if (err && err.name === 'AbortError') return '';
  return 'Your browser could not use a passkey here.';
}

// setFieldError shows msg under input as Field renders a refused field's error (the id
// "<input id>-error", aria-invalid, aria-describedby), or removes it when msg is empty.
function setFieldError(input, msg) {
  const id = input.id + '-error';
  let error = document.getElementById(id);
  const described = (input.getAttribute('aria-describedby') || '').split(' ').filter((t) => t && t !== id);
  if (!msg) {
    if (error) error.remove();
    input.removeAttribute('aria-invalid');
  } else {
    if (!error) {
      error = document.createElement('p');
      error.className = 'field-error';
      error.id = id;
      input.insertAdjacentElement('afterend', error);
    }
    error.textContent = msg;
    input.setAttribute('aria-invalid', 'true');
    described.push(id);
  }
  if (described.length) input.setAttribute('aria-describedby', described.join(' '));
  else input.removeAttribute('aria-describedby');
}

function show(el, msg) {
  if (!el) return;
  el.textContent = msg;
  el.hidden = !msg;
}

// Signed in: the sign-in dialog gets the same event as its form's answer (app.js sends the held
// requests); a page goes where the server says.
function signedIn(data) {
  if (data.redirect) { location.assign(data.redirect); return; }
  document.dispatchEvent(new CustomEvent('tally:signed-in', { detail: { csrf: data.csrf, user: data.user } }));
}

// The values the login form adds to a passkey sign-in.
function formExtras(el) {
  const form = el.closest('form');
  const next = form && form.querySelector('[name=next]');
  const remember = form && form.querySelector('[name=remember]');
  return { next: next ? next.value : '', remember: !!(remember && remember.checked) };
}

let conditional = null; // the AbortController of the autofill request, while it waits

async function signIn(button) {
  const area = button.closest('[data-passkey-area]');
  const error = area && area.querySelector('[data-passkey-error]');
  show(error, '');
  if (conditional) { conditional.abort(); conditional = null; }
  const mode = button.dataset.passkey;
  const dialog = button.hasAttribute('data-passkey-dialog');
  button.disabled = true;
  try {
    const begun = await post('/passkeys/login/begin', { mode }, button);
    if (begun.error) { show(error, begun.error); return; }
    let cred;
    try {
      cred = await navigator.credentials.get({ publicKey: requestOptions(begun.publicKey) });
    } catch (err) { show(error, browserError(err)); return; }
    const done = await post('/passkeys/login/finish', { credential: credentialJSON(cred), dialog, ...formExtras(button) }, button);
    if (done.error) { show(error, done.error); return; }
    signedIn(done);
  } finally {
    button.disabled = false;
  }
}

// The browser's autofill offers passkeys in the username field (autocomplete "username
// webauthn"); the request waits until one is picked, or the form is replaced.
async function startConditional() {
  const field = document.querySelector('#login-form input[autocomplete~="webauthn"]');
  if (!field || conditional || !PKC.isConditionalMediationAvailable) return;
  if (!(await PKC.isConditionalMediationAvailable())) return;
  const ctl = new AbortController();
  ctl.field = field;
  conditional = ctl;
  const area = field.form.querySelector('[data-passkey-area]');
  const error = area && area.querySelector('[data-passkey-error]');
  try {
    const begun = await post('/passkeys/login/begin', { mode: 'conditional' }, field);
    if (begun.error || ctl.signal.aborted) return;
    const cred = await navigator.credentials.get({ mediation: 'conditional', signal: ctl.signal, publicKey: requestOptions(begun.publicKey) });
    const done = await post('/passkeys/login/finish', { credential: credentialJSON(cred), ...formExtras(field) }, field);
    if (done.error) { show(error, done.error); return; }
    signedIn(done);
  } catch (err) {
    if (!ctl.signal.aborted) show(error, browserError(err));
  } finally {
    if (conditional === ctl) conditional = null;
  }
}

async function register(form) {
  const error = form.querySelector('#passkey-add-error');
  const button = form.querySelector('button[type=submit]');
  const value = (name) => { const f = form.querySelector('[name=' + name + ']'); return f ? f.value : ''; };
  const inputs = ['name', 'password', 'code'].map((name) => form.querySelector('[name=' + name + ']')).filter(Boolean);
  show(error, '');
  inputs.forEach((input) => setFieldError(input, ''));
  button.disabled = true;
  try {
    const begun = await post('/passkeys/register/begin', { name: value('name'), password: value('password'), code: value('code') }, form);
    if (begun.error) {
      // A refused field gets its own message, as a form rendered by the server shows it, and
      // the first of them the focus; anything else is the form's error.
      const fields = begun.fields || {};
      const invalid = inputs.filter((input) => fields[input.name]);
      invalid.forEach((input) => setFieldError(input, fields[input.name]));
      if (invalid.length) invalid[0].focus();
      else show(error, begun.error);
      return;
    }
    let cred;
    try {
      cred = await navigator.credentials.create({ publicKey: creationOptions(begun.publicKey) });
    } catch (err) { show(error, browserError(err)); return; }
    const done = await post('/passkeys/register/finish', credentialJSON(cred), form);
    if (done.error) { show(error, done.error); return; }
    location.assign(done.redirect);
  } finally {
    button.disabled = false;
  }
}

function reveal(root) {
  root.querySelectorAll('[data-passkey-area], form[data-passkey]').forEach((el) => { el.hidden = false; });
  root.querySelectorAll('[data-passkey-fallback]').forEach((el) => { el.hidden = true; });
}

if (PKC) {
  reveal(document);
  startConditional();
  // htmx swaps forms in (a failed sign-in, the code step, the sign-in dialog).
  document.addEventListener('htmx:afterSettle', () => {
    reveal(document);
    if (conditional && !document.contains(conditional.field)) { conditional.abort(); conditional = null; }
    startConditional();
  });
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('button[data-passkey]');
    if (button) { e.preventDefault(); signIn(button); }
  });
  document.addEventListener('submit', (e) => {
    if (e.target.matches('form[data-passkey=register]')) { e.preventDefault(); register(e.target); }
  });
}

// Renaming in place: Enter submits the form (the browser's own), Escape puts the saved name back
// and drops an error shown for what was typed.
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape') return;
  const form = e.target.closest && e.target.closest('form.passkey-rename');
  if (!form || e.target.name !== 'name') return;
  e.preventDefault();
  e.target.value = form.dataset.passkeyName;
  setFieldError(e.target, '');
});
