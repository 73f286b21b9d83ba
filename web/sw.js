// sw: the worker page's service worker, for one thing only: Chrome on
// Android shows a page's notifications only through a service worker
// (new Notification() throws there), so alert.js falls back to
// registration.showNotification. It controls no page and caches nothing.
// A tap on a notification focuses the worker's page and tells it which
// task to open, or opens the page on that task.

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('notificationclick', (ev) => {
  ev.notification.close();
  const id = (ev.notification.data && ev.notification.data.task) || '';
  ev.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const page = wins.find((c) => new URL(c.url).pathname === '/worker');
    if (page) {
      page.postMessage({ open: id });
      return page.focus();
    }
    return self.clients.openWindow(id ? `/worker?task=${encodeURIComponent(id)}` : '/worker');
  })());
});
