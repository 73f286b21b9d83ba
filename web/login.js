// login: the sign-in form the pages share, and the check of a stored token.
// Each page keeps its own token (api.js storedToken(page)): the wall needs
// staff or admin, the worker page a worker; the resident page works without
// one and signs in only if the resident wants to.

import { t, applyI18n } from './i18n.js';
import { login, me, storeToken, storedToken, authHeaders, HttpError } from './api.js';

const roleText = (r) => t(`role.${r}`);

// The form on the page now: the one that follows a change of language.
let shown = null;
addEventListener('langchange', () => { if (shown && shown.isConnected) applyI18n(shown); });

/**
 * session checks the token page keeps (or token, when given) with GET
 * /api/me and returns {token, me} when it is good for one of roles; null
 * (and the token forgotten) when there is none, it was refused, or it has
 * another role. Network and server errors are retried, 1 s doubling to 15 s,
 * with onRetry(error) told each time.
 */
export async function session(page, roles, { token = storedToken(page), onRetry = () => {} } = {}) {
  if (!token) return null;
  let delay = 1000;
  for (;;) {
    try {
      const claims = await me(token);
      if (!roles.includes(claims.role)) {
        storeToken('', page);
        return null;
      }
      return { token, me: claims };
    } catch (err) {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
        storeToken('', page);
        return null;
      }
      // A bridge without /api/me (older) still knows the static staff token.
      if (err instanceof HttpError && err.status === 404) return { token, me: { sub: '', name: '', role: roles[0], grids: [] } };
      onRetry(err);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
}

/**
 * loginForm fills host with the sign-in form of page ('screen', 'worker' or
 * 'resident'): user and password, posted to /api/login. An account whose
 * role is not in roles is refused with a sentence saying so. On success the
 * token is stored for the page and onLogin({token, me}) is called. note is
 * a sentence shown above the form (why it is asked for again), or ''.
 * device() gives the guest (device) token to hand over with the login, so
 * its reports follow the resident into the account.
 * Hooks: form.login, input[name=user], input[name=password], .login-error.
 */
export function loginForm(host, { page, roles, onLogin, note = '', device = () => '' }) {
  const form = document.createElement('form');
  form.className = 'card login';
  form.autocomplete = 'on';
  form.innerHTML = `
    <h2 data-i18n="login.title.${page}"></h2>
    <p class="login-hint" data-i18n="login.hint.${page}"></p>
    <label><span data-i18n="login.user"></span><input name="user" autocomplete="username" autocapitalize="none" spellcheck="false" required></label>
    <label><span data-i18n="login.password"></span><input name="password" type="password" autocomplete="current-password" required></label>
    <p class="error login-error" role="alert" hidden></p>
    <button type="submit" class="primary" data-i18n="login.submit"></button>`;
  applyI18n(form);
  const error = form.querySelector('.login-error');
  const button = form.querySelector('button[type=submit]');
  const say = (msg) => {
    error.hidden = !msg;
    error.textContent = msg;
  };
  say(note);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = form.elements.user.value.trim();
    const password = form.elements.password.value;
    if (!user || !password) return;
    button.disabled = true;
    button.textContent = t('login.busy');
    say('');
    try {
      const ans = await login(user, password, device());
      if (!roles.includes(ans.role)) {
        say(t('login.role', { role: roleText(ans.role), want: roles.map(roleText).join(' / ') }));
        return;
      }
      storeToken(ans.token, page);
      form.elements.password.value = '';
      onLogin({ token: ans.token, me: { sub: ans.user, name: ans.name, role: ans.role, grids: ans.grids || [], exp: ans.expires_ms }, adopted: ans.adopted || 0 });
    } catch (err) {
      say(err instanceof HttpError && err.status === 401 ? t('login.bad') : t('login.failed', { error: err.message }));
    } finally {
      button.disabled = false;
      button.textContent = t('login.submit');
    }
  });
  shown = form;
  host.replaceChildren(form);
  setTimeout(() => form.elements.user.focus(), 0);
  return form;
}

/**
 * logout revokes page's token on the server (POST /api/logout: it no longer
 * works anywhere, not only here), forgets it and loads the page again, which
 * then asks to sign in. A server that cannot be reached does not keep the
 * person signed in on this device.
 */
export async function logout(page) {
  const token = storedToken(page);
  if (token) {
    try {
      await fetch('/api/logout', { method: 'POST', headers: authHeaders(token), cache: 'no-store' });
    } catch { /* forgotten here all the same */ }
  }
  storeToken('', page);
  location.replace(location.pathname + location.search);
}

/** nameOf is what a signed-in person is called on the page: the name, else the login. */
export function nameOf(claims) {
  if (!claims) return '';
  if (claims.sub === '@staff_token') return t('who.staff_token');
  return claims.name || claims.sub || '';
}
