// Tally's own script: the little that HTML and htmx do not do alone. Every page works without it.
// Listeners on the document only: no inline handlers, no eval (the CSP allows neither).
(function () {
  'use strict';

  // Sign in again without losing what was typed. An htmx request that meets an ended session
  // is answered 401 with a sign-in dialog for #reauth (handlers/reauth.go). The request is held
  // here, with any made while the dialog waits, and sent again once the page's own user has
  // signed in; if someone else signs in, the held requests are dropped and the dashboard loads.
  var held = new Map(); // element -> function(token) that sends its request again

  function box() { return document.getElementById('reauth'); }
  function dialog() { var b = box(); return b && b.querySelector('dialog'); }

  function ask(dlg) {
    if (!dlg.open) dlg.showModal();
    var login = dlg.querySelector('[name=login]');
    var password = dlg.querySelector('[name=password]');
    // The username the page was shown to: the page says so already, so this tells nobody more.
    if (login && !login.value) login.value = box().dataset.username || '';
    // On the code step there is neither: the code field has autofocus.
    var field = login && !login.value ? login : password || dlg.querySelector('input:not([type=hidden])');
    if (field) field.focus();
  }

  // The request that met the ended session: its verb, path and parameters, as htmx sent them.
  document.addEventListener('htmx:beforeSwap', function (e) {
    var d = e.detail, cfg = d.requestConfig;
    if (d.xhr.status !== 401 || d.target !== box() || !cfg) return;
    var values = new FormData();
    cfg.formData.forEach(function (v, k) { values.append(k, v); });
    held.delete(cfg.elt);
    held.set(cfg.elt, function (token) {
      if (values.has('_csrf')) values.set('_csrf', token);
      return htmx.ajax(cfg.verb, cfg.path, { source: cfg.elt, values: values });
    });
  });

  // The dialog opens once htmx has settled it (its form is live then).
  document.addEventListener('htmx:afterSettle', function (e) {
    if (e.target === box() && dialog()) ask(dialog());
  });

  // While the dialog waits, every other request waits with it, the latest per element.
  document.addEventListener('htmx:confirm', function (e) {
    var dlg = dialog();
    if (!dlg || dlg.contains(e.detail.elt)) return;
    e.preventDefault();
    var issue = e.detail.issueRequest;
    held.delete(e.detail.elt);
    held.set(e.detail.elt, function () { return issue(true); });
    ask(dlg);
  });

  // Signed in (here, or in another tab of this site): the new CSRF token goes into hx-headers
  // and every form, then the held requests go out one after another, to their elements' targets.
  function signedIn(token, user) {
    var b = box();
    var dlg = dialog();
    if (dlg) { dlg.close(); b.replaceChildren(); }
    var todo = Array.from(held.entries());
    held.clear();
    if (String(user) !== b.dataset.user) { location.assign('/dashboard'); return; }
    var headers = JSON.parse(document.body.getAttribute('hx-headers') || '{}');
    headers['X-CSRF-Token'] = token;
    document.body.setAttribute('hx-headers', JSON.stringify(headers));
    document.querySelectorAll('input[name="_csrf"]').forEach(function (i) { i.value = token; });
    todo.reduce(function (p, entry) {
      return p.then(function () { return document.body.contains(entry[0]) && entry[1](token); });
    }, Promise.resolve());
  }

  var tabs = window.BroadcastChannel ? new BroadcastChannel('tally-signed-in') : null;
  document.addEventListener('tally:signed-in', function (e) {
    if (tabs) tabs.postMessage({ csrf: e.detail.csrf, user: e.detail.user });
    signedIn(e.detail.csrf, e.detail.user);
  });
  if (tabs) {
    tabs.addEventListener('message', function (e) {
      if (box() && box().dataset.user) signedIn(e.data.csrf, e.data.user);
    });
  }

  // Escape in a register row: a row edited in place is given back (its Cancel link); the add
  // row (its form has data-escape="reset") is emptied, its date kept, and the focus stays put.
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape' || e.defaultPrevented || e.isComposing || !e.target.closest) return;
    var row = e.target.closest('tr[data-escape-form]');
    if (!row) return;
    var cancel = row.querySelector('a[data-cancel]');
    var form = document.getElementById(row.dataset.escapeForm);
    if (cancel) {
      e.preventDefault();
      cancel.click();
    } else if (form && form.dataset.escape === 'reset') {
      e.preventDefault();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.tagName === 'SELECT') el.selectedIndex = 0;
        else if (el.tagName === 'INPUT' && el.type !== 'hidden' && el.type !== 'date') el.value = '';
        if (el.hasAttribute('aria-invalid')) {
          el.removeAttribute('aria-invalid');
          el.removeAttribute('aria-describedby');
        }
      });
      var errors = document.getElementById(form.id + '-errors');
      if (errors) errors.remove();
    }
  });

  // A category chosen while the payee's suggestion was on its way is the person's choice: the
  // suggestion, which was asked for with the row's earlier category, is not swapped in over it.
  document.addEventListener('htmx:beforeSwap', function (e) {
    var t = e.detail.target, cfg = e.detail.requestConfig;
    if (!t || t.tagName !== 'SELECT' || t.name !== 'category_id' || !cfg || !cfg.formData) return;
    var asked = cfg.formData.get('category_id') || '';
    if (t.value !== asked) e.detail.shouldSwap = false;
  });

  // Copy buttons (data-copy: the id of a list whose items are copied one per line). They are
  // hidden in the markup, so a page without this script or without a clipboard offers only what
  // works there (the download beside them).
  function showCopyButtons(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll('button[data-copy]').forEach(function (b) { b.hidden = false; });
  }
  document.addEventListener('htmx:load', function (e) { showCopyButtons(e.target); });
  showCopyButtons(document);
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button[data-copy]');
    if (!b) return;
    var list = document.getElementById(b.dataset.copy);
    var status = document.getElementById(b.dataset.copied);
    if (!list) return;
    var text = [].map.call(list.querySelectorAll('li'), function (li) { return li.textContent.trim(); }).join('\n') + '\n';
    navigator.clipboard.writeText(text).then(function () {
      if (status) status.textContent = 'Copied. Paste them somewhere safe.';
    }, function () {
      if (status) status.textContent = 'Copying did not work here: download the file instead.';
    });
  });
})();
